"""The nurse's pages: today's list, the checklist, start and stop, observation, reactions."""

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.clearance import clearance_for
from infusions.models import Infusion, InfusionStatus, PreparationStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NURSE
from patients.models import TreatmentStatus
from tests.factories import (
    make_checklist,
    make_cleared_patient,
    make_infusion,
    make_patient,
    make_preparation,
)

pytestmark = pytest.mark.django_db

ALL_NO = {
    "authorized": "yes",
    "new_neurological_symptoms": "no",
    "immunocompromised": "no",
    "immunosuppressants_last_month": "no",
    "current_infection": "no",
}


@pytest.fixture
def nurse(client_as: Callable[[str | None], Client]) -> Client:
    return client_as(NURSE)


def given_infusion(patient: Any, days_ago: int) -> Infusion:
    started = clock.now() - timedelta(days=days_ago)
    bag = make_preparation(
        patient, prepared_at=started - timedelta(hours=1), status=PreparationStatus.USED
    )
    return make_infusion(
        patient,
        preparation=bag,
        status=InfusionStatus.DISCHARGED,
        started_at=started,
        ended_at=started + timedelta(minutes=65),
        discharged_at=started + timedelta(minutes=130),
    )


def local_hm(moment: Any) -> str:
    return timezone.localtime(moment, clock.clinic_zone()).strftime("%H:%M")


def test_todays_list_shows_due_and_overdue_patients_only(nurse: Client) -> None:
    due = make_patient(family_name="Due")
    given_infusion(due, 28)
    overdue = make_patient(family_name="Overdue")
    given_infusion(overdue, 33)
    # Overdue beyond the window (7 days): the neurologist's worklist, not the day's chairs.
    long_overdue = make_patient(family_name="Longoverdue")
    given_infusion(long_overdue, 40)
    six_weekly = make_patient(family_name="Sixweekly", schedule_weeks=6)
    given_infusion(six_weekly, 30)
    recent = make_patient(family_name="Recent")
    given_infusion(recent, 10)
    first = make_patient(family_name="First", treatment_start=clock.clinic_today())
    ended = make_patient(family_name="Ended", treatment_status=TreatmentStatus.DISCONTINUED)
    given_infusion(ended, 60)

    page = nurse.get(reverse("infusions:today")).content.decode()

    for shown in (due, overdue, first):
        assert shown.mrn in page
    for hidden in (six_weekly, recent, ended, long_overdue):
        assert hidden.mrn not in page
    assert "5 days overdue" in page


def test_a_visit_planned_today_is_listed_whatever_the_due_date(nurse: Client) -> None:
    # No course start recorded, or the last dose a week ago: the visit is today's work.
    unknown_start = make_patient(family_name="Nostart", treatment_start=None)
    make_infusion(unknown_start)
    early = make_patient(family_name="Early")
    given_infusion(early, 7)
    make_infusion(early)

    page = nurse.get(reverse("infusions:today")).content.decode()

    assert unknown_start.mrn in page and early.mrn in page
    assert page.count("Open: planned") == 2


def test_a_suspended_patient_shows_not_cleared_with_the_reason(nurse: Client) -> None:
    patient = make_patient(treatment_status=TreatmentStatus.SUSPENDED)
    given_infusion(patient, 28)
    make_preparation(patient)

    page = nurse.get(reverse("infusions:today")).content.decode()

    assert "Not cleared" in page
    assert "Treatment is suspended" in page


def test_the_checklist_asks_every_question_and_plans_the_infusion(nurse: Client) -> None:
    patient = make_cleared_patient()
    bag = make_preparation(patient)
    form = nurse.get(reverse("infusions:checklist", args=[patient.id])).content.decode()
    for question in (
        "Is treatment authorized",
        "new or worsening medical problem",
        "weakens the immune system (HIV/AIDS",
        "any medicine for cancer or MS",
        "Any current infection?",
    ):
        assert question in form

    response = nurse.post(
        reverse("infusions:checklist", args=[patient.id]), {"preparation": bag.id, **ALL_NO}
    )

    infusion = Infusion.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("infusions:infusion", args=[infusion.id])
    assert infusion.status == InfusionStatus.PLANNED
    assert infusion.checklist is not None and not infusion.checklist.needs_clearance
    page = nurse.get(response["Location"]).content.decode()
    assert "Cleared to start" in page


def test_a_yes_holds_the_infusion_and_says_a_prescriber_must_clear_it(nurse: Client) -> None:
    patient = make_cleared_patient()
    bag = make_preparation(patient)

    response = nurse.post(
        reverse("infusions:checklist", args=[patient.id]),
        {"preparation": bag.id, **ALL_NO, "current_infection": "yes"},
        follow=True,
    )

    page = response.content.decode()
    assert "on hold" in page
    assert "prescriber" in page
    assert "Not ready to start" in page and "Start infusion now" not in page
    assert Infusion.objects.get(patient=patient).checklist.current_infection is True


def test_an_unanswered_question_is_an_error_beside_it(nurse: Client) -> None:
    patient = make_cleared_patient()
    bag = make_preparation(patient)
    answers = {**ALL_NO}
    del answers["immunocompromised"]

    response = nurse.post(
        reverse("infusions:checklist", args=[patient.id]), {"preparation": bag.id, **answers}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_immunocompromised-error"' in page
    assert 'aria-describedby="id_immunocompromised-error"' in page
    assert not Infusion.objects.filter(patient=patient).exists()


def test_without_a_ready_bag_the_checklist_says_to_ask_the_pharmacy(nurse: Client) -> None:
    patient = make_cleared_patient()
    page = nurse.get(reverse("infusions:checklist", args=[patient.id])).content.decode()
    assert "No bag is ready" in page


def test_a_blocked_start_shows_the_blocking_findings_in_plain_words(
    nurse: Client, users: dict[str, Any]
) -> None:
    patient = make_cleared_patient()
    checklist = make_checklist(patient, users[NURSE], current_infection=True)
    infusion = make_infusion(patient, checklist=checklist)
    blocking = clearance_for(
        patient.id, infusion_id=infusion.id, preparation_id=infusion.preparation_id
    ).refusals

    response = nurse.post(reverse("infusions:start", args=[infusion.id]), follow=True)
    fragment = nurse.post(reverse("infusions:start", args=[infusion.id]), HTTP_HX_REQUEST="true")

    page = response.content.decode()
    # The refusal lands on the infusion page itself, so the address bar can be reloaded.
    assert response.redirect_chain == [(reverse("infusions:infusion", args=[infusion.id]), 302)]
    assert response.status_code == 409
    assert page.count('class="findings"') == 1  # one box of reasons, not two
    assert "The infusion may not start." in page
    assert "INF-CHECKLIST" in page and "prescriber" in page
    assert blocking and all(f.message in page for f in blocking)
    assert fragment.status_code == 200
    assert "may not start" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED


def test_start_shows_the_earliest_stop_then_stop_starts_the_observation(
    nurse: Client, users: dict[str, Any]
) -> None:
    patient = make_cleared_patient()
    infusion = make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))

    started = nurse.post(
        reverse("infusions:start", args=[infusion.id]), {"version": 1}, follow=True
    )
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.RUNNING
    earliest = infusion.started_at + timedelta(minutes=60)
    assert f"Earliest stop: {local_hm(earliest)}" in started.content.decode()

    stop = reverse("infusions:stop", args=[infusion.id])
    refused = nurse.post(stop, HTTP_HX_REQUEST="true")
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.RUNNING  # before 60 min: a reason first
    assert "give the reason and confirm" in refused.content.decode()
    stopped = nurse.post(
        stop, {"reason": "Patient feels faint", "confirmed": "yes"}, HTTP_HX_REQUEST="true"
    )
    infusion.refresh_from_db()
    assert infusion.stop_reason == "Patient feels faint"
    page = stopped.content.decode()
    assert infusion.status == InfusionStatus.STOPPED
    ends = (infusion.ended_at + timedelta(minutes=60)).astimezone(UTC)
    assert f'data-countdown-to="{ends.isoformat().replace("+00:00", "Z")}"' in page
    assert "data-server-now=" in page
    assert "Observation complete" in page  # present, hidden until the countdown ends
    assert "Discharge early" in page


def test_a_stale_click_is_refused(nurse: Client, users: dict[str, Any]) -> None:
    patient = make_cleared_patient()
    infusion = make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))
    response = nurse.post(
        reverse("infusions:start", args=[infusion.id]), {"version": 7}, follow=True
    )
    assert response.status_code == 409
    assert "has changed since you read it" in response.content.decode()


def test_after_the_observation_the_page_offers_the_discharge(nurse: Client) -> None:
    patient = make_cleared_patient()
    now = clock.now()
    infusion = make_infusion(
        patient,
        status=InfusionStatus.STOPPED,
        started_at=now - timedelta(minutes=130),
        ended_at=now - timedelta(minutes=65),
    )
    page = nurse.get(reverse("infusions:infusion", args=[infusion.id])).content.decode()
    assert '<p class="callout callout-ok" role="status" data-show-when-done >' in page
    assert "Discharge patient" in page

    nurse.post(reverse("infusions:discharge", args=[infusion.id]))
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.DISCHARGED


def test_a_severe_reaction_stops_the_infusion_and_says_what_to_do(nurse: Client) -> None:
    patient = make_cleared_patient()
    now = clock.now()
    infusion = make_infusion(
        patient, status=InfusionStatus.RUNNING, started_at=now - timedelta(minutes=20)
    )
    onset = timezone.localtime(now, clock.clinic_zone()).strftime("%Y-%m-%dT%H:%M")

    response = nurse.post(
        reverse("infusions:reaction", args=[infusion.id]),
        {"severity": "severe", "symptoms": ["urticaria", "dyspnea"], "onset_at": onset},
        HTTP_HX_REQUEST="true",
    )

    infusion.refresh_from_db()
    page = response.content.decode()
    assert infusion.status == InfusionStatus.STOPPED
    assert "Severe reaction: the infusion is stopped" in page
    assert "emergency treatment" in page
    assert "Inform the neurologist" in page
    assert list(infusion.reactions.values_list("symptoms", flat=True)) == [["urticaria", "dyspnea"]]


def test_a_reaction_without_a_symptom_is_refused_beside_the_field(nurse: Client) -> None:
    patient = make_cleared_patient()
    infusion = make_infusion(
        patient, status=InfusionStatus.RUNNING, started_at=clock.now() - timedelta(minutes=20)
    )
    response = nurse.post(
        reverse("infusions:reaction", args=[infusion.id]),
        {"severity": "mild", "onset_at": "2020-01-01T10:00"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_symptoms-error"' in page
    assert not infusion.reactions.exists()


def test_a_planned_infusion_is_cancelled_and_its_bag_discarded(
    nurse: Client, users: dict[str, Any]
) -> None:
    patient = make_cleared_patient()
    infusion = make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))

    cancel = reverse("infusions:cancel", args=[infusion.id])
    unconfirmed = nurse.post(cancel, {"reason": "Went home"})
    assert unconfirmed.status_code == 302
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED  # no confirmation, nothing changes

    response = nurse.post(cancel, {"reason": "Went home", "confirmed": "yes"})

    infusion.refresh_from_db()
    infusion.preparation.refresh_from_db()
    assert response["Location"] == reverse("infusions:today")
    assert infusion.status == InfusionStatus.CANCELLED
    assert infusion.cancel_reason == "Went home"
    assert infusion.preparation.status == PreparationStatus.DISCARDED
    again = nurse.post(cancel, {"reason": "Twice", "confirmed": "yes"}, follow=True)
    assert again.status_code == 409
