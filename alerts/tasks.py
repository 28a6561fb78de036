"""Celery tasks of the alert pipeline: each loads ids and calls alerts.evaluation.

Every task is idempotent (acks_late: it may run twice, late, or again after a crash) and
carries ids only, never patient data. Due times live in the database: beat wakes the timers
every minute and the sweep every night; no task waits in the broker for hours.
"""

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings

from alerts import evaluation, timers
from alerts.health import SWEEP, TIMERS
from alerts.models import Heartbeat
from alerts.notifications import deliver_emails
from alerts.profile import active_config
from natalizumab_monitor import clock
from patients.models import Patient

logger = logging.getLogger(__name__)

# Each timers run looks back over the previous one by this much: a late run misses nothing.
TIMERS_OVERLAP = timedelta(minutes=2)
# How far the first timers run (no heartbeat yet) looks back; the nightly sweep covers the rest.
TIMERS_FIRST_LOOKBACK = timedelta(days=1)
# Patients left marked (their task lost) that one timers run evaluates at most.
PENDING_PER_RUN = 500


def enqueue_evaluation(patient_id: str) -> bool:
    """Queue an evaluation of the patient; never raises, never blocks long.

    Publishing is bounded by the broker timeouts and CELERY_TASK_PUBLISH_RETRY_POLICY; when it
    fails the patient's PendingEvaluation mark stays and the timers evaluate them.
    """
    try:
        evaluate_patient.apply_async(args=[str(patient_id)])
    except Exception:  # noqa: BLE001 - the write already succeeded; the mark covers it
        logger.warning("Evaluation of patient %s not queued; the timers will run it", patient_id)
        return False
    return True


@shared_task(name="alerts.tasks.evaluate_patient")
def evaluate_patient(patient_id: str) -> dict[str, Any]:
    result = evaluation.evaluate_patient(patient_id)
    summary = _summary(result)
    if result.changed:
        logger.info("Evaluated patient %s: %s", patient_id, summary)
    return summary


@shared_task(name="alerts.tasks.run_timers")
def run_timers() -> dict[str, Any]:
    """Evaluate the patients time has made due: bags, observation windows, lost tasks."""
    now = clock.now()
    config = active_config()
    last = Heartbeat.objects.filter(name=TIMERS).values_list("last_run_at", flat=True).first()
    since = (last or now - TIMERS_FIRST_LOOKBACK) - TIMERS_OVERLAP
    bags = timers.bags_reaching_their_limit(now, config)
    observed = timers.observation_events(since, now, config)
    pending = timers.patients_left_pending(
        now, timedelta(seconds=settings.ALERT_PENDING_GRACE_SECONDS), PENDING_PER_RUN
    )
    due = sorted(set(bags) | observed | set(pending))
    failed = 0
    for patient_id in due:
        try:
            evaluation.evaluate_patient(patient_id)
        except Exception:
            # One patient's failure must not hold up the others; their mark stays.
            logger.exception("Timers could not evaluate patient %s", patient_id)
            failed += 1
            continue
        if patient_id in bags:
            timers.stamp_bags(bags[patient_id], now)
    emailed = deliver_emails()
    detail = {
        "patients": len(due),
        "bags": sum(len(ids) for ids in bags.values()),
        "observation": len(observed),
        "pending": len(pending),
        "failed": failed,
        "emailed": emailed,
    }
    _beat(TIMERS, detail, at=now)  # the end of the window this run covered
    return detail


@shared_task(name="alerts.tasks.sweep")
def sweep(
    after: str | None = None, started_at: str | None = None, patients: int = 0
) -> dict[str, Any]:
    """Evaluate every patient, in batches, for what only time makes due (nightly).

    A long sweep goes on in a new task (from the last patient done) before its time limit, so
    no task outlives the broker's visibility timeout; killed midway, it runs again from the
    start of its task, and what was already done is found unchanged.
    """
    started_at = started_at or clock.now().isoformat()
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    began = time.monotonic()
    for batch in _batches(after):
        _evaluate_batch(batch)
        patients += len(batch)
        after = batch[-1]
        if time.monotonic() - began > budget:
            rest = {"after": after, "started_at": started_at, "patients": patients}
            sweep.apply_async(kwargs=rest)
            return {"patients": patients, "continued_after": after}
        pause = settings.ALERT_SWEEP_BATCH_PAUSE_SECONDS
        if pause > 0:
            time.sleep(pause)
    detail = {"patients": patients, "started_at": started_at}
    _beat(SWEEP, detail)
    return detail


def _batches(after: str | None) -> Iterable[list[str]]:
    size = settings.ALERT_SWEEP_BATCH_SIZE
    while True:
        ids = Patient.objects.order_by("pk")
        if after is not None:
            ids = ids.filter(pk__gt=after)
        batch = [str(pk) for pk in ids.values_list("pk", flat=True)[:size]]
        if not batch:
            return
        yield batch
        after = batch[-1]


def _evaluate_batch(batch: list[str]) -> None:
    try:
        evaluation.evaluate_patients(batch)
    except Exception:
        # One bad record must not stop the sweep: evaluate the batch one patient at a time.
        logger.exception("Sweep batch after patient %s failed; one by one", batch[0])
        for patient_id in batch:
            try:
                evaluation.evaluate_patient(patient_id)
            except Exception:
                logger.exception("Sweep could not evaluate patient %s", patient_id)


def _beat(name: str, detail: dict[str, Any], at: datetime | None = None) -> None:
    # One upsert statement: two runs finishing together never clash on the primary key.
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, last_run_at=at or clock.now(), detail=detail)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["last_run_at", "detail"],
    )


def _summary(result: evaluation.EvaluationResult) -> dict[str, Any]:
    return {
        "raised": len(result.raised),
        "updated": len(result.updated),
        "resolved": len(result.resolved),
        "unchanged": result.unchanged,
        "notified": result.notified,
    }
