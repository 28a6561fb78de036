"""GET /api/v1/sites/: the sites the caller works at; and the `site` field of a patient."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from natalizumab_monitor.api import ApiViewSet, RecordCursorPagination, errors

from .models import Site
from .selectors import visible_sites

SITE_REQUIRED = "Name the patient's site: you work at more than one."


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "time_zone"]


@extend_schema_field(OpenApiTypes.INT)
class CallerSiteField(serializers.PrimaryKeyRelatedField):
    """A site id among the caller's sites; another site's id is unknown (400, no hint)."""

    default_error_messages = {
        "does_not_exist": "No site of yours with id {pk_value}.",
        "incorrect_type": "A site id is a whole number.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The site (infusion centre) the patient belongs to.")
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Site]:
        return visible_sites()


def site_of_new_patient(chosen: Site | None) -> Site | None:
    """The site a patient registered by the caller joins: the one named, else the caller's
    only site (None: the installation has none yet, the first is made with the patient)."""
    if chosen is not None:
        return chosen
    mine = list(visible_sites()[:2])
    if len(mine) == 1:
        return mine[0]
    if mine:
        raise serializers.ValidationError({"site": [SITE_REQUIRED]})
    return None


class ByCode(RecordCursorPagination):
    ordering = ("code",)


@extend_schema_view(
    list=extend_schema(
        summary="The sites (infusion centres) you work at",
        responses={200: SiteSerializer, **errors(400, 401, 403)},
    )
)
class SiteViewSet(ApiViewSet):
    required_permissions = {"list": ()}  # every signed-in caller: their own sites
    pagination_class = ByCode

    def get_queryset(self) -> QuerySet[Site]:
        return visible_sites()

    def list(self, request: Request) -> Response:
        return self.paginated(self.get_queryset(), SiteSerializer)
