"""Immunosuppression and infection: MED-IMMUNOSUPPRESSANT, INF-ACTIVE-INFECTION."""

from __future__ import annotations

from datetime import datetime

from . import sources
from ._common import chronological, clinic_today, is_open, resumed_after
from .config import RuleConfig
from .findings import Action, Finding, Severity, make_finding
from .snapshot import PatientSnapshot
from .wording import date_text

BLOCKING_CATEGORIES = frozenset({"immunosuppressant", "antineoplastic", "tnf-inhibitor"})


def med_immunosuppressant(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> list[Finding]:
    """A current immunosuppressant, antineoplastic or TNF inhibitor blocks; a corticosteroid warns.

    Current: started by today and not stopped before today (stopping today still counts).
    """
    today = clinic_today(snapshot, now)
    findings = []
    for medication in chronological(snapshot.medications, key=lambda m: m.started_on):
        current = medication.started_on <= today and (
            medication.stopped_on is None or medication.stopped_on >= today
        )
        if not current:
            continue
        severity: Severity
        action: Action
        if medication.category in BLOCKING_CATEGORIES:
            severity, action = "critical", "block-infusion"
            advice = "no natalizumab with a concurrent immunosuppressant or antineoplastic"
        elif medication.category == "corticosteroid":
            severity, action = "warning", "inform"
            advice = "a short corticosteroid course is allowed; review it before the infusion"
        else:
            continue
        until = f" until {date_text(medication.stopped_on)}" if medication.stopped_on else ""
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="MED-IMMUNOSUPPRESSANT",
                cause=medication.id,
                severity=severity,
                action=action,
                message=(
                    f"{medication.name} ({medication.category}) since "
                    f"{date_text(medication.started_on)}{until}: {advice}"
                ),
                evidence={
                    "medication_id": medication.id,
                    "name": medication.name,
                    "category": medication.category,
                    "started_on": medication.started_on,
                    "stopped_on": medication.stopped_on,
                },
                source=sources.IMMUNOSUPPRESSION,
            )
        )
    return findings


def inf_active_infection(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> list[Finding]:
    """An unresolved infection suspends dosing until resolved or a neurologist resumes after it."""
    today = clinic_today(snapshot, now)
    findings = []
    for infection in chronological(snapshot.infections, key=lambda i: i.onset_on):
        if not is_open(infection.resolved_on, today):
            continue
        if resumed_after(snapshot, "INF-ACTIVE-INFECTION", infection.onset_on) is not None:
            continue
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="INF-ACTIVE-INFECTION",
                cause=infection.id,
                severity="critical",
                action="suspend",
                message=(
                    f"Active infection since {date_text(infection.onset_on)} "
                    f"({infection.description}): dosing suspended until it is recorded as resolved"
                ),
                evidence={
                    "infection_id": infection.id,
                    "description": infection.description,
                    "onset_on": infection.onset_on,
                    "resolved_on": infection.resolved_on,
                },
                source=sources.IMMUNOSUPPRESSION,
            )
        )
    return findings
