"""The neurologist's forms for lab results, antibody tests and MRI; each writes through
labs.services, so the page refuses exactly what the API refuses."""

from typing import Any

from django import forms

from alerts.rules.wording import unit_text
from natalizumab_monitor.forms import DateInput, DateTimeLocalInput, RecordForm
from patients.models import Patient

from . import selectors, services
from .models import (
    UCUM_UNITS,
    Analyte,
    AntibodyResult,
    AntibodyTarget,
    AntibodyTest,
    LabResult,
    MriStudy,
)

ALL_UNITS = sorted({unit for units in UCUM_UNITS.values() for unit in units})
DEFAULT_ANALYTE = Analyte.ALT


def unit_choices(analyte: str) -> list[tuple[str, str]]:
    """The units an analyte is reported in: UCUM code as the value, as people write it shown."""
    return [(code, unit_text(code)) for code in UCUM_UNITS[Analyte(analyte)]]


class LabResultForm(RecordForm):
    """One result. The unit list follows the analyte (the page's script switches it; the
    server accepts only the analyte's units), and the reference range starts from the
    patient's last result of that analyte."""

    title = "Record a lab result"
    success_message = "Lab result recorded."
    page_template = "labs/lab_result_form.html"
    field_words = {
        "reference_low": "the lower limit",
        "reference_high": "the upper limit",
        "collected_at": "the collection time",
    }

    analyte = forms.ChoiceField(label="Analyte", choices=Analyte.choices, initial=DEFAULT_ANALYTE)
    value = forms.DecimalField(label="Value", max_digits=12, decimal_places=4)
    unit = forms.ChoiceField(label="Unit", choices=[(code, unit_text(code)) for code in ALL_UNITS])
    reference_low = forms.DecimalField(
        label="Lower limit of the reference range",
        max_digits=12,
        decimal_places=4,
        required=False,
        help_text="Leave empty when the lab reports only an upper limit.",
    )
    reference_high = forms.DecimalField(
        label="Upper limit of the reference range (ULN)",
        max_digits=12,
        decimal_places=4,
        help_text="As printed on this lab's report: the rules compare the value with it.",
    )
    collected_at = forms.DateTimeField(label="Collected at", widget=DateTimeLocalInput)

    def __init__(self, *args: Any, patient: Patient | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_ranges = selectors.last_reference_ranges(patient) if patient else {}
        analyte = self.data.get("analyte") if self.is_bound else None
        if analyte not in Analyte.values:
            analyte = DEFAULT_ANALYTE
        # The page opens with the analyte's own units, and after a refusal keeps the chosen one.
        self.fields["unit"].widget.choices = unit_choices(analyte)
        if not self.is_bound:
            last = self.last_ranges.get(analyte)
            self.fields["unit"].initial = last["unit"] if last else UCUM_UNITS[analyte][0]
            if last:
                self.fields["reference_low"].initial = last["low"]
                self.fields["reference_high"].initial = last["high"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        analyte, unit = cleaned.get("analyte"), cleaned.get("unit")
        if analyte and unit and unit not in UCUM_UNITS[Analyte(analyte)]:
            allowed = " or ".join(label for _, label in unit_choices(analyte))
            self.add_error(
                "unit",
                f"{Analyte(analyte).label} is reported in {allowed}, not {unit_text(unit)}.",
            )
        return cleaned

    def page_data(self) -> dict[str, Any]:
        """What the page's script needs: each analyte's units, and the patient's last range."""
        return {
            "units": {analyte: unit_choices(analyte) for analyte in Analyte.values},
            "last": self.last_ranges,
        }

    def write(self, *, patient: Patient, user: Any) -> LabResult:
        return services.record_lab_result(patient=patient, **self.cleaned_data)


class AntibodyTestForm(RecordForm):
    title = "Record an antibody test"
    success_message = "Antibody test recorded."

    target = forms.ChoiceField(
        label="Test", choices=AntibodyTarget.choices, widget=forms.RadioSelect
    )
    result = forms.ChoiceField(
        label="Result", choices=AntibodyResult.choices, widget=forms.RadioSelect
    )
    index = forms.DecimalField(
        label="Index (anti-JCV only)", max_digits=6, decimal_places=2, required=False
    )
    collected_at = forms.DateTimeField(label="Collected at", widget=DateTimeLocalInput)

    def write(self, *, patient: Patient, user: Any) -> AntibodyTest:
        return services.record_antibody_test(patient=patient, **self.cleaned_data)


class MriStudyForm(RecordForm):
    title = "Record an MRI study"
    success_message = "MRI recorded."

    performed_on = forms.DateField(label="Performed on", widget=DateInput)
    gd_enhancing_lesions = forms.IntegerField(label="Gd-enhancing (T1) lesions")
    new_or_enlarging_t2_lesions = forms.IntegerField(label="New or enlarging T2 lesions")
    pml_suspected = forms.BooleanField(label="Read as possible PML", required=False)

    def write(self, *, patient: Patient, user: Any) -> MriStudy:
        return services.record_mri_study(patient=patient, **self.cleaned_data)
