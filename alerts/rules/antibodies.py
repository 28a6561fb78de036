"""Immunogenicity: ADA-POSITIVE, ADA-PERSISTENT (anti-natalizumab antibodies)."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import sources
from ._common import chronological, local_date, settled_discontinue
from .config import RuleConfig
from .findings import Finding, make_finding
from .snapshot import AntibodyTestSnapshot, PatientSnapshot
from .wording import date_text


def _positive_runs(snapshot: PatientSnapshot) -> list[list[AntibodyTestSnapshot]]:
    """Runs of positive anti-natalizumab tests with no negative between them.

    An indeterminate result neither confirms nor breaks a run.
    """
    tests = chronological(
        (test for test in snapshot.antibody_tests if test.target == "natalizumab"),
        key=lambda test: test.collected_at,
    )
    runs: list[list[AntibodyTestSnapshot]] = []
    current: list[AntibodyTestSnapshot] = []
    for test in tests:
        if test.result == "positive":
            current.append(test)
        elif test.result == "negative" and current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _confirming_test(
    snapshot: PatientSnapshot, run: list[AntibodyTestSnapshot], config: RuleConfig
) -> AntibodyTestSnapshot | None:
    """The first positive at least `ada_persistence_days` after the run's first positive."""
    first_on = local_date(snapshot, run[0].collected_at)
    for test in run[1:]:
        if (local_date(snapshot, test.collected_at) - first_on).days >= config.ada_persistence_days:
            return test
    return None


def ada_persistent(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Positive on two tests at least 42 days apart with no negative between: discontinue.

    Blocks until a neurologist's `discontinue` (or, in the document profile, `resume`).
    """
    findings = []
    for run in _positive_runs(snapshot):
        confirming = _confirming_test(snapshot, run, config)
        if confirming is None:
            continue
        if settled_discontinue(
            snapshot, "ADA-PERSISTENT", confirming.collected_at, resume_clears=True
        ):
            continue
        first_on = local_date(snapshot, run[0].collected_at)
        confirmed_on = local_date(snapshot, confirming.collected_at)
        days = (confirmed_on - first_on).days
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="ADA-PERSISTENT",
                cause=confirming.id,
                severity="critical",
                action="discontinue",
                message=(
                    f"Persistent anti-natalizumab antibodies: positive on {date_text(first_on)} "
                    f"and {date_text(confirmed_on)}, {days} days apart with no negative between "
                    f"(persistent from {config.ada_persistence_days} days): drug levels fall and "
                    "reactions become likelier; discontinue natalizumab"
                ),
                evidence={
                    "first_positive_test_id": run[0].id,
                    "confirming_test_id": confirming.id,
                    "first_positive_on": first_on,
                    "confirmed_on": confirmed_on,
                    "days_apart": days,
                    "persistence_days": config.ada_persistence_days,
                },
                source=sources.IMMUNOGENICITY,
            )
        )
    return findings


def ada_positive(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The latest conclusive anti-natalizumab result is positive, not (yet) persistent: retest."""
    runs = _positive_runs(snapshot)
    conclusive = chronological(
        (
            test
            for test in snapshot.antibody_tests
            if test.target == "natalizumab" and test.result in ("positive", "negative")
        ),
        key=lambda test: test.collected_at,
    )
    if not conclusive or conclusive[-1].result != "positive":
        return []
    run = runs[-1]
    if _confirming_test(snapshot, run, config) is not None:
        return []  # ADA-PERSISTENT speaks for this run
    test = conclusive[-1]
    first_on = local_date(snapshot, run[0].collected_at)
    tested_on = local_date(snapshot, test.collected_at)
    retest_from = first_on + timedelta(days=config.ada_persistence_days)
    first = f" (first positive {date_text(first_on)})" if first_on != tested_on else ""
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="ADA-POSITIVE",
            cause=test.id,
            severity="warning",
            action="inform",
            message=(
                f"Anti-natalizumab antibodies positive on {date_text(tested_on)}{first}: retest "
                f"to confirm; positive again {config.ada_persistence_days} or more days after "
                f"the first positive means persistent antibodies (retest from "
                f"{date_text(retest_from)})"
            ),
            evidence={
                "antibody_test_id": test.id,
                "tested_on": tested_on,
                "first_positive_test_id": run[0].id,
                "first_positive_on": first_on,
                "persistence_days": config.ada_persistence_days,
                "retest_from": retest_from,
            },
            source=sources.IMMUNOGENICITY,
        )
    ]
