"""The pre-infusion checklist (TOUCH program): INF-CHECKLIST.

Question 1, "treatment is authorized", is answered by the course itself too: a suspended or
discontinued course is never authorized, and no override can change that. (An overdue REMS
reauthorization blocks under its own rule, REMS-REAUTH.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from . import sources
from ._common import chronological, latest, local_time_text
from .config import RuleConfig
from .findings import Finding, make_finding
from .infusion import last_given_infusion
from .snapshot import ChecklistSnapshot, InfusionSnapshot, PatientSnapshot

CHECKLIST_QUESTIONS: dict[str, str] = {
    "new_neurological_symptoms": "new or worsening neurological problem in the past month",
    "immunocompromised": "a condition that weakens the immune system",
    "immunosuppressants_last_month": "an immunosuppressive medicine in the past month",
    "current_infection": "a current infection",
}


def all_checklists(snapshot: PatientSnapshot) -> list[ChecklistSnapshot]:
    """Every visit's checklist, whether recorded on its own or with an infusion."""
    return chronological(_every_checklist(snapshot), key=lambda checklist: checklist.asked_at)


def _every_checklist(snapshot: PatientSnapshot) -> Iterable[ChecklistSnapshot]:
    by_id = {checklist.id: checklist for checklist in snapshot.checklists}
    for infusion in snapshot.infusions:
        if infusion.checklist is not None:
            by_id.setdefault(infusion.checklist.id, infusion.checklist)
    return by_id.values()


def checklist_of(snapshot: PatientSnapshot, infusion: InfusionSnapshot) -> ChecklistSnapshot | None:
    if infusion.checklist is not None:
        return infusion.checklist
    return latest(
        (checklist for checklist in snapshot.checklists if checklist.infusion_id == infusion.id),
        key=lambda checklist: checklist.asked_at,
    )


def pending_visit_checklist(snapshot: PatientSnapshot) -> ChecklistSnapshot | None:
    """The latest visit's checklist when that visit has not (yet) led to an infusion."""
    last = latest(_every_checklist(snapshot), key=lambda checklist: checklist.asked_at)
    if last is None:
        return None
    if last.infusion_id:
        linked = next((i for i in snapshot.infusions if i.id == last.infusion_id), None)
        if linked is not None and linked.status != "cancelled":
            return None
    given = last_given_infusion(snapshot)
    if given is not None and given.started_at is not None and given.started_at >= last.asked_at:
        return None
    return last


def treatment_status_finding(snapshot: PatientSnapshot, config: RuleConfig) -> Finding | None:
    """Checklist question 1: a suspended or discontinued course is never authorized.

    There is no rule id of its own; it is INF-CHECKLIST, and no override can cover it.
    """
    status = snapshot.treatment_status
    if status == "active":
        return None
    decision = latest(
        (
            d
            for d in snapshot.decisions
            if d.action == ("suspend" if status == "suspended" else "discontinue")
        ),
        key=lambda d: d.decided_at,
    )
    next_step = "until a neurologist resumes it" if status == "suspended" else "(course ended)"
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule="INF-CHECKLIST",
        cause=decision.id if decision else status,
        severity="warning",
        action="block-infusion",
        message=f"Treatment is {status}: infusion not authorized {next_step}",
        evidence={
            "reason": f"treatment-{status}",
            "reasons": [f"treatment-{status}"],
            "treatment_status": status,
            "decision_id": decision.id if decision else None,
            "decided_at": decision.decided_at if decision else None,
        },
        source=sources.TOUCH,
        overridable=False,
    )


def checklist_finding(
    snapshot: PatientSnapshot,
    config: RuleConfig,
    *,
    infusion: InfusionSnapshot | None,
    checklist: ChecklistSnapshot | None,
) -> Finding | None:
    """Problems of the checklist that decides one infusion (or the latest visit).

    Missing, "not authorized", or any "yes" answer without a prescriber's clearance blocks.
    """
    if infusion is not None:
        cause = infusion.id
    elif checklist is not None:
        cause = checklist.id
    else:
        return None
    evidence: dict[str, object] = {
        "infusion_id": infusion.id if infusion is not None else None,
        "checklist_id": checklist.id if checklist is not None else None,
    }
    if checklist is None:
        reasons = ["missing"]
        message = "No pre-infusion checklist for the planned infusion: complete it before starting"
    else:
        reasons = []
        problems = []
        if not checklist.authorized:
            reasons.append("not-authorized")
            problems.append("treatment not authorized")
        yes = checklist.yes_answers
        if yes and checklist.cleared_at is None:
            reasons.append("yes-not-cleared")
            problems.append(
                "yes to "
                + "; ".join(CHECKLIST_QUESTIONS[answer] for answer in yes)
                + ", and no prescriber clearance"
            )
        if not reasons:
            return None
        asked = local_time_text(snapshot, checklist.asked_at)
        message = f"Pre-infusion checklist of {asked}: {'; '.join(problems)}"
        evidence.update(
            {
                "asked_at": checklist.asked_at,
                "asked_at_local": asked,
                "authorized": checklist.authorized,
                "yes_answers": list(yes),
                "cleared_at": checklist.cleared_at,
            }
        )
    evidence["reasons"] = reasons
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule="INF-CHECKLIST",
        cause=cause,
        # A planned infusion is waiting now; a past visit matters before the next one.
        severity="critical" if infusion is not None else "warning",
        action="block-infusion",
        message=message,
        evidence=evidence,
        source=sources.TOUCH,
    )


def inf_checklist(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The course status, every planned infusion's checklist, else the latest visit's."""
    findings = []
    status = treatment_status_finding(snapshot, config)
    if status is not None:
        findings.append(status)
    planned = sorted(
        (infusion for infusion in snapshot.infusions if infusion.status == "planned"),
        key=lambda infusion: infusion.id,
    )
    for infusion in planned:
        found = checklist_finding(
            snapshot, config, infusion=infusion, checklist=checklist_of(snapshot, infusion)
        )
        if found is not None:
            findings.append(found)
    if not planned:
        visit = pending_visit_checklist(snapshot)
        if visit is not None:
            found = checklist_finding(snapshot, config, infusion=None, checklist=visit)
            if found is not None:
                findings.append(found)
    return findings
