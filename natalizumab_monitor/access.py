"""Who may open a page: a login for every page, and the roles each page is for."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from . import clock
from .roles import role_of

View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; a user of another role gets 403.

    The view runs in the clinic's time zone, so forms read and templates show local times.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            role = role_of(request.user)
            if role not in roles:
                raise PermissionDenied
            request.role = role  # type: ignore[attr-defined]
            with timezone.override(clock.clinic_zone()):
                return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request wants a fragment back, not a whole page."""
    return request.headers.get("HX-Request") == "true"
