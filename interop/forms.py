"""Forms of the neurologist's lab inbox and CSV import pages."""

from django import forms

from natalizumab_monitor.forms import PageForm
from patients.models import Patient

from . import mapping


class PatientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Patient) -> str:
        return f"{obj.mrn} · {obj.family_name}, {obj.given_name} ({obj.birth_date:%d %b %Y})"


class FileEntryForm(PageForm):
    patient = PatientChoiceField(
        queryset=Patient.objects.order_by("family_name", "given_name"),
        empty_label="Choose the patient",
    )
    analyte = forms.ChoiceField(
        label="Test",
        choices=[("", "As the laboratory coded it"), *mapping.TEST_CHOICES],
        required=False,
        help_text="Only when the laboratory's code is not one the monitor knows.",
    )


class RejectEntryForm(PageForm):
    reason = forms.CharField(
        label="Why is it not filed?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the result is rejected.")
        return reason


class CsvUploadForm(PageForm):
    file = forms.FileField(
        label="CSV file of results",
        help_text="Columns: mrn, loinc or analyte, value, unit, reference_low, "
        "reference_high, collected_at, accession_number.",
    )
