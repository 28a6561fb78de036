from __future__ import annotations

from datetime import timedelta

from alerts.rules import AntibodyTestSnapshot, PatientSnapshot

from .factories import (
    LABEL,
    PATIENT_ID,
    antibody,
    at,
    decision,
    findings_for,
    only,
    quiet_patient,
    with_records,
)


def _tests(*tests: AntibodyTestSnapshot) -> PatientSnapshot:
    return quiet_patient(antibody_tests=(antibody("jcv"), *tests))


def _positive(days_ago: int) -> AntibodyTestSnapshot:
    return antibody(result="positive", collected_at=at(-days_ago))


def _negative(days_ago: int) -> AntibodyTestSnapshot:
    return antibody(result="negative", collected_at=at(-days_ago))


# ADA-PERSISTENT -------------------------------------------------------------------------


def test_two_positives_42_days_apart_are_persistent() -> None:
    first, second = _positive(50), _positive(8)
    finding = only("ADA-PERSISTENT", _tests(first, second))
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "critical",
        "discontinue",
        True,
    )
    assert finding.evidence["days_apart"] == 42
    assert "42 days apart" in finding.message and "discontinue" in finding.message
    assert finding.dedup_key == f"{PATIENT_ID}:ADA-PERSISTENT:{second.id}"


def test_two_positives_41_days_apart_are_not_yet_persistent() -> None:
    patient = _tests(_positive(49), _positive(8))
    assert findings_for("ADA-PERSISTENT", patient) == []
    assert only("ADA-POSITIVE", patient).severity == "warning"


def test_a_negative_between_two_positives_breaks_persistence() -> None:
    patient = _tests(_positive(80), _negative(40), _positive(8))
    assert findings_for("ADA-PERSISTENT", patient) == []


def test_an_indeterminate_result_between_does_not_break_persistence() -> None:
    patient = _tests(
        _positive(80), antibody(result="indeterminate", collected_at=at(-40)), _positive(8)
    )
    assert len(findings_for("ADA-PERSISTENT", patient)) == 1


def test_persistence_is_settled_by_a_discontinue_or_in_the_document_a_resume() -> None:
    patient = _tests(_positive(80), _positive(8))
    for action in ("discontinue", "resume"):
        decided = with_records(
            patient, decisions=[decision(action, "ADA-PERSISTENT", decided_at=at(-1))]
        )
        assert findings_for("ADA-PERSISTENT", decided) == []
    before = with_records(patient, decisions=[decision("discontinue", decided_at=at(-9))])
    assert len(findings_for("ADA-PERSISTENT", before)) == 1


def test_label_and_document_agree_on_persistence() -> None:
    patient = _tests(_positive(80), _positive(8))
    assert only("ADA-PERSISTENT", patient, config=LABEL).action == "discontinue"


# ADA-POSITIVE ---------------------------------------------------------------------------


def test_a_first_positive_asks_for_a_retest() -> None:
    test = _positive(3)
    finding = only("ADA-POSITIVE", _tests(_negative(90), test))
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "warning",
        "inform",
        False,
    )
    assert "retest to confirm" in finding.message
    assert (
        finding.evidence["retest_from"]
        == (test.collected_at.date() + timedelta(days=42)).isoformat()
    )
    assert finding.dedup_key == f"{PATIENT_ID}:ADA-POSITIVE:{test.id}"


def test_a_negative_latest_result_needs_no_retest() -> None:
    assert findings_for("ADA-POSITIVE", _tests(_positive(90), _negative(3))) == []


def test_a_persistent_run_speaks_through_ada_persistent_only() -> None:
    patient = _tests(_positive(80), _positive(8))
    assert findings_for("ADA-POSITIVE", patient) == []
