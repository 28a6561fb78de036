"""REST endpoints of dose preparations (pharmacist) and infusions (nurse)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from natalizumab_monitor.api import (
    ETAG,
    IF_MATCH,
    FlagField,
    NumberField,
    RecordViewSet,
    TextField,
    UUIDRelatedField,
    VersionField,
    ZonedDateTimeField,
    errors,
    if_match_version,
    record_schema,
    with_etag,
)
from patients.api import patient_field

from . import selectors, services
from .filters import PREPARATION_STATUSES, InfusionFilter, PreparationFilter
from .models import (
    ACCEPTED_DILUENT,
    DosePreparation,
    Infusion,
    InfusionReaction,
    PreInfusionChecklist,
    ReactionSeverity,
    Route,
    Storage,
)

# --- Preparations ------------------------------------------------------------------------


class PreparationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        source="current_status",
        choices=PREPARATION_STATUSES,
        read_only=True,
        help_text="expired: ready but past expires_at.",
    )
    prepared_by = serializers.CharField(
        source="prepared_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = DosePreparation
        fields = [
            "id",
            "patient",
            "dose_mg",
            "diluent",
            "diluent_volume_ml",
            "prepared_at",
            "storage",
            "room_temperature_since",
            "frozen",
            "shaken",
            "status",
            "expires_at",
            "discarded_reason",
            "prepared_by",
            "created_at",
        ]
        read_only_fields = fields


class PreparationInputSerializer(serializers.Serializer):
    patient = patient_field()
    dose_mg = NumberField(
        min_value=0, max_value=services.DOSE_MAX_MG, places=1, help_text="300 mg."
    )
    diluent = serializers.ChoiceField(
        choices=[ACCEPTED_DILUENT],
        error_messages={"invalid_choice": f"Natalizumab is diluted in {ACCEPTED_DILUENT} only."},
        help_text=f"{ACCEPTED_DILUENT} is the only one accepted.",
    )
    diluent_volume_ml = NumberField(
        min_value=0, max_value=services.VOLUME_MAX_ML, places=1, help_text="100 mL."
    )
    prepared_at = ZonedDateTimeField(help_text="The time of dilution.")
    storage = serializers.ChoiceField(choices=Storage.choices)
    room_temperature_since = ZonedDateTimeField(
        required=False,
        allow_null=True,
        help_text="When a refrigerated bag was taken out: it then keeps the 8 h limit.",
    )
    frozen = FlagField(required=False, help_text="A frozen bag is discarded.")
    shaken = FlagField(required=False, help_text="A shaken bag is discarded.")


@record_schema(PreparationInputSerializer, PreparationSerializer, summary="dose preparations")
class PreparationViewSet(RecordViewSet):
    required_permissions = {
        "list": ("infusions.view_dosepreparation",),
        "retrieve": ("infusions.view_dosepreparation",),
        "create": ("infusions.add_dosepreparation",),
    }
    filterset_class = PreparationFilter
    output_serializer = PreparationSerializer
    input_serializer = PreparationInputSerializer

    def select(self) -> QuerySet[DosePreparation]:
        return selectors.preparation_list()

    def record(self, **data: Any) -> DosePreparation:
        return services.create_preparation(user=self.request.user, **data)


# --- Infusions ---------------------------------------------------------------------------


class ChecklistSerializer(serializers.ModelSerializer):
    asked_by = serializers.CharField(source="asked_by.username", read_only=True)
    needs_clearance = serializers.BooleanField(read_only=True)

    class Meta:
        model = PreInfusionChecklist
        fields = [
            "id",
            "asked_by",
            "asked_at",
            *services.CHECKLIST_ANSWERS,
            "needs_clearance",
            "cleared_at",
        ]
        read_only_fields = fields


class ReactionSerializer(serializers.ModelSerializer):
    symptoms = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = InfusionReaction
        fields = ["id", "infusion", "severity", "symptoms", "onset_at", "created_at"]
        read_only_fields = fields


class InfusionSerializer(serializers.ModelSerializer):
    nurse = serializers.CharField(source="nurse.username", read_only=True, allow_null=True)
    checklist = ChecklistSerializer(read_only=True, allow_null=True)
    reactions = ReactionSerializer(many=True, read_only=True)

    class Meta:
        model = Infusion
        fields = [
            "id",
            "patient",
            "preparation",
            "route",
            "status",
            "started_at",
            "ended_at",
            "discharged_at",
            "nurse",
            "checklist",
            "reactions",
            "stop_reason",
            "discharge_reason",
            "cancel_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ChecklistInputSerializer(serializers.Serializer):
    """The TOUCH pre-infusion checklist; any answer other than authorized=true and four
    "no" holds the infusion until a prescriber clears the patient."""

    authorized = FlagField(help_text="Treatment is authorized.")
    new_neurological_symptoms = FlagField(
        help_text="New or worsening medical problem in the past month."
    )
    immunocompromised = FlagField(help_text="A condition that weakens the immune system.")
    immunosuppressants_last_month = FlagField(
        help_text="Medicine for cancer or MS, or another immunosuppressant, in the past month."
    )
    current_infection = FlagField(help_text="A current infection.")


class InfusionInputSerializer(serializers.Serializer):
    patient = patient_field()
    preparation = UUIDRelatedField(queryset=DosePreparation.objects.all(), noun="preparation")
    route = serializers.ChoiceField(
        choices=Route.choices,
        default=Route.IV_INFUSION,
        error_messages={
            "invalid_choice": "Natalizumab is given by intravenous infusion only; "
            "IV push or bolus is refused."
        },
    )
    checklist = ChecklistInputSerializer()


class StartInputSerializer(serializers.Serializer):
    started_at = ZonedDateTimeField()
    version = VersionField()


class StopInputSerializer(serializers.Serializer):
    ended_at = ZonedDateTimeField()
    reason = TextField(
        max_length=services.REASON_MAX,
        required=False,
        allow_blank=True,
        help_text="Why the infusion stops before the minimum duration (kept in the record).",
    )
    version = VersionField()


class DischargeInputSerializer(serializers.Serializer):
    discharged_at = ZonedDateTimeField()
    reason = TextField(
        max_length=services.REASON_MAX,
        required=False,
        allow_blank=True,
        help_text="Why the patient leaves before the end of the observation (kept).",
    )
    version = VersionField()


class ClearChecklistInputSerializer(serializers.Serializer):
    note = TextField(max_length=2000, help_text="Why the prescriber clears the patient.")


class ReactionInputSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=ReactionSeverity.choices)
    symptoms = serializers.ListField(
        child=TextField(max_length=200),
        min_length=1,
        max_length=services.SYMPTOMS_MAX,
        help_text="e.g. urticaria, hypotension, dyspnea, anaphylaxis.",
    )
    onset_at = ZonedDateTimeField()


def _transition_schema(input_serializer: type[serializers.Serializer], summary: str) -> Any:
    return extend_schema(
        summary=summary,
        parameters=[IF_MATCH, ETAG],
        request=input_serializer,
        responses={200: InfusionSerializer, **errors(400, 401, 403, 404, 409, 412, 415)},
    )


@record_schema(InfusionInputSerializer, InfusionSerializer, summary="infusions")
@extend_schema_view(
    retrieve=extend_schema(
        summary="One infusion (ETag: its version)",
        parameters=[ETAG],
        responses={200: InfusionSerializer, **errors(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Record the pre-infusion checklist and plan the infusion of one bag (nurse)",
        parameters=[ETAG],
        request=InfusionInputSerializer,
        responses={201: InfusionSerializer, **errors(400, 401, 403, 415)},
    ),
)
class InfusionViewSet(RecordViewSet):
    required_permissions = {
        "list": ("infusions.view_infusion",),
        "retrieve": ("infusions.view_infusion",),
        "create": ("infusions.add_infusion", "infusions.add_preinfusionchecklist"),
        "start": ("infusions.change_infusion",),
        "stop": ("infusions.change_infusion",),
        "discharge": ("infusions.change_infusion",),
        "reactions": ("infusions.add_infusionreaction",),
        "clear_checklist": ("infusions.change_preinfusionchecklist",),
    }
    filterset_class = InfusionFilter
    output_serializer = InfusionSerializer
    input_serializer = InfusionInputSerializer

    def select(self) -> QuerySet[Infusion]:
        return selectors.infusion_list()

    def record(self, **data: Any) -> Infusion:
        return services.create_infusion(user=self.request.user, **data)

    def _respond(self, infusion: Infusion, status: int = 200) -> Response:
        infusion = self.select().get(pk=infusion.pk)
        return with_etag(
            Response(InfusionSerializer(infusion).data, status=status), infusion.version
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._respond(self.get_object())

    def create(self, request: Request) -> Response:
        return self._respond(self.record(**self.read_input(InfusionInputSerializer)), status=201)

    @_transition_schema(
        StartInputSerializer,
        "Start the infusion; 409 with the blocking findings when the gate refuses",
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        data = self.read_input(StartInputSerializer)
        infusion = services.start_infusion(
            infusion=self.get_object(),
            user=request.user,
            if_match=if_match_version(request),
            **data,
        )
        return self._respond(infusion)

    @_transition_schema(StopInputSerializer, "Record the end of the infusion")
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        data = self.read_input(StopInputSerializer)
        infusion = services.stop_infusion(
            infusion=self.get_object(), if_match=if_match_version(request), **data
        )
        return self._respond(infusion)

    @_transition_schema(DischargeInputSerializer, "Discharge the patient after observation")
    @action(detail=True, methods=["post"])
    def discharge(self, request: Request, pk: str) -> Response:
        data = self.read_input(DischargeInputSerializer)
        infusion = services.discharge_infusion(
            infusion=self.get_object(), if_match=if_match_version(request), **data
        )
        return self._respond(infusion)

    @extend_schema(
        summary="A prescriber clears a checklist whose answers hold the infusion (neurologist)",
        request=ClearChecklistInputSerializer,
        responses={200: InfusionSerializer, **errors(400, 401, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"], url_path="clear-checklist")
    def clear_checklist(self, request: Request, pk: str) -> Response:
        data = self.read_input(ClearChecklistInputSerializer)
        infusion = services.clear_checklist(infusion=self.get_object(), user=request.user, **data)
        return self._respond(infusion)

    @extend_schema(
        summary="Record a reaction; a severe one stops a running infusion at its onset",
        request=ReactionInputSerializer,
        responses={201: ReactionSerializer, **errors(400, 401, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"])
    def reactions(self, request: Request, pk: str) -> Response:
        data = self.read_input(ReactionInputSerializer)
        reaction = services.record_reaction(infusion=self.get_object(), user=request.user, **data)
        return Response(ReactionSerializer(reaction).data, status=201)
