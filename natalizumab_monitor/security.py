"""Request-wide safeguards, in one place: session limits (idle and a shift's length), the second
factor where it is required, and the headers every response carries."""

import functools
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control

from .accounts import LAST_ACTIVITY, SIGNED_IN_AT, session_needs_second_factor

Handler = Callable[[HttpRequest], HttpResponse]
MACHINE_PREFIXES = ("/api/", "/fhir/")
# The idle clock restarts at most this often: a session write per request would cost more.
ACTIVITY_RESOLUTION_SECONDS = 30


def _is_machine(request: HttpRequest) -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


@functools.cache
def _paths(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(reverse(name) for name in names)


def _exempt(request: HttpRequest, *names: str) -> bool:
    static = (
        settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}"
    )
    return request.path.startswith(static) or request.path in _paths(names)


class MalformedSessionCookieMiddleware:
    """A session cookie that cannot be a session key (Django's are lower-case letters and
    digits) is dropped before anything looks the session up: it names no session, and some
    bytes (NUL) would make the database refuse the query."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if key is not None and not (key.isascii() and key.isalnum() and len(key) <= 64):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        return self.get_response(request)


class SessionLimitsMiddleware:
    """A session ends after SESSION_IDLE_MINUTES without a request the user made, and after
    SESSION_MAX_HOURS in all (a shift). Polling a page does (X-Background) does not count."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            ended = self._ended(request)
            if ended:
                logout(request)
                if _is_machine(request):
                    return JsonResponse({"detail": "The session has ended; sign in again."}, 401)
                return redirect(f"{reverse('login')}?signed_out={ended}")
        return self.get_response(request)

    def _ended(self, request: HttpRequest) -> str:
        now = time.time()
        session = request.session
        started = session.get(SIGNED_IN_AT)
        last = session.get(LAST_ACTIVITY)
        if started is None or last is None:  # signed in some other way: start the clocks now
            session[SIGNED_IN_AT] = started or now
            session[LAST_ACTIVITY] = now
            return ""
        if now - started > settings.SESSION_MAX_HOURS * 3600:
            return "shift"
        if now - last > settings.SESSION_IDLE_MINUTES * 60:
            return "idle"
        background = request.headers.get("X-Background") == "1"
        if not background and now - last >= ACTIVITY_RESOLUTION_SECONDS:
            session[LAST_ACTIVITY] = now
        return ""


class SecondFactorMiddleware:
    """Nothing but the second-factor pages until a user who needs TOTP has given a code."""

    ALLOWED = ("two-factor-verify", "two-factor-setup", "logout", "login", "health")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()  # type: ignore[union-attr]
            and not _exempt(request, *self.ALLOWED)
            and session_needs_second_factor(request)
        ):
            if _is_machine(request):
                return JsonResponse({"detail": "Give your second factor first."}, status=403)
            return redirect(f"{reverse('two-factor-verify')}?next={request.path}")
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """No page or answer about patients is kept by a browser or a proxy, and the page may use
    no camera, microphone, location or payment."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if _is_machine(request) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
