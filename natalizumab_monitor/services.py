"""Helpers every app's services share: collecting field errors, time checks, versions."""

from datetime import date, datetime, timedelta
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from alerts.rules.wording import date_text

from . import clock
from .errors import PreconditionFailed, StaleVersion

# Clocks of clients and server disagree a little: a time this far ahead is still "now".
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_DATE = date(1900, 1, 1)

M = TypeVar("M", bound=models.Model)


class Problems:
    """Field errors found while validating one write; raised together as one 400."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def latest_allowed_time() -> datetime:
    return clock.now() + CLOCK_SKEW


def latest_allowed_date() -> date:
    return latest_allowed_time().astimezone(clock.clinic_zone()).date()


def check_time_not_future(problems: Problems, field: str, value: datetime | None) -> None:
    if value is not None and value > latest_allowed_time():
        problems.add(field, "Cannot be in the future.")


def check_date_not_future(problems: Problems, field: str, value: date | None) -> None:
    if value is not None and value > latest_allowed_date():
        problems.add(field, "Cannot be in the future.")


def check_not_before_birth(
    problems: Problems, field: str, value: date | datetime | None, birth_date: date
) -> None:
    """A record of a patient cannot predate the patient."""
    if value is None:
        return
    day = value.astimezone(clock.clinic_zone()).date() if isinstance(value, datetime) else value
    if day < birth_date:
        problems.add(field, f"Cannot be before the patient's birth date ({date_text(birth_date)}).")


def check_record_date(
    problems: Problems, field: str, value: date | datetime | None, birth_date: date
) -> None:
    """A date or time of a patient's record: not in the future, not before their birth."""
    if isinstance(value, datetime):
        check_time_not_future(problems, field, value)
    else:
        check_date_not_future(problems, field, value)
    if field not in problems:
        check_not_before_birth(problems, field, value, birth_date)


def lock_current_version(
    queryset: models.QuerySet[M], pk: object, *, version: int | None, if_match: int | None
) -> M:
    """Lock the row and check the version the client last saw.

    `if_match` comes from the If-Match header (stale: 412), `version` from the body
    (stale: 409); None means the client did not say.
    """
    record = queryset.select_for_update(of=("self",)).get(pk=pk)
    current = record.version  # type: ignore[attr-defined]
    if if_match is not None and if_match != current:
        raise PreconditionFailed(current_version=current)
    if version is not None and version != current:
        raise StaleVersion(current_version=current)
    return record
