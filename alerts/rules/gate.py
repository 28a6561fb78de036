"""The infusion gate: may this infusion start now?

It asks the same engine as the alerts, so the nurse's page and the alert feed never disagree,
and adds only what the chosen infusion and bag decide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from . import sources
from ._common import as_of, chronological
from .checklist import (
    checklist_finding,
    checklist_of,
    pending_visit_checklist,
    treatment_status_finding,
)
from .config import RuleConfig
from .engine import evaluate, finding_order, utc_now_argument
from .findings import Finding, dedup_key, format_decimal, make_finding
from .snapshot import DecisionSnapshot, PatientSnapshot

PREPARATION_RULES = frozenset({"PREP-DILUENT", "PREP-DOSE", "PREP-STABILITY", "PREP-HANDLING"})


class GateResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    cleared: bool
    blocking: tuple[Finding, ...]
    overridden: tuple[Finding, ...]
    overrides_used: tuple[str, ...]  # override decision ids to mark consumed when it starts
    profile: str
    profile_version: str

    def as_dict(self) -> dict[str, Any]:
        """The clearance shape of API.md, plus what was overridden."""
        return {
            "cleared": self.cleared,
            "blocking": [finding.as_dict() for finding in self.blocking],
            "overridden": [finding.as_dict() for finding in self.overridden],
            "overrides_used": list(self.overrides_used),
            "profile": self.profile,
            "profile_version": self.profile_version,
        }


def _gate_finding(
    snapshot: PatientSnapshot,
    config: RuleConfig,
    *,
    rule: str,
    cause: str,
    message: str,
    evidence: dict[str, object],
    source: str,
    overridable: bool = True,
) -> Finding:
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule=rule,
        cause=cause,
        severity="critical",
        action="block-infusion",
        message=message,
        evidence=evidence,
        source=source,
        overridable=overridable,
    )


def _checklist_findings(
    snapshot: PatientSnapshot,
    config: RuleConfig,
    findings: list[Finding],
    infusion_id: str | None,
) -> list[Finding]:
    """INF-CHECKLIST as the gate sees it: the chosen infusion's checklist decides."""
    status = treatment_status_finding(snapshot, config)
    status_key = status.dedup_key if status else None
    if infusion_id is None:
        has_planned = any(infusion.status == "planned" for infusion in snapshot.infusions)
        if has_planned or pending_visit_checklist(snapshot) is not None:
            return findings
        missing = _gate_finding(
            snapshot,
            config,
            rule="INF-CHECKLIST",
            cause="next-visit",
            message="No pre-infusion checklist for this visit: complete it before an infusion",
            evidence={"reasons": ["missing"], "infusion_id": None, "checklist_id": None},
            source=sources.TOUCH,
        )
        return [*findings, missing]
    kept = [
        finding
        for finding in findings
        if finding.rule != "INF-CHECKLIST" or finding.dedup_key == status_key
    ]
    infusion = next((i for i in snapshot.infusions if i.id == infusion_id), None)
    if infusion is None or infusion.status != "planned":
        reason = "unknown-infusion" if infusion is None else "infusion-not-planned"
        state = "is not recorded for this patient" if infusion is None else f"is {infusion.status}"
        kept.append(
            _gate_finding(
                snapshot,
                config,
                rule="INF-CHECKLIST",
                cause=infusion_id,
                message=f"This infusion {state}: only a planned infusion can start",
                evidence={"reasons": [reason], "infusion_id": infusion_id},
                source=sources.TOUCH,
                overridable=False,  # a fact, not a clinical judgement
            )
        )
        return kept
    found = checklist_finding(
        snapshot, config, infusion=infusion, checklist=checklist_of(snapshot, infusion)
    )
    return [*kept, found] if found else kept


def _preparation_findings(
    snapshot: PatientSnapshot,
    config: RuleConfig,
    findings: list[Finding],
    *,
    infusion_id: str | None,
    preparation_id: str | None,
) -> list[Finding]:
    """Only the chosen bag's PREP-* findings count; a missing or unusable bag is PREP-DOSE."""
    infusion = next((i for i in snapshot.infusions if i.id == infusion_id), None)
    bag_id = preparation_id or (infusion.preparation_id if infusion else None)
    if bag_id is None:
        if infusion is None:
            return findings  # a clearance check before any bag is chosen: every ready bag counts
        return [
            *findings,
            _gate_finding(
                snapshot,
                config,
                rule="PREP-DOSE",
                cause="no-preparation",
                message="No dose preparation chosen for this infusion",
                evidence={"reasons": ["no-preparation"], "infusion_id": infusion_id},
                source=sources.PREPARATION,
                overridable=False,  # there is nothing to infuse
            ),
        ]
    kept = [
        finding
        for finding in findings
        if finding.rule not in PREPARATION_RULES
        or finding.dedup_key == dedup_key(snapshot.id, finding.rule, bag_id)
    ]
    bag = next((prep for prep in snapshot.preparations if prep.id == bag_id), None)
    if bag is not None and bag.status == "ready":
        return kept  # its own PREP-* findings (expiry included) are already in `kept`
    state = "is not a preparation of this patient" if bag is None else f"is {bag.status}"
    kept.append(
        _gate_finding(
            snapshot,
            config,
            rule="PREP-DOSE",
            cause=bag_id,
            message=(
                f"The chosen bag {state}: no usable {format_decimal(config.prep_dose_mg)} mg "
                "dose for this infusion"
            ),
            evidence={
                "reasons": ["unknown-preparation" if bag is None else f"preparation-{bag.status}"],
                "preparation_id": bag_id,
                "dose_mg": config.prep_dose_mg,
            },
            source=sources.PREPARATION,
            overridable=False,  # there is no usable bag to infuse
        )
    )
    return kept


def _open_overrides(snapshot: PatientSnapshot) -> dict[str, DecisionSnapshot]:
    """The oldest unconsumed override per rule: one override covers one rule, once."""
    overrides: dict[str, DecisionSnapshot] = {}
    for decision in chronological(snapshot.decisions, key=lambda d: d.decided_at):
        if decision.action == "override" and decision.consumed_at is None and decision.rule:
            overrides.setdefault(decision.rule, decision)
    return overrides


def check_infusion(
    snapshot: PatientSnapshot,
    now: datetime,
    config: RuleConfig,
    *,
    infusion_id: str | None = None,
    preparation_id: str | None = None,
) -> GateResult:
    """Whether an infusion may start at `now`, and what blocks it.

    Every finding that blocks infusions blocks, unless an unconsumed `override` decision for
    its rule covers it (never a suspended or discontinued course, never "never re-treat").
    """
    now = utc_now_argument(now)
    known = as_of(snapshot, now)
    findings = evaluate(snapshot, now, config)
    findings = _checklist_findings(known, config, findings, infusion_id)
    findings = _preparation_findings(
        known, config, findings, infusion_id=infusion_id, preparation_id=preparation_id
    )
    overrides = _open_overrides(known)
    blocking: list[Finding] = []
    overridden: list[Finding] = []
    used: list[str] = []
    for finding in sorted((f for f in findings if f.blocks_infusion), key=finding_order):
        override = overrides.get(finding.rule)
        if override is not None and finding.overridable:
            overridden.append(finding)
            if override.id not in used:
                used.append(override.id)
        else:
            blocking.append(finding)
    return GateResult(
        cleared=not blocking,
        blocking=tuple(blocking),
        overridden=tuple(overridden),
        overrides_used=tuple(used),
        profile=config.name,
        profile_version=config.version,
    )
