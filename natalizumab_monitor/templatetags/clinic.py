"""Template helpers of the clinic pages: the user's role, and times for the live countdowns."""

from datetime import UTC, datetime

from django import template
from django.http import HttpRequest

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
