from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.rules import PatientSnapshot, evaluate, load_config
from alerts.rules.wording import date_text

from .factories import (
    DOCUMENT,
    LABEL,
    NOW,
    PATIENT_ID,
    at,
    clinical_event,
    decision,
    findings_for,
    lab,
    on,
    only,
    quiet_patient,
    with_records,
)


def _with_lab(*results: object) -> PatientSnapshot:
    return with_records(quiet_patient(), lab_results=list(results))


# LIVER-3XULN ----------------------------------------------------------------------------


@pytest.mark.parametrize("analyte", ["ALT", "AST"])
def test_exactly_3_times_the_uln_suspends(analyte: str) -> None:
    result = lab(analyte, "120", collected_at=at(-2))
    finding = only("LIVER-3XULN", _with_lab(result))
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "critical",
        "suspend",
        True,
    )
    assert finding.message.startswith(
        f"{analyte} 120 U/L on {date_text(on(-2))} is 3.00 x ULN (40 U/L)"
    )
    assert finding.evidence["value"] == "120" and finding.evidence["uln"] == "40"
    assert finding.evidence["uln_multiple"] == "3.00"
    assert finding.dedup_key == f"{PATIENT_ID}:LIVER-3XULN:{result.id}"


def test_2_99_times_the_uln_does_not_suspend() -> None:
    assert findings_for("LIVER-3XULN", _with_lab(lab("ALT", "119.6"))) == []


def test_the_multiple_is_taken_against_the_result_own_uln() -> None:
    # 126 U/L is 3.15 x a ULN of 40, but only 2.52 x a ULN of 50.
    high = lab("ALT", "126", reference_high=Decimal("40"))
    other_lab = lab("ALT", "126", reference_high=Decimal("50"))
    assert "3.15 x ULN (40 U/L)" in only("LIVER-3XULN", _with_lab(high)).message
    assert findings_for("LIVER-3XULN", _with_lab(other_lab)) == []


def test_every_qualifying_result_stands_even_after_a_newer_normal_one() -> None:
    first = lab("ALT", "200", collected_at=at(-20))
    second = lab("AST", "130", collected_at=at(-15))
    patient = _with_lab(first, second, lab("ALT", "20", collected_at=at(-1)))
    keys = {f.dedup_key for f in findings_for("LIVER-3XULN", patient)}
    assert keys == {f"{PATIENT_ID}:LIVER-3XULN:{first.id}", f"{PATIENT_ID}:LIVER-3XULN:{second.id}"}


def test_a_resume_after_the_result_lifts_the_suspension_a_resume_before_it_does_not() -> None:
    result = lab("ALT", "200", collected_at=at(-5))
    after = _with_lab(result).model_copy(
        update={"decisions": (decision("resume", "LIVER-3XULN", decided_at=at(-1)),)}
    )
    before = _with_lab(result).model_copy(
        update={"decisions": (decision("resume", decided_at=at(-6)),)}
    )
    assert findings_for("LIVER-3XULN", after) == []
    assert len(findings_for("LIVER-3XULN", before)) == 1


def test_a_result_without_upper_limit_cannot_be_judged() -> None:
    assert findings_for("LIVER-3XULN", _with_lab(lab("ALT", "500", reference_high=None))) == []


def test_a_site_may_choose_another_multiple() -> None:
    config = load_config("document", {"liver_uln_multiple": "5"})
    assert findings_for("LIVER-3XULN", _with_lab(lab("ALT", "199")), config=config) == []
    assert only("LIVER-3XULN", _with_lab(lab("ALT", "200")), config=config)


@pytest.mark.parametrize("kind", ["jaundice", "liver-injury"])
def test_label_profile_jaundice_or_liver_injury_also_suspends(kind: str) -> None:
    event = clinical_event(kind, observed_on=on(-1))
    patient = quiet_patient(clinical_events=(event,))
    finding = only("LIVER-3XULN", patient, config=LABEL)
    assert finding.action == "suspend" and finding.evidence["reason"] == kind
    assert finding.dedup_key == f"{PATIENT_ID}:LIVER-3XULN:{event.id}"
    assert findings_for("LIVER-3XULN", patient) == []  # document profile: enzymes only
    resolved = quiet_patient(clinical_events=(clinical_event(kind, resolved_on=on(0)),))
    assert findings_for("LIVER-3XULN", resolved, config=LABEL) == []


# THYROID-ABNORMAL -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "value", "direction"),
    [
        ("TSH", "4.1", "above"),
        ("TSH", "0.3", "below"),
        ("FT4", "23", "above"),
        ("FT4", "11", "below"),
    ],
)
def test_tsh_or_free_t4_outside_its_range_is_a_warning(
    analyte: str, value: str, direction: str
) -> None:
    finding = only("THYROID-ABNORMAL", _with_lab(lab(analyte, value, collected_at=at(-1))))
    assert finding.severity == "warning" and not finding.blocks_infusion
    assert f"is {direction} the reference range" in finding.message


def test_thyroid_values_on_the_limits_are_normal() -> None:
    patient = _with_lab(
        lab("TSH", "0.4", collected_at=at(-1)), lab("FT4", "22", collected_at=at(-1))
    )
    assert findings_for("THYROID-ABNORMAL", patient) == []


def test_only_the_latest_thyroid_result_counts() -> None:
    patient = _with_lab(lab("TSH", "9", collected_at=at(-5)), lab("TSH", "2", collected_at=at(-1)))
    assert findings_for("THYROID-ABNORMAL", patient) == []


def test_label_profile_has_no_thyroid_rules() -> None:
    patient = _with_lab(lab("TSH", "9", collected_at=at(-1)))
    assert findings_for("THYROID-ABNORMAL", patient, config=LABEL) == []


# CBC-NEUTROPHILS and CBC-PLATELETS ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fires"), [("1.7", True), ("1.8", False), ("7.5", False), ("7.6", True)]
)
def test_neutrophils_outside_the_range_suggest_infection(value: str, fires: bool) -> None:
    found = findings_for("CBC-NEUTROPHILS", _with_lab(lab("NEUT", value, collected_at=at(-1))))
    assert len(found) == int(fires)
    if fires:
        assert "possible infection" in found[0].message and found[0].severity == "warning"


@pytest.mark.parametrize("analyte", ["LYMPH", "MONO"])
def test_raised_lymphocytes_or_monocytes_are_the_drug_effect_and_raise_nothing(
    analyte: str,
) -> None:
    patient = _with_lab(lab(analyte, "9.9", collected_at=at(-1)))
    assert evaluate(patient, NOW, DOCUMENT) == []


def test_a_suspension_says_when_the_enzyme_came_back_down_and_still_suspends() -> None:
    high = lab("ALT", "128", collected_at=at(-6))
    still = only("LIVER-3XULN", _with_lab(high))
    assert "back to" not in still.message and "down to" not in still.message
    lower = lab("ALT", "80", collected_at=at(-4))
    down = only("LIVER-3XULN", _with_lab(high, lower))
    assert f"ALT down to 80 U/L on {date_text(on(-4))}, below 3.0 x ULN" in down.message
    normal = lab("ALT", "35", collected_at=at(-2))
    finding = only("LIVER-3XULN", _with_lab(high, lower, normal))
    assert finding.message.endswith(
        f"; ALT back to 35 U/L on {date_text(on(-2))}, within its range: "
        "suspended until a neurologist resumes"
    )
    assert (finding.action, finding.blocks_infusion) == ("suspend", True)
    assert finding.evidence["lab_result_id"] == high.id
    assert finding.evidence["since_then"]["lab_result_id"] == normal.id
    # The key stays the result that caused it: the alert is updated, not raised again.
    assert finding.dedup_key == still.dedup_key


@pytest.mark.parametrize(("value", "fires"), [("149", True), ("150", False), ("900", False)])
def test_platelets_below_the_range_are_thrombocytopenia(value: str, fires: bool) -> None:
    found = findings_for("CBC-PLATELETS", _with_lab(lab("PLT", value, collected_at=at(-1))))
    assert len(found) == int(fires)
    if fires:
        assert f"Platelets {value} ×10⁹/L" in found[0].message
        assert "thrombocytopenia" in found[0].message


def test_only_the_latest_count_counts() -> None:
    old_low = lab("NEUT", "0.5", collected_at=at(-9))
    patient = _with_lab(old_low, lab("NEUT", "4", collected_at=at(-1)))
    assert findings_for("CBC-NEUTROPHILS", patient) == []
