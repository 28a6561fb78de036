"""REST endpoints of the laboratory interface: HL7 v2 in, its ACKs, and the lab inbox."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from natalizumab_monitor.api import ApiViewSet, TextField, errors
from natalizumab_monitor.rest import RecordCursorPagination, StrictJSONParser
from patients.api import patient_field

from . import mapping, selectors, services
from .models import Channel, InboundMessage, InboxStatus, LabInboxEntry

ER7 = "x-application/hl7-v2+er7"


class Er7Parser(BaseParser):
    """An HL7 v2 message as ER7 text."""

    media_type = ER7

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping | None = None
    ) -> str:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise exceptions.ParseError(f"The message is larger than {limit} bytes.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")  # HL7 v2's traditional 8-bit character set


class PlainTextEr7Parser(Er7Parser):
    media_type = "text/plain"


class Er7Renderer(BaseRenderer):
    media_type = ER7
    format = "er7"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        if isinstance(data, str):
            return data.encode("utf-8")
        return JSONRenderer().render(data)  # an error before any ACK (401, 403...)


class Hl7JsonSerializer(serializers.Serializer):
    message = TextField(help_text="The HL7 v2 message as ER7 text, segments ending in CR.")


class InboundMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "channel",
            "received_at",
            "control_id",
            "ack_code",
            "ack",
            "explanation",
            "results_filed",
            "results_queued",
        ]
        read_only_fields = fields


HL7_EXAMPLE = (
    "MSH|^~\\&|LIS|LAB|NATMON|CLINIC|20260301093000+0000||ORU^R01^ORU_R01|MSG1|P|2.5.1\r"
    "PID|1||MRN-1^^^CLINIC^MR||Doe^Jane\r"
    "OBR|1||ORD-1^LIS|24325-3^Hepatic function panel^LN|||20260301083000+0000\r"
    "OBX|1|NM|1742-6^ALT^LN||128|U/L|7-40|H|||F\r"
)


class ReceivedOrder(RecordCursorPagination):
    ordering = ("received_at",)


class Hl7ViewSet(ApiViewSet):
    # The laboratory system posts messages and reads the ACKs of its own, nothing else.
    required_permissions = {
        "list": ("interop.view_inboundmessage",),
        "create": ("interop.add_inboundmessage",),
    }
    parser_classes = [Er7Parser, PlainTextEr7Parser, StrictJSONParser]
    pagination_class = ReceivedOrder

    def get_queryset(self) -> QuerySet[InboundMessage]:
        if getattr(self, "swagger_fake_view", False):
            return InboundMessage.objects.none()
        return selectors.messages_sent_by(self.request.user)

    def get_renderers(self) -> list[BaseRenderer]:
        # Errors before any ACK (401, 403, 415) are JSON; a client that accepts only ER7
        # still gets its ACK rather than a 406.
        return [*super().get_renderers(), Er7Renderer()]

    @extend_schema(
        summary="The messages this account sent, with the ACK each one got",
        responses={200: InboundMessageSerializer, **errors(400, 401, 403)},
    )
    def list(self, request: Request) -> Response:
        return self.paginated(self.get_queryset(), InboundMessageSerializer)

    @extend_schema(
        summary="One HL7 v2 ORU^R01 message; answered by its HL7 ACK",
        description="The body is the message as ER7 text (`x-application/hl7-v2+er7` or "
        '`text/plain`), or JSON `{"message": "..."}`. The answer is always the HL7 ACK as '
        "ER7 with status 200: MSA-1 `AA` (every result filed, already filed, or waiting in "
        "the lab inbox), `AE` (read but not filed; ERR says why; send it again) or `AR` "
        "(not readable, or not an ORU^R01 of v2.3 to v2.5.1).",
        request={
            ER7: {"type": "string"},
            "text/plain": {"type": "string"},
            "application/json": Hl7JsonSerializer,
        },
        examples=[OpenApiExample("ALT result", value=HL7_EXAMPLE, request_only=True)],
        responses={
            (200, ER7): OpenApiTypes.STR,
            (400, "application/json"): errors(400)[400],
            (401, "application/json"): errors(401)[401],
            (403, "application/json"): errors(403)[403],
            (415, "application/json"): errors(415)[415],
        },
    )
    def create(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, str):
            is_json = (request.content_type or "").startswith("application/json")
            data = self.read_input(Hl7JsonSerializer)["message"] if is_json else ""
        reply = services.receive_hl7(data, channel=Channel.HTTP, sender=request.user)
        return HttpResponse(reply.ack, status=200, content_type=f"{ER7}; charset=utf-8")


class LabInboxEntrySerializer(serializers.ModelSerializer):
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = LabInboxEntry
        fields = [
            "id",
            "created_at",
            "status",
            "reason",
            "detail",
            "patient_identifiers",
            "code",
            "code_system",
            "code_text",
            "value",
            "unit",
            "reference_range",
            "collected_at",
            "result_status",
            "decided_by",
            "decided_at",
            "rejection_reason",
            "lab_result",
            "antibody_test",
        ]
        read_only_fields = fields


class FileInputSerializer(serializers.Serializer):
    patient = patient_field()
    analyte = serializers.ChoiceField(
        choices=mapping.TEST_CHOICES,
        required=False,
        allow_null=True,
        help_text="The test, when the sender's code is not mapped to one.",
    )


class RejectInputSerializer(serializers.Serializer):
    reason = TextField(max_length=2000, help_text="Why the result is not filed.")


class LabInboxFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=InboxStatus.choices)

    class Meta:
        model = LabInboxEntry
        fields = ["status"]


ENTRY_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class LabInboxViewSet(ApiViewSet):
    required_permissions = {
        "list": ("interop.view_labinboxentry",),
        "retrieve": ("interop.view_labinboxentry",),
        "file": ("interop.view_labinboxentry", "interop.change_labinboxentry"),
        "reject": ("interop.view_labinboxentry", "interop.change_labinboxentry"),
    }
    filterset_class = LabInboxFilter

    def get_queryset(self) -> QuerySet[LabInboxEntry]:
        return selectors.inbox()

    @extend_schema(
        summary="Results that could not be filed by themselves (oldest first)",
        responses={200: LabInboxEntrySerializer, **errors(400, 401, 403)},
    )
    def list(self, request: Request) -> Response:
        return self.paginated(self.get_queryset(), LabInboxEntrySerializer)

    @extend_schema(
        summary="One result of the lab inbox",
        responses={200: LabInboxEntrySerializer, **errors(401, 403, 404)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(LabInboxEntrySerializer(self.get_object()).data)

    def _respond(self, entry: LabInboxEntry) -> Response:
        return Response(LabInboxEntrySerializer(self.get_queryset().get(pk=entry.pk)).data)

    @extend_schema(
        summary="File a waiting result to a patient (neurologist)",
        parameters=[ENTRY_ID],
        request=FileInputSerializer,
        responses={200: LabInboxEntrySerializer, **errors(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def file(self, request: Request, pk: str) -> Response:
        entry = self.get_object()
        data = self.read_input(FileInputSerializer)
        filed = services.file_inbox_entry(
            entry_id=entry.pk, patient=data["patient"], test=data.get("analyte"), user=request.user
        )
        return self._respond(filed)

    @extend_schema(
        summary="Reject a waiting result, saying why (neurologist)",
        parameters=[ENTRY_ID],
        request=RejectInputSerializer,
        responses={200: LabInboxEntrySerializer, **errors(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        entry = self.get_object()
        reason = self.read_input(RejectInputSerializer)["reason"]
        return self._respond(
            services.reject_inbox_entry(entry_id=entry.pk, reason=reason, user=request.user)
        )
