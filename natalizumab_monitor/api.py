"""REST plumbing every app's api.py shares: strict JSON in, the error shapes of API.md out.

- Parsing, token authentication, pagination: natalizumab_monitor.rest.
- Fields: a JSON value of the wrong type is refused, never coerced ("3" is not 3).
- Errors: 400 {"field": ["message"]} (nested fields as "checklist.authorized"),
  409 {"detail", "blocking"}, 412 {"detail", "current_version"}; never a 500 for input.
- Permissions: the model permissions of the caller's role group, per view action.
- Optimistic concurrency: ETag is the record's version; If-Match and body `version`.
"""

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.utils.dateparse import parse_datetime
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import GenericViewSet

from . import disclosure
from .errors import Conflict, PreconditionFailed, PreconditionRequired, StaleVersion
from .rest import RecordCursorPagination

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = "non_field_errors"

# --- Fields ----------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """A JSON string; a number or a boolean is refused rather than turned into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FlagField(serializers.BooleanField):
    """JSON true or false, nothing else ("yes" and 1 are refused)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class WholeNumberField(serializers.IntegerField):
    """A JSON integer (not a boolean, a string or a fraction)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class NumberField(serializers.DecimalField):
    """A JSON number, kept exact and rounded to `decimal_places` after the bounds check."""

    default_error_messages = {
        "invalid": "A valid number is required.",
        "max_value": "Ensure this value is less than or equal to {max_value}.",
        "min_value": "Ensure this value is greater than or equal to {min_value}.",
    }

    def __init__(
        self,
        *,
        max_value: Decimal | int,
        min_value: Decimal | int = 0,
        places: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.places = places
        super().__init__(
            max_digits=None,
            decimal_places=None,
            coerce_to_string=False,
            max_value=Decimal(max_value),
            min_value=Decimal(min_value),
            **kwargs,
        )
        self.validators = []  # the bounds are checked before rounding, below

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, int | float | Decimal):
            self.fail("invalid")
        try:
            value = Decimal(str(data)) if isinstance(data, float) else Decimal(data)
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if value > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        if value < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if self.places is None:
            return value
        with localcontext() as context:
            context.prec = 40
            return value.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_EVEN)


class ZonedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with its zone (a time without one is ambiguous); returned in UTC."""

    default_error_messages = {
        "invalid": "Use ISO 8601 with a time zone, e.g. 2026-03-01T09:30:00Z.",
        "naive": "Include a time zone, e.g. 2026-03-01T09:30:00Z.",
        "range": "Must be between the years 1900 and 9000.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.utcoffset() is None:
            self.fail("naive")
        try:
            result = parsed.astimezone(UTC)
        except OverflowError:
            self.fail("range")
        if not 1900 <= result.year <= 9000:
            self.fail("range")
        return result


class UUIDRelatedField(serializers.PrimaryKeyRelatedField):
    """A record named by its UUID; an unknown id is a 400 on the field."""

    def __init__(self, *, noun: str, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", serializers.UUIDField())
        kwargs.setdefault("error_messages", {"does_not_exist": f"No {noun} with id {{pk_value}}."})
        super().__init__(**kwargs)


class VersionField(WholeNumberField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**31 - 1)
        kwargs.setdefault(
            "help_text",
            "The version you last read (optimistic concurrency): if the record changed "
            "since, the write is refused with 409.",
        )
        super().__init__(**kwargs)


# --- Errors ----------------------------------------------------------------------------------


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors -> {"field": [...]}, {"checklist.authorized": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = NON_FIELD_ERRORS if key == "__all__" else str(key)
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or NON_FIELD_ERRORS: [str(m) for m in messages]}


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return _flatten(exc.message_dict)
    return {NON_FIELD_ERRORS: list(exc.messages)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        return Response(_django_errors(exc), status=400)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {NON_FIELD_ERRORS: [f"The request body is larger than {limit} bytes."]}, 400
        )
    if isinstance(exc, exceptions.ParseError):
        return Response({NON_FIELD_ERRORS: [str(exc.detail)]}, status=400)
    if isinstance(exc, Conflict):
        blocking = disclosure.findings_for(disclosure.caller(context), exc.blocking)
        body: dict[str, Any] = {"detail": exc.detail, "blocking": blocking}
        if isinstance(exc, StaleVersion):
            body["current_version"] = exc.current_version
        return Response(body, status=409)
    if isinstance(exc, PreconditionRequired):
        return Response({"detail": exc.detail}, status=428)
    if isinstance(exc, PreconditionFailed):
        return Response(
            {"detail": exc.detail, "current_version": exc.current_version},
            status=412,
            headers={"ETag": etag(exc.current_version)},
        )
    if isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        # A race the services did not foresee: the database kept the data consistent.
        logger.warning("IntegrityError turned into 409: %s", exc)
        return Response(
            {"detail": "The change conflicts with another one; reload and retry.", "blocking": []},
            status=409,
        )
    elif isinstance(exc, DataError):
        logger.warning("DataError turned into 400: %s", exc)
        return Response({NON_FIELD_ERRORS: ["A value is out of range."]}, status=400)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 400:
        response.data = _flatten(response.data)
    return response


# --- Permissions -----------------------------------------------------------------------------


class RolePermission(BasePermission):
    """The caller's role group must hold every model permission the view action names."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action is None:
            return True  # a method the view does not have: it answers 405
        needed = view.required_permissions.get(action)
        if needed is None:
            return False  # an action nobody was granted
        return user.has_perms(needed)


# --- Optimistic concurrency ------------------------------------------------------------------

_ETAG = re.compile(r'^(?:W/)?"(\d{1,10})"$')
NEVER_MATCHES = 0  # versions start at 1


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(request: Request) -> int | None:
    """The version If-Match names: None if absent or `*`; NEVER_MATCHES if unreadable."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    return int(match.group(1)) if match else NEVER_MATCHES


def require_version(request: Request, data: dict[str, Any]) -> int | None:
    """The If-Match version of a change; 428 when neither If-Match nor `version` names one."""
    if "If-Match" not in request.headers and data.get("version") is None:
        raise PreconditionRequired
    return if_match_version(request)


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = etag(version)
    return response


# --- Schema ----------------------------------------------------------------------------------


class TokenScheme(KnoxTokenScheme):
    """`Authorization: Token <key>` in the schema, for our knox subclass."""

    target_class = "natalizumab_monitor.rest.TokenAuthentication"


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.CharField(help_text="critical, warning or info")
    action = serializers.CharField(
        help_text="suspend, block-infusion, discontinue, remind or inform"
    )
    message = serializers.CharField(
        help_text="Withheld (and evidence empty) for a caller who may not read every kind of "
        "record the finding is drawn from, e.g. the api-client role."
    )
    evidence = serializers.DictField(help_text="The values that made the rule fire.")
    source = serializers.CharField()
    profile = serializers.CharField()
    profile_version = serializers.CharField()
    dedup_key = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    blocking = FindingSerializer(
        many=True, help_text="The findings that stand in the way (empty unless a gate refused)."
    )
    current_version = serializers.IntegerField(
        required=False, help_text="Present when the `version` sent was stale."
    )


class PreconditionFailedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField()


VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationError"}
_ERRORS = {
    400: OpenApiResponse(VALIDATION_ERROR, description="Bad input: the fields named."),
    401: OpenApiResponse(ErrorDetailSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorDetailSerializer, description="The caller's role may not."),
    404: OpenApiResponse(ErrorDetailSerializer, description="No such record."),
    409: OpenApiResponse(
        ConflictSerializer,
        description="The record's state or version does not allow the change; for the "
        "start of an infusion, `blocking` lists the findings that refuse it.",
    ),
    412: OpenApiResponse(
        PreconditionFailedSerializer, description="If-Match names a version that is not current."
    ),
    428: OpenApiResponse(
        ErrorDetailSerializer, description="Neither If-Match nor `version` names the version."
    ),
    415: OpenApiResponse(ErrorDetailSerializer, description="The body is not JSON."),
}


ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The version of the record, quoted (e.g. "3"): send it back in If-Match.',
)


def document_rate_limits(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Schema hook: every operation may answer 429 (per-user rate limit) with Retry-After."""
    too_many = {
        "description": "Too many requests from this user (or address): wait the seconds "
        "Retry-After names.",
        "headers": {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before the next request.",
            }
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
    }
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", too_many)
    return result


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: _ERRORS[code] for code in codes}


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag you last read (e.g. "3"), or *: if the record changed since, '
    "the write is refused with 412.",
)


# --- Views -----------------------------------------------------------------------------------


# A thin view: input serializer -> one service or selector -> output serializer. (Comments,
# not docstrings: the schema would show a docstring as every operation's description.)
class ApiViewSet(GenericViewSet):
    permission_classes = [RolePermission]
    pagination_class = RecordCursorPagination
    required_permissions: Mapping[str, tuple[str, ...]] = {}

    def read_input(
        self, serializer_class: type[serializers.Serializer], *, partial: bool = False
    ) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def paginated(self, queryset: Any, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(queryset))
        context = self.get_serializer_context()  # the caller: what they may be shown
        return self.get_paginated_response(serializer_class(page, many=True, context=context).data)


# GET list, GET one and POST for a kind of record: subclasses name the serializers, the
# selector (`select`) and the service (`record`).
class RecordViewSet(ApiViewSet):
    output_serializer: type[serializers.Serializer]
    input_serializer: type[serializers.Serializer]

    def select(self) -> Any:
        raise NotImplementedError

    def record(self, **data: Any) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        return self.select()

    def list(self, request: Request) -> Response:
        return self.paginated(self.get_queryset(), self.output_serializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.output_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        created = self.record(**self.read_input(self.input_serializer))
        # Read it back through the selector, so it carries what a list shows.
        created = self.select().get(pk=created.pk)
        return Response(self.output_serializer(created).data, status=201)


def record_schema(
    input_serializer: type[serializers.Serializer],
    output_serializer: type[serializers.Serializer],
    *,
    summary: str,
) -> Any:
    """The OpenAPI description of a RecordViewSet's list, retrieve and create."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {summary}", responses={200: output_serializer, **errors(400, 401, 403)}
        ),
        retrieve=extend_schema(
            summary=f"One of the {summary}",
            responses={200: output_serializer, **errors(401, 403, 404)},
        ),
        create=extend_schema(
            summary=f"Record one of the {summary}",
            request=input_serializer,
            responses={201: output_serializer, **errors(400, 401, 403, 415)},
        ),
    )
