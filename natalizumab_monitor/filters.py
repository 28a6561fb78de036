"""Query filter building blocks shared by every app's filters.py."""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


class ZonedDateTimeFormField(IsoDateTimeField):
    """ISO 8601 with a zone, turned into UTC; a time PostgreSQL cannot hold is refused."""

    default_error_messages = {
        "range": "Must be between the years 1900 and 9000, with a valid time zone.",
    }

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        try:
            result = result.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError(self.error_messages["range"], code="range") from exc
        if not 1900 <= result.year <= 9000:
            raise forms.ValidationError(self.error_messages["range"], code="range")
        return result


class ZonedDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = ZonedDateTimeFormField
