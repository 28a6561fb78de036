"""The one clock of the product: every 'now' comes from here, always timezone-aware UTC."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.CLINIC_TIME_ZONE)


def clinic_today() -> date:
    return now().astimezone(clinic_zone()).date()
