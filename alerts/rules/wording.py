"""How the clinic writes dates and units: one helper for the engine's messages, the pages'
tables (template filters in natalizumab_monitor.templatetags.clinic) and, through the same
month names, the chart axes (static/js/charts.js).

Pure Python, like the rest of the engine: no Django, no locale (month names are fixed, so
September reads "Sep" everywhere).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# UCUM code (as stored and sent by the API) -> as people write it on a page.
UNIT_LABELS: dict[str, str] = {
    "U/L": "U/L",
    "m[IU]/L": "mIU/L",
    "u[IU]/mL": "µIU/mL",
    "pmol/L": "pmol/L",
    "ng/dL": "ng/dL",
    "10*9/L": "×10⁹/L",
    "10*3/uL": "×10³/µL",
}


def date_text(day: date) -> str:
    """A day as the clinic writes it: `3 Dec 2026`."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def datetime_text(moment: datetime, zone: tzinfo | None = None) -> str:
    """A moment in the clinic's zone (when given) as the clinic writes it: `3 Dec 2026 14:05`."""
    local = moment.astimezone(zone) if zone is not None else moment
    return f"{date_text(local.date())} {local:%H:%M}"


def unit_text(code: str) -> str:
    """A UCUM unit as people write it (`m[IU]/L` -> `mIU/L`); an unknown code as it is."""
    return UNIT_LABELS.get(code, code)
