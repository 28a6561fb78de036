"""Infusion (nurse): INF-ROUTE, INF-DURATION, INF-OBSERVATION, INF-HYPERSENSITIVITY,
INF-INTERVAL. The pre-infusion checklist (INF-CHECKLIST) has its own module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from . import sources
from ._common import (
    chronological,
    clinic_today,
    latest,
    local_date,
    local_time_text,
    settled_discontinue,
)
from .config import RuleConfig
from .findings import Finding, make_finding
from .snapshot import InfusionSnapshot, PatientSnapshot, ReactionSnapshot
from .wording import date_text


def given_infusions(snapshot: PatientSnapshot) -> list[InfusionSnapshot]:
    """Infusions that actually started (the patient received drug), oldest first."""
    return chronological(_given(snapshot), key=lambda infusion: infusion.started_at)


def last_given_infusion(snapshot: PatientSnapshot) -> InfusionSnapshot | None:
    """The last of `given_infusions`, found without sorting."""
    return latest(_given(snapshot), key=lambda infusion: infusion.started_at)


def _given(snapshot: PatientSnapshot) -> Iterator[InfusionSnapshot]:
    return (
        infusion
        for infusion in snapshot.infusions
        if infusion.started_at is not None
        and infusion.status in ("running", "stopped", "discharged")
    )


def _symptoms(reaction: ReactionSnapshot) -> set[str]:
    return {symptom.strip().casefold() for symptom in reaction.symptoms}


def is_hypersensitivity(reaction: ReactionSnapshot, config: RuleConfig) -> bool:
    """A severe reaction, or any reaction with a hypersensitivity symptom (label observation)."""
    return reaction.severity == "severe" or bool(
        _symptoms(reaction) & {symptom.casefold() for symptom in config.hypersensitivity_symptoms}
    )


def _is_severe_systemic(reaction: ReactionSnapshot) -> bool:
    # Anaphylaxis is severe whatever severity was ticked.
    return reaction.severity == "severe" or "anaphylaxis" in _symptoms(reaction)


def _when(snapshot: PatientSnapshot, infusion: InfusionSnapshot) -> str:
    if infusion.started_at is not None:
        return f"started {local_time_text(snapshot, infusion.started_at)}"
    return infusion.status


def inf_route(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """IV push or bolus is refused at entry; a record that still has one is flagged.

    A planned or running infusion by another route blocks; a finished record is history and
    only informs (it cannot be undone, and blocking every later infusion would help no one).
    """
    findings = []
    for infusion in sorted(snapshot.infusions, key=lambda infusion: infusion.id):
        if infusion.route == config.infusion_route:
            continue
        current = infusion.status in ("planned", "running")
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="INF-ROUTE",
                cause=infusion.id,
                severity="critical",
                action="block-infusion" if current else "inform",
                message=(
                    f"Infusion ({_when(snapshot, infusion)}) recorded with route "
                    f"'{infusion.route}': natalizumab is given only as an intravenous infusion, "
                    "never as IV push or bolus"
                ),
                evidence={
                    "infusion_id": infusion.id,
                    "route": infusion.route,
                    "required_route": config.infusion_route,
                    "status": infusion.status,
                    "started_at": infusion.started_at,
                    "started_at_local": (
                        local_time_text(snapshot, infusion.started_at)
                        if infusion.started_at
                        else None
                    ),
                },
                source=sources.INFUSION_RISKS,
            )
        )
    return findings


def inf_duration(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """An infusion of exactly the minimum (60 min) is long enough."""
    minimum = timedelta(minutes=config.infusion_min_minutes)
    findings = []
    for infusion in given_infusions(snapshot):
        if infusion.ended_at is None or infusion.started_at is None:
            continue
        duration = infusion.ended_at - infusion.started_at
        if duration >= minimum:
            continue
        minutes = int(duration.total_seconds() // 60)
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="INF-DURATION",
                cause=infusion.id,
                severity="warning",
                action="inform",
                message=(
                    f"Infusion started {local_time_text(snapshot, infusion.started_at)} lasted "
                    f"{minutes} min: it must run at least {config.infusion_min_minutes} min"
                ),
                evidence={
                    "infusion_id": infusion.id,
                    "started_at": infusion.started_at,
                    "started_at_local": local_time_text(snapshot, infusion.started_at),
                    "ended_at": infusion.ended_at,
                    "duration_minutes": minutes,
                    "minimum_minutes": config.infusion_min_minutes,
                },
                source=sources.INFUSION_RISKS,
            )
        )
    return findings


def inf_observation(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """A discharge before the end of the observation period is flagged.

    Label profile: only the first `observation_first_infusions` infusions need it, and every
    infusion of a patient who had a hypersensitivity reaction by then.
    """
    minimum = timedelta(minutes=config.observation_minutes)
    reactions = [reaction for infusion in snapshot.infusions for reaction in infusion.reactions]
    findings = []
    for number, infusion in enumerate(given_infusions(snapshot), start=1):
        if infusion.ended_at is None or infusion.discharged_at is None:
            continue
        observed = infusion.discharged_at - infusion.ended_at
        if observed >= minimum:
            continue
        discharged_at = infusion.discharged_at
        hypersensitivity = any(
            is_hypersensitivity(reaction, config) and reaction.onset_at <= discharged_at
            for reaction in reactions
        )
        limit = config.observation_first_infusions
        if limit is not None and number > limit and not hypersensitivity:
            continue
        minutes = int(observed.total_seconds() // 60)
        why = ""
        if limit is not None:
            why = (
                " (after a hypersensitivity reaction)"
                if hypersensitivity
                else f" (infusion {number}, one of the first {limit})"
            )
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="INF-OBSERVATION",
                cause=infusion.id,
                severity="warning",
                action="inform",
                message=(
                    f"Discharged {minutes} min after the end of the infusion of "
                    f"{date_text(local_date(snapshot, infusion.ended_at))}: observe "
                    f"{config.observation_minutes} min after every infusion{why}"
                ),
                evidence={
                    "infusion_id": infusion.id,
                    "ended_at": infusion.ended_at,
                    "ended_on": local_date(snapshot, infusion.ended_at),
                    "discharged_at": infusion.discharged_at,
                    "observed_minutes": minutes,
                    "minimum_minutes": config.observation_minutes,
                    "infusion_number": number,
                    "observation_first_infusions": limit,
                    "hypersensitivity_history": hypersensitivity,
                },
                source=sources.by_profile(config.name, sources.INFUSION_RISKS, sources.LABEL),
            )
        )
    return findings


def inf_hypersensitivity(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> list[Finding]:
    """A severe systemic reaction: stop, treat, discontinue.

    It blocks until a neurologist decides: `discontinue` settles it; `resume` does too in the
    document profile, never in the label profile (never re-treat).
    """
    findings = []
    for infusion in sorted(snapshot.infusions, key=lambda infusion: infusion.id):
        for reaction in chronological(infusion.reactions, key=lambda reaction: reaction.onset_at):
            if not _is_severe_systemic(reaction):
                continue
            settled = settled_discontinue(
                snapshot,
                "INF-HYPERSENSITIVITY",
                reaction.onset_at,
                resume_clears=not config.hypersensitivity_never_retreat,
            )
            if settled is not None:
                continue
            evidence: dict[str, object] = {
                "reaction_id": reaction.id,
                "infusion_id": infusion.id,
                "severity": reaction.severity,
                "symptoms": list(reaction.symptoms),
                "onset_at": reaction.onset_at,
                "onset_at_local": local_time_text(snapshot, reaction.onset_at),
                "never_retreat": config.hypersensitivity_never_retreat,
            }
            after = ""
            if infusion.started_at is not None:
                minutes = int((reaction.onset_at - infusion.started_at).total_seconds() // 60)
                evidence["minutes_after_start"] = minutes
                after = f", {minutes} min after the start of the infusion"
            symptoms = f" ({', '.join(reaction.symptoms)})" if reaction.symptoms else ""
            advice = (
                "never re-treat with natalizumab"
                if config.hypersensitivity_never_retreat
                else "discontinue natalizumab unless a neurologist decides otherwise"
            )
            findings.append(
                make_finding(
                    patient_id=snapshot.id,
                    config=config,
                    rule="INF-HYPERSENSITIVITY",
                    cause=reaction.id,
                    severity="critical",
                    action="discontinue",
                    message=(
                        f"Severe systemic reaction{symptoms} at "
                        f"{local_time_text(snapshot, reaction.onset_at)}{after}: stop the "
                        f"infusion, give emergency treatment; {advice}"
                    ),
                    evidence=evidence,
                    source=sources.by_profile(config.name, sources.INFUSION_RISKS, sources.LABEL),
                    overridable=not config.hypersensitivity_never_retreat,
                )
            )
    return findings


def inf_interval(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """A dose earlier than 21 days after the previous one; a dose more than 7 days past due."""
    interval = config.dosing_interval_days(snapshot.schedule_weeks)
    source = sources.LABEL
    findings = []
    given = given_infusions(snapshot)
    for previous, infusion in zip(given, given[1:], strict=False):
        assert previous.started_at is not None and infusion.started_at is not None
        previous_on = local_date(snapshot, previous.started_at)
        given_on = local_date(snapshot, infusion.started_at)
        days = (given_on - previous_on).days
        if days >= config.early_interval_days:
            continue
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="INF-INTERVAL",
                cause=infusion.id,
                severity="warning",
                action="inform",
                message=(
                    f"Infusion of {date_text(given_on)} was given {days} days after the "
                    f"previous one ({date_text(previous_on)}): doses must be at least "
                    f"{config.early_interval_days} days apart"
                ),
                evidence={
                    "infusion_id": infusion.id,
                    "previous_infusion_id": previous.id,
                    "given_on": given_on,
                    "previous_given_on": previous_on,
                    "days_since_previous": days,
                    "minimum_days": config.early_interval_days,
                },
                source=source,
            )
        )
    overdue = _overdue_dose(snapshot, now, config, given, interval)
    if overdue is not None:
        findings.append(overdue)
    return findings


def _overdue_dose(
    snapshot: PatientSnapshot,
    now: datetime,
    config: RuleConfig,
    given: list[InfusionSnapshot],
    interval: int,
) -> Finding | None:
    # A suspended course withholds doses on purpose: a late dose is only news while active.
    today = clinic_today(snapshot, now)
    start = snapshot.treatment_start
    if snapshot.treatment_status != "active" or start is None or today < start:
        return None
    last = given[-1] if given else None
    last_on = local_date(snapshot, last.started_at) if last and last.started_at else None
    due_on = last_on + timedelta(days=interval) if last_on else start
    # Overdue once more than `interval_overdue_after_days` past due: from this day on.
    overdue_on = due_on + timedelta(days=config.interval_overdue_after_days + 1)
    if today < overdue_on:
        return None
    since = f"{interval} days after {date_text(last_on)}" if last_on else "start of treatment"
    # The message and evidence name dates, never a count of days that grows each day: the
    # finding stands unchanged until a dose is given (the nightly job need not revisit it).
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule="INF-INTERVAL",
        cause=due_on.isoformat(),
        severity="warning",
        action="remind",
        message=(
            f"Infusion overdue: due {date_text(due_on)} ({since}), overdue since "
            f"{date_text(overdue_on)} (more than {config.interval_overdue_after_days} days "
            "past due)"
        ),
        evidence={
            "due_on": due_on,
            "overdue_on": overdue_on,
            "last_given_on": last_on,
            "last_infusion_id": last.id if last else None,
            "interval_days": interval,
            "schedule_weeks": snapshot.schedule_weeks,
            "overdue_after_days": config.interval_overdue_after_days,
        },
        source=sources.LABEL,
    )
