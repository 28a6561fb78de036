"""The alert feed: GET /api/v1/alerts/, acknowledge and resolve (API.md, "The alert feed")."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from natalizumab_monitor import disclosure
from natalizumab_monitor.api import ApiViewSet, TextField, errors
from natalizumab_monitor.rest import KeysetPagination

from . import selectors, services
from .filters import AlertFilter
from .models import Alert


class FeedPagination(KeysetPagination):
    """Keyset pagination on feed_seq, which only grows in commit order.

    `next` is always given, even on the last page: a poller keeps requesting it and gets
    exactly the alerts changed since, none missed and none twice. There is no way back:
    `previous` is always null.
    """

    key_field = "feed_seq"
    cursor_prefix = b"after:"
    page_size = 50
    max_page_size = 200
    next_when_done = True
    rows_noun = "Alerts"
    next_description = (
        "Always present, also on the last page: request it again later to get the alerts "
        "changed since."
    )
    cursor_description = (
        "Opaque: take it from `next`. Without it, the feed starts at the beginning."
    )


def encode_cursor(feed_seq: int) -> str:
    """The cursor that resumes the feed after `feed_seq` (what a poller keeps)."""
    return FeedPagination().encode_cursor(feed_seq)


class AlertSerializer(serializers.ModelSerializer):
    evidence = serializers.DictField(read_only=True, help_text="The values that made it fire.")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, allow_null=True
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "patient",
            "rule",
            "severity",
            "action",
            "status",
            "message",
            "evidence",
            "source",
            "profile",
            "profile_version",
            "dedup_key",
            "raised_at",
            "updated_at",
            "feed_seq",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Alert) -> dict[str, Any]:
        # Message, evidence and note only for a caller who may read the records behind them.
        return disclosure.finding_for(
            disclosure.caller(self.context), super().to_representation(instance)
        )


class ResolveInputSerializer(serializers.Serializer):
    note = TextField(max_length=4000, help_text="Required: why the alert is closed.")


ALERT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="The alert feed, the most recently changed last",
        description="Every change of an alert (raised, updated, acknowledged, resolved) moves "
        "it to the end of the feed. Follow `next`, which is always given: a poller that "
        "keeps requesting it never misses or repeats a change.",
        responses={200: AlertSerializer, **errors(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="One alert", responses={200: AlertSerializer, **errors(401, 403, 404)}
    ),
)
class AlertViewSet(ApiViewSet):
    required_permissions = {
        "list": ("alerts.view_alert",),
        "retrieve": ("alerts.view_alert",),
        "acknowledge": ("alerts.view_alert", "alerts.change_alert"),
        # Closing an alert is a clinical decision: the neurologist's.
        "resolve": ("alerts.change_alert", "patients.add_treatmentdecision"),
    }
    filterset_class = AlertFilter
    pagination_class = FeedPagination

    def get_queryset(self) -> QuerySet[Alert]:
        return selectors.alert_feed()

    def list(self, request: Request) -> Response:
        return self.paginated(self.get_queryset(), AlertSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            AlertSerializer(self.get_object(), context=self.get_serializer_context()).data
        )

    def _respond(self, alert: Alert) -> Response:
        alert = self.get_queryset().get(pk=alert.pk)
        return Response(AlertSerializer(alert, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Acknowledge an alert (clinical roles); again is a no-op",
        parameters=[ALERT_ID],
        request=None,
        responses={200: AlertSerializer, **errors(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        return self._respond(services.acknowledge_alert(alert=self.get_object(), user=request.user))

    @extend_schema(
        summary="Resolve an alert with a note (neurologist)",
        parameters=[ALERT_ID],
        request=ResolveInputSerializer,
        responses={200: AlertSerializer, **errors(400, 401, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        note = self.read_input(ResolveInputSerializer)["note"]
        alert = services.resolve_alert(alert=self.get_object(), note=note, user=request.user)
        return self._respond(alert)
