"""The neurologist's forms for lab results, antibody tests and MRI; each writes through
labs.services, so the page refuses exactly what the API refuses."""

from typing import Any

from django import forms

from natalizumab_monitor.forms import DateInput, DateTimeLocalInput, RecordForm
from patients.models import Patient

from . import services
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


class LabResultForm(RecordForm):
    title = "Record a lab result"
    success_message = "Lab result recorded."

    analyte = forms.ChoiceField(label="Analyte", choices=Analyte.choices)
    value = forms.DecimalField(label="Value", max_digits=12, decimal_places=4)
    unit = forms.ChoiceField(
        label="Unit (UCUM)",
        choices=[(unit, unit) for unit in ALL_UNITS],
        help_text=(
            "ALT/AST U/L; TSH m[IU]/L or u[IU]/mL; free T4 pmol/L or ng/dL; "
            "counts 10*9/L or 10*3/uL."
        ),
    )
    reference_low = forms.DecimalField(
        label="Reference range: low", max_digits=12, decimal_places=4, required=False
    )
    reference_high = forms.DecimalField(
        label="Reference range: high (ULN)", max_digits=12, decimal_places=4
    )
    collected_at = forms.DateTimeField(label="Collected at", widget=DateTimeLocalInput)

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
