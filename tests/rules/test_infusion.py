from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.rules import InfusionSnapshot, PatientSnapshot
from alerts.rules.wording import date_text

from .factories import (
    DOCUMENT,
    LABEL,
    NOW,
    PATIENT_ID,
    at,
    checklist,
    decision,
    findings_for,
    given_infusion,
    on,
    only,
    planned_infusion,
    quiet_patient,
    reaction,
    with_records,
)

# INF-ROUTE ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["planned", "running"])
def test_a_current_infusion_by_another_route_blocks(status: str) -> None:
    infusion = planned_infusion(route="iv-push", status=status)
    finding = only("INF-ROUTE", quiet_patient(infusions=(infusion,)))
    assert (finding.severity, finding.action) == ("critical", "block-infusion")
    assert "'iv-push'" in finding.message and finding.evidence["route"] == "iv-push"
    assert finding.dedup_key == f"{PATIENT_ID}:INF-ROUTE:{infusion.id}"


def test_a_finished_bolus_record_is_flagged_critical_but_blocks_nothing_more() -> None:
    patient = with_records(quiet_patient(), infusions=[given_infusion(at(-5), route="iv-bolus")])
    finding = only("INF-ROUTE", patient)
    assert finding.severity == "critical" and finding.action == "inform"


def test_an_intravenous_infusion_raises_no_route_finding() -> None:
    assert findings_for("INF-ROUTE", quiet_patient(infusions=(planned_infusion(),))) == []


# INF-DURATION ---------------------------------------------------------------------------


def _given(**fields: object) -> PatientSnapshot:
    return with_records(quiet_patient(), infusions=[given_infusion(at(-1), **fields)])


def test_an_infusion_of_exactly_60_minutes_is_long_enough() -> None:
    assert findings_for("INF-DURATION", _given(ended_at=at(-1, minutes=60))) == []


@pytest.mark.parametrize("seconds", [59 * 60, 59 * 60 + 59])
def test_an_infusion_shorter_than_60_minutes_is_flagged(seconds: int) -> None:
    finding = only("INF-DURATION", _given(ended_at=at(-1) + timedelta(seconds=seconds)))
    assert (finding.severity, finding.action) == ("warning", "inform")
    assert "lasted 59 min" in finding.message and "at least 60 min" in finding.message
    assert finding.evidence["duration_minutes"] == 59


def test_a_running_infusion_has_no_duration_yet() -> None:
    patient = with_records(
        quiet_patient(),
        infusions=[
            given_infusion(at(hours=-0.5), status="running", ended_at=None, discharged_at=None)
        ],
    )
    assert findings_for("INF-DURATION", patient) == []


# INF-OBSERVATION ------------------------------------------------------------------------


def test_a_discharge_59_minutes_after_the_end_is_flagged_60_is_not() -> None:
    early = _given(discharged_at=at(-1, minutes=70 + 59))
    on_time = _given(discharged_at=at(-1, minutes=70 + 60))
    finding = only("INF-OBSERVATION", early)
    assert finding.severity == "warning" and "Discharged 59 min after" in finding.message
    assert findings_for("INF-OBSERVATION", on_time) == []


def test_no_observation_finding_while_the_patient_is_still_observed() -> None:
    patient = _given(status="stopped", discharged_at=None)
    assert findings_for("INF-OBSERVATION", patient) == []


def _series(
    count: int, *, early_discharge_of: int, reactions_on: int | None = None
) -> PatientSnapshot:
    """`count` infusions 28 days apart; infusion `early_discharge_of` (1-based) left early."""
    infusions = []
    for number in range(1, count + 1):
        start = at(-28 * (count - number) - 1)
        fields: dict[str, object] = {"id": f"infusion-{number}"}
        if number == early_discharge_of:
            fields["discharged_at"] = start + timedelta(minutes=70 + 30)
        if number == reactions_on:
            fields["reactions"] = (
                reaction(
                    severity="mild", symptoms=("Urticaria",), onset_at=start + timedelta(minutes=20)
                ),
            )
        infusions.append(given_infusion(start, **fields))
    return quiet_patient(infusions=tuple(infusions))


def test_document_profile_observes_after_every_infusion() -> None:
    finding = only("INF-OBSERVATION", _series(13, early_discharge_of=13))
    assert finding.evidence["infusion_number"] == 13


def test_label_profile_observes_only_the_first_12_infusions() -> None:
    assert only("INF-OBSERVATION", _series(12, early_discharge_of=12), config=LABEL)
    assert findings_for("INF-OBSERVATION", _series(13, early_discharge_of=13), config=LABEL) == []
    message = only("INF-OBSERVATION", _series(12, early_discharge_of=12), config=LABEL).message
    assert "infusion 12, one of the first 12" in message


def test_label_profile_observes_every_infusion_after_a_hypersensitivity_reaction() -> None:
    patient = _series(14, early_discharge_of=14, reactions_on=3)
    finding = only("INF-OBSERVATION", patient, config=LABEL)
    assert finding.evidence["hypersensitivity_history"] is True
    # A reaction only after that infusion does not reach back.
    later = _series(14, early_discharge_of=13, reactions_on=14)
    assert findings_for("INF-OBSERVATION", later, config=LABEL) == []


# INF-HYPERSENSITIVITY -------------------------------------------------------------------


def _reacted(**fields: object) -> tuple[InfusionSnapshot, PatientSnapshot]:
    infusion = given_infusion(
        at(-20), reactions=(reaction(onset_at=at(-20, minutes=30), **fields),)
    )
    return infusion, quiet_patient(infusions=(given_infusion(at(-48)), infusion))


def test_a_severe_systemic_reaction_recommends_discontinuation() -> None:
    infusion, patient = _reacted()
    finding = only("INF-HYPERSENSITIVITY", patient)
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "critical",
        "discontinue",
        True,
    )
    assert "(urticaria, dyspnea)" in finding.message
    assert "30 min after the start" in finding.message
    assert finding.evidence["minutes_after_start"] == 30
    assert finding.dedup_key == f"{PATIENT_ID}:INF-HYPERSENSITIVITY:{infusion.reactions[0].id}"


def test_a_mild_reaction_is_not_a_discontinuation_but_anaphylaxis_always_is() -> None:
    _, mild = _reacted(severity="mild", symptoms=("urticaria",))
    _, anaphylaxis = _reacted(severity="mild", symptoms=("Anaphylaxis",))
    assert findings_for("INF-HYPERSENSITIVITY", mild) == []
    assert only("INF-HYPERSENSITIVITY", anaphylaxis).action == "discontinue"


@pytest.mark.parametrize("action", ["discontinue", "resume"])
def test_document_profile_a_decision_after_the_reaction_settles_it(action: str) -> None:
    _, patient = _reacted()
    decided = with_records(patient, decisions=[decision(action, decided_at=at(-19))])
    about_it = with_records(
        patient, decisions=[decision(action, "INF-HYPERSENSITIVITY", decided_at=at(-19))]
    )
    before = with_records(patient, decisions=[decision(action, decided_at=at(-21))])
    other_rule = with_records(
        patient, decisions=[decision(action, "LIVER-3XULN", decided_at=at(-19))]
    )
    assert findings_for("INF-HYPERSENSITIVITY", decided) == []
    assert findings_for("INF-HYPERSENSITIVITY", about_it) == []
    assert len(findings_for("INF-HYPERSENSITIVITY", before)) == 1
    assert len(findings_for("INF-HYPERSENSITIVITY", other_rule)) == 1


def test_label_profile_never_re_treats_after_hypersensitivity() -> None:
    _, patient = _reacted()
    resumed = with_records(patient, decisions=[decision("resume", decided_at=at(-19))])
    finding = only("INF-HYPERSENSITIVITY", resumed, config=LABEL)
    assert finding.blocks_infusion and not finding.overridable
    assert "never re-treat" in finding.message
    discontinued = with_records(patient, decisions=[decision("discontinue", decided_at=at(-19))])
    assert findings_for("INF-HYPERSENSITIVITY", discontinued, config=LABEL) == []
    restarted = with_records(discontinued, decisions=[decision("resume", decided_at=at(-5))])
    assert len(findings_for("INF-HYPERSENSITIVITY", restarted, config=LABEL)) == 1


# INF-INTERVAL ---------------------------------------------------------------------------


def _two_doses(days_apart: int) -> PatientSnapshot:
    return quiet_patient(
        infusions=(
            given_infusion(at(-10 - days_apart), id="first"),
            given_infusion(at(-10), id="second"),
        )
    )


def test_a_dose_20_days_after_the_previous_one_is_early_21_is_not() -> None:
    finding = only("INF-INTERVAL", _two_doses(20))
    assert (finding.severity, finding.action) == ("warning", "inform")
    assert (
        "20 days after the previous one" in finding.message
        and "at least 21 days" in finding.message
    )
    assert finding.dedup_key == f"{PATIENT_ID}:INF-INTERVAL:second"
    assert findings_for("INF-INTERVAL", _two_doses(21)) == []


def test_early_is_counted_in_clinic_days() -> None:
    first = datetime(2026, 1, 30, 10, 30, tzinfo=UTC)  # 23:30 in Auckland
    second = datetime(2026, 2, 19, 11, 30, tzinfo=UTC)  # 00:30 the next day in Auckland
    infusions = (given_infusion(first, id="first"), given_infusion(second, id="second"))
    in_utc = quiet_patient(infusions=infusions)
    in_auckland = quiet_patient(infusions=infusions, clinic_time_zone="Pacific/Auckland")
    assert only("INF-INTERVAL", in_utc).evidence["days_since_previous"] == 20
    assert findings_for("INF-INTERVAL", in_auckland) == []


def _last_dose(days_ago: int, **fields: object) -> PatientSnapshot:
    return quiet_patient(infusions=(given_infusion(at(-days_ago)),), **fields)


def test_a_dose_more_than_7_days_past_due_is_overdue() -> None:
    assert findings_for("INF-INTERVAL", _last_dose(28 + 7)) == []
    finding = only("INF-INTERVAL", _last_dose(28 + 8))
    assert (finding.severity, finding.action) == ("warning", "remind")
    assert finding.dedup_key == f"{PATIENT_ID}:INF-INTERVAL:{on(-8).isoformat()}"
    assert f"due {date_text(on(-8))}" in finding.message
    assert f"overdue since {date_text(on(0))}" in finding.message


def test_the_overdue_dose_says_the_same_each_day_until_it_is_given() -> None:
    # Dates, not a count of days late: the alert is not rewritten every night.
    patient = _last_dose(40)
    assert only("INF-INTERVAL", patient, now=NOW + timedelta(days=3)) == only(
        "INF-INTERVAL", patient
    )


def test_the_overdue_dose_keeps_its_key_as_days_pass() -> None:
    patient = _last_dose(40)
    later = only("INF-INTERVAL", patient, now=NOW + timedelta(days=3))
    assert only("INF-INTERVAL", patient).dedup_key == later.dedup_key


def test_a_six_weekly_course_is_honoured_only_by_the_label_profile() -> None:
    patient = _last_dose(28 + 8, schedule_weeks=6)
    assert only("INF-INTERVAL", patient).evidence["interval_days"] == 28
    assert findings_for("INF-INTERVAL", patient, config=LABEL) == []
    assert only("INF-INTERVAL", _last_dose(42 + 8, schedule_weeks=6), config=LABEL)


def test_no_overdue_dose_while_suspended_or_before_the_start() -> None:
    assert findings_for("INF-INTERVAL", _last_dose(60, treatment_status="suspended")) == []
    assert findings_for("INF-INTERVAL", quiet_patient(infusions=(), treatment_start=on(5))) == []


def test_the_first_dose_is_due_at_the_start_of_treatment() -> None:
    assert findings_for("INF-INTERVAL", quiet_patient(infusions=(), treatment_start=on(-7))) == []
    finding = only("INF-INTERVAL", quiet_patient(infusions=(), treatment_start=on(-8)))
    assert finding.evidence["due_on"] == on(-8).isoformat()


# INF-CHECKLIST --------------------------------------------------------------------------


def test_a_planned_infusion_without_checklist_blocks() -> None:
    infusion = planned_infusion(checklist=None)
    finding = only("INF-CHECKLIST", quiet_patient(infusions=(infusion,)))
    assert finding.action == "block-infusion" and finding.evidence["reasons"] == ["missing"]
    assert finding.dedup_key == f"{PATIENT_ID}:INF-CHECKLIST:{infusion.id}"


@pytest.mark.parametrize(
    "answer",
    [
        "new_neurological_symptoms",
        "immunocompromised",
        "immunosuppressants_last_month",
        "current_infection",
    ],
)
def test_any_yes_answer_blocks_until_the_prescriber_clears_it(answer: str) -> None:
    held = planned_infusion(id="held", checklist=checklist(infusion_id="held", **{answer: True}))
    finding = only("INF-CHECKLIST", quiet_patient(infusions=(held,)))
    assert finding.evidence["yes_answers"] == [answer]
    assert "no prescriber clearance" in finding.message
    cleared = planned_infusion(
        id="ok", checklist=checklist(infusion_id="ok", cleared_at=at(minutes=-5), **{answer: True})
    )
    assert findings_for("INF-CHECKLIST", quiet_patient(infusions=(cleared,))) == []


def test_an_unauthorized_treatment_blocks_even_with_a_clearance() -> None:
    infusion = planned_infusion(checklist=checklist(authorized=False, cleared_at=at(minutes=-5)))
    finding = only("INF-CHECKLIST", quiet_patient(infusions=(infusion,)))
    assert finding.evidence["reasons"] == ["not-authorized"]


def test_a_checklist_recorded_apart_from_the_infusion_is_found() -> None:
    infusion = planned_infusion(id="visit", checklist=None)
    recorded = checklist(infusion_id="visit", current_infection=True)
    patient = quiet_patient(infusions=(infusion,), checklists=(recorded,))
    assert only("INF-CHECKLIST", patient).evidence["checklist_id"] == recorded.id


@pytest.mark.parametrize("status", ["suspended", "discontinued"])
def test_a_suspended_or_discontinued_course_is_not_authorized(status: str) -> None:
    stop = decision("suspend" if status == "suspended" else "discontinue", decided_at=at(-3))
    patient = quiet_patient(treatment_status=status, decisions=(stop,))
    finding = only("INF-CHECKLIST", patient)
    assert finding.blocks_infusion and not finding.overridable
    assert finding.evidence["reason"] == f"treatment-{status}"
    assert finding.dedup_key == f"{PATIENT_ID}:INF-CHECKLIST:{stop.id}"


def test_the_latest_visit_not_infused_holds_the_patient_until_the_next_checklist() -> None:
    visit = checklist(current_infection=True, asked_at=at(-2))
    patient = with_records(quiet_patient(), checklists=[visit])
    finding = only("INF-CHECKLIST", patient)
    assert finding.severity == "warning" and finding.evidence["checklist_id"] == visit.id
    newer = with_records(patient, checklists=[checklist(asked_at=at(-1))])
    assert findings_for("INF-CHECKLIST", newer) == []


def test_a_visit_that_led_to_an_infusion_is_done() -> None:
    infusion = given_infusion(at(-2), id="given")
    visit = checklist(current_infection=True, cleared_at=None, asked_at=at(-3), infusion_id="given")
    patient = with_records(quiet_patient(), infusions=[infusion], checklists=[visit])
    assert findings_for("INF-CHECKLIST", patient) == []


def test_label_and_document_agree_on_the_checklist() -> None:
    infusion = planned_infusion(checklist=checklist(immunocompromised=True))
    patient = quiet_patient(infusions=(infusion,))
    assert [f.dedup_key for f in findings_for("INF-CHECKLIST", patient, config=DOCUMENT)] == [
        f.dedup_key for f in findings_for("INF-CHECKLIST", patient, config=LABEL)
    ]
