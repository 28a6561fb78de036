"""The infusion gate: may this patient be infused, and may this infusion start now?

It asks the same engine as the alerts, so the nurse's page and the alert feed never disagree,
and adds only what the chosen infusion and bag decide. Its answer has three parts (API.md,
"Clearance"): what blocks the patient (`blocking`: `cleared` is false), what the visit itself
still needs (`visit_steps`: a checklist, a usable bag) and what the nurse must see before
starting (`warnings`: an early dose, a bag near its limit). A start needs all three settled:
the patient cleared and no visit step left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from . import sources
from ._common import as_of, chronological, clinic_today, local_date
from .checklist import (
    checklist_finding,
    checklist_of,
    pending_visit_checklist,
    treatment_status_finding,
)
from .config import RuleConfig
from .engine import evaluate_known, finding_order, utc_now_argument
from .findings import Finding, dedup_key, format_decimal, make_finding
from .infusion import last_given_infusion
from .snapshot import DecisionSnapshot, PatientSnapshot
from .wording import date_text

PREPARATION_RULES = frozenset({"PREP-DILUENT", "PREP-DOSE", "PREP-STABILITY", "PREP-HANDLING"})


class GateResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    cleared: bool  # about the patient: no finding about the patient blocks
    blocking: tuple[Finding, ...]  # findings about the patient that block
    visit_steps: tuple[Finding, ...]  # what the visit still needs: a checklist, a usable bag
    warnings: tuple[Finding, ...]  # not blocking, but seen before a start
    overridden: tuple[Finding, ...]
    overrides_used: tuple[str, ...]  # override decisions to mark consumed when it starts
    profile: str
    profile_version: str

    @property
    def may_start(self) -> bool:
        """An infusion may start: the patient is cleared and the visit has every step."""
        return self.cleared and not self.visit_steps

    @property
    def refusals(self) -> tuple[Finding, ...]:
        """Everything a start refuses on: the patient's blocks, then the visit's steps."""
        return self.blocking + self.visit_steps

    @property
    def needs_checklist(self) -> bool:
        """The visit's checklist is not recorded yet (the nurse's next step)."""
        return any(
            _reasons(f) == ["missing"] and f.rule == "INF-CHECKLIST" for f in self.visit_steps
        )

    @property
    def needs_bag(self) -> bool:
        """No bag is prepared for the visit yet (the pharmacy's next step)."""
        return any(_reasons(f) == ["no-preparation"] for f in self.visit_steps)

    @property
    def overridable(self) -> tuple[Finding, ...]:
        """The blocking findings a neurologist may override now (once, with a reason)."""
        return tuple(finding for finding in self.refusals if finding.overridable)

    def as_dict(self) -> dict[str, Any]:
        """The clearance shape of API.md, plus what was overridden."""
        return {
            "cleared": self.cleared,
            "blocking": [finding.as_dict() for finding in self.blocking],
            "visit_steps": [finding.as_dict() for finding in self.visit_steps],
            "warnings": [finding.as_dict() for finding in self.warnings],
            "overridden": [finding.as_dict() for finding in self.overridden],
            "overrides_used": list(self.overrides_used),
            "profile": self.profile,
            "profile_version": self.profile_version,
        }


def _reasons(finding: Finding) -> list[str]:
    return [str(reason) for reason in finding.evidence.get("reasons") or []]


def is_visit_step(finding: Finding) -> bool:
    """A finding about the day's visit (its checklist, its bag), not about the patient.

    A suspended or discontinued course is INF-CHECKLIST too (question 1), but about the patient.
    """
    if finding.rule in PREPARATION_RULES:
        return True
    if finding.rule == "INF-CHECKLIST":
        return not any(reason.startswith("treatment-") for reason in _reasons(finding))
    return False


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
    if infusion_id is None:
        has_planned = any(infusion.status == "planned" for infusion in snapshot.infusions)
        if has_planned or pending_visit_checklist(snapshot) is not None:
            return findings
        missing = make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="INF-CHECKLIST",
            cause="next-visit",
            severity="info",  # the nurse's next step, not a safety problem
            action="block-infusion",
            message="No pre-infusion checklist for this visit yet: the nurse records it first",
            evidence={"reasons": ["missing"], "infusion_id": None, "checklist_id": None},
            source=sources.TOUCH,
            overridable=False,  # a step to do, not a judgement to override
        )
        return [*findings, missing]
    status = treatment_status_finding(snapshot, config)
    status_key = status.dedup_key if status else None
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
        if infusion is None and _visit_bag_exists(snapshot):
            return findings  # a clearance check before any bag is chosen: every ready bag counts
        return [*findings, _no_bag_step(snapshot, config, infusion_id)]
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


def _visit_bag_exists(snapshot: PatientSnapshot) -> bool:
    """A ready bag waits for this patient's visit (unassigned, or its planned infusion's)."""
    planned_bags, assigned = set(), set()
    for infusion in snapshot.infusions:
        (planned_bags if infusion.status == "planned" else assigned).add(infusion.preparation_id)
    return any(
        prep.status == "ready" and (prep.id in planned_bags or prep.id not in assigned)
        for prep in snapshot.preparations
    )


def _no_bag_step(snapshot: PatientSnapshot, config: RuleConfig, infusion_id: str | None) -> Finding:
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule="PREP-DOSE",
        cause="no-preparation",
        severity="info",  # the pharmacy's next step, asked for once the checklist clears
        action="block-infusion",
        message="No bag prepared for this visit yet: the pharmacy prepares it once the "
        "checklist has cleared",
        evidence={"reasons": ["no-preparation"], "infusion_id": infusion_id},
        source=sources.PREPARATION,
        overridable=False,  # there is nothing to infuse
    )


def _early_dose_warning(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> Finding | None:
    """INF-INTERVAL before the start: a dose today would come too soon after the last one."""
    last = last_given_infusion(snapshot)
    if last is None or last.started_at is None:
        return None
    last_on = local_date(snapshot, last.started_at)
    today = clinic_today(snapshot, now)
    days = (today - last_on).days
    if days >= config.early_interval_days:
        return None
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule="INF-INTERVAL",
        cause=f"early-{today.isoformat()}",
        severity="warning",
        action="inform",
        message=(
            f"Early dose: a dose today would be {days} days after the last one "
            f"({date_text(last_on)}); doses must be at least {config.early_interval_days} "
            "days apart. Check with the prescriber before starting"
        ),
        evidence={
            "last_infusion_id": last.id,
            "last_given_on": last_on,
            "days_since_previous": days,
            "minimum_days": config.early_interval_days,
        },
        source=sources.LABEL,
    )


def _warnings(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig, findings: list[Finding]
) -> tuple[Finding, ...]:
    """What the nurse must see before starting: an early dose, a bag close to its limit."""
    early = _early_dose_warning(snapshot, now, config)
    near_expiry = [f for f in findings if f.rule == "PREP-STABILITY" and not f.blocks_infusion]
    return tuple(([early] if early else []) + near_expiry)


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
    """Whether the patient is cleared, what the visit still needs, and what to see first.

    Every finding that blocks infusions blocks, unless an unconsumed `override` decision for
    its rule covers it (never a suspended or discontinued course, never "never re-treat",
    never a bad bag).
    """
    now = utc_now_argument(now)
    known = as_of(snapshot, now)
    findings = evaluate_known(known, now, config)
    return _gate(known, now, config, findings, infusion_id, preparation_id)


def findings_and_clearance(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> tuple[list[Finding], GateResult]:
    """`evaluate(...)` and `check_infusion(...)` with no infusion or bag chosen, at once (an
    evaluation stores both: the findings as alerts, the clearance for the day's lists)."""
    now = utc_now_argument(now)
    known = as_of(snapshot, now)
    findings = evaluate_known(known, now, config)
    return findings, _gate(known, now, config, findings, None, None)


def _gate(
    known: PatientSnapshot,
    now: datetime,
    config: RuleConfig,
    findings: list[Finding],
    infusion_id: str | None,
    preparation_id: str | None,
) -> GateResult:
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
    patient_blocks = tuple(f for f in blocking if not is_visit_step(f))
    return GateResult(
        cleared=not patient_blocks,
        blocking=patient_blocks,
        visit_steps=tuple(f for f in blocking if is_visit_step(f)),
        warnings=_warnings(known, now, config, findings),
        overridden=tuple(overridden),
        overrides_used=tuple(used),
        profile=config.name,
        profile_version=config.version,
    )
