"""The nightly job evaluates only the patients time or a write has changed, and leaves the
alerts a full sweep would leave, and the day's lists the clearances the gate gives: a seeded
random walk over simulated days and nights."""

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from alerts import evaluation, tasks
from alerts.clearance import clearances_for, stored_clearances
from alerts.evaluation import STANDING, _differs, evaluate_patient
from alerts.models import Alert, EvaluationSchedule, PendingEvaluation, SweepRun
from alerts.profile import active_config
from alerts.rules import check_infusion, evaluate, next_changes
from alerts.snapshots import build_snapshots
from infusions.models import DosePreparation, Infusion, PreInfusionChecklist
from infusions.page_selectors import bag_board, todays_infusion_list
from labs.models import LabResult
from natalizumab_monitor import clock
from patients.models import Infection, Medication, Patient, Relapse, TreatmentDecision

pytestmark = pytest.mark.django_db

PATIENTS = 30
STEPS = 40


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_to


def assert_alerts_are_those_of_a_full_sweep(now: datetime) -> None:
    """Standing alerts are exactly the findings of every patient at `now` (read only)."""
    config = active_config()
    snapshots = build_snapshots(Patient.objects.values_list("pk", flat=True))
    expected = {
        finding.dedup_key: finding
        for snapshot in snapshots.values()
        for finding in evaluate(snapshot, now, config)
    }
    standing = {alert.dedup_key: alert for alert in Alert.objects.filter(status__in=STANDING)}
    assert sorted(standing) == sorted(expected), now
    changed = [key for key, alert in standing.items() if _differs(alert, expected[key])]
    assert changed == [], now


def assert_listed_clearances_are_live(now: datetime) -> int:
    """The day's lists show every patient's clearance as the gate gives it at `now` (stored
    ones where still current); returns how many came stored."""
    ids = [str(pk) for pk in Patient.objects.values_list("pk", flat=True)]
    config = active_config()
    live = {
        patient_id: check_infusion(snapshot, now, config)
        for patient_id, snapshot in build_snapshots(ids).items()
    }
    assert clearances_for(ids) == live, now
    return len(stored_clearances(ids, now=now, config=config))


def assert_day_lists_use_stored_clearances(now: datetime) -> int:
    """After a night, everyone on the nurse's list and the bag board has their clearance
    stored (the lists compute none): evaluations store it ahead of the patient's day.
    Returns how many patients the lists showed."""
    listed = {str(row.patient.pk) for row in todays_infusion_list(site=None)} | {
        str(row.bag.patient_id) for row in bag_board(site=None) if row.bag.status == "ready"
    }
    stored = stored_clearances(sorted(listed), now=now, config=active_config())
    assert sorted(listed - set(stored)) == [], now
    return len(listed)


class Clinic:
    """Random writes of a clinic's day, each through the models (their signals mark the
    patient for evaluation, as a form or the API would)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.patients = list(Patient.objects.order_by("pk"))
        self.staff = {
            name: Patient._meta.apps.get_model("auth", "User").objects.get(username=name)
            for name in ("scale-nurse", "scale-pharmacist", "scale-neurologist")
        }

    def day(self, now: datetime) -> None:
        """Today's infusions (most patients due get theirs), then a few random writes."""
        rng = self.rng
        for patient in self.patients:
            last = (
                Infusion.objects.filter(patient=patient, status="discharged")
                .order_by("-started_at")
                .values_list("started_at", flat=True)
                .first()
            )
            due = last is None or last <= now - timedelta(days=27)
            if patient.treatment_status == "active" and due and rng.random() < 0.8:
                self.infusion(patient, now)
                self.settle(patient)
        for _ in range(rng.randint(0, 4)):
            patient = rng.choice(self.patients)
            write = rng.choice(
                [
                    self.alt,
                    self.alt,
                    self.infusion,
                    self.ready_bag,
                    self.medication,
                    self.later_result,
                    self.reauthorization,
                    self.relapse,
                    self.infection,
                ]
            )
            write(patient, now)
            self.settle(patient)

    def settle(self, patient: Patient) -> None:
        if self.rng.random() < 0.5:
            evaluate_patient(patient.pk)  # the worker was quick; else the mark waits

    def alt(self, patient: Patient, now: datetime) -> None:
        value = Decimal("140") if self.rng.random() < 0.3 else Decimal("25")
        LabResult.objects.create(
            patient=patient, analyte="ALT", value=value, unit="U/L",
            reference_low=Decimal("7"), reference_high=Decimal("40"),
            collected_at=now - timedelta(hours=1),
        )  # fmt: skip

    def later_result(self, patient: Patient, now: datetime) -> None:
        LabResult.objects.create(
            patient=patient, analyte="TSH", value=Decimal("9"), unit="m[IU]/L",
            reference_low=Decimal("0.4"), reference_high=Decimal("4"),
            collected_at=now + timedelta(hours=self.rng.randint(2, 60)),
        )  # fmt: skip

    def infusion(self, patient: Patient, now: datetime) -> None:
        started = now - timedelta(hours=3)
        checklist = PreInfusionChecklist.objects.create(
            patient=patient, asked_by=self.staff["scale-nurse"], asked_at=started,
            authorized=True, new_neurological_symptoms=False, immunocompromised=False,
            immunosuppressants_last_month=False, current_infection=False,
        )  # fmt: skip
        bag = self.bag(patient, started - timedelta(minutes=30), "used")
        Infusion.objects.create(
            patient=patient, preparation=bag, checklist=checklist, status="discharged",
            started_at=started, ended_at=started + timedelta(minutes=65),
            discharged_at=started + timedelta(minutes=130),
        )  # fmt: skip

    def ready_bag(self, patient: Patient, now: datetime) -> None:
        self.bag(patient, now - timedelta(minutes=self.rng.randint(0, 9 * 60)), "ready")

    def bag(self, patient: Patient, prepared_at: datetime, status: str) -> DosePreparation:
        return DosePreparation.objects.create(
            patient=patient, dose_mg=Decimal("300"), diluent="0.9% NaCl",
            diluent_volume_ml=Decimal("100"), prepared_at=prepared_at, storage="room",
            status=status, expires_at=prepared_at + timedelta(hours=8),
        )  # fmt: skip

    def medication(self, patient: Patient, now: datetime) -> None:
        today = now.astimezone(clock.clinic_zone()).date()
        Medication.objects.create(
            patient=patient, name="Methotrexate", category="immunosuppressant",
            started_on=today, stopped_on=today + timedelta(days=self.rng.randint(0, 4)),
        )  # fmt: skip

    def reauthorization(self, patient: Patient, now: datetime) -> None:
        TreatmentDecision.objects.create(
            patient=patient, action="reauthorize", reason="Six-monthly reauthorization",
            decided_by=self.staff["scale-neurologist"], decided_at=now,
        )  # fmt: skip

    def relapse(self, patient: Patient, now: datetime) -> None:
        today = now.astimezone(clock.clinic_zone()).date()
        Relapse.objects.create(patient=patient, onset_on=today - timedelta(days=360))

    def infection(self, patient: Patient, now: datetime) -> None:
        today = now.astimezone(clock.clinic_zone()).date()
        Infection.objects.create(
            patient=patient, description="Cystitis", onset_on=today,
            resolved_on=today + timedelta(days=self.rng.randint(0, 3)),
        )  # fmt: skip


def walk(seed: int, steps: int, set_clock: Callable[[datetime], None]) -> list[int]:
    """Simulated days and nights: after each night, the alerts are those of a full sweep.

    Returns the number of patients each night's job evaluated.
    """
    call_command("loadscale", patients=PATIENTS, seed=seed, no_progress=True, stdout=None)
    rng = random.Random(seed)
    clinic = Clinic(rng)
    now = clock.now().replace(hour=2, minute=30, second=0, microsecond=0)
    set_clock(now)
    assert tasks.nightly()["patients"] == PATIENTS  # never evaluated: every patient
    evaluated, stored, listed = [], 0, 0
    for _ in range(steps):
        set_clock(now)
        clinic.day(now - timedelta(hours=rng.randint(1, 14)))
        stored += assert_listed_clearances_are_live(now)  # some patients still marked
        detail = tasks.nightly()
        evaluated.append(detail["patients"])
        assert not PendingEvaluation.objects.exists()
        assert_alerts_are_those_of_a_full_sweep(now)
        stored += assert_listed_clearances_are_live(now)
        listed += assert_day_lists_use_stored_clearances(now)
        # Mostly the next night; now and then a night missed, or a run at another hour.
        now += timedelta(hours=rng.choice([24, 24, 24, 24, 48, 19, 31]))
    # Stored clearances were listed (a dose in the last 3 weeks ends one each midnight: its
    # early-dose warning counts the days; those patients are not due, so not on the lists).
    assert stored > steps
    assert listed > steps  # patients came onto the lists by time alone, night after night
    return evaluated


@pytest.mark.parametrize("seed", [1, 2])
def test_the_nightly_job_leaves_the_alerts_of_a_full_sweep_over_simulated_days(
    seed: int, set_clock: Callable[[datetime], None]
) -> None:
    evaluated = walk(seed, STEPS, set_clock)
    # Afterwards, only the patients time or a write changed: far from everyone each night.
    assert sum(evaluated) < STEPS * PATIENTS / 4, evaluated
    assert SweepRun.objects.filter(finished_at__isnull=True).count() == 0
    assert EvaluationSchedule.objects.count() == PATIENTS


def test_the_walk_catches_a_change_the_schedule_misses(
    set_clock: Callable[[datetime], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison has teeth: moments recorded two days late leave a stale alert."""

    def later(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment + timedelta(days=2)

    def late(*args: Any, **kwargs: Any) -> tuple[datetime | None, datetime | None]:
        findings_change, clearance_change = next_changes(*args, **kwargs)
        return later(findings_change), later(clearance_change)

    monkeypatch.setattr(evaluation, "next_changes", late)
    with pytest.raises(AssertionError):
        walk(1, STEPS, set_clock)


def test_the_weekly_full_sweep_finds_nothing_the_nightly_job_missed(
    set_clock: Callable[[datetime], None],
) -> None:
    call_command("loadscale", patients=PATIENTS, seed=3, no_progress=True, stdout=None)
    now = clock.now()
    for day in range(15):
        set_clock(now + timedelta(days=day))
        tasks.nightly()
    before = list(Alert.objects.order_by("pk").values_list("pk", "status", "updated_at"))

    detail = tasks.sweep()

    assert detail["patients"] == PATIENTS
    after = list(Alert.objects.order_by("pk").values_list("pk", "status", "updated_at"))
    assert after == before  # nothing raised, updated or resolved


def test_a_change_of_thresholds_makes_every_patient_due(
    set_clock: Callable[[datetime], None], settings: object
) -> None:
    from alerts.profile import reset_config_cache

    call_command("loadscale", patients=5, seed=4, no_progress=True, stdout=None)
    now = clock.now()
    set_clock(now)
    assert tasks.nightly()["patients"] == 5
    assert tasks.nightly()["patients"] < 5
    settings.RULE_PROFILE = "label"  # type: ignore[attr-defined]
    reset_config_cache()
    try:
        assert tasks.nightly()["patients"] == 5
    finally:
        reset_config_cache()
