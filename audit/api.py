"""The audit's API (role auditor): GET /api/v1/audit/ and a patient's access report."""

import base64
import binascii
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.viewsets import GenericViewSet

from natalizumab_monitor.api import errors

from . import selectors
from .access import IsAuditor
from .filters import AuditFilter
from .models import AuditEntry

_CURSOR_PREFIX = b"audit-after:"


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(entry_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(cursor) from exc
    digits = raw.removeprefix(_CURSOR_PREFIX)
    if digits == raw or not digits.isdigit() or len(digits) > 18:
        raise ValueError(cursor)
    return int(digits)


class AuditPagination(BasePagination):
    """Keyset pagination on the entry id, oldest first. `next` is given while a page is full."""

    page_size = 100
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        try:
            size = int(request.query_params["page_size"])
        except (KeyError, ValueError):
            return self.page_size
        return min(size, self.max_page_size) if size > 0 else self.page_size

    def paginate_queryset(
        self, queryset: QuerySet[AuditEntry], request: Request, view: Any = None
    ) -> list[AuditEntry]:
        self.request = request
        cursor = request.query_params.get("cursor")
        try:
            after = 0 if cursor is None else decode_cursor(cursor)
        except ValueError as exc:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc
        self.size = self.get_page_size(request)
        page = list(queryset.filter(id__gt=after).order_by("id")[: self.size])
        self.last_id = page[-1].id if len(page) == self.size else None
        return page

    def get_paginated_response(self, data: list) -> Response:
        next_url = None
        if self.last_id is not None:
            url = self.request.build_absolute_uri()
            next_url = replace_query_param(url, "cursor", encode_cursor(self.last_id))
        return Response({"next": next_url, "previous": None, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "nullable": True, "description": "Always null."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Opaque: take it from `next`.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Entries per page (default {self.page_size}, "
                f"at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


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
