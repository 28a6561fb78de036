"""The auditor's search form: patient (id or MRN), user, action and a range of days."""

from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.db.models import QuerySet

from natalizumab_monitor import clock
from patients.models import Patient

from . import selectors
from .models import AuditAction, AuditEntry


class AuditSearchForm(forms.Form):
    patient = forms.CharField(
        required=False, max_length=64, help_text="The patient's id or medical record number."
    )
    user = forms.CharField(required=False, max_length=150, label="Username")
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditAction.choices])
    since = forms.DateField(required=False, label="From (day)")
    until = forms.DateField(required=False, label="To (day, included)")

    def clean_patient(self) -> UUID | None:
        value = self.cleaned_data["patient"].strip()
        if not value:
            return None
        try:
            return UUID(value)
        except ValueError:
            pass
        # An MRN: only the id is read, so the search itself shows no patient.
        found = Patient.objects.filter(mrn=value).values_list("id", flat=True).first()
        if found is None:
            raise forms.ValidationError("No patient has this id or medical record number.")
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The last day comes before the first.")
        return data

    def entries(self) -> QuerySet[AuditEntry]:
        """The entries the (valid) form selects, oldest first."""
        data = self.cleaned_data
        entries = selectors.audit_entries()
        if data.get("patient"):
            entries = selectors.concerning(entries, data["patient"])
        if data.get("user"):
            entries = entries.filter(username=data["user"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("since"):
            entries = entries.filter(at__gte=_start_of(data["since"]))
        if data.get("until"):
            entries = entries.filter(at__lt=_start_of(data["until"] + timedelta(days=1)))
        return entries


def _start_of(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.clinic_zone())
