"""Who is acting, and through which door: the context every audit entry is stamped with.

The middleware opens one for each request, a Celery signal one for each task; the
`acting()` context manager opens one anywhere else (an import listener, a command). With
none open the actor is the system. On PostgreSQL the context rides along with every write
statement as a transaction-local setting that the row trigger reads (audit/triggers.py).
"""

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from audit.models import Via
from natalizumab_monitor.roles import ROLES

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class Actor:
    via: str
    request_id: str = ""
    remote_addr: str = ""
    # The user is read when it is needed: DRF authenticates a token only inside the view.
    request: HttpRequest | None = None
    user: Any = None
    _who: tuple[Any, dict[str, Any]] | None = field(default=None, repr=False)

    def current_user(self) -> Any:
        user = getattr(self.request, "user", None) if self.request is not None else self.user
        return user if getattr(user, "is_authenticated", False) else None

    def who(self) -> dict[str, Any]:
        """user_id, username and, when known without a query, role of the acting user (None
        and "" for the system). An unknown role is None: the database looks it up."""
        user = self.current_user()
        key = user.pk if user is not None else None
        if self._who is None or self._who[0] != key:
            self._who = (
                key,
                {
                    "user_id": key,
                    "username": user.get_username() if user is not None else "",
                    "role": self._known_role(user) if user is not None else "",
                },
            )
        return self._who[1]

    def _known_role(self, user: Any) -> str | None:
        # A page's role check already found it (natalizumab_monitor.access).
        if self.request is not None and getattr(self.request, "user", None) is user:
            return getattr(self.request, "role", None)
        return None

    def stamp(self) -> dict[str, Any]:
        """The fields of an audit entry that say who, how and from where (for an insert by
        the ORM: a role not yet known is a subquery of the same statement)."""
        who = dict(self.who())
        if who["role"] is None:
            who["role"] = role_expression(who["user_id"])
        return {
            **who,
            "via": self.via,
            "request_id": self.request_id,
            "remote_addr": self.remote_addr,
        }

    def setting(self) -> dict[str, Any]:
        """The context the row trigger reads: with the role names to look up if need be."""
        who = self.who()
        roles = {"roles": list(ROLES)} if who["role"] is None else {}
        return {
            **{k: v for k, v in who.items() if v is not None},
            **roles,
            "via": self.via,
            "request_id": self.request_id,
            "remote_addr": self.remote_addr,
        }


def role_expression(user_id: Any) -> Coalesce:
    """The user's role, looked up inside the INSERT that needs it (no round trip of its own)."""
    groups = Group.objects.filter(user=user_id, name__in=ROLES).order_by("name")
    return Coalesce(Subquery(groups.values("name")[:1]), Value(""))


_current: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)
SYSTEM = Actor(via=Via.SYSTEM)


def enabled() -> bool:
    return bool(getattr(settings, "AUDIT_ENABLED", True))


def current() -> Actor:
    return _current.get() or SYSTEM


def is_open() -> bool:
    return _current.get() is not None


@contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def open_actor(actor: Actor | None) -> object:
    """Set the actor until close_actor(token): for signal pairs (task pre/post run)."""
    return _current.set(actor)


def close_actor(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def via_of(request: HttpRequest) -> str:
    path = request.path
    if request.method != "GET" and path.startswith(tuple(settings.AUDIT_IMPORT_PATHS)):
        return Via.IMPORT
    if path.startswith("/admin/"):
        return Via.ADMIN
    if path.startswith(("/api/", "/fhir/")):
        return Via.API
    return Via.PAGE


def for_request(request: HttpRequest) -> Actor:
    sent = request.headers.get("X-Request-ID", "")
    return Actor(
        via=via_of(request),
        request_id=sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex,
        remote_addr=request.META.get("REMOTE_ADDR", "")[:64],
        request=request,
    )


def as_setting() -> str | None:
    """The JSON the row trigger reads, or None when the trigger's own default (the system,
    audit on) is right."""
    if not enabled():
        return '{"enabled": false}'
    actor = _current.get()
    if actor is None:
        return None
    return json.dumps(actor.setting(), separators=(",", ":"))
