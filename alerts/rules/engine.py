"""The ordered rule registry and `evaluate`: one patient snapshot and `now` in, findings out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from . import (
    antibodies,
    checklist,
    imaging,
    infusion,
    labs,
    medication,
    pml,
    populations,
    preparation,
    reminders,
)
from ._common import as_of
from .config import RuleConfig
from .findings import SEVERITY_RANK, Finding
from .snapshot import PatientSnapshot

RuleCheck = Callable[[PatientSnapshot, datetime, RuleConfig], list[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    check: RuleCheck


# In the order of CLINICAL_RULES.md; this order also breaks ties when findings are sorted.
REGISTRY: tuple[Rule, ...] = (
    Rule("PREP-DILUENT", preparation.prep_diluent),
    Rule("PREP-DOSE", preparation.prep_dose),
    Rule("PREP-STABILITY", preparation.prep_stability),
    Rule("PREP-HANDLING", preparation.prep_handling),
    Rule("INF-ROUTE", infusion.inf_route),
    Rule("INF-DURATION", infusion.inf_duration),
    Rule("INF-OBSERVATION", infusion.inf_observation),
    Rule("INF-HYPERSENSITIVITY", infusion.inf_hypersensitivity),
    Rule("INF-INTERVAL", infusion.inf_interval),
    Rule("INF-CHECKLIST", checklist.inf_checklist),
    Rule("MED-IMMUNOSUPPRESSANT", medication.med_immunosuppressant),
    Rule("INF-ACTIVE-INFECTION", medication.inf_active_infection),
    Rule("PML-SUSPECTED", pml.pml_suspected),
    Rule("LIVER-3XULN", labs.liver_3xuln),
    Rule("LIVER-DUE", reminders.liver_due),
    Rule("THYROID-DUE", reminders.thyroid_due),
    Rule("THYROID-ABNORMAL", labs.thyroid_abnormal),
    Rule("CBC-NEUTROPHILS", labs.cbc_neutrophils),
    Rule("CBC-PLATELETS", labs.cbc_platelets),
    Rule("ADA-DUE", reminders.ada_due),
    Rule("ADA-POSITIVE", antibodies.ada_positive),
    Rule("ADA-PERSISTENT", antibodies.ada_persistent),
    Rule("JCV-DUE", reminders.jcv_due),
    Rule("PML-RISK", pml.pml_risk_finding),
    Rule("MRI-PML-SURVEILLANCE", reminders.mri_pml_surveillance),
    Rule("MRI-DUE", reminders.mri_due),
    Rule("MRI-ACTIVITY", imaging.mri_activity),
    Rule("EDSS-DUE", reminders.edss_due),
    Rule("EDSS-PROGRESSION", imaging.edss_progression),
    Rule("RELAPSE", imaging.relapse),
    Rule("REMS-REAUTH", reminders.rems_reauth),
    Rule("POP-PREGNANCY", populations.pop_pregnancy),
    Rule("POP-LACTATION", populations.pop_lactation),
    Rule("POP-PEDIATRIC", populations.pop_pediatric),
    Rule("POP-ELDERLY", populations.pop_elderly),
)

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in REGISTRY)
_RULE_ORDER: dict[str, int] = {rule_id: position for position, rule_id in enumerate(RULE_IDS)}


def utc_now_argument(now: datetime) -> datetime:
    """`now` as given by the caller (the engine reads no clock), checked and made UTC."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def finding_order(finding: Finding) -> tuple[int, int, str]:
    """Most severe first, then the order of CLINICAL_RULES.md, then the dedup key."""
    return (SEVERITY_RANK[finding.severity], _RULE_ORDER[finding.rule], finding.dedup_key)


def run_rules(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Every rule's findings, in registry order, before sorting and de-duplication."""
    now = utc_now_argument(now)
    return _run_rules_on(as_of(snapshot, now), now, config)


def _run_rules_on(known: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    findings: list[Finding] = []
    for rule in REGISTRY:
        for finding in rule.check(known, now, config):
            if finding.rule != rule.id:
                raise RuntimeError(f"rule {rule.id} returned a finding for {finding.rule}")
            findings.append(finding)
    return findings


def evaluate(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """All findings for one patient at `now`: deterministic, sorted, one per dedup key."""
    return _one_per_key(run_rules(snapshot, now, config))


def evaluate_known(known: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """`evaluate` of a snapshot already as known at `now` (`as_of(snapshot, now)`, UTC)."""
    return _one_per_key(_run_rules_on(known, now, config))


def _one_per_key(found: list[Finding]) -> list[Finding]:
    findings = sorted(found, key=finding_order)
    seen: set[str] = set()
    unique = []
    for finding in findings:
        # Rules give each cause one key; should two ever collide, the most severe one stands.
        if finding.dedup_key not in seen:
            seen.add(finding.dedup_key)
            unique.append(finding)
    return unique
