"""The classes REST_FRAMEWORK settings name for every view: JSON parser, token
authentication, rate limits, record pagination.

DRF imports these while it loads rest_framework.views itself, so this module must not
import that (the rest of the plumbing is in natalizumab_monitor.api).
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle as DrfAnonRateThrottle
from rest_framework.throttling import UserRateThrottle as DrfUserRateThrottle
from rest_framework.utils.urls import replace_query_param

from audit import reads

# --- Parsing ---------------------------------------------------------------------------------


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _has_lone_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StrictJSONParser(JSONParser):
    """JSON bodies only; numbers with a fraction become exact Decimals."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping | None = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise exceptions.ParseError(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(
                raw.decode(encoding), parse_float=Decimal, parse_constant=_refuse_constant
            )
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if _has_lone_surrogate(data):
            raise exceptions.ParseError("JSON parse error - a string holds a lone surrogate.")
        return data


# --- Authentication --------------------------------------------------------------------------

_TOKEN = re.compile(rb"^[0-9A-Za-z]{1,200}$")


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox tokens; a malformed token is a 401, not a crash in the lookup."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        if not _TOKEN.match(token):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)


# --- Rate limits -----------------------------------------------------------------------------


class _CurrentRates:
    """The rate of the scope as the settings name it now (DRF reads its rates once, at import)."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserRateThrottle(_CurrentRates, DrfUserRateThrottle):
    """Per signed-in user (token or session), counted in the cache (Redis in production)."""


class AnonRateThrottle(_CurrentRates, DrfAnonRateThrottle):
    """Per address, for requests without credentials (which get 401 until the limit)."""


# --- Pagination ------------------------------------------------------------------------------


class RecordCursorPagination(CursorPagination):
    """Records in the order they were written, newest last."""

    ordering = ("created_at",)
    page_size_query_param = "page_size"
    max_page_size = 200
    template = None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        # The cursor loads one row beyond the page: only the rows returned were shown.
        with reads.paused():
            page = super().paginate_queryset(queryset, request, view)
        reads.saw(page or ())
        return page

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
            position = cursor.position if cursor is not None else None
            if position is not None and parse_datetime(position) is None:
                raise ValueError(position)
        except (exceptions.NotFound, ValueError) as exc:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc
        return cursor


class KeysetPagination(BasePagination):
    """Forward-only pagination on an ever-growing integer key, with an opaque cursor: a
    client that follows `next` never misses or repeats a row. `previous` is always null.

    Subclasses name the key (`key_field`), the cursor's prefix, the page sizes, and whether
    `next` is given on a page that is not full (a feed to poll) or only while pages are full.
    """

    key_field = "id"
    cursor_prefix = b"after:"
    page_size = 50
    max_page_size = 200
    next_when_done = False  # True: a poller keeps the last cursor and asks again later
    rows_noun = "Rows"
    next_description = "Null once the last page is reached."
    cursor_description = "Opaque: take it from `next`."

    def encode_cursor(self, key: int) -> str:
        raw = self.cursor_prefix + str(key).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_cursor(self, cursor: str) -> int:
        """The key a cursor resumes after; ValueError if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        except (UnicodeEncodeError, binascii.Error) as exc:
            raise ValueError(cursor) from exc
        digits = raw.removeprefix(self.cursor_prefix)
        if digits == raw or not digits.isdigit() or len(digits) > 18:
            raise ValueError(cursor)
        return int(digits)

    def get_page_size(self, request: Request) -> int:
        try:
            size = int(request.query_params["page_size"])
        except (KeyError, ValueError):
            return self.page_size
        return min(size, self.max_page_size) if size > 0 else self.page_size

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list:
        self.request = request
        cursor = request.query_params.get("cursor")
        try:
            after = 0 if cursor is None else self.decode_cursor(cursor)
        except ValueError as exc:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc
        size = self.get_page_size(request)
        key = self.key_field
        page = list(queryset.filter(**{f"{key}__gt": after}).order_by(key)[:size])
        if len(page) == size:
            self.next_key: int | None = getattr(page[-1], key)
        elif self.next_when_done:
            self.next_key = getattr(page[-1], key) if page else after
        else:
            self.next_key = None
        return page

    def get_paginated_response(self, data: list) -> Response:
        next_url = None
        if self.next_key is not None:
            url = self.request.build_absolute_uri()
            next_url = replace_query_param(url, "cursor", self.encode_cursor(self.next_key))
        return Response({"next": next_url, "previous": None, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        next_url: dict[str, Any] = {
            "type": "string",
            "format": "uri",
            "description": self.next_description,
        }
        if not self.next_when_done:
            next_url["nullable"] = True
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": next_url,
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "description": "Always null: pages only move forward.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": self.cursor_description,
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"{self.rows_noun} per page (default {self.page_size}, "
                f"at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
