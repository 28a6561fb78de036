"""Things that time makes due: LIVER-DUE, THYROID-DUE, ADA-DUE, JCV-DUE,
MRI-PML-SURVEILLANCE, MRI-DUE, EDSS-DUE, REMS-REAUTH.

A reminder is due on its day (info) and overdue `reminder_grace_days` later (warning).
Nothing is due before treatment_start except baseline needs, and nothing at all once the
course is discontinued. A periodic reminder counts from the latest record, but never from
before the start of treatment.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from . import sources
from ._common import clinic_today, course_open, latest, local_date, reminder, schedule_running
from .config import RuleConfig
from .findings import Finding, make_finding
from .infusion import given_infusions
from .labs import latest_result
from .pml import latest_jcv_test, pml_risk
from .snapshot import MriStudySnapshot, PatientSnapshot
from .wording import date_text


def _periodic(
    snapshot: PatientSnapshot,
    now: datetime,
    config: RuleConfig,
    *,
    rule: str,
    item: str,
    last_on: date | None,
    interval_days: int,
    source: str,
    records: dict[str, object],
    blocks_when_overdue: bool = False,
) -> list[Finding]:
    """Due `interval_days` after the latest record, counted from the start at the earliest."""
    today = clinic_today(snapshot, now)
    if not schedule_running(snapshot, today):
        return []
    start = snapshot.treatment_start
    assert start is not None
    anchor = max(last_on, start) if last_on else start
    found = reminder(
        snapshot,
        today,
        config,
        rule=rule,
        item=item,
        due_on=anchor + timedelta(days=interval_days),
        interval_days=interval_days,
        last_on=last_on,
        source=source,
        blocks_when_overdue=blocks_when_overdue,
        extra_evidence=records,
    )
    return [found] if found else []


def _baseline(
    snapshot: PatientSnapshot,
    now: datetime,
    config: RuleConfig,
    *,
    rule: str,
    item: str,
    source: str,
) -> list[Finding]:
    """A baseline never done: due before the first infusion, overdue after the start + grace."""
    today = clinic_today(snapshot, now)
    start = snapshot.treatment_start
    if start is not None and today >= start:
        found = reminder(
            snapshot,
            today,
            config,
            rule=rule,
            item=f"{item} baseline",
            due_on=start,
            interval_days=0,
            last_on=None,
            source=source,
            cause="baseline",
        )
        return [found] if found else []
    starts = f" (treatment starts {date_text(start)})" if start else ""
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule=rule,
            cause="baseline",
            severity="info",
            action="remind",
            message=f"{item} baseline due before the first infusion{starts}",
            evidence={"item": f"{item} baseline", "due_on": start, "overdue": False},
            source=source,
        )
    ]


def liver_due(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """ALT and AST at baseline and every 3 months; no baseline blocks the first infusion."""
    if not course_open(snapshot):
        return []
    latest_by_analyte = {analyte: latest_result(snapshot, analyte) for analyte in ("ALT", "AST")}
    missing = [analyte for analyte, result in latest_by_analyte.items() if result is None]
    if missing and not given_infusions(snapshot):
        return [
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="LIVER-DUE",
                cause="baseline",
                severity="warning",
                action="block-infusion",
                message=(
                    f"No ALT and AST baseline (missing: {', '.join(missing)}): the first "
                    "infusion needs both"
                ),
                evidence={"item": "ALT and AST baseline", "missing": missing},
                source=sources.LABORATORY,
            )
        ]
    if missing:
        return _baseline(
            snapshot, now, config, rule="LIVER-DUE", item="ALT and AST", source=sources.LABORATORY
        )
    # Both analytes are due together, so the older of the two latest results counts.
    last_on = min(
        local_date(snapshot, result.collected_at)
        for result in latest_by_analyte.values()
        if result is not None
    )
    today = clinic_today(snapshot, now)
    if not schedule_running(snapshot, today):
        return []
    start = snapshot.treatment_start
    assert start is not None
    # A baseline taken before the start counts: the next test is 3 months after it, not after
    # the start; but nothing falls due before the start itself.
    due_on = max(last_on + timedelta(days=config.liver_interval_days), start)
    found = reminder(
        snapshot,
        today,
        config,
        rule="LIVER-DUE",
        item="ALT and AST",
        due_on=due_on,
        interval_days=config.liver_interval_days,
        last_on=last_on,
        source=sources.LABORATORY,
        extra_evidence={
            "lab_result_ids": [r.id for r in latest_by_analyte.values() if r is not None]
        },
    )
    return [found] if found else []


def thyroid_due(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """TSH and free T4 every 6 months (document: "regularly"; not in the label)."""
    if not config.thyroid_due_enabled:
        return []
    results = [latest_result(snapshot, analyte) for analyte in ("TSH", "FT4")]
    last_on = (
        min(local_date(snapshot, result.collected_at) for result in results if result)
        if all(results)
        else None
    )
    return _periodic(
        snapshot,
        now,
        config,
        rule="THYROID-DUE",
        item="TSH and free T4",
        last_on=last_on,
        interval_days=config.thyroid_interval_days,
        source=sources.LABORATORY,
        records={"lab_result_ids": [result.id for result in results if result]},
    )


def ada_due(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Anti-natalizumab antibodies every 12 weeks (document only: the label tests on suspicion)."""
    if not config.ada_due_enabled:
        return []
    test = latest(
        (test for test in snapshot.antibody_tests if test.target == "natalizumab"),
        key=lambda test: test.collected_at,
    )
    return _periodic(
        snapshot,
        now,
        config,
        rule="ADA-DUE",
        item="Anti-natalizumab antibody test",
        last_on=local_date(snapshot, test.collected_at) if test else None,
        interval_days=config.ada_interval_days,
        source=sources.IMMUNOGENICITY,
        records={"antibody_test_id": test.id if test else None},
    )


def jcv_due(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Anti-JCV at baseline; every 6 months while negative or while the index is <= 1.5.

    A positive result without an index is retested too: without an index the stratum is unknown.
    """
    if not course_open(snapshot):
        return []
    test = latest_jcv_test(snapshot)
    if test is None:
        return _baseline(
            snapshot,
            now,
            config,
            rule="JCV-DUE",
            item="Anti-JCV antibody test",
            source=sources.BOXED_WARNING,
        )
    if test.result == "positive" and test.index is not None and test.index > config.jcv_index_high:
        return []
    return _periodic(
        snapshot,
        now,
        config,
        rule="JCV-DUE",
        item="Anti-JCV antibody test",
        last_on=local_date(snapshot, test.collected_at),
        interval_days=config.jcv_interval_days,
        source=sources.BOXED_WARNING,
        records={"antibody_test_id": test.id, "result": test.result, "index": test.index},
    )


def _latest_mri(snapshot: PatientSnapshot) -> MriStudySnapshot | None:
    return latest(snapshot.mri_studies, key=lambda mri: mri.performed_on)


def mri_pml_surveillance(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> list[Finding]:
    """High PML risk: an MRI every 3 to 6 months (default 6)."""
    risk = pml_risk(snapshot, now, config)
    if not risk.high_risk:
        return []
    mri = _latest_mri(snapshot)
    return _periodic(
        snapshot,
        now,
        config,
        rule="MRI-PML-SURVEILLANCE",
        item=(
            "MRI for PML surveillance "
            f"(high PML risk, every {config.mri_pml_surveillance_months} months)"
        ),
        last_on=mri.performed_on if mri else None,
        interval_days=config.mri_pml_surveillance_days,
        source=sources.BOXED_WARNING,
        records={
            "mri_study_id": mri.id if mri else None,
            "jcv_test_id": risk.jcv_test_id,
            "stratum": risk.stratum,
        },
    )


def mri_due(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """An MRI (T1 gadolinium-enhancing and T2 lesions) every 12 months."""
    mri = _latest_mri(snapshot)
    return _periodic(
        snapshot,
        now,
        config,
        rule="MRI-DUE",
        item="MRI (T1 gadolinium-enhancing and T2 lesions)",
        last_on=mri.performed_on if mri else None,
        interval_days=config.mri_interval_days,
        source=sources.IMAGING,
        records={"mri_study_id": mri.id if mri else None},
    )


def edss_due(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """An EDSS assessment every 6 months (document: "regularly")."""
    edss = latest(snapshot.edss, key=lambda edss: edss.assessed_on)
    return _periodic(
        snapshot,
        now,
        config,
        rule="EDSS-DUE",
        item="EDSS assessment",
        last_on=edss.assessed_on if edss else None,
        interval_days=config.edss_interval_days,
        source=sources.IMAGING,
        records={"edss_id": edss.id if edss else None},
    )


def rems_reauth(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The TOUCH reauthorization every 6 months from the start; overdue blocks infusions."""
    decision = latest(
        (d for d in snapshot.decisions if d.action == "reauthorize"),
        key=lambda d: d.decided_at,
    )
    return _periodic(
        snapshot,
        now,
        config,
        rule="REMS-REAUTH",
        item="TOUCH reauthorization",
        last_on=local_date(snapshot, decision.decided_at) if decision else None,
        interval_days=config.rems_interval_days,
        source=sources.TOUCH,
        records={"decision_id": decision.id if decision else None},
        blocks_when_overdue=True,
    )
