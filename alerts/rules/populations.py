"""Populations: POP-PREGNANCY, POP-LACTATION, POP-PEDIATRIC, POP-ELDERLY."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import sources
from ._common import age_on, clinic_today, latest, local_date
from .config import RuleConfig
from .findings import Action, Finding, make_finding
from .snapshot import DecisionSnapshot, PatientSnapshot
from .wording import date_text


def _confirmation(snapshot: PatientSnapshot, rule: str) -> DecisionSnapshot | None:
    """The neurologist's standing `confirm` decision for this rule, if any."""
    return latest(
        (d for d in snapshot.decisions if d.action == "confirm" and d.rule == rule),
        key=lambda d: d.decided_at,
    )


def _confirmed_finding(
    snapshot: PatientSnapshot,
    config: RuleConfig,
    *,
    rule: str,
    cause: str,
    state: str,
    pending: str,
    confirmed: str,
) -> Finding:
    """Warning and block-infusion until confirmed; afterwards a warning that no longer blocks."""
    decision = _confirmation(snapshot, rule)
    action: Action
    if decision is None:
        message, action = f"{state}: {pending}", "block-infusion"
    else:
        decided_on = date_text(local_date(snapshot, decision.decided_at))
        message = f"{state}: {confirmed} (neurologist, {decided_on})"
        action = "inform"
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule=rule,
        cause=cause,
        severity="warning",
        action=action,
        message=message,
        evidence={
            "confirmed": decision is not None,
            "decision_id": decision.id if decision else None,
            "decided_at": decision.decided_at if decision else None,
            "decided_on": local_date(snapshot, decision.decided_at) if decision else None,
        },
        source=sources.POPULATIONS,
    )


def pop_pregnancy(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    if not snapshot.pregnant:
        return []
    return [
        _confirmed_finding(
            snapshot,
            config,
            rule="POP-PREGNANCY",
            cause="pregnant",
            state="Pregnant",
            pending=(
                "animal data show fetal effects (e.g. thrombocytopenia); a neurologist must "
                "confirm that treatment is still needed before the next infusion; "
                "CBC for the newborn"
            ),
            confirmed="treatment continues as confirmed; CBC for the newborn",
        )
    ]


def pop_lactation(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    if not snapshot.breastfeeding:
        return []
    return [
        _confirmed_finding(
            snapshot,
            config,
            rule="POP-LACTATION",
            cause="breastfeeding",
            state="Breastfeeding",
            pending=(
                "stop natalizumab or stop breastfeeding; a neurologist must decide before the "
                "next infusion"
            ),
            confirmed="treatment continues as decided",
        )
    ]


def pop_pediatric(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Under 18 on the clinic's today: safety not established."""
    today = clinic_today(snapshot, now)
    age = age_on(snapshot.birth_date, today)
    if age >= config.adult_age:
        return []
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="POP-PEDIATRIC",
            cause="age",
            severity="warning",
            action="inform",
            message=f"Age {age}: safety under {config.adult_age} years is not established",
            evidence={"age": age, "birth_date": snapshot.birth_date, "adult_age": config.adult_age},
            source=sources.POPULATIONS,
        )
    ]


def pop_elderly(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Over 65: from the day after the 65th birthday, data are limited."""
    today = clinic_today(snapshot, now)
    # Over 65 means 65 had already been reached yesterday: not on the birthday itself.
    if age_on(snapshot.birth_date, today - timedelta(days=1)) < config.elderly_age:
        return []
    age = age_on(snapshot.birth_date, today)
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="POP-ELDERLY",
            cause="age",
            severity="info",
            action="inform",
            message=f"Age {age}: data over {config.elderly_age} years are limited",
            evidence={
                "age": age,
                "birth_date": snapshot.birth_date,
                "elderly_age": config.elderly_age,
            },
            source=sources.POPULATIONS,
        )
    ]
