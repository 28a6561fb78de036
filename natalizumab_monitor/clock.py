"""The one clock of the product: every 'now' comes from here, always timezone-aware UTC.

Times are shown in the clinic's zone: the zone of the site at hand when a request names one
(`zone_of`), else CLINIC_TIME_ZONE.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

ZoneResolver = Callable[[], ZoneInfo | None]
_site_zone: ContextVar[ZoneResolver | None] = ContextVar("site_zone", default=None)


def now() -> datetime:
    return timezone.now()


def default_zone() -> ZoneInfo:
    return ZoneInfo(settings.CLINIC_TIME_ZONE)


def clinic_zone() -> ZoneInfo:
    resolver = _site_zone.get()
    zone = None if resolver is None else resolver()
    return zone or default_zone()


@contextmanager
def zone_of(resolver: ZoneResolver | ZoneInfo | None) -> Iterator[None]:
    """Within, the clinic's zone is the resolver's (a zone, or a function giving one)."""
    if isinstance(resolver, ZoneInfo):
        zone = resolver
        resolver = lambda: zone  # noqa: E731
    token = _site_zone.set(resolver)
    try:
        yield
    finally:
        _site_zone.reset(token)


def clinic_today() -> date:
    return now().astimezone(clinic_zone()).date()
