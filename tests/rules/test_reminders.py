"""Reminders: due on the day (info), overdue 14 days later (warning), keyed by the due date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from alerts.rules import LabResultSnapshot, PatientSnapshot, RuleConfig, load_config
from alerts.rules.wording import date_text

from .factories import (
    DOCUMENT,
    LABEL,
    NOW,
    PATIENT_ID,
    antibody,
    at,
    decision,
    edss,
    findings_for,
    given_infusion,
    lab,
    mri,
    on,
    only,
    quiet_patient,
)


def _without(patient: PatientSnapshot, *analytes: str) -> tuple[LabResultSnapshot, ...]:
    return tuple(result for result in patient.lab_results if result.analyte not in analytes)


def _liver_at(days_ago: int, **fields: object) -> PatientSnapshot:
    base = quiet_patient()
    labs = (
        *_without(base, "ALT", "AST"),
        lab("ALT", collected_at=at(-days_ago)),
        lab("AST", collected_at=at(-days_ago)),
    )
    return quiet_patient(lab_results=labs, **fields)


# The schedule, shown once on LIVER-DUE ---------------------------------------------------


@pytest.mark.parametrize(
    ("days_ago", "severity"),
    [(90, None), (91, "info"), (91 + 13, "info"), (91 + 14, "warning"), (300, "warning")],
)
def test_due_on_the_day_overdue_14_days_later(days_ago: int, severity: str | None) -> None:
    found = findings_for("LIVER-DUE", _liver_at(days_ago))
    assert [f.severity for f in found] == ([severity] if severity else [])
    if severity:
        assert found[0].action == "remind" and not found[0].blocks_infusion


def test_due_and_overdue_are_one_alert_keyed_by_the_due_date() -> None:
    patient = _liver_at(91)
    due = only("LIVER-DUE", patient)
    overdue = only("LIVER-DUE", patient, now=NOW + timedelta(days=14))
    assert (due.severity, overdue.severity) == ("info", "warning")
    assert due.dedup_key == overdue.dedup_key == f"{PATIENT_ID}:LIVER-DUE:{on(0).isoformat()}"
    assert f"overdue since {date_text(on(14))}" in overdue.message


def test_the_older_of_alt_and_ast_decides() -> None:
    base = quiet_patient()
    labs = (
        *_without(base, "ALT", "AST"),
        lab("ALT", collected_at=at(-91)),
        lab("AST", collected_at=at(-5)),
    )
    assert (
        only("LIVER-DUE", quiet_patient(lab_results=labs)).evidence["due_on"] == on(0).isoformat()
    )


def test_a_site_may_shorten_the_grace() -> None:
    config = load_config("document", {"reminder_grace_days": 7})
    assert only("LIVER-DUE", _liver_at(91 + 7), config=config).severity == "warning"


# LIVER-DUE baseline ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", [("ALT", "AST"), ("AST",)])
def test_a_missing_baseline_blocks_the_first_infusion(missing: tuple[str, ...]) -> None:
    base = quiet_patient()
    patient = quiet_patient(
        infusions=(), treatment_start=on(3), lab_results=_without(base, *missing)
    )
    finding = only("LIVER-DUE", patient)
    assert (finding.action, finding.blocks_infusion) == ("block-infusion", True)
    assert finding.evidence["missing"] == list(missing)
    assert finding.dedup_key == f"{PATIENT_ID}:LIVER-DUE:baseline"


def test_a_baseline_before_the_first_infusion_clears_it_and_nothing_is_due_before_the_start() -> (
    None
):
    patient = quiet_patient(infusions=(), treatment_start=on(3))
    assert findings_for("LIVER-DUE", patient) == []


def test_without_a_start_date_only_the_baseline_is_asked_for() -> None:
    base = quiet_patient()
    no_start = quiet_patient(infusions=(), treatment_start=None, decisions=())
    assert only(
        "LIVER-DUE", no_start.model_copy(update={"lab_results": _without(base, "ALT")})
    ).blocks_infusion
    assert findings_for("LIVER-DUE", _liver_at(400, infusions=(), treatment_start=None)) == []


def test_a_missing_baseline_after_infusions_began_is_an_overdue_reminder() -> None:
    base = quiet_patient()
    patient = quiet_patient(lab_results=_without(base, "ALT", "AST"))
    finding = only("LIVER-DUE", patient)
    assert (finding.severity, finding.action) == ("warning", "remind")
    assert finding.dedup_key.endswith(":baseline")


def test_a_baseline_taken_before_the_start_counts_from_its_own_date() -> None:
    # Baseline 100 days ago, treatment started 85 days ago: due 91 days after the baseline.
    finding = only("LIVER-DUE", _liver_at(100, treatment_start=on(-85)))
    assert finding.evidence["due_on"] == on(-9).isoformat()


# THYROID-DUE, ADA-DUE, MRI-DUE, EDSS-DUE: each at its interval ---------------------------


def _thyroid_at(days_ago: int) -> PatientSnapshot:
    base = quiet_patient()
    labs = (
        *_without(base, "TSH", "FT4"),
        lab("TSH", collected_at=at(-days_ago)),
        lab("FT4", collected_at=at(-days_ago)),
    )
    return quiet_patient(lab_results=labs)


def _ada_at(days_ago: int) -> PatientSnapshot:
    return quiet_patient(antibody_tests=(antibody("jcv"), antibody(collected_at=at(-days_ago))))


@pytest.mark.parametrize(
    ("rule", "make", "interval"),
    [
        ("THYROID-DUE", _thyroid_at, 182),
        ("ADA-DUE", _ada_at, 84),
        ("MRI-DUE", lambda days: quiet_patient(mri_studies=(mri(performed_on=on(-days)),)), 365),
        ("EDSS-DUE", lambda days: quiet_patient(edss=(edss("2.0", on(-days)),)), 182),
    ],
)
def test_each_schedule_is_due_at_its_interval(
    rule: str, make: Callable[[int], PatientSnapshot], interval: int
) -> None:
    assert findings_for(rule, make(interval - 1)) == []
    due = only(rule, make(interval))
    assert (due.severity, due.action) == ("info", "remind")
    assert due.evidence["interval_days"] == interval
    assert f"every {interval} days" in due.message
    assert only(rule, make(interval + 14)).severity == "warning"


def test_thyroid_and_antibody_schedules_are_off_in_the_label_profile() -> None:
    assert findings_for("THYROID-DUE", _thyroid_at(400), config=LABEL) == []
    assert findings_for("ADA-DUE", _ada_at(400), config=LABEL) == []


def test_nothing_periodic_falls_due_before_the_start_of_treatment() -> None:
    # Records long ago, treatment starting now: the first MRI is due a year after the start.
    patient = quiet_patient(
        treatment_start=on(0),
        infusions=(),
        decisions=(),
        mri_studies=(mri(performed_on=on(-900)),),
        edss=(edss("2.0", on(-900)),),
    )
    assert findings_for("MRI-DUE", patient) == findings_for("EDSS-DUE", patient) == []
    assert (
        only("MRI-DUE", patient, now=NOW + timedelta(days=365)).evidence["due_on"]
        == on(365).isoformat()
    )


def test_no_record_ever_counts_from_the_start() -> None:
    patient = quiet_patient(treatment_start=on(-182), edss=())
    assert only("EDSS-DUE", patient).evidence["last_on"] is None


# JCV-DUE --------------------------------------------------------------------------------


def _jcv(*tests: object, **fields: object) -> PatientSnapshot:
    return quiet_patient(antibody_tests=(antibody(), *tests), **fields)


def test_a_missing_jcv_baseline_is_due_before_the_first_infusion() -> None:
    before_start = only("JCV-DUE", _jcv(treatment_start=on(10), infusions=()))
    assert (before_start.severity, before_start.action) == ("info", "remind")
    assert before_start.dedup_key == f"{PATIENT_ID}:JCV-DUE:baseline"
    no_start = only("JCV-DUE", _jcv(treatment_start=None, infusions=()))
    assert no_start.severity == "info"
    late = only("JCV-DUE", _jcv(treatment_start=on(-14)))
    assert late.severity == "warning" and late.dedup_key == before_start.dedup_key


@pytest.mark.parametrize(
    ("result", "index", "retest"),
    [
        ("negative", None, True),
        ("positive", "1.5", True),
        ("positive", None, True),
        ("positive", "1.6", False),
    ],
)
def test_jcv_is_retested_every_6_months_while_negative_or_index_up_to_1_5(
    result: str, index: str | None, retest: bool
) -> None:
    test = antibody("jcv", result, index=Decimal(index) if index else None, collected_at=at(-182))
    assert len(findings_for("JCV-DUE", _jcv(test))) == int(retest)


# REMS-REAUTH ----------------------------------------------------------------------------


def test_reauthorization_is_due_6_months_after_the_start_and_blocks_once_overdue() -> None:
    due = only("REMS-REAUTH", quiet_patient(treatment_start=on(-182), decisions=()))
    assert (due.severity, due.action) == ("info", "remind")
    overdue = only("REMS-REAUTH", quiet_patient(treatment_start=on(-196), decisions=()))
    assert (overdue.severity, overdue.action, overdue.blocks_infusion) == (
        "warning",
        "block-infusion",
        True,
    )
    almost = only("REMS-REAUTH", quiet_patient(treatment_start=on(-195), decisions=()))
    assert not almost.blocks_infusion


def test_a_reauthorization_restarts_the_six_months() -> None:
    reauthorized = quiet_patient(
        treatment_start=on(-300), decisions=(decision("reauthorize", decided_at=at(-181)),)
    )
    assert findings_for("REMS-REAUTH", reauthorized) == []
    assert only("REMS-REAUTH", reauthorized, now=NOW + timedelta(days=1)).severity == "info"


# Course status --------------------------------------------------------------------------

OVERDUE_EVERYTHING: dict[str, object] = {
    "treatment_start": on(-900),
    "decisions": (),
    "lab_results": (),
    "antibody_tests": (),
    "mri_studies": (),
    "edss": (),
}
REMINDERS = ("LIVER-DUE", "THYROID-DUE", "ADA-DUE", "JCV-DUE", "MRI-DUE", "EDSS-DUE", "REMS-REAUTH")


def _reminder_rules(patient: PatientSnapshot, config: RuleConfig = DOCUMENT) -> set[str]:
    return {rule for rule in REMINDERS if findings_for(rule, patient, config=config)}


def test_reminders_continue_while_suspended() -> None:
    patient = quiet_patient(treatment_status="suspended", **OVERDUE_EVERYTHING)
    assert _reminder_rules(patient) == set(REMINDERS)


def test_no_reminder_once_the_course_is_discontinued() -> None:
    patient = quiet_patient(treatment_status="discontinued", **OVERDUE_EVERYTHING)
    assert _reminder_rules(patient) == set()
    assert findings_for("INF-INTERVAL", patient) == []


def test_the_first_infusion_block_does_not_apply_once_infused() -> None:
    patient = quiet_patient(infusions=(given_infusion(at(-5)),), **OVERDUE_EVERYTHING)
    assert not only("LIVER-DUE", patient).blocks_infusion
