"""Findings and the infusion gate for stored patients: the same engine as the alerts.

Reads only; nothing here writes. The gate's override bookkeeping happens in the service that
starts an infusion.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Exists, OuterRef, Q

from alerts.evaluation import config_version
from alerts.models import EvaluationSchedule, PendingEvaluation
from alerts.profile import active_config
from alerts.rules import Finding, GateResult, RuleConfig, check_infusion, evaluate
from alerts.snapshots import build_snapshot, build_snapshots
from natalizumab_monitor import clock


def findings_for(patient_id: UUID | str, *, now: datetime | None = None) -> list[Finding]:
    """Every finding the rules give for this patient now, computed on the spot."""
    return evaluate(build_snapshot(patient_id), now or clock.now(), active_config())


def clearance_for(
    patient_id: UUID | str,
    *,
    infusion_id: UUID | str | None = None,
    preparation_id: UUID | str | None = None,
    now: datetime | None = None,
) -> GateResult:
    """May this patient be infused now (with this infusion's checklist and this bag)?"""
    return check_infusion(
        build_snapshot(patient_id),
        now or clock.now(),
        active_config(),
        infusion_id=str(infusion_id) if infusion_id else None,
        preparation_id=str(preparation_id) if preparation_id else None,
    )


def clearances_for(
    patient_ids: Iterable[UUID | str], *, now: datetime | None = None
) -> dict[str, GateResult]:
    """Clearance of many patients at once (today's list, the bag board), keyed by patient id.

    A patient's clearance stored by their last evaluation is used while it is still the
    clearance now (see `stored_clearances`); the others are computed on the spot, the same
    way. Asked about another moment than now, every clearance is computed.
    """
    return lasting_clearances(patient_ids, now=now).by_patient


@dataclass(frozen=True)
class Clearances:
    """Clearances, and until when they all hold if no record changes."""

    by_patient: dict[str, GateResult]
    # The first moment one of them may change by time alone: None when none would, the
    # moment asked about when one was computed on the spot (it holds for that moment only).
    until: datetime | None


def lasting_clearances(
    patient_ids: Iterable[UUID | str], *, now: datetime | None = None
) -> Clearances:
    """`clearances_for`, with the moment they stop holding (for a list kept between changes:
    network/kept.py)."""
    ids = [str(patient_id) for patient_id in patient_ids]
    moment = now or clock.now()
    config = active_config()
    stored = _stored(ids, now=moment, config=config) if now is None else {}
    clearances = {patient_id: clearance for patient_id, (clearance, _) in stored.items()}
    ends = [until for _, until in stored.values() if until is not None]
    missing = [patient_id for patient_id in ids if patient_id not in clearances]
    if missing:
        ends.append(moment)
        clearances |= {
            patient_id: check_infusion(snapshot, moment, config)
            for patient_id, snapshot in build_snapshots(missing).items()
        }
    return Clearances(clearances, min(ends, default=None))


def stored_clearances(
    patient_ids: list[str], *, now: datetime, config: RuleConfig
) -> dict[str, GateResult]:
    """The clearances stored by the patients' last evaluations that are still theirs now.

    Every write of a clinical record marks the patient (PendingEvaluation) in its own
    transaction, and only the evaluation that saw the write removes the mark: with no mark,
    the last evaluation saw every record. A stored clearance also needs the same thresholds,
    the patient's site's time zone, and its moment of change (by time alone) not yet come.
    """
    return {
        patient_id: clearance
        for patient_id, (clearance, _) in _stored(patient_ids, now=now, config=config).items()
    }


def _stored(
    patient_ids: list[str], *, now: datetime, config: RuleConfig
) -> dict[str, tuple[GateResult, datetime | None]]:
    """`stored_clearances`, each with the moment it ends (None: not by time alone)."""
    rows = (
        EvaluationSchedule.objects.filter(
            Q(clearance_until__isnull=True) | Q(clearance_until__gt=now),
            patient_id__in=patient_ids,
            config_version=config_version(config),
            evaluated_at__lte=now,  # never the clearance of a later moment
            clearance__isnull=False,
        )
        .exclude(Exists(PendingEvaluation.objects.filter(patient_id=OuterRef("patient_id"))))
        .values_list(
            "patient_id", "clearance", "clearance_until", "time_zone", "patient__site__time_zone"
        )
    )
    return {
        str(patient_id): (GateResult.model_validate(clearance), until)
        for patient_id, clearance, until, stored_zone, zone in rows
        if stored_zone == zone
    }
