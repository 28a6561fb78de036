"""The timers (every minute) and the sweep (nightly), with a frozen or moved clock."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User

from alerts import evaluation, tasks
from alerts.clearance import stored_clearances
from alerts.models import Alert, EvaluationSchedule, Heartbeat, Notification, PendingEvaluation
from alerts.profile import active_config
from alerts.services import acknowledge_alert
from infusions.models import DosePreparation
from natalizumab_monitor import clock
from tests.factories import make_infusion, make_patient, make_preparation

from .conftest import high_alt, standing

pytestmark = pytest.mark.django_db


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Freeze the product's one clock at a given moment."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_to


def forget_marks() -> None:
    # The writes of the set-up marked their patients: forget them, so only time is at work.
    PendingEvaluation.objects.all().delete()


def test_a_room_temperature_bag_prepared_8_h_1_min_ago_is_expired_by_the_timers(
    users: dict[str, User], set_clock: Callable[[datetime], None]
) -> None:
    now = clock.now()
    patient = make_patient()
    bag = make_preparation(patient, prepared_at=now - timedelta(hours=8, minutes=1))
    forget_marks()
    set_clock(now)

    detail = tasks.run_timers()

    [alert] = standing(patient, "PREP-STABILITY")
    assert alert.severity == "critical" and alert.action == "block-infusion"
    assert alert.evidence["preparation_id"] == str(bag.pk)
    assert detail["bags"] == 1
    assert DosePreparation.objects.get(pk=bag.pk).expiry_warned_at == now
    # The pharmacist who must discard it is told, once.
    assert Notification.objects.filter(alert=alert, recipient=users["pharmacist"]).count() == 1

    again = tasks.run_timers()
    assert again["bags"] == 0
    assert standing(patient, "PREP-STABILITY") == [alert]


def test_a_bag_is_warned_60_min_before_its_limit_then_expires_when_the_clock_moves_on(
    users: dict[str, User], set_clock: Callable[[datetime], None]
) -> None:
    start = clock.now()
    patient = make_patient()
    make_preparation(patient, prepared_at=start - timedelta(hours=7, minutes=30))
    forget_marks()

    set_clock(start)
    tasks.run_timers()
    [warning] = standing(patient, "PREP-STABILITY")
    assert warning.severity == "warning"
    assert not Notification.objects.filter(alert=warning).exists()
    acknowledge_alert(alert=warning, user=users["pharmacist"])

    set_clock(start + timedelta(minutes=20))
    assert tasks.run_timers()["bags"] == 0  # warned already: nothing new until the limit

    set_clock(start + timedelta(minutes=31))
    assert tasks.run_timers()["bags"] == 1
    [expired] = standing(patient, "PREP-STABILITY")
    assert expired.pk == warning.pk  # the same alert, escalated
    assert expired.severity == "critical" and expired.feed_seq > warning.feed_seq
    assert expired.status == "open"  # the acknowledgement was of the warning
    assert Notification.objects.filter(alert=expired, recipient=users["pharmacist"]).exists()


def test_an_early_discharge_is_flagged_by_the_timers(
    set_clock: Callable[[datetime], None],
) -> None:
    now = clock.now()
    patient = make_patient()
    make_infusion(
        patient,
        status="discharged",
        started_at=now - timedelta(minutes=100),
        ended_at=now - timedelta(minutes=35),
        discharged_at=now - timedelta(minutes=15),  # 20 min of observation, not 60
    )
    forget_marks()
    set_clock(now)

    detail = tasks.run_timers()

    [alert] = standing(patient, "INF-OBSERVATION")
    assert alert.severity == "warning"
    assert alert.evidence["observed_minutes"] == 20
    assert detail["observation"] == 1


def test_a_patient_whose_evaluation_task_was_lost_is_evaluated_by_the_timers(
    set_clock: Callable[[datetime], None],
) -> None:
    patient = make_patient()
    high_alt(patient)  # marked, but (say) the broker was down: no task ran
    assert PendingEvaluation.objects.filter(patient=patient).exists()

    set_clock(clock.now() + timedelta(seconds=5))
    tasks.run_timers()
    assert not standing(patient, "LIVER-3XULN")  # a task may still be on its way

    set_clock(clock.now() + timedelta(minutes=1))
    detail = tasks.run_timers()
    assert len(standing(patient, "LIVER-3XULN")) == 1
    assert detail["pending"] == 1
    assert not PendingEvaluation.objects.filter(patient=patient).exists()


def test_the_sweep_evaluates_every_patient_in_batches_and_records_its_heartbeat(
    settings: object, set_clock: Callable[[datetime], None]
) -> None:
    settings.ALERT_SWEEP_BATCH_SIZE = 2  # type: ignore[attr-defined]
    patients = [make_patient() for _ in range(5)]
    for patient in patients:
        high_alt(patient)
    forget_marks()
    assert not Alert.objects.exists()
    now = clock.now()
    set_clock(now)

    detail = tasks.sweep()
    tasks.sweep()

    for patient in patients:
        assert len(standing(patient, "LIVER-3XULN")) == 1
    assert detail["patients"] == 5
    assert Heartbeat.objects.get(name="sweep").last_run_at == now


def test_a_stored_clearance_that_ended_unseen_is_replaced_by_the_timers(
    set_clock: Callable[[datetime], None],
) -> None:
    """A bag's expiry ends the clearance stored for the day's lists; if the bag timer ran
    before an evaluation that stored it committed, the next timers run still replaces it."""
    now = clock.now()
    patient = make_patient()
    bag = make_preparation(patient, prepared_at=now - timedelta(hours=5))
    forget_marks()
    set_clock(now)
    evaluation.evaluate_patient(str(patient.pk))
    schedule = EvaluationSchedule.objects.get(patient=patient)
    assert schedule.clearance is not None and schedule.clearance_until is not None
    assert schedule.clearance_until <= bag.expires_at
    # The bag timer has been past it already (a run that came before that evaluation's commit).
    DosePreparation.objects.filter(pk=bag.pk).update(
        expiry_warned_at=bag.expires_at + timedelta(seconds=1)
    )

    later = bag.expires_at + timedelta(minutes=2)
    set_clock(later)
    config = active_config()
    assert not stored_clearances([str(patient.pk)], now=later, config=config)  # ended
    detail = tasks.run_timers()

    assert detail["bags"] == 0 and detail["lapsed"] == 1
    [expired] = standing(patient, "PREP-STABILITY")
    assert expired.severity == "critical"
    [clearance] = stored_clearances([str(patient.pk)], now=later, config=config).values()
    assert not clearance.cleared  # the nurse's list shows the expired bag, from the store
    assert tasks.run_timers()["lapsed"] == 0  # replaced once, not every minute


def test_the_timers_evaluate_in_batches_and_one_patient_failing_holds_up_no_other_bag(
    monkeypatch: pytest.MonkeyPatch, set_clock: Callable[[datetime], None]
) -> None:
    """Bags expiring together are raised in batches; a patient whose evaluation fails keeps
    their bag unstamped (tried again next run), and the others in their batch are raised."""
    monkeypatch.setattr(tasks, "TIMERS_BATCH_SIZE", 2)
    now = clock.now()
    patients = [make_patient() for _ in range(5)]
    bags = [make_preparation(p, prepared_at=now - timedelta(hours=8, minutes=1)) for p in patients]
    broken = patients[1]
    forget_marks()
    set_clock(now)
    assess = evaluation._assess

    def failing_for_one(snapshot, *args):  # type: ignore[no-untyped-def]
        if str(snapshot.id) == str(broken.pk):
            raise RuntimeError("a record the rules cannot read")
        return assess(snapshot, *args)

    monkeypatch.setattr(evaluation, "_assess", failing_for_one)
    detail = tasks.run_timers()

    assert detail["patients"] == 5 and detail["failed"] == 1
    for patient, bag in zip(patients, bags, strict=True):
        stamped = DosePreparation.objects.get(pk=bag.pk).expiry_warned_at
        if patient == broken:
            assert standing(patient, "PREP-STABILITY") == [] and stamped is None
        else:
            assert len(standing(patient, "PREP-STABILITY")) == 1 and stamped == now

    monkeypatch.setattr(evaluation, "_assess", assess)  # the record is mended
    again = tasks.run_timers()
    assert again["bags"] == 1 and again["failed"] == 0
    assert len(standing(broken, "PREP-STABILITY")) == 1
    assert all(len(standing(patient, "PREP-STABILITY")) == 1 for patient in patients)
