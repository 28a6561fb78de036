from __future__ import annotations

import pytest

from alerts.rules import PatientSnapshot

from .factories import (
    PATIENT_ID,
    TREATMENT_START,
    edss,
    findings_for,
    mri,
    on,
    only,
    quiet_patient,
    relapse,
)

# MRI-ACTIVITY ---------------------------------------------------------------------------


@pytest.mark.parametrize(("gd", "t2"), [(1, 0), (0, 1), (3, 2)])
def test_any_enhancing_or_new_t2_lesion_on_the_latest_mri_is_activity(gd: int, t2: int) -> None:
    study = mri(gd_enhancing_lesions=gd, new_or_enlarging_t2_lesions=t2)
    finding = only("MRI-ACTIVITY", quiet_patient(mri_studies=(study,)))
    assert (finding.severity, finding.action) == ("warning", "inform")
    assert (
        f"{gd} gadolinium-enhancing" in finding.message
        and f"{t2} new or enlarging" in finding.message
    )
    assert finding.dedup_key == f"{PATIENT_ID}:MRI-ACTIVITY:{study.id}"


def test_an_older_active_mri_followed_by_a_quiet_one_raises_nothing() -> None:
    studies = (mri(performed_on=on(-200), gd_enhancing_lesions=2), mri(performed_on=on(-20)))
    assert findings_for("MRI-ACTIVITY", quiet_patient(mri_studies=studies)) == []


# EDSS-PROGRESSION -----------------------------------------------------------------------


def _scores(*scores: str) -> PatientSnapshot:
    days = range(-30 * len(scores), 0, 30)
    return quiet_patient(
        edss=tuple(edss(score, on(day)) for score, day in zip(scores, days, strict=True))
    )


@pytest.mark.parametrize(
    ("baseline", "latest", "fires"),
    [
        ("3.0", "4.0", True),
        ("3.0", "3.5", False),
        ("5.5", "6.5", True),
        ("5.5", "6.0", False),
        ("6.0", "6.5", True),
        ("6.0", "6.0", False),
    ],
)
def test_progression_thresholds_depend_on_the_baseline(
    baseline: str, latest: str, fires: bool
) -> None:
    assert len(findings_for("EDSS-PROGRESSION", _scores(baseline, "3.0", latest))) == int(fires)


def test_the_baseline_is_the_earliest_score_and_the_message_names_both() -> None:
    patient = _scores("2.0", "1.0", "3.0")
    finding = only("EDSS-PROGRESSION", patient)
    assert (
        "EDSS 3.0" in finding.message
        and "baseline 2.0" in finding.message
        and "up 1.0" in finding.message
    )
    assert finding.evidence["increase"] == "1.0"


def test_a_single_score_cannot_progress() -> None:
    assert findings_for("EDSS-PROGRESSION", _scores("7.0")) == []


# RELAPSE --------------------------------------------------------------------------------


def test_a_relapse_on_treatment_informs() -> None:
    item = relapse(on(-100))
    finding = only("RELAPSE", quiet_patient(relapses=(item,)))
    assert (finding.severity, finding.action) == ("info", "inform")
    assert finding.dedup_key == f"{PATIENT_ID}:RELAPSE:{item.id}"


def test_a_relapse_before_treatment_raises_nothing() -> None:
    patient = quiet_patient(relapses=(relapse(on(-500)),))
    assert findings_for("RELAPSE", patient) == []


def test_two_relapses_within_12_months_make_a_warning() -> None:
    first, second = relapse(on(-364)), relapse(on(-10))
    found = findings_for("RELAPSE", quiet_patient(relapses=(first, second)))
    assert [(f.dedup_key.rsplit(":", 1)[1], f.severity) for f in found] == [
        (second.id, "warning"),
        (first.id, "info"),
    ]
    assert "2 relapses within 365 days" in found[0].message


def test_two_relapses_further_apart_than_12_months_are_no_warning() -> None:
    found = findings_for("RELAPSE", quiet_patient(relapses=(relapse(on(-365)), relapse(on(-10)))))
    assert {f.severity for f in found} == {"info"}


def test_the_start_day_counts_as_on_treatment() -> None:
    assert only("RELAPSE", quiet_patient(relapses=(relapse(TREATMENT_START),)))
