"""Template helpers of the clinic pages: the user's role, times for the live countdowns, and
dates and units as the clinic writes them (alerts.rules.wording, shared with the engine)."""

from datetime import UTC, date, datetime

from django import template
from django.conf import settings
from django.http import HttpRequest

from alerts.rules.wording import date_text, datetime_text, unit_text
from natalizumab_monitor import clock
from natalizumab_monitor.roles import role_of

register = template.Library()


@register.simple_tag(takes_context=True)
def current_role(context: template.Context) -> str | None:
    request: HttpRequest | None = context.get("request")
    if request is None:
        return None
    if hasattr(request, "role"):
        return request.role  # type: ignore[attr-defined]
    return role_of(request.user)


@register.filter
def iso_utc(value: datetime | None) -> str:
    """An aware time as ISO 8601 UTC for the browser's countdown scripts."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@register.filter
def field_id(bound_field: object) -> str:
    """The id of a bound field's error message, for aria-describedby."""
    return f"{bound_field.auto_id}-error"  # type: ignore[attr-defined]


@register.simple_tag
def server_now_iso() -> str:
    """The server's now at render: the countdowns correct the browser's clock by it."""
    return iso_utc(clock.now())


@register.filter
def duration_text(seconds: float | int | None) -> str:
    """Seconds left as the countdown script writes them: h:mm:ss, or mm:ss under an hour."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


@register.simple_tag
def seconds_until(moment: datetime | None, now: datetime | None = None) -> float | None:
    if moment is None:
        return None
    return (moment - (now or clock.now())).total_seconds()


@register.filter
def clock_time(value: datetime | None) -> str:
    """A time on a live board: "14:05" today, "3 Dec 2026 14:05" on any other day, so a bag
    from yesterday never reads as today's."""
    if value is None:
        return ""
    zone = clock.clinic_zone()
    local = value.astimezone(zone)
    if local.date() == clock.now().astimezone(zone).date():
        return local.strftime("%H:%M")
    return datetime_text(local)


@register.filter
def clinic_date(value: date | datetime | None) -> str:
    """`3 Dec 2026`; a time is first put in the clinic's zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(clock.clinic_zone()).date()
    return date_text(value)


@register.filter
def clinic_datetime(value: datetime | None) -> str:
    """`3 Dec 2026 14:05`, in the clinic's time zone."""
    if value is None or value == "":
        return ""
    return datetime_text(value, clock.clinic_zone())


@register.filter
def unit(code: str | None) -> str:
    """A UCUM unit as people write it: `m[IU]/L` reads `mIU/L`."""
    return unit_text(code or "")


@register.simple_tag
def idle_seconds() -> int:
    """How long a page may stay untouched before its session ends (the idle-logoff timer)."""
    return settings.SESSION_IDLE_MINUTES * 60
