"""Each request reads as its caller: the caller's sites, and the time zone of the site at hand."""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse

from natalizumab_monitor import clock

from . import scoping, selectors


class SiteScopeMiddleware:
    """Sets the caller for the request's reads (after authentication).

    The caller is looked up when a read first needs it, so a token the API authenticates
    later (in the view) counts too. A streamed response reads as the same caller.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        resolver = _CallerSites(request)
        with scoping.caller_sees(resolver), clock.zone_of(lambda: _zone(request)):
            response = self.get_response(request)
        if response.streaming:
            response.streaming_content = scoping.scoped_stream(resolver, response.streaming_content)
        return response


class _CallerSites:
    """The request's user's sites, looked up once per user (the API signs in late), with the
    header's list of the user's sites (one query for both)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def __call__(self) -> frozenset[int] | None:
        return selectors.caller_site_ids(self.request)


def _zone(request: HttpRequest) -> ZoneInfo | None:
    """A patient's pages in the patient's site's zone; the others in the current site's.

    Looked up once the URL is resolved, then kept for the request."""
    if hasattr(request, "_site_zone"):
        return request._site_zone  # type: ignore[attr-defined]
    match = getattr(request, "resolver_match", None)
    patient_id = match.kwargs.get("patient_id") if match is not None else None
    zone = selectors.zone_of_patient(patient_id) if patient_id is not None else None
    if zone is None:
        site = selectors.current_site(request)
        zone = None if site is None else site.zone
    if match is not None:
        request._site_zone = zone  # type: ignore[attr-defined]
    return zone
