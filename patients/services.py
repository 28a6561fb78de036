"""The writes a clinician makes to a patient's record: each one transaction, fully validated."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from alerts.clearance import clearance_for
from alerts.rules import RULE_IDS, Finding, GateResult
from natalizumab_monitor import clock
from natalizumab_monitor.services import (
    EARLIEST_DATE,
    Problems,
    check_date_not_future,
    check_record_date,
    lock_current_version,
)
from network.models import Site

from .models import (
    EDSS_STEPS,
    DecisionAction,
    EdssAssessment,
    Indication,
    Infection,
    Medication,
    MedicationCategory,
    Patient,
    Relapse,
    Sex,
    TreatmentDecision,
    TreatmentStatus,
)

# The rule ids of CLINICAL_RULES.md, which an override or a confirmation names.
PATIENT_FIELDS = (
    "site",
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "indication",
    "treatment_start",
    "schedule_weeks",
    "pregnant",
    "breastfeeding",
    "prior_immunosuppressants",
)
INFECTION_FIELDS = ("description", "onset_on", "resolved_on")
MRN_TAKEN = "A patient with this MRN already exists."


def _check_text(problems: Problems, field: str, value: str, max_length: int) -> None:
    if not value.strip():
        problems.add(field, "This field may not be blank.")
    elif len(value) > max_length:
        problems.add(field, f"Ensure this field has no more than {max_length} characters.")


def _validate_patient(patient: Patient) -> None:
    problems = Problems()
    _check_text(problems, "mrn", patient.mrn, 32)
    _check_text(problems, "given_name", patient.given_name, 100)
    _check_text(problems, "family_name", patient.family_name, 100)
    if patient.sex not in Sex.values:
        problems.add("sex", f"Must be one of {', '.join(Sex.values)}.")
    if patient.indication not in Indication.values:
        problems.add("indication", f"Must be one of {', '.join(Indication.values)}.")
    if patient.schedule_weeks not in (4, 6):
        problems.add("schedule_weeks", "Natalizumab is given every 4 or every 6 weeks.")
    check_date_not_future(problems, "birth_date", patient.birth_date)
    if patient.birth_date < EARLIEST_DATE:
        problems.add("birth_date", f"Cannot be before {EARLIEST_DATE}.")
    if patient.treatment_start is not None:
        check_record_date(problems, "treatment_start", patient.treatment_start, patient.birth_date)
    if "mrn" not in problems:
        # Across the network, not only the caller's sites.
        taken = Patient.all_sites.filter(mrn=patient.mrn).exclude(pk=patient.pk).exists()
        if taken:
            problems.add("mrn", MRN_TAKEN)
    problems.raise_if_any()


def _save_patient(patient: Patient) -> None:
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # Two clinicians registering the same MRN at once: the second one loses.
        if Patient.all_sites.filter(mrn=patient.mrn).exclude(pk=patient.pk).exists():
            problems = Problems()
            problems.add("mrn", MRN_TAKEN)
            problems.raise_if_any()
        raise


@transaction.atomic
def create_patient(
    *,
    site: Site | None = None,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex: str,
    indication: str,
    treatment_start: date | None = None,
    schedule_weeks: int = 4,
    pregnant: bool = False,
    breastfeeding: bool = False,
    prior_immunosuppressants: bool = False,
) -> Patient:
    patient = Patient(
        site=site,  # None: the installation's one site (Patient.save)
        mrn=mrn.strip(),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        birth_date=birth_date,
        sex=sex,
        indication=indication,
        treatment_start=treatment_start,
        schedule_weeks=schedule_weeks,
        pregnant=pregnant,
        breastfeeding=breastfeeding,
        prior_immunosuppressants=prior_immunosuppressants,
    )
    _validate_patient(patient)
    _save_patient(patient)
    return patient


@transaction.atomic
def update_patient(
    *,
    patient: Patient,
    version: int | None = None,
    if_match: int | None = None,
    **changes: Any,
) -> Patient:
    """Change the given fields; treatment_status changes only through decisions."""
    unknown = set(changes) - set(PATIENT_FIELDS)
    if unknown:
        raise TypeError(f"update_patient() cannot change {sorted(unknown)}")
    patient = lock_current_version(
        Patient.objects.all(), patient.pk, version=version, if_match=if_match
    )
    for field, value in changes.items():
        setattr(patient, field, value.strip() if isinstance(value, str) else value)
    _validate_patient(patient)
    patient.version += 1
    _save_patient(patient)
    return patient


@transaction.atomic
def create_medication(
    *,
    patient: Patient,
    name: str,
    category: str,
    started_on: date,
    stopped_on: date | None = None,
) -> Medication:
    problems = Problems()
    _check_text(problems, "name", name, 200)
    if category not in MedicationCategory.values:
        problems.add("category", f"Must be one of {', '.join(MedicationCategory.values)}.")
    check_record_date(problems, "started_on", started_on, patient.birth_date)
    check_record_date(problems, "stopped_on", stopped_on, patient.birth_date)
    if stopped_on is not None and "started_on" not in problems and stopped_on < started_on:
        problems.add("stopped_on", "Cannot be before started_on.")
    problems.raise_if_any()
    return Medication.objects.create(
        patient=patient,
        name=name.strip(),
        category=category,
        started_on=started_on,
        stopped_on=stopped_on,
    )


def _validate_infection(infection: Infection, birth_date: date) -> None:
    problems = Problems()
    _check_text(problems, "description", infection.description, 500)
    check_record_date(problems, "onset_on", infection.onset_on, birth_date)
    check_record_date(problems, "resolved_on", infection.resolved_on, birth_date)
    if (
        infection.resolved_on is not None
        and "onset_on" not in problems
        and infection.resolved_on < infection.onset_on
    ):
        problems.add("resolved_on", "Cannot be before onset_on.")
    problems.raise_if_any()


@transaction.atomic
def create_infection(
    *, patient: Patient, description: str, onset_on: date, resolved_on: date | None = None
) -> Infection:
    infection = Infection(
        patient=patient,
        description=description.strip(),
        onset_on=onset_on,
        resolved_on=resolved_on,
    )
    _validate_infection(infection, patient.birth_date)
    infection.save()
    return infection


@transaction.atomic
def update_infection(
    *,
    infection: Infection,
    version: int | None = None,
    if_match: int | None = None,
    **changes: Any,
) -> Infection:
    """Record how an infection evolved, typically the day it resolved."""
    unknown = set(changes) - set(INFECTION_FIELDS)
    if unknown:
        raise TypeError(f"update_infection() cannot change {sorted(unknown)}")
    infection = lock_current_version(
        Infection.objects.select_related("patient"),
        infection.pk,
        version=version,
        if_match=if_match,
    )
    for field, value in changes.items():
        setattr(infection, field, value.strip() if isinstance(value, str) else value)
    _validate_infection(infection, infection.patient.birth_date)
    infection.version += 1
    infection.save()
    return infection


@transaction.atomic
def stop_medication(*, medication: Medication, stopped_on: date | None) -> Medication:
    """Record the day a medication was stopped (MED-IMMUNOSUPPRESSANT looks at it)."""
    medication = (
        Medication.objects.select_for_update().select_related("patient").get(pk=medication.pk)
    )
    problems = Problems()
    check_record_date(problems, "stopped_on", stopped_on, medication.patient.birth_date)
    started_on = medication.started_on
    if stopped_on is not None and "stopped_on" not in problems and stopped_on < started_on:
        problems.add("stopped_on", "Cannot be before started_on.")
    problems.raise_if_any()
    medication.stopped_on = stopped_on
    medication.save(update_fields=["stopped_on", "updated_at"])
    return medication


@transaction.atomic
def record_edss(*, patient: Patient, score: Any, assessed_on: date) -> EdssAssessment:
    problems = Problems()
    if score not in EDSS_STEPS:
        problems.add("score", "EDSS is scored from 0 to 10 in steps of 0.5.")
    check_record_date(problems, "assessed_on", assessed_on, patient.birth_date)
    problems.raise_if_any()
    return EdssAssessment.objects.create(patient=patient, score=score, assessed_on=assessed_on)


@transaction.atomic
def record_relapse(*, patient: Patient, onset_on: date) -> Relapse:
    problems = Problems()
    check_record_date(problems, "onset_on", onset_on, patient.birth_date)
    problems.raise_if_any()
    return Relapse.objects.create(patient=patient, onset_on=onset_on)


# What each decision does to the course; None leaves treatment_status as it is.
_DECISION_STATUS = {
    DecisionAction.SUSPEND: TreatmentStatus.SUSPENDED,
    DecisionAction.RESUME: TreatmentStatus.ACTIVE,
    DecisionAction.DISCONTINUE: TreatmentStatus.DISCONTINUED,
}
# The course states each action makes sense in (API.md, "Decisions"): after a discontinuation
# only a neurologist's resume, with its reason.
_ACTION_STATES: dict[str, tuple[str, ...]] = {
    DecisionAction.SUSPEND: (TreatmentStatus.ACTIVE,),
    DecisionAction.RESUME: (TreatmentStatus.SUSPENDED, TreatmentStatus.DISCONTINUED),
    DecisionAction.DISCONTINUE: (TreatmentStatus.ACTIVE, TreatmentStatus.SUSPENDED),
    DecisionAction.OVERRIDE: (TreatmentStatus.ACTIVE, TreatmentStatus.SUSPENDED),
    DecisionAction.CONFIRM: (TreatmentStatus.ACTIVE, TreatmentStatus.SUSPENDED),
    DecisionAction.REAUTHORIZE: (TreatmentStatus.ACTIVE, TreatmentStatus.SUSPENDED),
}
_NEEDS_RULE = (DecisionAction.OVERRIDE, DecisionAction.CONFIRM)
CONFIRMED_RULES = ("POP-PREGNANCY", "POP-LACTATION")


@dataclass(frozen=True)
class DecisionOptions:
    """What a neurologist may decide for a patient now, and the findings a rule names."""

    actions: tuple[str, ...]
    overridable: tuple[Finding, ...]  # blocking now, and may be overridden once
    confirmable: tuple[Finding, ...]  # pregnancy or breastfeeding awaiting the decision


def decision_options(patient: Patient, gate: GateResult | None = None) -> DecisionOptions:
    """The decisions that make sense in the patient's state (the form offers only these).

    `gate` is the patient's clearance when the caller has it already."""
    gate = gate or clearance_for(patient.pk)
    overridable = tuple(
        {f.rule: f for f in gate.overridable if f.rule not in CONFIRMED_RULES}.values()
    )
    confirmable = tuple({f.rule: f for f in gate.refusals if f.rule in CONFIRMED_RULES}.values())
    actions = tuple(
        action
        for action, states in _ACTION_STATES.items()
        if patient.treatment_status in states
        and (action != DecisionAction.OVERRIDE or overridable)
        and (action != DecisionAction.CONFIRM or confirmable)
    )
    return DecisionOptions(actions=actions, overridable=overridable, confirmable=confirmable)


def _check_decision(problems: Problems, patient: Patient, action: str, rule: str) -> None:
    """A decision must make sense in the patient's state, or it names `action` or `rule`."""
    if rule and rule not in RULE_IDS:
        problems.add("rule", f"Unknown rule {rule!r}.")
        return
    if not rule and action in _NEEDS_RULE:
        problems.add("rule", f"An {action} must name the rule it applies to.")
        return
    status = patient.treatment_status
    if status not in _ACTION_STATES[action]:
        problems.add(
            "action",
            _WRONG_STATE.get((action, status))
            or "Treatment is discontinued; only a resume applies.",
        )
        return
    if action not in _NEEDS_RULE:
        return
    options = decision_options(patient)
    named = options.overridable if action == DecisionAction.OVERRIDE else options.confirmable
    if rule not in {finding.rule for finding in named}:
        if action == DecisionAction.CONFIRM:
            problems.add(
                "rule",
                f"Nothing to confirm under {rule}: a confirmation answers a pregnancy or "
                "breastfeeding finding that holds infusions now.",
            )
        elif rule.startswith("PREP-"):
            problems.add("rule", f"{rule} may never be overridden: discard the bag, make another.")
        else:
            problems.add(
                "rule",
                f"{rule} does not block this patient now, or may never be overridden "
                "(a suspended or discontinued course is resumed instead).",
            )


_WRONG_STATE = {
    (DecisionAction.SUSPEND, TreatmentStatus.SUSPENDED): "Treatment is already suspended.",
    (DecisionAction.RESUME, TreatmentStatus.ACTIVE): "Treatment is active: there is nothing "
    "to resume.",
    (DecisionAction.DISCONTINUE, TreatmentStatus.DISCONTINUED): "Treatment is already "
    "discontinued.",
}


@transaction.atomic
def record_decision(
    *,
    patient: Patient,
    action: str,
    reason: str,
    rule: str = "",
    user: AbstractBaseUser,
) -> TreatmentDecision:
    """A neurologist's decision with its written reason; suspend/resume/discontinue change
    the course, an override lets one infusion past the named rule."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    reason = reason.strip()
    rule = rule.strip()
    problems = Problems()
    if not reason:
        problems.add("reason", "A decision needs a written reason.")
    if action not in DecisionAction.values:
        problems.add("action", f"Must be one of {', '.join(DecisionAction.values)}.")
    else:
        _check_decision(problems, patient, action, rule)
    problems.raise_if_any()

    decision = TreatmentDecision.objects.create(
        patient=patient,
        action=action,
        reason=reason,
        rule=rule,
        decided_by=user,
        decided_at=clock.now(),
    )
    new_status = _DECISION_STATUS.get(DecisionAction(action))
    if new_status is not None:
        patient.treatment_status = new_status
        patient.version += 1
        patient.save(update_fields=["treatment_status", "version", "updated_at"])
    return decision
