from __future__ import annotations

import pytest

from alerts.rules.wording import date_text

from .factories import (
    PATIENT_ID,
    at,
    decision,
    findings_for,
    infection,
    medication,
    on,
    only,
    quiet_patient,
    with_records,
)

# MED-IMMUNOSUPPRESSANT ------------------------------------------------------------------


@pytest.mark.parametrize("category", ["immunosuppressant", "antineoplastic", "tnf-inhibitor"])
def test_a_current_immunosuppressant_blocks_the_infusion(category: str) -> None:
    drug = medication(category, name="Methotrexate", started_on=on(-30))
    finding = only("MED-IMMUNOSUPPRESSANT", quiet_patient(medications=(drug,)))
    assert (finding.severity, finding.action) == ("critical", "block-infusion")
    assert finding.message.startswith(f"Methotrexate ({category}) since {date_text(on(-30))}")
    assert finding.dedup_key == f"{PATIENT_ID}:MED-IMMUNOSUPPRESSANT:{drug.id}"


def test_a_drug_stopped_today_still_counts_stopped_yesterday_does_not() -> None:
    today = quiet_patient(medications=(medication("tnf-inhibitor", stopped_on=on(0)),))
    yesterday = quiet_patient(medications=(medication("tnf-inhibitor", stopped_on=on(-1)),))
    assert only("MED-IMMUNOSUPPRESSANT", today).blocks_infusion
    assert findings_for("MED-IMMUNOSUPPRESSANT", yesterday) == []


def test_a_drug_starting_tomorrow_is_not_current_yet() -> None:
    patient = quiet_patient(medications=(medication("antineoplastic", started_on=on(1)),))
    assert findings_for("MED-IMMUNOSUPPRESSANT", patient) == []


def test_a_corticosteroid_course_is_a_warning_not_a_block() -> None:
    steroid = medication("corticosteroid", name="Methylprednisolone", stopped_on=on(3))
    finding = only("MED-IMMUNOSUPPRESSANT", quiet_patient(medications=(steroid,)))
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "warning",
        "inform",
        False,
    )
    assert f"until {date_text(on(3))}" in finding.message


def test_other_medication_raises_nothing() -> None:
    patient = quiet_patient(medications=(medication("other", name="Vitamin D"),))
    assert findings_for("MED-IMMUNOSUPPRESSANT", patient) == []


# INF-ACTIVE-INFECTION -------------------------------------------------------------------


def test_an_unresolved_infection_suspends_dosing() -> None:
    active = infection(description="COVID-19", onset_on=on(-3))
    finding = only("INF-ACTIVE-INFECTION", quiet_patient(infections=(active,)))
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "critical",
        "suspend",
        True,
    )
    assert "COVID-19" in finding.message and date_text(on(-3)) in finding.message
    assert finding.dedup_key == f"{PATIENT_ID}:INF-ACTIVE-INFECTION:{active.id}"


def test_the_suspension_ends_when_the_infection_is_recorded_as_resolved() -> None:
    assert (
        findings_for(
            "INF-ACTIVE-INFECTION", quiet_patient(infections=(infection(resolved_on=on(0)),))
        )
        == []
    )
    # Resolved only on a future day: still active today.
    assert findings_for(
        "INF-ACTIVE-INFECTION", quiet_patient(infections=(infection(resolved_on=on(2)),))
    )


def test_a_neurologist_resume_after_the_onset_ends_the_suspension() -> None:
    patient = quiet_patient(infections=(infection(onset_on=on(-3)),))
    resumed = with_records(patient, decisions=[decision("resume", decided_at=at(-1))])
    too_early = with_records(patient, decisions=[decision("resume", decided_at=at(-5))])
    assert findings_for("INF-ACTIVE-INFECTION", resumed) == []
    assert len(findings_for("INF-ACTIVE-INFECTION", too_early)) == 1


def test_a_decision_dated_after_now_is_not_known_yet() -> None:
    patient = quiet_patient(infections=(infection(onset_on=on(-3)),))
    later = with_records(patient, decisions=[decision("resume", decided_at=at(1))])
    assert len(findings_for("INF-ACTIVE-INFECTION", later)) == 1
