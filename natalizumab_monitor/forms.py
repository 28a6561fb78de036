"""What every clinic form shares: service errors beside their field, and accessible errors."""

import re
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from alerts.rules.wording import UNIT_LABELS

from . import clock
from .errors import Conflict

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are the clinic's local time."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


class PageForm(forms.Form):
    """A form whose writes go through a service; the service's errors land beside the field.

    `field_words` names fields in words ("the upper limit"): a service's message that names
    a field by its code (`reference_high`) reads in those words on the page.
    """

    field_words: dict[str, str] = {}

    def full_clean(self) -> None:
        super().full_clean()
        self._mark_invalid_fields()

    def _mark_invalid_fields(self) -> None:
        # Screen readers announce the error with the field it belongs to.
        for name, field in self.fields.items():
            attrs = field.widget.attrs
            if name in self.errors:
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}-error"
            else:
                attrs.pop("aria-invalid", None)
                attrs.pop("aria-describedby", None)

    def add_service_error(self, error: ValidationError | Conflict) -> None:
        """A service refused the write: show each message beside its field."""
        if isinstance(error, Conflict):
            self.add_error(None, self.in_words(error.detail))
        elif hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                target = field if field in self.fields else None
                for message in messages:
                    text = self.in_words(message)
                    self.add_error(target, text if target else _prefixed(field, text))
        else:
            for message in error.messages:
                self.add_error(None, self.in_words(message))
        self._mark_invalid_fields()

    def in_words(self, message: str) -> str:
        """The message with field codes and UCUM codes as a person writes them."""
        for code, words in self.field_words.items():
            message = re.sub(rf"\b{re.escape(code)}\b", words, message)
        for code, label in UNIT_LABELS.items():
            message = message.replace(f"'{code}'", label).replace(code, label)
        return message


def _prefixed(field: str, message: str) -> str:
    if field in (NON_FIELD_ERRORS, "non_field_errors"):
        return message
    return f"{field.replace('_', ' ').capitalize()}: {message}"


class RecordForm(PageForm):
    """A form that records one clinical record of a patient through its service.

    Dates and times start at today and now (clinic time): most records are entered the day
    they happen.
    """

    title = ""
    success_message = "Recorded."
    page_template = "patients/record_form.html"

    def __init__(self, *args: Any, patient: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        local_now = clock.now().astimezone(clock.clinic_zone())
        for field in self.fields.values():
            if not field.required:
                continue
            if isinstance(field, forms.DateTimeField):
                field.initial = local_now.strftime(DATETIME_LOCAL)
            elif isinstance(field, forms.DateField):
                field.initial = local_now.date()

    def write(self, *, patient: Any, user: Any) -> Any:
        raise NotImplementedError
