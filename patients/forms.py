"""The neurologist's forms for a patient's record; each writes through patients.services."""

from typing import Any

from django import forms

from natalizumab_monitor.forms import DateInput, PageForm, RecordForm

from . import services
from .models import (
    DecisionAction,
    EdssAssessment,
    Infection,
    Medication,
    MedicationCategory,
    Patient,
    Relapse,
)

DECISION_LABELS = {
    DecisionAction.SUSPEND: "Suspend treatment",
    DecisionAction.RESUME: "Resume treatment",
    DecisionAction.DISCONTINUE: "Discontinue treatment",
    DecisionAction.OVERRIDE: "Override one rule for one infusion",
    DecisionAction.CONFIRM: "Confirm treatment continues (pregnancy, breastfeeding)",
    DecisionAction.REAUTHORIZE: "Six-monthly reauthorization",
}


class DecisionForm(PageForm):
    """Offers only the decisions that make sense in the patient's state (API.md, "Decisions"),
    and as the rule of an override or a confirmation only the patient's findings that allow it,
    in words."""

    action = forms.ChoiceField(label="Decision", widget=forms.RadioSelect)
    rule = forms.ChoiceField(
        label="Finding (for an override or a confirmation)",
        required=False,
        widget=forms.RadioSelect,
        help_text=(
            "An override lets one infusion past this finding; it is used up when that "
            "infusion starts."
        ),
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: kept with the decision and shown in the timeline.",
        max_length=4000,
    )

    def __init__(self, *args: Any, options: services.DecisionOptions, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            (action, DECISION_LABELS[DecisionAction(action)]) for action in options.actions
        ]
        findings = [*options.overridable, *options.confirmable]
        self.fields["rule"].choices = [("", "None (not an override or a confirmation)")] + [
            (finding.rule, f"{finding.message} ({finding.rule})") for finding in findings
        ]
        if not findings:
            del self.fields["rule"]

    def write(self, *, patient: Patient, user: Any) -> Any:
        return services.record_decision(
            patient=patient,
            action=self.cleaned_data["action"],
            reason=self.cleaned_data["reason"],
            rule=self.cleaned_data.get("rule") or "",
            user=user,
        )


class EdssForm(RecordForm):
    title = "Record an EDSS assessment"
    success_message = "EDSS recorded."

    score = forms.DecimalField(
        label="EDSS score",
        max_digits=3,
        decimal_places=1,
        help_text="0 to 10 in steps of 0.5.",
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0", "max": "10"}),
    )
    assessed_on = forms.DateField(label="Assessed on", widget=DateInput)

    def write(self, *, patient: Patient, user: Any) -> EdssAssessment:
        return services.record_edss(patient=patient, **self.cleaned_data)


class RelapseForm(RecordForm):
    title = "Record a relapse"
    success_message = "Relapse recorded."

    onset_on = forms.DateField(label="Onset", widget=DateInput)

    def write(self, *, patient: Patient, user: Any) -> Relapse:
        return services.record_relapse(patient=patient, **self.cleaned_data)


class MedicationForm(RecordForm):
    title = "Record a concomitant medication"
    success_message = "Medication recorded."
    field_words = {"started_on": "the start date", "stopped_on": "the stop date"}

    name = forms.CharField(label="Medicine", max_length=200)
    category = forms.ChoiceField(label="Category", choices=MedicationCategory.choices)
    started_on = forms.DateField(label="Started on", widget=DateInput)
    stopped_on = forms.DateField(
        label="Stopped on", widget=DateInput, required=False, help_text="Empty while it is taken."
    )

    def write(self, *, patient: Patient, user: Any) -> Medication:
        return services.create_medication(patient=patient, **self.cleaned_data)


class InfectionForm(RecordForm):
    title = "Record an infection"
    success_message = "Infection recorded."
    field_words = {"onset_on": "the onset", "resolved_on": "the date it resolved"}

    description = forms.CharField(label="Infection", max_length=500)
    onset_on = forms.DateField(label="Onset", widget=DateInput)
    resolved_on = forms.DateField(
        label="Resolved on", widget=DateInput, required=False, help_text="Empty while active."
    )

    def write(self, *, patient: Patient, user: Any) -> Infection:
        return services.create_infection(patient=patient, **self.cleaned_data)


class InfectionResolvedForm(PageForm):
    resolved_on = forms.DateField(label="Resolved on", widget=DateInput)
