"""The reads about sites: which ones a user works at, and the one a page is about."""

from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from . import scoping
from .models import Site

SESSION_KEY = "site"


def sites_for(user: Any) -> QuerySet[Site]:
    """The sites the user works at (every site for a user who sees them all)."""
    sites = scoping.sites_of(user)
    every = Site.objects.order_by("code")
    return every if sites is None else every.filter(pk__in=sites)


def visible_sites() -> QuerySet[Site]:
    """The sites the current caller may see (every site for background work)."""
    sites = scoping.visible_site_ids()
    every = Site.objects.order_by("code")
    return every if sites is None else every.filter(pk__in=sites)


def my_sites(request: HttpRequest) -> list[Site]:
    """The signed-in user's sites, read once per request (the header and the pages share it).

    One query reads every site with the user's membership: the user's sites (as `sites_for`),
    their ids for the scoping of the request's reads (`caller_site_ids`) and how many sites
    there are (`site_count`). Read again if the request's user changes (the API signs in late).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    if getattr(request, "_my_sites_of", None) != user.pk:
        every = list(scoping.sites_with_membership(user).order_by("code"))
        rows = [(site.pk, site.mine) for site in every]
        mine = None if user.is_superuser else scoping.sites_among(rows)
        request._my_site_ids = mine  # type: ignore[attr-defined]
        request._site_count = len(every)  # type: ignore[attr-defined]
        sites = [site for site in every if mine is None or site.pk in mine]
        request._my_sites = sites  # type: ignore[attr-defined]
        request._my_sites_of = user.pk  # type: ignore[attr-defined]
    return request._my_sites  # type: ignore[attr-defined]


def caller_site_ids(request: HttpRequest) -> frozenset[int] | None:
    """The ids of the sites the request's user may see (`scoping.sites_of`); None: every site."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return frozenset()
    my_sites(request)
    return request._my_site_ids  # type: ignore[attr-defined]


def seen_site_ids(request: HttpRequest) -> list[int] | None:
    """The ids of the sites whose patients the request's user sees, every site's for a
    user of every site; None when that is none."""
    ids = caller_site_ids(request)
    if ids is None:
        ids = frozenset(Site.objects.values_list("pk", flat=True))
    return sorted(ids) or None


def site_count(request: HttpRequest) -> int:
    """How many sites the database has, read with the signed-in user's sites."""
    my_sites(request)
    return getattr(request, "_site_count", 0)


def current_site(request: HttpRequest) -> Site | None:
    """The site the user's pages are about: chosen in the switcher, else their first.

    Cached on the request; None only when the database has no site yet.
    """
    if hasattr(request, "_current_site"):
        return request._current_site  # type: ignore[attr-defined]
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    mine = my_sites(request)
    chosen = getattr(request, "session", {}).get(SESSION_KEY)
    first = min(mine, key=lambda site: site.pk) if mine else None  # the earliest opened
    site = next((s for s in mine if s.pk == chosen), first)
    request._current_site = site  # type: ignore[attr-defined]
    return site


def works_at(site_id: int) -> Q:
    """Users who work at the site (a filter on users); with one site, everyone does."""
    if not several_sites():
        return Q()
    return Q(sites=site_id)


def several_sites() -> bool:
    return Site.objects.count() > 1


def zone_of_patient(patient_id: object) -> ZoneInfo | None:
    """The time zone of a patient's site, if the caller may see the patient."""
    from patients.models import Patient

    try:
        name = Patient.objects.filter(pk=patient_id).values_list("site__time_zone", flat=True)
        found = name.first()
    except (ValueError, ValidationError):  # not an id at all
        return None
    return None if found is None else ZoneInfo(found)
