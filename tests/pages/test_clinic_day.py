"""The clinic's day, safe by construction: the nurse's list, the infusion page and the clearance
endpoint give one answer for every patient state; costly steps ask first; bags are never
made to look usable when they are not."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from infusions.models import DosePreparation, Infusion, InfusionStatus, PreparationStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from patients.models import Infection, Patient, TreatmentStatus
from tests.factories import (
    make_checklist,
    make_cleared_patient,
    make_given_infusion,
    make_infusion,
    make_preparation,
)

pytestmark = pytest.mark.django_db

START_BUTTON = "Start infusion now"


@dataclass
class State:
    """One patient state of the table, and what every page must say about it."""

    name: str
    build: Callable[[User], tuple[Patient, Infusion | None]]
    cleared: bool  # the patient (API `cleared`; the list's "Not cleared")
    steps: set[str]  # the rules of the visit's remaining steps
    may_start: bool  # the infusion page offers the start


def _no_visit(**fields: Any) -> Callable[[User], tuple[Patient, None]]:
    def build(nurse: User) -> tuple[Patient, None]:
        return make_cleared_patient(**fields), None

    return build


def _with_bag(nurse: User) -> tuple[Patient, None]:
    patient = make_cleared_patient()
    make_preparation(patient)
    return patient, None


def _infected(nurse: User) -> tuple[Patient, None]:
    patient = make_cleared_patient()
    Infection.objects.create(patient=patient, description="Otitis", onset_on=clock.clinic_today())
    return patient, None


def _visit(
    *, answers: dict[str, bool] | None = None, bag: str = "fresh", **fields: Any
) -> Callable[[User], tuple[Patient, Infusion]]:
    def build(nurse: User) -> tuple[Patient, Infusion]:
        patient = make_cleared_patient(**fields)
        checklist = make_checklist(patient, nurse, **(answers or {}))
        if bag == "none":
            preparation = None
        elif bag == "expired":
            preparation = make_preparation(patient, prepared_at=clock.now() - timedelta(hours=9))
        else:
            preparation = make_preparation(patient)
        return patient, make_infusion(patient, checklist=checklist, preparation=preparation)

    return build


STATES = [
    State("no visit, no bag", _no_visit(), True, {"INF-CHECKLIST", "PREP-DOSE"}, False),
    State("no visit, bag ready", _with_bag, True, {"INF-CHECKLIST"}, False),
    State("active infection", _infected, False, {"INF-CHECKLIST", "PREP-DOSE"}, False),
    State("visit in order", _visit(), True, set(), True),
    State(
        "visit with a yes",
        _visit(answers={"current_infection": True}),
        True,
        {"INF-CHECKLIST"},
        False,
    ),  # fmt: skip
    State("visit without a bag", _visit(bag="none"), True, {"PREP-DOSE"}, False),
    State("visit with an expired bag", _visit(bag="expired"), True, {"PREP-STABILITY"}, False),
    State(
        "suspended course", _visit(treatment_status=TreatmentStatus.SUSPENDED), False, set(), False
    ),  # fmt: skip
]


def _row(page: str, patient: Patient) -> str:
    return page.split(f'data-patient="{patient.id}"', 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_the_list_the_infusion_page_and_the_endpoint_agree(
    state: State, client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient, visit = state.build(users[NURSE])
    nurse = client_as(NURSE)
    api = APIClient()
    api.force_authenticate(users[NURSE])

    query = {"infusion": str(visit.pk)} if visit else {}
    body = api.get(f"/api/v1/patients/{patient.pk}/clearance/", query).json()
    assert body["cleared"] is state.cleared
    assert {step["rule"] for step in body["visit_steps"]} == state.steps

    row = _row(nurse.get(reverse("infusions:today")).content.decode(), patient)
    assert ("Not cleared" in row) is not state.cleared
    if state.cleared and not visit:
        assert "Checklist to do" in row  # the nurse's next step, never a reason to hold
    if visit is not None:
        page = nurse.get(reverse("infusions:infusion", args=[visit.id])).content.decode()
        assert (START_BUTTON in page) is state.may_start
        assert ("Not cleared to start" in page) is not state.cleared
        assert ("Not ready to start" in page) is (state.cleared and not state.may_start)
        # The start agrees with what the page offered.
        api.post(f"/api/v1/infusions/{visit.pk}/start/", {"started_at": clock.now().isoformat()})
        visit.refresh_from_db()
        assert (visit.status == InfusionStatus.RUNNING) is state.may_start


def test_an_early_dose_is_shown_on_the_list_and_the_page_before_the_start(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient, visit = _visit(treatment_start=clock.clinic_today() - timedelta(days=60))(users[NURSE])
    make_given_infusion(patient, days_ago=12)
    nurse = client_as(NURSE)
    row = _row(nurse.get(reverse("infusions:today")).content.decode(), patient)
    assert "Before starting" in row and "Early dose" in row and "12 days after" in row

    page = nurse.get(reverse("infusions:infusion", args=[visit.id])).content.decode()
    assert "Early dose" in page and 'name="seen"' in page
    # A click that skips the warning starts nothing.
    refused = nurse.post(reverse("infusions:start", args=[visit.id]), {"version": 1}, follow=True)
    assert "tick that you have seen them" in refused.content.decode()
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.PLANNED
    nurse.post(reverse("infusions:start", args=[visit.id]), {"version": 1, "seen": "yes"})
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.RUNNING


def test_a_severe_reaction_shows_in_red_with_its_words_on_the_list(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient, visit = _visit()(users[NURSE])
    nurse = client_as(NURSE)
    Infusion.objects.filter(pk=visit.pk).update(
        status=InfusionStatus.RUNNING, started_at=clock.now() - timedelta(minutes=30)
    )
    onset = (clock.now() - timedelta(minutes=10)).astimezone(clock.clinic_zone())
    nurse.post(
        reverse("infusions:reaction", args=[visit.id]),
        {
            "severity": "severe",
            "symptoms": ["urticaria", "hypotension"],
            "onset_at": onset.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    row = _row(nurse.get(reverse("infusions:today")).content.decode(), patient)
    assert 'class="severe-reaction-line"' in row
    assert "Severe reaction at" in row and "urticaria, hypotension" in row


def _timeline(client: Client, patient: Patient) -> str:
    page = client.get(reverse("patients:detail", args=[patient.id])).content.decode()
    return page.split('id="timeline"', 1)[1]


def test_an_early_stop_and_an_early_discharge_need_a_confirmed_reason_kept_in_the_timeline(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient, visit = _visit()(users[NURSE])
    nurse = client_as(NURSE)
    nurse.post(reverse("infusions:start", args=[visit.id]), {"version": 1})
    stop = reverse("infusions:stop", args=[visit.id])

    for unconfirmed in ({}, {"reason": "Feels faint"}, {"confirmed": "yes"}):
        page = nurse.post(stop, unconfirmed, follow=True).content.decode()
        assert "give the reason and confirm" in page
        visit.refresh_from_db()
        assert visit.status == InfusionStatus.RUNNING
    nurse.post(stop, {"reason": "Feels faint", "confirmed": "yes"})
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.STOPPED and visit.stop_reason == "Feels faint"

    discharge = reverse("infusions:discharge", args=[visit.id])
    page = nurse.post(discharge, {"reason": "Taxi waiting"}, follow=True).content.decode()
    assert "observation period is not over" in page
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.STOPPED
    nurse.post(discharge, {"reason": "Taxi waiting", "confirmed": "yes"})
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.DISCHARGED and visit.discharge_reason == "Taxi waiting"

    timeline = _timeline(client_as(NEUROLOGIST), patient)
    assert "stopped early: Feels faint" in timeline
    assert "discharged before the end of observation: Taxi waiting" in timeline


def test_a_stop_after_the_minimum_asks_nothing(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient, visit = _visit()(users[NURSE])
    Infusion.objects.filter(pk=visit.pk).update(
        status=InfusionStatus.RUNNING, started_at=clock.now() - timedelta(minutes=61)
    )
    client_as(NURSE).post(reverse("infusions:stop", args=[visit.id]))
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.STOPPED and visit.stop_reason == ""


def test_a_cancel_asks_for_a_confirmed_reason_which_reaches_the_timeline(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    patient, visit = _visit()(users[NURSE])
    nurse = client_as(NURSE)
    page = nurse.get(reverse("infusions:infusion", args=[visit.id])).content.decode()
    assert "Cancelling discards the bag (300 mg)" in page
    cancel = reverse("infusions:cancel", args=[visit.id])
    page = nurse.post(cancel, {"confirmed": "yes"}, follow=True).content.decode()
    assert "Give the reason and confirm" in page
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.PLANNED
    assert visit.preparation.status == PreparationStatus.READY

    nurse.post(cancel, {"reason": "Fever this morning", "confirmed": "yes"})
    visit.refresh_from_db()
    assert visit.status == InfusionStatus.CANCELLED
    assert visit.preparation.status == PreparationStatus.DISCARDED
    assert "Fever this morning" in visit.preparation.discarded_reason
    timeline = _timeline(client_as(NEUROLOGIST), patient)
    assert "Visit cancelled" in timeline and "Fever this morning" in timeline


def _prepare(client: Client, patient: Patient, **changes: str) -> Any:
    diluted = (clock.now() - timedelta(minutes=5)).astimezone(clock.clinic_zone())
    values = {
        "patient": patient.id,
        "dose_mg": "300",
        "diluent": "0.9% NaCl",
        "diluent_volume_ml": "100",
        "prepared_at": diluted.strftime("%Y-%m-%dT%H:%M"),
        "storage": "room",
        **changes,
    }
    return client.post(reverse("infusions:prepare"), values, follow=True)


def test_an_expired_bag_is_never_recorded_ready(
    client_as: Callable[[str | None], Client],
) -> None:
    patient = make_cleared_patient()
    ten_hours_ago = (clock.now() - timedelta(hours=10)).astimezone(clock.clinic_zone())
    response = _prepare(
        client_as(PHARMACIST), patient, prepared_at=ten_hours_ago.strftime("%Y-%m-%dT%H:%M")
    )
    bag = DosePreparation.objects.get(patient=patient)
    assert bag.status == PreparationStatus.DISCARDED
    assert "expired at" in bag.discarded_reason.lower()
    assert "recorded as discarded, not ready" in response.content.decode()


@pytest.mark.parametrize(
    "typed", ["0.9% NaCl", "0.9% sodium chloride", "Normal saline", "NS", "sodium chloride 0.9%"]
)
def test_the_diluent_synonyms_a_pharmacist_types_are_recorded_as_0_9_nacl(
    client_as: Callable[[str | None], Client], typed: str
) -> None:
    patient = make_cleared_patient()
    _prepare(client_as(PHARMACIST), patient, diluent=typed)
    assert DosePreparation.objects.get(patient=patient).diluent == "0.9% NaCl"


@pytest.mark.parametrize("typed", ["5% glucose", "D5W", "water for injection", "0.45% NaCl"])
def test_any_other_diluent_is_refused_naming_the_accepted_one(
    client_as: Callable[[str | None], Client], typed: str
) -> None:
    patient = make_cleared_patient()
    page = _prepare(client_as(PHARMACIST), patient, diluent=typed).content.decode()
    assert "0.9% sodium chloride (0.9% NaCl) only" in page
    assert not DosePreparation.objects.exists()


def test_the_board_marks_a_bag_of_a_suspended_course_or_a_wrong_dose_not_usable(
    client_as: Callable[[str | None], Client],
) -> None:
    suspended = make_cleared_patient(treatment_status=TreatmentStatus.SUSPENDED)
    make_preparation(suspended)
    wrong = make_cleared_patient()
    make_preparation(wrong, dose_mg=150)
    fine = make_cleared_patient()
    fine_bag = make_preparation(fine)
    page = client_as(PHARMACIST).get(reverse("infusions:bags")).content.decode()
    rows = {
        p.mrn: page.split(f"MRN {p.mrn}", 1)[1].split("</tr>", 1)[0]
        for p in (suspended, wrong, fine)
    }
    assert "Not usable" in rows[suspended.mrn] and "Treatment is suspended" in rows[suspended.mrn]
    assert "Not usable" in rows[wrong.mrn] and "150 mg" in rows[wrong.mrn]
    assert "Not usable" not in rows[fine.mrn]
    assert f"bag-{fine_bag.id}" in page


def test_a_bag_of_yesterday_shows_its_date(client_as: Callable[[str | None], Client]) -> None:
    patient = make_cleared_patient()
    yesterday = clock.now() - timedelta(days=1)
    make_preparation(patient, storage="refrigerated", prepared_at=yesterday,
                     expires_at=yesterday + timedelta(hours=24, minutes=30))  # fmt: skip
    page = client_as(PHARMACIST).get(reverse("infusions:bags")).content.decode()
    local = yesterday.astimezone(clock.clinic_zone())
    assert f"{local.day} {local:%b %Y %H:%M}" in page


def test_a_cleared_checklist_without_a_bag_asks_the_pharmacy_and_the_bag_joins_the_visit(
    client_as: Callable[[str | None], Client],
) -> None:
    patient = make_cleared_patient()
    nurse, pharmacist = client_as(NURSE), client_as(PHARMACIST)
    answers = {
        "authorized": "yes",
        "new_neurological_symptoms": "no",
        "immunocompromised": "no",
        "immunosuppressants_last_month": "no",
        "current_infection": "no",
    }
    recorded = nurse.post(reverse("infusions:checklist", args=[patient.id]), answers, follow=True)
    assert "the pharmacy is asked for the bag" in recorded.content.decode()
    visit = Infusion.objects.get(patient=patient)
    assert visit.preparation_id is None and visit.status == InfusionStatus.PLANNED

    board = pharmacist.get(reverse("infusions:bags")).content.decode()
    needed = board.split('id="bags-needed-heading"', 1)[1].split("</section>", 1)[0]
    assert patient.mrn in needed and "Bag needed" in needed

    _prepare(pharmacist, patient)
    visit.refresh_from_db()
    assert visit.preparation is not None
    board = pharmacist.get(reverse("infusions:bags")).content.decode()
    needed = board.split('id="bags-needed-heading"', 1)[1].split("</section>", 1)[0]
    assert patient.mrn not in needed
    page = nurse.get(reverse("infusions:infusion", args=[visit.id])).content.decode()
    assert START_BUTTON in page


def test_a_checklist_with_a_yes_or_a_patient_not_cleared_asks_no_bag(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    held, _ = _visit(answers={"current_infection": True}, bag="none")(users[NURSE])
    infected, _ = _visit(bag="none")(users[NURSE])
    Infection.objects.create(patient=infected, description="Flu", onset_on=clock.clinic_today())
    waiting, _ = _visit(bag="none")(users[NURSE])
    board = client_as(PHARMACIST).get(reverse("infusions:bags")).content.decode()
    needed = board.split('id="bags-needed-heading"', 1)[1].split("</section>")[0]
    assert held.mrn not in needed and infected.mrn not in needed
    assert waiting.mrn in needed


def test_the_decision_form_offers_only_what_the_state_allows(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    active = make_cleared_patient()
    neurologist = client_as(NEUROLOGIST)
    page = neurologist.get(reverse("patients:detail", args=[active.id])).content.decode()
    form = page.split('class="form decision-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="suspend"' in form and 'value="resume"' not in form
    assert 'value="override"' not in form  # nothing blocks that may be overridden

    held, _ = _visit(answers={"current_infection": True})(users[NURSE])
    Infection.objects.create(patient=held, description="Cold", onset_on=clock.clinic_today())
    page = neurologist.get(reverse("patients:detail", args=[held.id])).content.decode()
    form = page.split('class="form decision-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="override"' in form
    # The rules offered are the patient's overridable blocking findings, in words.
    assert 'value="INF-CHECKLIST"' in form and "current infection" in form
    assert 'value="LIVER-3XULN"' not in form and 'value="PREP-STABILITY"' not in form

    suspended = make_cleared_patient(treatment_status=TreatmentStatus.SUSPENDED)
    page = neurologist.get(reverse("patients:detail", args=[suspended.id])).content.decode()
    form = page.split('class="form decision-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="resume"' in form and 'value="suspend"' not in form
