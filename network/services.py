"""The writes about sites: opening one, and who works there."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Site

DEFAULT_CODE = "MAIN"


@transaction.atomic
def create_site(*, code: str, name: str, time_zone: str) -> Site:
    """Open a site. The first site of a network keeps everyone who worked in the one-site
    installation: when a second site opens, users of no site are made staff of the first."""
    site = Site(code=code.strip(), name=name.strip(), time_zone=time_zone.strip())
    site.full_clean()
    existing = list(Site.objects.select_for_update().order_by("pk")[:2])
    site.save()
    if len(existing) == 1:
        unplaced = get_user_model().objects.filter(sites__isnull=True)
        existing[0].staff.add(*unplaced)
    return site


def add_staff(user: Any, *codes: str) -> list[Site]:
    """Make the user staff of the named sites; an unknown code is refused, naming it."""
    sites = list(Site.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {site.code for site in sites})
    if unknown:
        raise ValidationError(f"No site with the code {', '.join(unknown)}.")
    for site in sites:
        site.staff.add(user)
    return sites


def site_for_new_record() -> Site:
    """The site a patient joins when none is named: the only site, made on first use."""
    sites = list(Site.objects.order_by("pk")[:2])
    if len(sites) == 1:
        return sites[0]
    if sites:
        raise ValidationError("Name the patient's site: this installation has several.")
    site, _ = Site.objects.get_or_create(
        code=DEFAULT_CODE,
        defaults={"name": settings.CLINIC_NAME, "time_zone": settings.CLINIC_TIME_ZONE},
    )
    return site
