"""The audit's API (role auditor): GET /api/v1/audit/ and a patient's access report."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from natalizumab_monitor.api import errors
from natalizumab_monitor.rest import KeysetPagination

from . import selectors
from .access import IsAuditor
from .filters import AuditFilter
from .models import AuditEntry


class AuditPagination(KeysetPagination):
    """Keyset pagination on the entry id, oldest first. `next` is given while a page is full."""

    key_field = "id"
    cursor_prefix = b"audit-after:"
    page_size = 100
    max_page_size = 500
    rows_noun = "Entries"


class AuditEntrySerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField(help_text="The username; null for the system.")
    patients = serializers.ListField(
        child=serializers.UUIDField(), help_text="The ids of the patients it concerns."
    )
    changes = serializers.DictField(
        help_text='{"field": [before, after]} for an update; the values for a create or delete.'
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "user",
            "role",
            "action",
            "record_type",
            "record_id",
            "patients",
            "changes",
            "via",
            "request_id",
            "remote_addr",
        ]
        read_only_fields = fields

    def get_user(self, entry: AuditEntry) -> str | None:
        return entry.username or None


class AuditViewSet(GenericViewSet):
    # Comments, not docstrings: the schema would show a docstring as the description.
    permission_classes = [IsAuditor]
    pagination_class = AuditPagination
    filterset_class = AuditFilter
    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return selectors.audit_entries()

    @extend_schema(
        summary="The audit, oldest first (auditor)",
        responses={200: AuditEntrySerializer(many=True), **errors(400, 401, 403)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)


PATIENT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="Who read or changed a patient's record, when and how (auditor)",
        parameters=[PATIENT_ID],
        responses={200: AuditEntrySerializer(many=True), **errors(400, 401, 403, 404)},
    )
)
class AccessReportViewSet(GenericViewSet):
    permission_classes = [IsAuditor]
    pagination_class = AuditPagination
    serializer_class = AuditEntrySerializer
    filter_backends: list = []

    def list(self, request: Request, id: str) -> Response:
        if not selectors.patient_exists(id):
            raise exceptions.NotFound()
        page = self.paginate_queryset(selectors.access_report(id))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)
