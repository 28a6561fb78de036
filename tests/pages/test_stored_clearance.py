"""The day's lists show each patient's clearance as their last evaluation stored it, while it
is still the clearance now; a new record, a moment of change, another time zone or other
thresholds make the list ask the rules engine again. Never a stale "cleared"."""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts import tasks
from alerts.clearance import clearance_for, clearances_for, stored_clearances
from alerts.evaluation import evaluate_patients
from alerts.models import EvaluationSchedule, PendingEvaluation
from alerts.profile import active_config
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NURSE, PHARMACIST
from network.models import Site
from patients.models import Patient
from tests.factories import (
    make_cleared_patient,
    make_given_infusion,
    make_preparation,
)

pytestmark = pytest.mark.django_db


def due_today(family_name: str) -> Patient:
    """Cleared, last dose 28 days ago: due today, on the nurse's list."""
    patient = make_cleared_patient(
        family_name=family_name, treatment_start=clock.clinic_today() - timedelta(days=30)
    )
    make_given_infusion(patient, days_ago=28)
    return patient


def evaluated(*patients: Patient) -> None:
    evaluate_patients([patient.pk for patient in patients])
    assert not PendingEvaluation.objects.filter(patient__in=patients).exists()


def reads_records(client: Client, url: str) -> bool:
    """Whether the page read lab results (only a snapshot for the rules engine does)."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return any('"labs_labresult"' in query["sql"] for query in captured.captured_queries)


def live(patient: Patient) -> dict:
    return clearance_for(patient.pk).model_dump(mode="json")


def test_an_evaluated_patient_is_listed_with_the_stored_clearance_which_is_the_live_one(
    client_as: Callable[[str | None], Client],
) -> None:
    patients = [due_today(f"Stored{i}") for i in range(3)]
    nurse = client_as(NURSE)
    today = reverse("infusions:today")
    assert reads_records(nurse, today)  # never evaluated: asked on the spot
    evaluated(*patients)

    assert not reads_records(nurse, today)
    stored = clearances_for([patient.pk for patient in patients])
    for patient in patients:
        assert stored[str(patient.pk)].model_dump(mode="json") == live(patient)
        assert stored[str(patient.pk)].cleared
    assert "Pre-infusion checklist" in nurse.get(today).content.decode()


def test_a_new_result_shows_on_the_list_before_its_evaluation_runs(
    client_as: Callable[[str | None], Client],
) -> None:
    patient = due_today("Liver")
    evaluated(patient)
    nurse = client_as(NURSE)
    page = nurse.get(reverse("infusions:today")).content.decode()
    assert "not-cleared" not in page

    # ALT at 6 x the upper limit, saved as the lab interface saves it; no worker runs here, so
    # the patient stays marked and the stored clearance ("cleared") is stale.
    LabResult.objects.create(
        patient=patient,
        analyte="ALT",
        value=Decimal(240),
        unit="U/L",
        reference_low=Decimal(7),
        reference_high=Decimal(40),
        collected_at=clock.now() - timedelta(hours=1),
    )
    assert PendingEvaluation.objects.filter(patient=patient).exists()
    page = nurse.get(reverse("infusions:today")).content.decode()
    assert "not-cleared" in page
    assert not clearances_for([patient.pk])[str(patient.pk)].cleared
    assert "Record the checklist (not cleared)" in page


def test_a_bag_is_warned_of_then_expired_on_the_board_not_frozen_at_the_evaluation(
    client_as: Callable[[str | None], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = due_today("Countdown")
    bag = make_preparation(patient, prepared_at=clock.now() - timedelta(hours=6))  # 2 h left
    evaluated(patient)
    warned_from = bag.expires_at - timedelta(minutes=60)
    assert EvaluationSchedule.objects.get(patient=patient).clearance_until == warned_from
    pharmacist = client_as(PHARMACIST)
    board = reverse("infusions:bags")
    assert not reads_records(pharmacist, board)
    assert not clearances_for([patient.pk])[str(patient.pk)].warnings

    for later, expired in ((warned_from + timedelta(minutes=1), False),
                           (bag.expires_at + timedelta(minutes=1), True)):  # fmt: skip
        monkeypatch.setattr(clock, "now", lambda moment=later: moment)
        assert reads_records(pharmacist, board)  # the stored clearance's moment has come
        clearance = clearances_for([patient.pk])[str(patient.pk)]
        assert clearance.model_dump(mode="json") == live(patient)
        found = clearance.visit_steps if expired else clearance.warnings
        stability = [f.evidence["expired"] for f in found if f.rule == "PREP-STABILITY"]
        assert stability == [expired]


def test_a_site_moved_to_another_time_zone_or_new_thresholds_are_asked_again(
    client_as: Callable[[str | None], Client], settings: object
) -> None:
    patient = due_today("Zone")
    evaluated(patient)
    nurse = client_as(NURSE)
    today = reverse("infusions:today")
    assert not reads_records(nurse, today)

    Site.objects.filter(pk=patient.site_id).update(time_zone="Pacific/Auckland")
    assert reads_records(nurse, today)
    evaluated(patient)
    assert not reads_records(nurse, today)

    EvaluationSchedule.objects.filter(patient=patient).update(config_version="document/0")
    assert reads_records(nurse, today)


def test_a_clearance_asked_for_another_moment_is_computed_for_that_moment() -> None:
    patient = due_today("Moment")
    evaluated(patient)
    moment: datetime = clock.now() - timedelta(days=27)  # the day after the last dose
    asked = clearances_for([patient.pk], now=moment)[str(patient.pk)]
    assert [finding.rule for finding in asked.warnings] == ["INF-INTERVAL"]  # early dose
    assert not clearances_for([patient.pk])[str(patient.pk)].warnings


def test_a_clearance_stored_at_a_later_moment_is_not_taken_for_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An evaluation run with the clock ahead (a job replayed for tomorrow night, a clock
    # corrected back) stored tomorrow's clearance: today's lists ask the engine.
    patient = due_today("Ahead")
    real_now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: real_now + timedelta(days=1))
    evaluated(patient)
    monkeypatch.setattr(clock, "now", lambda: real_now)
    ids = [str(patient.pk)]
    assert stored_clearances(ids, now=real_now, config=active_config()) == {}
    assert clearances_for(ids)[ids[0]].model_dump(mode="json") == live(patient)


def test_a_clearance_is_stored_from_two_days_before_the_due_day_and_the_night_job_stores_it(
    client_as: Callable[[str | None], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weeks from their due day a patient is on no list: no clearance is stored for them,
    and the nightly job evaluates them again when they may be, so the list reads none."""
    patient = due_today("Later")
    dosed_at = make_given_infusion(patient, days_ago=10).started_at  # next due in 18 days
    evaluated(patient)
    schedule = EvaluationSchedule.objects.get(patient=patient)
    assert schedule.clearance is None
    due_on = dosed_at.astimezone(clock.clinic_zone()).date() + timedelta(weeks=4)
    opens = datetime.combine(due_on - timedelta(days=2), datetime.min.time(), clock.clinic_zone())
    assert schedule.next_change_at is not None and schedule.next_change_at <= opens

    due_morning = datetime.combine(due_on, datetime.min.time(), clock.clinic_zone()).replace(hour=7)
    monkeypatch.setattr(clock, "now", lambda: due_morning)
    assert tasks.nightly()["patients"] >= 1
    assert EvaluationSchedule.objects.get(patient=patient).clearance is not None
    nurse = client_as(NURSE)
    assert not reads_records(nurse, reverse("infusions:today"))
    assert "Later" in nurse.get(reverse("infusions:today")).content.decode()
