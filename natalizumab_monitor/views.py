"""Pages that belong to no single app: the home redirect and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from alerts.health import background_status, broker_reachable

from .roles import API_CLIENT, AUDITOR, NEUROLOGIST, NURSE, PHARMACIST, role_of

# Each role starts on the page of its daily work.
ROLE_HOME = {
    NURSE: "infusions:today",
    PHARMACIST: "infusions:bags",
    NEUROLOGIST: "patients:worklist",
    AUDITOR: "audit:search",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    if role in ROLE_HOME:
        return redirect(ROLE_HOME[role])
    if role == API_CLIENT:
        return render(request, "home_api_client.html")
    return render(request, "home_no_role.html", status=403)


def health(request: HttpRequest) -> JsonResponse:
    """Database, broker and beat; 503 when the database is down or beat has stopped."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        database = "unavailable"
    body: dict[str, object] = {"database": database}
    beat_ok = False
    if database == "ok":
        status = background_status()
        beat_ok = status.timers_ok
        body["beat"] = "ok" if beat_ok else "stale"
        body["last_timers_run"] = status.last_timers_run
        body["last_sweep"] = status.last_sweep
    else:
        body["beat"] = "unknown"
    # A broker outage alone is no 503: writes still succeed and the timers catch up.
    body["broker"] = "ok" if broker_reachable(timeout=1.0) else "unavailable"
    return JsonResponse(body, status=200 if database == "ok" and beat_ok else 503)
