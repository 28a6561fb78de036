"""Forms of the nurse's and the pharmacist's pages; every write goes through infusions.services."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from alerts.profile import active_config
from natalizumab_monitor import clock
from natalizumab_monitor.forms import DateTimeLocalInput, PageForm
from patients.models import Patient

from .models import ACCEPTED_DILUENT, DosePreparation, ReactionSeverity, Storage
from .services import accepted_diluent

YES_NO = [("yes", "Yes"), ("no", "No")]

# The TOUCH pre-infusion checklist, worded as CLINICAL_RULES.md asks it.
CHECKLIST_QUESTIONS = {
    "authorized": (
        "1. Is treatment authorized: the course is active, not suspended or discontinued, "
        "and the six-monthly reauthorization is not overdue?"
    ),
    "new_neurological_symptoms": (
        "2. In the past month, any new or worsening medical problem (thinking, eyesight, "
        "balance, strength, speech) lasting several days?"
    ),
    "immunocompromised": (
        "3. Any condition that weakens the immune system (HIV/AIDS, leukaemia or lymphoma, "
        "organ transplant)?"
    ),
    "immunosuppressants_last_month": (
        "4. In the past month, any medicine for cancer or MS, or any other medicine that "
        "weakens the immune system (including corticosteroids)?"
    ),
    "current_infection": "5. Any current infection?",
}

REACTION_SYMPTOMS = [
    ("urticaria", "Urticaria (hives)"),
    ("hypotension", "Hypotension"),
    ("dyspnea", "Dyspnoea"),
    ("anaphylaxis", "Anaphylaxis"),
    ("rash", "Rash"),
    ("pruritus", "Itching"),
    ("flushing", "Flushing"),
    ("chest pain", "Chest pain"),
    ("headache", "Headache"),
    ("nausea", "Nausea"),
    ("dizziness", "Dizziness"),
    ("fever", "Fever"),
    ("chills", "Chills"),
]


def now_local() -> str:
    """Now, as the value of a datetime-local input in the clinic's time zone."""
    return clock.now().astimezone(clock.clinic_zone()).strftime("%Y-%m-%dT%H:%M")


def yes_no(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda answer: answer == "yes",
        widget=forms.RadioSelect,
    )


def bag_label(bag: DosePreparation) -> str:
    expires = timezone.localtime(bag.expires_at, clock.clinic_zone())
    prepared = timezone.localtime(bag.prepared_at, clock.clinic_zone())
    dose = format(bag.dose_mg.normalize(), "f")
    volume = format(bag.diluent_volume_ml.normalize(), "f")
    return (
        f"{dose} mg in {volume} mL {bag.diluent}, prepared {prepared:%H:%M}, "
        f"{bag.get_storage_display()}, usable until {expires:%d %b %H:%M}"
    )


class BagChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return bag_label(obj)


class ChecklistForm(PageForm):
    """The visit's checklist and the bag to infuse; any 'yes' (or 'not authorized') holds it.

    Without a ready bag the checklist is recorded first: the pharmacy is asked for the bag
    once it clears, so no vial is wasted on a patient who will not be infused.
    """

    preparation = BagChoiceField(
        queryset=DosePreparation.objects.none(),
        label="Bag to infuse",
        empty_label=None,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, bags: Iterable[DosePreparation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bag_ids = [bag.pk for bag in bags]
        self.fields["preparation"].queryset = DosePreparation.objects.filter(pk__in=bag_ids)
        if bag_ids:
            self.fields["preparation"].initial = bag_ids[0]  # soonest to expire
        else:
            del self.fields["preparation"]
        for name, question in CHECKLIST_QUESTIONS.items():
            self.fields[name] = yes_no(question)

    def answers(self) -> dict[str, bool]:
        return {name: self.cleaned_data[name] for name in CHECKLIST_QUESTIONS}

    def bag(self) -> DosePreparation | None:
        return self.cleaned_data.get("preparation")


class ReasonForm(PageForm):
    """The reason for an early stop, an early discharge or a cancelled visit, confirmed."""

    reason = forms.CharField(label="Reason", max_length=2000, required=False)
    confirmed = forms.BooleanField(required=False)

    def reason_given(self) -> str:
        return self.cleaned_data.get("reason", "").strip() if self.is_valid() else ""


class VersionForm(PageForm):
    """A button on the infusion page: the version the nurse saw, so a stale click is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class ReactionForm(PageForm):
    severity = forms.ChoiceField(
        label="Severity",
        choices=ReactionSeverity.choices,
        widget=forms.RadioSelect,
        help_text="Severe systemic: urticaria with hypotension, dyspnoea or anaphylaxis.",
    )
    symptoms = forms.MultipleChoiceField(
        label="Symptoms",
        choices=REACTION_SYMPTOMS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    other_symptoms = forms.CharField(
        label="Other symptoms (comma-separated)", required=False, max_length=500
    )
    onset_at = forms.DateTimeField(label="Onset", widget=DateTimeLocalInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["onset_at"].initial = now_local()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        others = [s.strip() for s in data.get("other_symptoms", "").split(",") if s.strip()]
        data["all_symptoms"] = [*data.get("symptoms", []), *others]
        if not data["all_symptoms"]:
            self.add_error("symptoms", "Name at least one symptom.")
        return data


class DiscardForm(PageForm):
    reason = forms.CharField(label="Why is the bag discarded?", max_length=200)


class PreparationForm(PageForm):
    """One bag; refuses what the preparation rules refuse (PREP-DILUENT, -DOSE, -HANDLING)."""

    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), label="Patient")
    dose_mg = forms.DecimalField(label="Dose (mg)", max_digits=6, decimal_places=1)
    diluent = forms.CharField(
        label="Diluent",
        max_length=40,
        initial=ACCEPTED_DILUENT,
        help_text="0.9% sodium chloride (0.9% NaCl, normal saline): the only diluent.",
        widget=forms.TextInput(attrs={"list": "diluent-choices", "autocomplete": "off"}),
    )
    diluent_volume_ml = forms.DecimalField(
        label="Diluent volume (mL)", max_digits=6, decimal_places=1
    )
    prepared_at = forms.DateTimeField(label="Time of dilution", widget=DateTimeLocalInput)
    storage = forms.ChoiceField(label="Storage", choices=Storage.choices, widget=forms.RadioSelect)
    frozen = forms.BooleanField(label="The bag has been frozen", required=False)
    shaken = forms.BooleanField(label="The bag has been shaken", required=False)

    def __init__(self, *args: Any, patients: QuerySet[Patient], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = active_config()
        self.fields["patient"].queryset = patients
        self.fields["dose_mg"].initial = config.prep_dose_mg
        self.fields["diluent_volume_ml"].initial = config.prep_diluent_volume_ml
        self.fields["prepared_at"].initial = now_local()
        self.fields["storage"].initial = Storage.ROOM

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        config = active_config()
        dose: Decimal | None = data.get("dose_mg")
        volume: Decimal | None = data.get("diluent_volume_ml")
        if dose is not None and dose != config.prep_dose_mg:
            self.add_error(
                "dose_mg",
                f"The dose is {config.prep_dose_mg:f} mg (PREP-DOSE); prepare a new bag.",
            )
        if volume is not None and volume != config.prep_diluent_volume_ml:
            self.add_error(
                "diluent_volume_ml",
                f"Dilute in {config.prep_diluent_volume_ml:f} mL (PREP-DOSE); prepare a new bag.",
            )
        diluent = (data.get("diluent") or "").strip()
        if diluent:
            named = accepted_diluent(diluent)
            if named is None or named not in config.prep_accepted_diluents:
                self.add_error(
                    "diluent",
                    f"“{diluent}” is not accepted: natalizumab is diluted in 0.9% sodium "
                    f"chloride ({ACCEPTED_DILUENT}) only (PREP-DILUENT).",
                )
            else:
                data["diluent"] = named
        for handling in ("frozen", "shaken"):
            if data.get(handling):
                self.add_error(
                    handling,
                    f"A {handling} bag must be discarded (PREP-HANDLING); prepare a new bag.",
                )
        return data
