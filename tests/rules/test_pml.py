from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from alerts.rules import PML_RISK_TABLE, PatientSnapshot, load_config, pml_risk

from .cases import high_risk_patient
from .factories import (
    DOCUMENT,
    LABEL,
    NOW,
    PATIENT_ID,
    TODAY,
    antibody,
    at,
    clinical_event,
    decision,
    findings_for,
    months_before,
    mri,
    on,
    only,
    quiet_patient,
    with_records,
)


def _jcv(
    result: str, index: str | None = None, *, months: int = 10, **fields: object
) -> PatientSnapshot:
    """A patient on treatment for `months` months and a day, with one anti-JCV result."""
    values: dict[str, object] = {
        "treatment_start": months_before(TODAY, months) - timedelta(days=1),
        "antibody_tests": (
            antibody("natalizumab"),
            antibody("jcv", result, index=Decimal(index) if index else None),
        ),
    }
    return quiet_patient(**(values | fields))


# pml_risk -------------------------------------------------------------------------------


def test_the_published_table_is_exactly_the_one_in_clinical_rules() -> None:
    rows = [
        (
            row.months_band,
            row.no_prior_immunosuppressants,
            row.index_at_or_below_1_5,
            row.index_above_1_5,
            row.prior_immunosuppressants,
        )
        for row in PML_RISK_TABLE.rows
    ]
    assert rows == [
        ("1-24", Decimal("1"), Decimal("0.2"), Decimal("1.2"), Decimal("6")),
        ("25-48", Decimal("3"), Decimal("1.1"), Decimal("8.8"), Decimal("12")),
        ("49-72", Decimal("6"), Decimal("1.4"), Decimal("10.1"), Decimal("13")),
    ]
    assert PML_RISK_TABLE.jcv_negative == "under 0.07"


def test_a_negative_patient_is_under_0_07_per_1000_with_table_and_source() -> None:
    risk = pml_risk(_jcv("negative"), NOW, DOCUMENT)
    assert (risk.jcv_status, risk.estimate_per_1000, risk.high_risk) == (
        "negative",
        "under 0.07",
        False,
    )
    assert risk.table == PML_RISK_TABLE and "label" in risk.source


def test_no_conclusive_result_gives_no_number() -> None:
    patient = quiet_patient(antibody_tests=(antibody("jcv", "indeterminate"),))
    risk = pml_risk(patient, NOW, DOCUMENT)
    assert (risk.jcv_status, risk.estimate_per_1000, risk.estimate_column) == (
        "unknown",
        None,
        None,
    )
    assert risk.table == PML_RISK_TABLE and risk.source


def test_an_indeterminate_retest_keeps_the_last_conclusive_status() -> None:
    patient = _jcv("positive", "2.0")
    patient = with_records(
        patient, antibody_tests=[antibody("jcv", "indeterminate", collected_at=at(-1))]
    )
    assert pml_risk(patient, NOW, DOCUMENT).jcv_status == "positive"


@pytest.mark.parametrize(
    ("index", "months", "prior", "estimate", "band"),
    [
        (None, 10, False, "1", None),
        ("0.8", 10, False, "0.2", "index <= 0.9"),
        ("1.2", 30, False, "1.1", "index > 0.9 to 1.5"),
        ("1.5", 30, False, "1.1", "index > 0.9 to 1.5"),
        ("1.6", 30, False, "8.8", "index > 1.5"),
        ("3.0", 60, False, "10.1", "index > 1.5"),
        (None, 60, True, "13", None),
        ("0.5", 20, True, "6", "index <= 0.9"),
    ],
)
def test_the_estimate_is_read_from_the_right_cell(
    index: str | None, months: int, prior: bool, estimate: str, band: str | None
) -> None:
    risk = pml_risk(
        _jcv("positive", index, months=months, prior_immunosuppressants=prior), NOW, DOCUMENT
    )
    assert risk.estimate_per_1000 == estimate
    assert risk.index_band == band
    assert risk.months_on_treatment == months + 1


def test_months_count_from_the_start_the_anniversary_is_not_more_than_24() -> None:
    start = months_before(TODAY, 24)
    positive = (antibody("jcv", "positive", index=Decimal("2")),)
    on_anniversary = quiet_patient(treatment_start=start, antibody_tests=positive)
    risk = pml_risk(on_anniversary, NOW, DOCUMENT)
    assert (risk.months_on_treatment, risk.months_band, risk.high_risk) == (24, "1-24", False)
    next_day = pml_risk(on_anniversary, NOW + timedelta(days=1), DOCUMENT)
    assert (next_day.months_on_treatment, next_day.months_band, next_day.high_risk) == (
        25,
        "25-48",
        True,
    )


def test_beyond_72_months_the_last_band_is_used_and_said() -> None:
    risk = pml_risk(_jcv("positive", "2", months=80), NOW, DOCUMENT)
    assert (risk.months_band, risk.beyond_table, risk.estimate_per_1000) == ("49-72", True, "10.1")


def test_before_treatment_starts_a_positive_patient_gets_no_number() -> None:
    risk = pml_risk(_jcv("positive", "2", treatment_start=None), NOW, DOCUMENT)
    assert (risk.months_on_treatment, risk.estimate_per_1000) == (0, None)
    assert "treatment not started" in risk.stratum


# PML-RISK -------------------------------------------------------------------------------


def test_high_risk_is_positive_over_24_months_with_index_above_1_5() -> None:
    patient = high_risk_patient("1.6")
    test_id = next(t.id for t in patient.antibody_tests if t.target == "jcv")
    finding = only("PML-RISK", patient)
    assert (finding.severity, finding.action) == ("warning", "inform")
    assert "estimated 8.8 PML cases per 1000" in finding.message
    assert finding.evidence["estimate_per_1000"] == "8.8"
    assert finding.evidence["table"]["rows"][1]["index_above_1_5"] == "8.8"
    assert finding.source == PML_RISK_TABLE.source
    assert finding.dedup_key == f"{PATIENT_ID}:PML-RISK:{test_id}"


def test_high_risk_with_prior_immunosuppressants_whatever_the_index() -> None:
    finding = only("PML-RISK", high_risk_patient("0.5", prior_immunosuppressants=True))
    assert finding.evidence["estimate_per_1000"] == "12"


@pytest.mark.parametrize(
    "patient",
    [
        pytest.param(lambda: high_risk_patient("1.5"), id="index-1.5"),
        pytest.param(lambda: high_risk_patient("1.6", months=23), id="24-months"),
        pytest.param(lambda: _jcv("negative", months=40), id="negative"),
    ],
)
def test_not_high_risk(patient: Callable[[], PatientSnapshot]) -> None:
    assert findings_for("PML-RISK", patient()) == []


def test_the_high_index_threshold_is_configurable() -> None:
    config = load_config("document", {"jcv_index_high": "1.2"})
    assert only("PML-RISK", high_risk_patient("1.3"), config=config)


# MRI-PML-SURVEILLANCE -------------------------------------------------------------------


def test_high_risk_brings_an_mri_every_6_months() -> None:
    due = high_risk_patient("2", mri_studies=(mri(performed_on=on(-182)),))
    finding = only("MRI-PML-SURVEILLANCE", due)
    assert (finding.severity, finding.action) == ("info", "remind")
    assert finding.dedup_key == f"{PATIENT_ID}:MRI-PML-SURVEILLANCE:{TODAY.isoformat()}"
    overdue = high_risk_patient("2", mri_studies=(mri(performed_on=on(-182 - 14)),))
    assert only("MRI-PML-SURVEILLANCE", overdue).severity == "warning"


def test_no_pml_surveillance_mri_for_low_risk_and_a_3_month_site_setting() -> None:
    old_mri = (mri(performed_on=on(-200)),)
    assert findings_for("MRI-PML-SURVEILLANCE", high_risk_patient("1.0", mri_studies=old_mri)) == []
    config = load_config("document", {"mri_pml_surveillance_months": 3})
    recent = high_risk_patient("2", mri_studies=(mri(performed_on=on(-91)),))
    assert only("MRI-PML-SURVEILLANCE", recent, config=config).evidence["interval_days"] == 91


# PML-SUSPECTED --------------------------------------------------------------------------


def test_an_mri_read_as_possible_pml_suspends_at_once() -> None:
    study = mri(pml_suspected=True, performed_on=on(-1))
    finding = only("PML-SUSPECTED", quiet_patient(mri_studies=(study,)))
    assert (finding.severity, finding.action) == ("critical", "suspend")
    assert "CSF JCV DNA" in finding.message
    assert finding.dedup_key == f"{PATIENT_ID}:PML-SUSPECTED:{study.id}"


def test_neurological_signs_suggestive_of_pml_suspend_while_open() -> None:
    open_signs = quiet_patient(clinical_events=(clinical_event("pml-signs"),))
    resolved = quiet_patient(clinical_events=(clinical_event("pml-signs", resolved_on=on(0)),))
    assert only("PML-SUSPECTED", open_signs).blocks_infusion
    assert findings_for("PML-SUSPECTED", resolved) == []


def test_only_a_resume_after_the_suspicion_lifts_it() -> None:
    patient = quiet_patient(mri_studies=(mri(pml_suspected=True, performed_on=on(-5)),))
    after = with_records(
        patient, decisions=[decision("resume", "PML-SUSPECTED", decided_at=at(-1))]
    )
    before = with_records(patient, decisions=[decision("resume", decided_at=at(-6))])
    other = with_records(patient, decisions=[decision("resume", "LIVER-3XULN", decided_at=at(-1))])
    assert findings_for("PML-SUSPECTED", after) == []
    assert len(findings_for("PML-SUSPECTED", before)) == 1
    assert len(findings_for("PML-SUSPECTED", other)) == 1
    assert len(findings_for("PML-SUSPECTED", patient, config=LABEL)) == 1
