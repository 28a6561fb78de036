"""May this infusion start now? The one question the start of an infusion asks.

Interim body: it checks only the treatment status, the bag and the pre-infusion checklist.
The rules engine (alerts/rules/) replaces it, so that the gate and the alerts never
disagree; its callers only rely on `.cleared` and `.blocking`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from patients.models import TreatmentStatus

from .models import Infusion, PreparationStatus

SOURCE = "CLINICAL_RULES.md"


@dataclass(frozen=True)
class GateResult:
    blocking: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cleared(self) -> bool:
        return not self.blocking


def _finding(
    rule: str, message: str, dedup_key: str, evidence: dict[str, Any], action: str
) -> dict[str, Any]:
    return {
        "rule": rule,
        "severity": "critical",
        "action": action,
        "message": message,
        "evidence": evidence,
        "source": SOURCE,
        "profile": settings.RULE_PROFILE,
        "dedup_key": dedup_key,
    }


def check_gate(*, infusion: Infusion, at: datetime) -> GateResult:
    patient = infusion.patient
    bag = infusion.preparation
    checklist = infusion.checklist
    blocking = []
    if patient.treatment_status != TreatmentStatus.ACTIVE:
        blocking.append(
            _finding(
                "INF-CHECKLIST",
                f"Treatment is {patient.treatment_status}: a neurologist must resume it first.",
                f"INF-CHECKLIST:{patient.pk}:status",
                {"treatment_status": patient.treatment_status},
                "suspend"
                if patient.treatment_status == TreatmentStatus.SUSPENDED
                else "discontinue",
            )
        )
    if bag.patient_id != patient.pk:
        blocking.append(
            _finding(
                "PREP-HANDLING",
                "The bag was prepared for another patient.",
                f"PREP-HANDLING:{patient.pk}:{bag.pk}",
                {"preparation": str(bag.pk), "prepared_for": str(bag.patient_id)},
                "block-infusion",
            )
        )
    if bag.status != PreparationStatus.READY:
        blocking.append(
            _finding(
                "PREP-HANDLING",
                f"The bag is {bag.status}, not ready for use."
                + (f" ({bag.discarded_reason})" if bag.discarded_reason else ""),
                f"PREP-HANDLING:{patient.pk}:{bag.pk}",
                {"preparation": str(bag.pk), "status": bag.status},
                "block-infusion",
            )
        )
    elif bag.expires_at < at:
        blocking.append(
            _finding(
                "PREP-STABILITY",
                f"The bag expired at {bag.expires_at.isoformat()}: prepare a new one.",
                f"PREP-STABILITY:{patient.pk}:{bag.pk}",
                {"preparation": str(bag.pk), "expires_at": bag.expires_at.isoformat()},
                "block-infusion",
            )
        )
    if checklist is None:
        blocking.append(
            _finding(
                "INF-CHECKLIST",
                "No pre-infusion checklist was recorded for this visit.",
                f"INF-CHECKLIST:{patient.pk}:{infusion.pk}",
                {"infusion": str(infusion.pk)},
                "block-infusion",
            )
        )
    elif checklist.needs_clearance and checklist.cleared_at is None:
        answers = {
            name: getattr(checklist, name) for name in ("authorized", *checklist.ANSWER_FIELDS)
        }
        blocking.append(
            _finding(
                "INF-CHECKLIST",
                "The pre-infusion checklist holds the infusion until a prescriber clears it.",
                f"INF-CHECKLIST:{patient.pk}:{checklist.pk}",
                {"checklist": str(checklist.pk), **answers},
                "block-infusion",
            )
        )
    return GateResult(blocking=blocking)
