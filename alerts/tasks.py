"""Celery tasks of the alert pipeline: each loads ids and calls alerts.evaluation.

Every task is idempotent (acks_late: it may run twice, late, or again after a crash) and
carries ids only, never patient data. Due times live in the database: beat wakes the timers
every minute and the sweep every night; no task waits in the broker for hours.
"""

import logging
import time
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from alerts import evaluation, sweeps, timers
from alerts.health import TIMERS
from alerts.models import Heartbeat, SweepKind
from alerts.notifications import deliver_emails
from alerts.profile import active_config
from natalizumab_monitor import clock

logger = logging.getLogger(__name__)

# Each timers run looks back over the previous one by this much: a late run misses nothing.
TIMERS_OVERLAP = timedelta(minutes=2)
# How far the first timers run (no heartbeat yet) looks back; the nightly sweep covers the rest.
TIMERS_FIRST_LOOKBACK = timedelta(days=1)
# Patients left marked (their task lost) that one timers run evaluates at most.
PENDING_PER_RUN = 500
# Stored clearances that ended, evaluated a run (at midnight many end together).
LAPSED_PER_RUN = 500
# Patients the timers evaluate in one transaction, as the sweep does: a bag's alert waits
# for its batch's commit only (well under a second), and 500 patients take seconds, not minutes.
TIMERS_BATCH_SIZE = 50


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
    """Evaluate the patients time has made due: bags, observation windows, lost tasks,
    stored clearances that ended."""
    now = clock.now()
    config = active_config()
    last = Heartbeat.objects.filter(name=TIMERS).values_list("last_run_at", flat=True).first()
    since = (last or now - TIMERS_FIRST_LOOKBACK) - TIMERS_OVERLAP
    bags = timers.bags_reaching_their_limit(now, config)
    observed = timers.observation_events(since, now, config)
    pending = timers.patients_left_pending(
        now, timedelta(seconds=settings.ALERT_PENDING_GRACE_SECONDS), PENDING_PER_RUN
    )
    lapsed = timers.clearances_lapsed(now, LAPSED_PER_RUN)
    due = sorted(set(bags) | observed | set(pending) | set(lapsed))
    failed: list[str] = []
    for start in range(0, len(due), TIMERS_BATCH_SIZE):
        batch = due[start : start + TIMERS_BATCH_SIZE]
        failed += sweeps.evaluate_together(batch)
        # Stamped once evaluated: a bag whose patient failed is tried again next run.
        evaluated = set(batch).difference(failed)
        timers.stamp_bags([bag for pk in evaluated for bag in bags.get(pk, ())], now)
    emailed = deliver_emails()
    detail = {
        "patients": len(due),
        "bags": sum(len(ids) for ids in bags.values()),
        "observation": len(observed),
        "pending": len(pending),
        "lapsed": len(lapsed),
        "failed": len(failed),
        "emailed": emailed,
    }
    sweeps.beat(TIMERS, detail, at=now)  # the end of the window this run covered
    return detail


@shared_task(name="alerts.tasks.sweep", bind=True)
def sweep(self: Task) -> dict[str, Any]:
    """Evaluate every patient (weekly): fanned out as batches, one task each.

    Called directly (not by a worker: loaddemo, runembedded, a shell), it evaluates the
    batches here and returns once they are done.
    """
    return _fan_out(self, SweepKind.FULL, sweeps.every_patient())


@shared_task(name="alerts.tasks.nightly", bind=True)
def nightly(self: Task) -> dict[str, Any]:
    """Evaluate the patients whose findings time has changed, and those marked (nightly)."""
    due = sweeps.patients_due(clock.now(), active_config())
    return _fan_out(self, SweepKind.NIGHTLY, due)


@shared_task(name="alerts.tasks.evaluate_batch")
def evaluate_batch(run_id: str, number: int) -> dict[str, Any]:
    """One batch of a sweep run (ids only: the batch's patients are kept with the run)."""
    detail = sweeps.evaluate_batch(run_id, number)
    pause = settings.ALERT_SWEEP_BATCH_PAUSE_SECONDS
    if pause > 0:
        time.sleep(pause)  # room for the clinic's own work between batches
    return detail


def _fan_out(task: Task, kind: SweepKind, patient_ids: list[str]) -> dict[str, Any]:
    inline = task.request.called_directly
    # A redelivered dispatcher has the same task id: it publishes what is left of its run.
    run_id = None if inline else task.request.id
    run, left = sweeps.plan_run(kind, patient_ids, settings.ALERT_SWEEP_BATCH_SIZE, run_id)
    for number in left:
        if inline:
            sweeps.evaluate_batch(run, number)
        else:
            evaluate_batch.apply_async(args=[run, number])
    return {"kind": kind, "run": run, "patients": len(patient_ids), "batches": len(left)}


def _summary(result: evaluation.EvaluationResult) -> dict[str, Any]:
    return {
        "raised": len(result.raised),
        "updated": len(result.updated),
        "resolved": len(result.resolved),
        "unchanged": result.unchanged,
        "notified": result.notified,
    }
