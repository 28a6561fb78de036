"""REST endpoints of patients and their clinical records (API.md, "Records")."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.clearance import clearance_for, findings_for
from natalizumab_monitor import disclosure
from natalizumab_monitor.api import (
    ETAG,
    IF_MATCH,
    ApiViewSet,
    FindingSerializer,
    FlagField,
    NumberField,
    RecordViewSet,
    TextField,
    UUIDRelatedField,
    VersionField,
    errors,
    record_schema,
    require_version,
    with_etag,
)
from network.api import CallerSiteField, site_of_new_patient

from . import selectors, services
from .filters import EdssFilter, InfectionFilter, MedicationFilter, PatientFilter, RelapseFilter
from .models import (
    DecisionAction,
    EdssAssessment,
    Indication,
    Infection,
    Medication,
    MedicationCategory,
    Patient,
    Relapse,
    Sex,
    TreatmentDecision,
)


def patient_field() -> UUIDRelatedField:
    return UUIDRelatedField(queryset=Patient.objects.all(), noun="patient")


class FixedFieldsMixin:
    """Refuses, rather than silently ignores, a field that a write may not change."""

    fixed_fields: dict[str, str] = {}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}  # type: ignore[attr-defined]
        problems = {field: [why] for field, why in self.fixed_fields.items() if field in sent}
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


# --- Patients ----------------------------------------------------------------------------


_DETAIL = "Absent for the api-client role, which reads patients as ids and status only."


class PatientSerializer(serializers.ModelSerializer):
    """Output only. Who the patient is goes only to a caller who may see it (disclosure)."""

    infusion_count = serializers.IntegerField(
        read_only=True, help_text="Infusions the patient was given (started)."
    )
    # Not read-only in the schema's sense: absent for some callers, so not required.
    mrn = serializers.CharField(required=False, help_text=f"Medical record number. {_DETAIL}")
    given_name = serializers.CharField(required=False, help_text=_DETAIL)
    family_name = serializers.CharField(required=False, help_text=_DETAIL)
    birth_date = serializers.DateField(required=False, help_text=_DETAIL)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, help_text=_DETAIL)
    treatment_start = serializers.DateField(required=False, allow_null=True, help_text=_DETAIL)
    pregnant = serializers.BooleanField(required=False, help_text=_DETAIL)
    breastfeeding = serializers.BooleanField(required=False, help_text=_DETAIL)
    prior_immunosuppressants = serializers.BooleanField(required=False, help_text=_DETAIL)
    created_at = serializers.DateTimeField(required=False, help_text=_DETAIL)
    updated_at = serializers.DateTimeField(required=False, help_text=_DETAIL)

    class Meta:
        model = Patient
        fields = [
            "id",
            "site",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "indication",
            "treatment_start",
            "schedule_weeks",
            "treatment_status",
            "pregnant",
            "breastfeeding",
            "prior_immunosuppressants",
            "infusion_count",
            "version",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, instance: Patient) -> dict[str, Any]:
        data = super().to_representation(instance)
        return disclosure.patient_for(disclosure.caller(self.context), data)


class PatientInputSerializer(FixedFieldsMixin, serializers.Serializer):
    fixed_fields = {
        "treatment_status": "Changes only through a decision (POST /patients/{id}/decisions/)."
    }

    site = CallerSiteField(
        required=False,
        help_text="The patient's site: one of yours. On create it defaults to your only site, "
        "and is required when you work at several.",
    )
    mrn = TextField(max_length=32, help_text="Medical record number, unique.")
    given_name = TextField(max_length=100)
    family_name = TextField(max_length=100)
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    indication = serializers.ChoiceField(choices=Indication.choices)
    treatment_start = serializers.DateField(required=False, allow_null=True)
    schedule_weeks = serializers.ChoiceField(choices=[(4, "4"), (6, "6")], required=False)
    pregnant = FlagField(required=False)
    breastfeeding = FlagField(required=False)
    prior_immunosuppressants = FlagField(required=False)


class PatientUpdateSerializer(PatientInputSerializer):
    version = VersionField()


class FindingListSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")
    previous = serializers.CharField(allow_null=True, help_text="Always null: one page.")
    results = FindingSerializer(many=True)


class ClearanceQuerySerializer(serializers.Serializer):
    infusion = serializers.UUIDField(required=False, help_text="A planned infusion to check.")
    preparation = serializers.UUIDField(required=False, help_text="The bag to infuse.")


class ClearanceSerializer(serializers.Serializer):
    cleared = serializers.BooleanField(
        help_text="False only while a finding about the patient blocks; the visit's own "
        "steps never make it false."
    )
    blocking = FindingSerializer(many=True, help_text="Findings about the patient that block.")
    visit_steps = FindingSerializer(
        many=True,
        help_text="What the visit still needs (a checklist, a usable bag); a start refuses "
        "while any is left.",
    )
    warnings = FindingSerializer(
        many=True,
        help_text="Not blocking, but seen before a start: an early dose, a bag near its limit.",
    )
    overridden = FindingSerializer(
        many=True, help_text="Blocking findings an unused neurologist override covers."
    )
    overrides_used = serializers.ListField(
        child=serializers.UUIDField(), help_text="The override decisions a start would use up."
    )
    profile = serializers.CharField()
    profile_version = serializers.CharField()


@extend_schema_view(
    list=extend_schema(
        summary="List patients", responses={200: PatientSerializer, **errors(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="One patient (ETag: its version)",
        parameters=[ETAG],
        responses={200: PatientSerializer, **errors(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Register a patient",
        parameters=[ETAG],
        request=PatientInputSerializer,
        responses={201: PatientSerializer, **errors(400, 401, 403, 415)},
    ),
    partial_update=extend_schema(
        summary="Change a patient's record",
        parameters=[IF_MATCH, ETAG],
        request=PatientUpdateSerializer,
        responses={200: PatientSerializer, **errors(400, 401, 403, 404, 409, 412, 415, 428)},
    ),
)
class PatientViewSet(ApiViewSet):
    required_permissions = {
        "list": ("patients.view_patient",),
        "retrieve": ("patients.view_patient",),
        "findings": ("patients.view_patient",),
        "clearance": ("patients.view_patient",),
        "create": ("patients.add_patient",),
        "partial_update": ("patients.change_patient",),
    }
    filterset_class = PatientFilter

    def get_queryset(self) -> QuerySet[Patient]:
        return selectors.patient_list()

    def _respond(self, patient: Patient, status: int = 200) -> Response:
        patient = selectors.patient_get(patient.pk)
        data = PatientSerializer(patient, context=self.get_serializer_context()).data
        return with_etag(Response(data, status=status), patient.version)

    def list(self, request: Request) -> Response:
        return self.paginated(self.get_queryset(), PatientSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        data = PatientSerializer(patient, context=self.get_serializer_context()).data
        return with_etag(Response(data), patient.version)

    def create(self, request: Request) -> Response:
        data = self.read_input(PatientInputSerializer)
        data["site"] = site_of_new_patient(data.get("site"))
        patient = services.create_patient(**data)
        return self._respond(patient, status=201)

    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.read_input(PatientUpdateSerializer, partial=True)
        patient = self.get_object()
        patient = services.update_patient(
            patient=patient, if_match=require_version(request, data), **data
        )
        return self._respond(patient)

    @extend_schema(
        summary="Every finding the rules engine gives now (computed, no side effects)",
        responses={200: FindingListSerializer, **errors(401, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def findings(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        found = [finding.as_dict() for finding in findings_for(patient.pk)]
        results = disclosure.findings_for(request.user, found)
        return Response({"next": None, "previous": None, "results": results})

    @extend_schema(
        summary="May this patient be infused now?",
        parameters=[ClearanceQuerySerializer],
        responses={200: ClearanceSerializer, **errors(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def clearance(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        query = ClearanceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        gate = clearance_for(
            patient.pk,
            infusion_id=query.validated_data.get("infusion"),
            preparation_id=query.validated_data.get("preparation"),
        )
        return Response(disclosure.clearance_for(request.user, gate.as_dict()))


# --- Decisions ---------------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)

    class Meta:
        model = TreatmentDecision
        fields = [
            "id",
            "patient",
            "action",
            "reason",
            "rule",
            "decided_by",
            "decided_at",
            "consumed_at",
        ]
        read_only_fields = fields


class DecisionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=DecisionAction.choices)
    reason = TextField(max_length=4000, help_text="Required: why.")
    rule = TextField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="The rule id (e.g. LIVER-3XULN); required for override and confirm.",
    )


PATIENT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="A patient's treatment decisions",
        parameters=[PATIENT_ID],
        responses={200: DecisionSerializer, **errors(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="Record a treatment decision (neurologist)",
        description="suspend, resume and discontinue change the patient's treatment_status; "
        "no decision applies after discontinue. override and confirm name a rule.",
        parameters=[PATIENT_ID],
        request=DecisionInputSerializer,
        responses={201: DecisionSerializer, **errors(400, 401, 403, 404, 415)},
    ),
)
class PatientDecisionViewSet(ApiViewSet):
    required_permissions = {
        "list": ("patients.view_patient", "patients.view_treatmentdecision"),
        "create": ("patients.view_patient", "patients.add_treatmentdecision"),
    }

    def get_patient(self) -> Patient:
        return get_object_or_404(Patient, pk=self.kwargs["id"])

    def get_queryset(self) -> QuerySet[TreatmentDecision]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no patient
            return TreatmentDecision.objects.none()
        return selectors.decision_list(self.get_patient())

    def list(self, request: Request, id: str) -> Response:
        return self.paginated(self.get_queryset(), DecisionSerializer)

    def create(self, request: Request, id: str) -> Response:
        patient = self.get_patient()
        data = self.read_input(DecisionInputSerializer)
        decision = services.record_decision(patient=patient, user=request.user, **data)
        return Response(DecisionSerializer(decision).data, status=201)


# --- Medications, infections, EDSS, relapses ---------------------------------------------


class MedicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Medication
        fields = ["id", "patient", "name", "category", "started_on", "stopped_on", "created_at"]
        read_only_fields = fields


class MedicationInputSerializer(serializers.Serializer):
    patient = patient_field()
    name = TextField(max_length=200)
    category = serializers.ChoiceField(choices=MedicationCategory.choices)
    started_on = serializers.DateField()
    stopped_on = serializers.DateField(
        required=False, allow_null=True, help_text="Empty while it is taken."
    )


class MedicationStopSerializer(FixedFieldsMixin, serializers.Serializer):
    fixed_fields = dict.fromkeys(
        ("patient", "name", "category", "started_on"),
        "Only stopped_on can change; record a new medication otherwise.",
    )

    stopped_on = serializers.DateField(
        allow_null=True, help_text="The day it was stopped; null if it is taken again."
    )


@record_schema(MedicationInputSerializer, MedicationSerializer, summary="concomitant medications")
@extend_schema_view(
    partial_update=extend_schema(
        summary="Record the day a medication was stopped",
        request=MedicationStopSerializer,
        responses={200: MedicationSerializer, **errors(400, 401, 403, 404, 415)},
    ),
)
class MedicationViewSet(RecordViewSet):
    required_permissions = {
        "list": ("patients.view_medication",),
        "retrieve": ("patients.view_medication",),
        "create": ("patients.add_medication",),
        "partial_update": ("patients.change_medication",),
    }
    filterset_class = MedicationFilter
    output_serializer = MedicationSerializer
    input_serializer = MedicationInputSerializer

    def select(self) -> QuerySet[Medication]:
        return selectors.medication_list()

    def record(self, **data: Any) -> Medication:
        return services.create_medication(**data)

    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.read_input(MedicationStopSerializer)
        medication = services.stop_medication(medication=self.get_object(), **data)
        return Response(MedicationSerializer(self.select().get(pk=medication.pk)).data)


class InfectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Infection
        fields = [
            "id",
            "patient",
            "description",
            "onset_on",
            "resolved_on",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InfectionInputSerializer(serializers.Serializer):
    patient = patient_field()
    description = TextField(max_length=500)
    onset_on = serializers.DateField()
    resolved_on = serializers.DateField(
        required=False, allow_null=True, help_text="Empty while it is active."
    )


class InfectionUpdateSerializer(FixedFieldsMixin, serializers.Serializer):
    fixed_fields = {"patient": "An infection cannot be moved to another patient."}

    description = TextField(max_length=500)
    onset_on = serializers.DateField()
    resolved_on = serializers.DateField(allow_null=True)
    version = VersionField()


@record_schema(InfectionInputSerializer, InfectionSerializer, summary="infections")
@extend_schema_view(
    retrieve=extend_schema(
        summary="One infection (ETag: its version)",
        parameters=[ETAG],
        responses={200: InfectionSerializer, **errors(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Record an infection",
        parameters=[ETAG],
        request=InfectionInputSerializer,
        responses={201: InfectionSerializer, **errors(400, 401, 403, 415)},
    ),
    partial_update=extend_schema(
        summary="Update an infection, e.g. the day it resolved",
        parameters=[IF_MATCH, ETAG],
        request=InfectionUpdateSerializer,
        responses={200: InfectionSerializer, **errors(400, 401, 403, 404, 409, 412, 415, 428)},
    ),
)
class InfectionViewSet(RecordViewSet):
    required_permissions = {
        "list": ("patients.view_infection",),
        "retrieve": ("patients.view_infection",),
        "create": ("patients.add_infection",),
        "partial_update": ("patients.change_infection",),
    }
    filterset_class = InfectionFilter
    output_serializer = InfectionSerializer
    input_serializer = InfectionInputSerializer

    def select(self) -> QuerySet[Infection]:
        return selectors.infection_list()

    def record(self, **data: Any) -> Infection:
        return services.create_infection(**data)

    def retrieve(self, request: Request, pk: str) -> Response:
        infection = self.get_object()
        return with_etag(Response(InfectionSerializer(infection).data), infection.version)

    def create(self, request: Request) -> Response:
        response = super().create(request)
        return with_etag(response, response.data["version"])

    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.read_input(InfectionUpdateSerializer, partial=True)
        infection = self.get_object()
        infection = services.update_infection(
            infection=infection, if_match=require_version(request, data), **data
        )
        return with_etag(Response(InfectionSerializer(infection).data), infection.version)


class EdssSerializer(serializers.ModelSerializer):
    class Meta:
        model = EdssAssessment
        fields = ["id", "patient", "score", "assessed_on", "created_at"]
        read_only_fields = fields


class EdssInputSerializer(serializers.Serializer):
    patient = patient_field()
    score = NumberField(max_value=10, help_text="0 to 10 in steps of 0.5.")
    assessed_on = serializers.DateField()


@record_schema(EdssInputSerializer, EdssSerializer, summary="EDSS assessments")
class EdssViewSet(RecordViewSet):
    required_permissions = {
        "list": ("patients.view_edssassessment",),
        "retrieve": ("patients.view_edssassessment",),
        "create": ("patients.add_edssassessment",),
    }
    filterset_class = EdssFilter
    output_serializer = EdssSerializer
    input_serializer = EdssInputSerializer

    def select(self) -> QuerySet[EdssAssessment]:
        return selectors.edss_list()

    def record(self, **data: Any) -> EdssAssessment:
        return services.record_edss(**data)


class RelapseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Relapse
        fields = ["id", "patient", "onset_on", "created_at"]
        read_only_fields = fields


class RelapseInputSerializer(serializers.Serializer):
    patient = patient_field()
    onset_on = serializers.DateField()


@record_schema(RelapseInputSerializer, RelapseSerializer, summary="relapses")
class RelapseViewSet(RecordViewSet):
    required_permissions = {
        "list": ("patients.view_relapse",),
        "retrieve": ("patients.view_relapse",),
        "create": ("patients.add_relapse",),
    }
    filterset_class = RelapseFilter
    output_serializer = RelapseSerializer
    input_serializer = RelapseInputSerializer

    def select(self) -> QuerySet[Relapse]:
        return selectors.relapse_list()

    def record(self, **data: Any) -> Relapse:
        return services.record_relapse(**data)
