"""The neurologist's forms for a patient's record; each writes through patients.services."""

from typing import Any

from django import forms

from alerts.rules import RULE_IDS
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
    action = forms.ChoiceField(
        label="Decision",
        choices=[
            (value, DECISION_LABELS[DecisionAction(value)]) for value in DecisionAction.values
        ],
        widget=forms.RadioSelect,
    )
    rule = forms.ChoiceField(
        label="Rule (for an override or a confirmation)",
        required=False,
        help_text=(
            "An override lets one infusion past this rule; it is used up when that infusion starts."
        ),
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: kept with the decision and shown in the timeline.",
        max_length=4000,
    )

    def __init__(self, *args: Any, standing_rules: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        first = [rule for rule in RULE_IDS if rule in (standing_rules or [])]
        rest = [rule for rule in RULE_IDS if rule not in first]
        choices: list[Any] = [("", "— none —")]
        if first:
            choices.append(("Rules with standing alerts", [(r, r) for r in first]))
        choices.append(("All rules", [(r, r) for r in rest]))
        self.fields["rule"].choices = choices

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

    description = forms.CharField(label="Infection", max_length=500)
    onset_on = forms.DateField(label="Onset", widget=DateInput)
    resolved_on = forms.DateField(
        label="Resolved on", widget=DateInput, required=False, help_text="Empty while active."
    )

    def write(self, *, patient: Patient, user: Any) -> Infection:
        return services.create_infection(patient=patient, **self.cleaned_data)


class InfectionResolvedForm(PageForm):
    resolved_on = forms.DateField(label="Resolved on", widget=DateInput)
