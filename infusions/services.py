"""Dose preparation (pharmacist), infusions and reactions (nurse): each one transaction."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from alerts.profile import active_config
from natalizumab_monitor import clock
from natalizumab_monitor.errors import Conflict, GateRefused
from natalizumab_monitor.services import (
    Problems,
    check_record_date,
    check_time_not_future,
    lock_current_version,
)
from patients.models import DecisionAction, Patient, TreatmentDecision

from .gate import check_gate
from .models import (
    ACCEPTED_DILUENT,
    DosePreparation,
    Infusion,
    InfusionReaction,
    InfusionStatus,
    PreInfusionChecklist,
    PreparationStatus,
    ReactionSeverity,
    Route,
    Storage,
)

DOSE_MAX_MG = Decimal(1000)
VOLUME_MAX_ML = Decimal(1000)
SYMPTOMS_MAX = 20
DISCARD_REASON_MAX = 200
REASON_MAX = 2000
CHECKLIST_ANSWERS = ("authorized", *PreInfusionChecklist.ANSWER_FIELDS)


def preparation_expiry(
    prepared_at: datetime, storage: str, room_temperature_since: datetime | None
) -> datetime:
    """The end of a bag's stability (PREP-STABILITY) under the rule profile in force.

    Counted from the time of dilution; a refrigerated bag that spent time at room
    temperature keeps the room-temperature limit (the engine's one definition).
    """
    config = active_config()
    hours = (
        config.prep_stability_hours_refrigerated
        if storage == Storage.REFRIGERATED and room_temperature_since is None
        else config.prep_stability_hours_room
    )
    return prepared_at + timedelta(hours=hours)


# How pharmacists write the one accepted diluent; anything else is refused by name.
DILUENT_SYNONYMS = frozenset(
    {
        "0.9% nacl",
        "0.9% sodium chloride",
        "sodium chloride 0.9%",
        "nacl 0.9%",
        "0.9 % nacl",
        "0.9 % sodium chloride",
        "normal saline",
        "ns",
        "0.9% saline",
        "saline 0.9%",
    }
)


def accepted_diluent(diluent: str) -> str | None:
    """The diluent as recorded (0.9% NaCl) when `diluent` names it, else None."""
    return ACCEPTED_DILUENT if " ".join(diluent.lower().split()) in DILUENT_SYNONYMS else None


def _check_positive(problems: Problems, field: str, value: Decimal, maximum: Decimal) -> None:
    if value <= 0:
        problems.add(field, "Must be greater than zero.")
    elif value > maximum:
        problems.add(field, f"Implausible: more than {maximum}.")


@transaction.atomic
def create_preparation(
    *,
    patient: Patient,
    dose_mg: Decimal,
    diluent: str,
    diluent_volume_ml: Decimal,
    prepared_at: datetime,
    storage: str,
    frozen: bool = False,
    shaken: bool = False,
    room_temperature_since: datetime | None = None,
    user: AbstractBaseUser,
) -> DosePreparation:
    """Record one bag, for the patient's visit that waits for one if there is such a visit.

    A frozen or shaken bag (PREP-HANDLING), or one already past its stability limit
    (PREP-STABILITY), is recorded as discarded with the reason: never as ready.
    """
    problems = Problems()
    _check_positive(problems, "dose_mg", dose_mg, DOSE_MAX_MG)
    _check_positive(problems, "diluent_volume_ml", diluent_volume_ml, VOLUME_MAX_ML)
    if accepted_diluent(diluent) is None:
        problems.add(
            "diluent",
            f"Natalizumab is diluted in 0.9% sodium chloride ({ACCEPTED_DILUENT}) only; "
            f"{diluent.strip()[:40]!r} is not accepted.",
        )
    if storage not in Storage.values:
        problems.add("storage", f"Must be one of {', '.join(Storage.values)}.")
    check_record_date(problems, "prepared_at", prepared_at, patient.birth_date)
    if room_temperature_since is not None:
        if storage != Storage.REFRIGERATED:
            problems.add(
                "room_temperature_since", "Only a refrigerated bag is taken out of the fridge."
            )
        elif room_temperature_since < prepared_at:
            problems.add("room_temperature_since", "Cannot be before prepared_at.")
        else:
            check_time_not_future(problems, "room_temperature_since", room_temperature_since)
    problems.raise_if_any()

    expires_at = preparation_expiry(prepared_at, storage, room_temperature_since)
    reasons = [name for name, flag in (("frozen", frozen), ("shaken", shaken)) if flag]
    if clock.now() > expires_at:  # at exactly the limit it is still usable
        local = expires_at.astimezone(clock.clinic_zone())
        reasons.append(f"expired at {local:%d %b %Y %H:%M} before it was recorded")
    bag = DosePreparation.objects.create(
        patient=patient,
        dose_mg=dose_mg,
        diluent=ACCEPTED_DILUENT,
        diluent_volume_ml=diluent_volume_ml,
        prepared_at=prepared_at,
        storage=storage,
        room_temperature_since=room_temperature_since,
        frozen=frozen,
        shaken=shaken,
        status=PreparationStatus.DISCARDED if reasons else PreparationStatus.READY,
        discarded_reason=" and ".join(reasons).capitalize()[:DISCARD_REASON_MAX] if reasons else "",
        expires_at=expires_at,
        prepared_by=user,
    )
    if bag.status == PreparationStatus.READY:
        _give_to_waiting_visit(bag)
    return bag


def _give_to_waiting_visit(bag: DosePreparation) -> None:
    """A bag made for a patient whose planned visit has none yet is that visit's bag."""
    waiting = (
        Infusion.objects.select_for_update()
        .filter(patient_id=bag.patient_id, status=InfusionStatus.PLANNED, preparation__isnull=True)
        .order_by("created_at")
        .first()
    )
    if waiting is not None:
        waiting.preparation = bag
        waiting.version += 1
        waiting.save(update_fields=["preparation", "version", "updated_at"])


@transaction.atomic
def create_infusion(
    *,
    patient: Patient,
    preparation: DosePreparation | None,
    checklist: dict[str, bool],
    user: AbstractBaseUser,
    route: str = Route.IV_INFUSION,
) -> Infusion:
    """Record the visit's pre-infusion checklist and plan the infusion of one bag.

    Without a bag the visit waits for one: the pharmacy's board asks for it once the
    checklist has cleared, and the bag joins the visit when it is recorded.
    """
    problems = Problems()
    if route != Route.IV_INFUSION:
        problems.add(
            "route",
            "Natalizumab is given by intravenous infusion only; IV push or bolus is refused.",
        )
    missing = [name for name in CHECKLIST_ANSWERS if name not in checklist]
    if missing or set(checklist) - set(CHECKLIST_ANSWERS):
        problems.add(
            "checklist", f"Answer exactly these questions: {', '.join(CHECKLIST_ANSWERS)}."
        )
    # Lock the bag: of two nurses planning an infusion on it at once, the second one waits.
    bag = (
        DosePreparation.objects.select_for_update().get(pk=preparation.pk) if preparation else None
    )
    if bag is None:
        pass
    elif bag.patient_id != patient.pk:
        problems.add("preparation", "This bag was prepared for another patient.")
    elif Infusion.objects.filter(preparation=bag).exists():
        problems.add("preparation", "This bag is already assigned to an infusion.")
    elif bag.status != PreparationStatus.READY:
        reason = f" ({bag.discarded_reason})" if bag.discarded_reason else ""
        problems.add("preparation", f"This bag is {bag.status}{reason}, not ready for use.")
    elif bag.expires_at < clock.now():
        problems.add("preparation", f"This bag expired at {bag.expires_at.isoformat()}.")
    problems.raise_if_any()

    visit = PreInfusionChecklist.objects.create(
        patient=patient,
        asked_by=user,
        asked_at=clock.now(),
        **{name: checklist[name] for name in CHECKLIST_ANSWERS},
    )
    try:
        with transaction.atomic():
            return Infusion.objects.create(
                patient=patient, preparation=bag, checklist=visit, route=route, nurse=user
            )
    except IntegrityError:
        problems.add("preparation", "This bag is already assigned to an infusion.")
        problems.raise_if_any()
        raise


def _lock_infusion(infusion: Infusion, *, version: int | None, if_match: int | None) -> Infusion:
    return lock_current_version(
        Infusion.objects.select_related("patient", "preparation", "checklist"),
        infusion.pk,
        version=version,
        if_match=if_match,
    )


@transaction.atomic
def start_infusion(
    *,
    infusion: Infusion,
    started_at: datetime,
    user: AbstractBaseUser,
    version: int | None = None,
    if_match: int | None = None,
) -> Infusion:
    """Start the infusion if the gate clears the patient, the bag and the checklist."""
    infusion = _lock_infusion(infusion, version=version, if_match=if_match)
    if infusion.status != InfusionStatus.PLANNED:
        raise Conflict(f"The infusion is {infusion.status}; only a planned infusion starts.")
    problems = Problems()
    check_time_not_future(problems, "started_at", started_at)
    if infusion.preparation and started_at < infusion.preparation.prepared_at:
        problems.add("started_at", "Cannot be before the bag was prepared.")
    problems.raise_if_any()

    # The single call point of the infusion gate: the patient cleared, every visit step done.
    gate = check_gate(infusion=infusion, at=started_at)
    if not gate.may_start:
        raise GateRefused(
            "The infusion may not start.", blocking=[f.as_dict() for f in gate.refusals]
        )
    # An override covers one infusion: this one uses it up.
    TreatmentDecision.objects.filter(
        pk__in=gate.overrides_used, action=DecisionAction.OVERRIDE, consumed_at__isnull=True
    ).update(consumed_at=started_at)

    bag = DosePreparation.objects.select_for_update().get(pk=infusion.preparation_id)  # gate: set
    bag.status = PreparationStatus.USED
    bag.save(update_fields=["status", "updated_at"])
    infusion.preparation = bag
    infusion.status = InfusionStatus.RUNNING
    infusion.started_at = started_at
    infusion.nurse = user
    infusion.version += 1
    infusion.save()
    return infusion


@transaction.atomic
def clear_checklist(*, infusion: Infusion, user: AbstractBaseUser, note: str) -> Infusion:
    """A prescriber clears the patient after a "yes" on the pre-infusion checklist.

    "Not authorized" is not cleared here: a suspended course is resumed, an overdue
    reauthorization is made, or a neurologist overrides.
    """
    infusion = Infusion.objects.select_for_update().get(pk=infusion.pk)
    checklist = (
        PreInfusionChecklist.objects.select_for_update().get(pk=infusion.checklist_id)
        if infusion.checklist_id
        else None
    )
    problems = Problems()
    if not note.strip():
        problems.add("note", "Say why the patient is cleared.")
    problems.raise_if_any()
    if infusion.status != InfusionStatus.PLANNED:
        raise Conflict(f"The infusion is {infusion.status}; only a planned one is cleared.")
    if checklist is None or not checklist.needs_clearance:
        raise Conflict("The checklist holds nothing: there is nothing to clear.")
    if checklist.cleared_at is not None:
        raise Conflict("The checklist was cleared already.")
    checklist.cleared_by = user
    checklist.cleared_at = clock.now()
    checklist.clearance_note = note.strip()
    checklist.save(update_fields=["cleared_by", "cleared_at", "clearance_note", "updated_at"])
    infusion.version += 1
    infusion.save(update_fields=["version", "updated_at"])
    return infusion


def _check_reason(problems: Problems, reason: str) -> str:
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        problems.add("reason", f"At most {REASON_MAX} characters.")
    return reason


def is_early_stop(infusion: Infusion, ended_at: datetime) -> bool:
    """Stopping now would make the infusion shorter than the minimum (INF-DURATION)."""
    minimum = timedelta(minutes=active_config().infusion_min_minutes)
    return infusion.started_at is not None and ended_at - infusion.started_at < minimum


def is_early_discharge(infusion: Infusion, discharged_at: datetime) -> bool:
    """Discharging now would cut the observation short (INF-OBSERVATION)."""
    observation = timedelta(minutes=active_config().observation_minutes)
    return infusion.ended_at is not None and discharged_at - infusion.ended_at < observation


@transaction.atomic
def stop_infusion(
    *,
    infusion: Infusion,
    ended_at: datetime,
    reason: str = "",
    version: int | None = None,
    if_match: int | None = None,
) -> Infusion:
    """Stop a running infusion; the reason for an early stop is kept for the timeline."""
    infusion = _lock_infusion(infusion, version=version, if_match=if_match)
    if infusion.status != InfusionStatus.RUNNING:
        raise Conflict(f"The infusion is {infusion.status}; only a running infusion stops.")
    problems = Problems()
    check_time_not_future(problems, "ended_at", ended_at)
    if infusion.started_at is not None and ended_at <= infusion.started_at:
        problems.add("ended_at", "Must be after the start of the infusion.")
    reason = _check_reason(problems, reason)
    problems.raise_if_any()
    infusion.status = InfusionStatus.STOPPED
    infusion.ended_at = ended_at
    infusion.stop_reason = reason
    infusion.version += 1
    infusion.save()
    return infusion


@transaction.atomic
def discharge_infusion(
    *,
    infusion: Infusion,
    discharged_at: datetime,
    reason: str = "",
    version: int | None = None,
    if_match: int | None = None,
) -> Infusion:
    """The patient leaves after the observation period (INF-OBSERVATION flags an early one)."""
    infusion = _lock_infusion(infusion, version=version, if_match=if_match)
    if infusion.status != InfusionStatus.STOPPED:
        raise Conflict(
            f"The infusion is {infusion.status}; a patient is discharged after it stopped."
        )
    problems = Problems()
    check_time_not_future(problems, "discharged_at", discharged_at)
    if infusion.ended_at is not None and discharged_at < infusion.ended_at:
        problems.add("discharged_at", "Cannot be before the end of the infusion.")
    reason = _check_reason(problems, reason)
    problems.raise_if_any()
    infusion.status = InfusionStatus.DISCHARGED
    infusion.discharged_at = discharged_at
    infusion.discharge_reason = reason
    infusion.version += 1
    infusion.save()
    return infusion


@transaction.atomic
def record_reaction(
    *,
    infusion: Infusion,
    severity: str,
    symptoms: list[str],
    onset_at: datetime,
    user: AbstractBaseUser,
) -> InfusionReaction:
    """A reaction to an infusion; a severe one stops a running infusion at its onset."""
    infusion = _lock_infusion(infusion, version=None, if_match=None)
    if infusion.started_at is None:
        raise Conflict(f"The infusion is {infusion.status}; it has not started.")
    problems = Problems()
    if severity not in ReactionSeverity.values:
        problems.add("severity", f"Must be one of {', '.join(ReactionSeverity.values)}.")
    symptoms = [s.strip() for s in symptoms]
    if not symptoms or not all(symptoms):
        problems.add("symptoms", "Name at least one symptom, none of them blank.")
    elif len(symptoms) > SYMPTOMS_MAX:
        problems.add("symptoms", f"At most {SYMPTOMS_MAX} symptoms.")
    check_time_not_future(problems, "onset_at", onset_at)
    if onset_at <= infusion.started_at:
        problems.add("onset_at", "Must be after the start of the infusion.")
    problems.raise_if_any()

    reaction = InfusionReaction.objects.create(
        infusion=infusion,
        severity=severity,
        symptoms=symptoms,
        onset_at=onset_at,
        recorded_by=user,
    )
    if severity == ReactionSeverity.SEVERE and infusion.status == InfusionStatus.RUNNING:
        # INF-HYPERSENSITIVITY: stop the infusion at once.
        infusion.status = InfusionStatus.STOPPED
        infusion.ended_at = onset_at
        infusion.stop_reason = f"Severe reaction: {', '.join(symptoms)}"[:REASON_MAX]
        infusion.version += 1
        infusion.save()
    return reaction


# --- Bags and visits the pages manage --------------------------------------------------------


def _lock_bag(preparation: DosePreparation) -> DosePreparation:
    return DosePreparation.objects.select_for_update().get(pk=preparation.pk)


def _assigned_infusion(bag: DosePreparation) -> Infusion | None:
    return Infusion.objects.filter(preparation=bag).first()


@transaction.atomic
def discard_preparation(
    *, preparation: DosePreparation, reason: str, user: AbstractBaseUser
) -> DosePreparation:
    """The pharmacist throws a bag away (expired, damaged, not needed), with the reason."""
    bag = _lock_bag(preparation)
    reason = reason.strip()
    problems = Problems()
    if not reason:
        problems.add("reason", "Say why the bag is discarded.")
    elif len(reason) > DISCARD_REASON_MAX:
        problems.add("reason", f"At most {DISCARD_REASON_MAX} characters.")
    problems.raise_if_any()
    if bag.status != PreparationStatus.READY:
        raise Conflict(f"The bag is already {bag.status}.")
    infusion = _assigned_infusion(bag)
    if infusion is not None and infusion.status != InfusionStatus.PLANNED:
        raise Conflict(f"The bag's infusion is {infusion.status}; it cannot be discarded now.")
    bag.status = PreparationStatus.DISCARDED
    bag.discarded_reason = reason
    bag.save(update_fields=["status", "discarded_reason", "updated_at"])
    if infusion is not None:  # the planned visit waits for a new bag
        infusion.preparation = None
        infusion.version += 1
        infusion.save(update_fields=["preparation", "version", "updated_at"])
    return bag


@transaction.atomic
def mark_preparation_used(
    *, preparation: DosePreparation, user: AbstractBaseUser
) -> DosePreparation:
    """A bag given outside this record (no infusion here to start); an infusion's start marks
    its own bag used."""
    bag = _lock_bag(preparation)
    if bag.status != PreparationStatus.READY:
        raise Conflict(f"The bag is already {bag.status}.")
    if _assigned_infusion(bag) is not None:
        raise Conflict("The bag belongs to a planned infusion: starting it marks the bag used.")
    if bag.expires_at < clock.now():  # at exactly the limit it is still usable
        raise Conflict("The bag is past its stability limit: discard it.")
    bag.status = PreparationStatus.USED
    bag.save(update_fields=["status", "updated_at"])
    return bag


@transaction.atomic
def cancel_infusion(*, infusion: Infusion, user: AbstractBaseUser, reason: str) -> Infusion:
    """A planned infusion that will not happen (bag expired, patient not cleared, went home).

    Its checklist stays on record, with the reason. Its bag is discarded: one bag belongs to
    one infusion, so no later infusion can use it.
    """
    infusion = Infusion.objects.select_for_update().get(pk=infusion.pk)
    problems = Problems()
    reason = _check_reason(problems, reason)
    if not reason:
        problems.add("reason", "Say why the visit is cancelled.")
    problems.raise_if_any()
    if infusion.status != InfusionStatus.PLANNED:
        raise Conflict(f"The infusion is {infusion.status}; only a planned infusion is cancelled.")
    if infusion.preparation_id is not None:
        bag = _lock_bag(infusion.preparation)
        if bag.status == PreparationStatus.READY:
            bag.status = PreparationStatus.DISCARDED
            bag.discarded_reason = f"Infusion cancelled: {reason}"[:DISCARD_REASON_MAX]
            bag.save(update_fields=["status", "discarded_reason", "updated_at"])
    infusion.status = InfusionStatus.CANCELLED
    infusion.cancel_reason = reason
    infusion.version += 1
    infusion.save(update_fields=["status", "cancel_reason", "version", "updated_at"])
    return infusion
