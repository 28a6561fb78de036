"""The full sweep and the nightly job: which patients, in batches of bounded size.

A run is recorded (SweepRun) with one row per batch (SweepBatch); each batch is evaluated by
its own task (alerts.tasks.evaluate_batch), on any worker, in any order. A batch evaluated
twice (a redelivered task) changes nothing the second time; the run is finished, and its
heartbeat written, by whichever batch completes it last.

- The full sweep evaluates every patient (weekly, and whenever called by hand).
- The nightly job evaluates the patients whose findings time has changed since their last
  evaluation (EvaluationSchedule.next_change_at has come), the patients marked for
  evaluation (PendingEvaluation), those never evaluated, and those last evaluated under
  other thresholds. The full sweep proves it missed nothing.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from alerts import evaluation
from alerts.health import FULL_SWEEP, SWEEP
from alerts.models import (
    EvaluationSchedule,
    Heartbeat,
    PendingEvaluation,
    SweepBatch,
    SweepKind,
    SweepRun,
)
from alerts.rules import RuleConfig
from alerts.snapshots import cyclic_gc_paused
from natalizumab_monitor import clock
from patients.models import Patient

logger = logging.getLogger(__name__)


def every_patient() -> list[str]:
    return [str(pk) for pk in Patient.objects.order_by("pk").values_list("pk", flat=True)]


def patients_due(now: datetime, config: RuleConfig) -> list[str]:
    """The patients the nightly job evaluates at `now` (ids in order)."""
    stale = EvaluationSchedule.objects.filter(
        Q(next_change_at__lte=now) | ~Q(config_version=evaluation.config_version(config))
    ).values_list("patient_id", flat=True)
    never = Patient.objects.filter(evaluation_schedule__isnull=True).values_list("pk", flat=True)
    marked = PendingEvaluation.objects.values_list("patient_id", flat=True)
    return sorted({str(pk) for query in (stale, never, marked) for pk in query})


def plan_run(
    kind: SweepKind, patient_ids: list[str], batch_size: int, run_id: str | None = None
) -> tuple[str, list[int]]:
    """Record a run and its batches; returns its id and the numbers of its batches not done.

    The same run id again (a dispatcher redelivered after a crash: its run id is its task
    id) records nothing new and returns what is left of the batches planned the first time.
    """
    with transaction.atomic():
        run, created = SweepRun.objects.get_or_create(
            pk=run_id or uuid.uuid4(), defaults={"kind": kind, "started_at": clock.now()}
        )
        if created:
            chunks = [
                patient_ids[start : start + batch_size]
                for start in range(0, len(patient_ids), batch_size)
            ]
            SweepBatch.objects.bulk_create(
                SweepBatch(run=run, number=number, patient_ids=list(chunk))
                for number, chunk in enumerate(chunks)
            )
            run.patients, run.batches = len(patient_ids), len(chunks)
            run.save(update_fields=["patients", "batches"])
        left = list(
            SweepBatch.objects.filter(run=run, done_at__isnull=True)
            .order_by("number")
            .values_list("number", flat=True)
        )
    if not left:
        finish_if_complete(str(run.pk))
    return str(run.pk), left


def evaluate_batch(run_id: str, number: int) -> dict[str, Any]:
    """Evaluate one batch, mark it done."""
    patient_ids = SweepBatch.objects.values_list("patient_ids", flat=True).get(
        run_id=run_id, number=number
    )
    failed = evaluate_together(patient_ids)
    SweepBatch.objects.filter(run_id=run_id, number=number, done_at__isnull=True).update(
        done_at=clock.now()
    )
    finished = finish_if_complete(run_id)
    return {"patients": len(patient_ids), "failed": len(failed), "finished": finished}


def evaluate_together(patient_ids: list[str]) -> list[str]:
    """Evaluate the patients in one transaction, or one at a time if that fails.

    One bad record must not hold up the others: those that could not be evaluated are
    returned (logged by id; their marks, if any, stay for the timers).
    """
    try:
        with cyclic_gc_paused():
            evaluation.evaluate_patients(patient_ids)
    except Exception:
        logger.exception("Evaluation of %d patients together failed; one by one", len(patient_ids))
    else:
        return []
    failed = []
    for patient_id in patient_ids:
        try:
            evaluation.evaluate_patient(patient_id)
        except Exception:
            logger.exception("Could not evaluate patient %s", patient_id)
            failed.append(patient_id)
    return failed


def finish_if_complete(run_id: str) -> bool:
    """Close the run once every batch is done; True for the one caller that closed it."""
    if SweepBatch.objects.filter(run_id=run_id, done_at__isnull=True).exists():
        return False
    now = clock.now()
    closed = SweepRun.objects.filter(pk=run_id, finished_at__isnull=True).update(finished_at=now)
    if not closed:
        return False
    run = SweepRun.objects.get(pk=run_id)
    detail = {
        "kind": run.kind,
        "patients": run.patients,
        "batches": run.batches,
        "started_at": run.started_at.isoformat(),
        "seconds": round((now - run.started_at).total_seconds(), 3),
    }
    names = [SWEEP, FULL_SWEEP] if run.kind == SweepKind.FULL else [SWEEP]
    for name in names:
        beat(name, detail, at=run.started_at)
    return True


def beat(name: str, detail: dict[str, Any], at: datetime | None = None) -> None:
    # One upsert statement: two runs finishing together never clash on the primary key.
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, last_run_at=at or clock.now(), detail=detail)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["last_run_at", "detail"],
    )
