"""Findings and the infusion gate for stored patients: the same engine as the alerts.

Reads only; nothing here writes. The gate's override bookkeeping happens in the service that
starts an infusion.
"""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from alerts.profile import active_config
from alerts.rules import Finding, GateResult, check_infusion, evaluate
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
    """Clearance of many patients at once (today's infusion list), keyed by patient id."""
    moment = now or clock.now()
    config = active_config()
    return {
        patient_id: check_infusion(snapshot, moment, config)
        for patient_id, snapshot in build_snapshots(patient_ids).items()
    }
