"""The pipeline end to end: the API, Redis, and real Celery workers (subprocesses)."""

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection, transaction
from django.test import override_settings
from rest_framework.test import APIClient

from alerts import tasks
from alerts.models import (
    Alert,
    AlertStatus,
    Heartbeat,
    PendingEvaluation,
    SweepBatch,
    SweepRun,
)
from alerts.profile import active_config
from alerts.rules import evaluate
from alerts.snapshots import build_snapshots
from natalizumab_monitor import clock
from natalizumab_monitor.celery import app as celery_app
from patients.models import Patient
from tests.factories import make_patient

from .conftest import RedisServer, Worker, high_alt, standing, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def alt_payload(patient: Patient, multiple: str = "3.2") -> dict[str, Any]:
    return {
        "patient": str(patient.pk),
        "analyte": "ALT",
        "value": float(Decimal(multiple) * 40),
        "unit": "U/L",
        "reference_low": 7,
        "reference_high": 40,
        "collected_at": clock.now().isoformat(),
    }


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (and settings) at another broker for a while."""

    def reset_pools() -> None:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    previous = celery_app.conf.broker_url
    with override_settings(CELERY_BROKER_URL=url):
        reset_pools()
        celery_app.conf.broker_url = url
        try:
            yield
        finally:
            reset_pools()
            celery_app.conf.broker_url = previous


def test_a_high_alt_posted_through_the_api_is_raised_by_a_worker_and_resolved_on_resume(
    api_as: Callable[[str], APIClient],
    broker: redis.Redis,
    start_worker: Callable[..., Worker],
) -> None:
    start_worker()
    neurologist = api_as("neurologist")
    patient = make_patient()

    response = neurologist.post("/api/v1/lab-results/", alt_payload(patient), format="json")
    assert response.status_code == 201, response.content
    posted = time.monotonic()

    [alert] = wait_for(lambda: standing(patient, "LIVER-3XULN"), timeout=10)
    assert time.monotonic() - posted < 5
    assert (alert.status, alert.severity, alert.action) == ("open", "critical", "suspend")
    assert alert.dedup_key.endswith(response.json()["id"])
    feed = neurologist.get("/api/v1/alerts/", {"rule": "LIVER-3XULN"}).json()["results"]
    assert [item["id"] for item in feed] == [str(alert.pk)]

    # The engine clears a liver suspension by the neurologist's resume, not by a newer value.
    decisions = f"/api/v1/patients/{patient.pk}/decisions/"
    for decision in (
        {"action": "suspend", "reason": "ALT 3.2 x ULN"},
        {"action": "resume", "reason": "Repeat ALT 30 U/L; hepatology agrees"},
    ):
        response = neurologist.post(decisions, decision)
        assert response.status_code == 201, response.content

    wait_for(lambda: Alert.objects.get(pk=alert.pk).status == AlertStatus.RESOLVED, timeout=10)
    assert not standing(patient, "LIVER-3XULN")
    assert not PendingEvaluation.objects.filter(patient=patient).exists()


def expected_keys(patients: list[Patient]) -> set[str]:
    snapshots = build_snapshots([p.pk for p in patients])
    return {
        finding.dedup_key
        for snapshot in snapshots.values()
        for finding in evaluate(snapshot, clock.now(), active_config())
    }


def batches_in_flight(worker: Worker) -> list[str]:
    """Ids of the sweep batch tasks the worker received and has not finished."""
    output = worker.output
    received = re.findall(r"alerts\.tasks\.evaluate_batch\[([0-9a-f-]+)\] received", output)
    return [task for task in received if f"[{task}] succeeded" not in output]


def waiting_for_our_lock() -> bool:
    """Whether another database session waits for a lock this session holds.

    pg_locks, not pg_stat_activity: the latter is a snapshot taken once per transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks"
            " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_in_the_middle_of_a_fanned_out_sweep_leaves_every_alert_exactly_once(
    role_groups: None, broker: redis.Redis, start_worker: Callable[..., Worker]
) -> None:
    patients = [make_patient() for _ in range(24)]
    for patient in patients:
        high_alt(patient)
    PendingEvaluation.objects.all().delete()
    broker.flushdb()  # the set-up's own evaluations: this test is about the sweep alone
    expected = expected_keys(patients)
    # Batches of 2 patients (12 tasks) on two workers; a short visibility timeout, so that
    # the killed worker's message comes back in seconds.
    env = {"ALERT_SWEEP_BATCH_SIZE": "2", "CELERY_VISIBILITY_TIMEOUT": "8"}
    seventh = Patient.objects.order_by("pk").values_list("pk", flat=True)[6]
    first, second = start_worker(**env), start_worker(**env)
    with transaction.atomic():
        # We hold the 7th patient: the worker that takes its batch waits for our lock, inside
        # its task, until it is killed; the other worker goes on with the other batches.
        Patient.objects.select_for_update().get(pk=seventh)
        tasks.sweep.delay()
        wait_for(waiting_for_our_lock, timeout=30)
        # Every other batch done (by either worker): only the blocked worker holds a task.
        wait_for(lambda: Alert.objects.filter(rule="LIVER-3XULN").count() == 22, timeout=60)
        [blocked] = wait_for(
            lambda: (
                len(holding := [w for w in (first, second) if batches_in_flight(w)]) == 1
                and holding
            ),
            timeout=10,
        )
        [killed_task] = batches_in_flight(blocked)
        blocked.kill()
    survivor = second if blocked is first else first

    # The killed task's message comes back (acks_late) after the visibility timeout, to the
    # worker left, and the run finishes with its last batch.
    wait_for(lambda: f"evaluate_batch[{killed_task}] received" in survivor.output, timeout=60)
    wait_for(lambda: SweepRun.objects.filter(finished_at__isnull=False).exists(), timeout=60)
    assert Heartbeat.objects.filter(name="sweep").exists()
    assert not SweepBatch.objects.filter(done_at__isnull=True).exists()

    keys = Counter(Alert.objects.values_list("dedup_key", flat=True))
    assert set(keys) == expected
    assert set(keys.values()) == {1}
    assert not Alert.objects.filter(status=AlertStatus.RESOLVED).exists()


def test_with_redis_down_a_post_succeeds_fast_and_the_alert_follows_when_redis_returns(
    api_as: Callable[[str], APIClient],
    own_redis: RedisServer,
    start_worker: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    neurologist = api_as("neurologist")
    patient = make_patient()
    with celery_broker(own_redis.url):
        # The worker runs beat too, waking the timers every 2 s (the embedded layout).
        start_worker(
            "--beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
            CELERY_BROKER_URL=own_redis.url,
            ALERT_TIMERS_INTERVAL_SECONDS="2",
            ALERT_PENDING_GRACE_SECONDS="1",
        )
        own_redis.stop()

        began = time.monotonic()
        response = neurologist.post("/api/v1/lab-results/", alt_payload(patient), format="json")
        elapsed = time.monotonic() - began
        assert response.status_code == 201, response.content
        assert elapsed < 2, f"the POST took {elapsed:.2f} s with Redis down"
        assert PendingEvaluation.objects.filter(patient=patient).exists()
        time.sleep(1)
        assert not standing(patient, "LIVER-3XULN")

        own_redis.start()
        # Nobody touches the patient again: the timers find the mark.
        [alert] = wait_for(lambda: standing(patient, "LIVER-3XULN"), timeout=45, interval=0.5)
        assert alert.severity == "critical"
        wait_for(lambda: not PendingEvaluation.objects.filter(patient=patient).exists(), 10)
