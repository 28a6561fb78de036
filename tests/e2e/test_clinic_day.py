"""The clinic's day in real Chromium: no start button where the rules forbid one, warnings
before the start, a reason before a costly step, and the pharmacy asked for a bag once the
checklist clears."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from infusions.models import DosePreparation, Infusion, InfusionStatus, PreparationStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NURSE, PHARMACIST
from patients.models import TreatmentStatus
from tests.factories import (
    make_checklist,
    make_cleared_patient,
    make_given_infusion,
    make_infusion,
)

pytestmark = pytest.mark.django_db(transaction=True)


def answer_all_no(page: Page) -> None:
    page.get_by_role("group", name=re.compile(r"1\. Is treatment authorized")).get_by_label(
        "Yes"
    ).check()
    for question in ("2. In the past month", "3. Any condition", "4. In the past month", "5."):
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label("No").check()


def test_a_nurse_sees_no_start_button_for_a_suspended_patient(
    login,
    live_server,
    users,  # noqa: ANN001
) -> None:
    patient = make_cleared_patient(family_name="Halted", treatment_status=TreatmentStatus.SUSPENDED)
    infusion = make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))
    page = login(NURSE)

    row = page.locator("tr", has_text="Halted")
    expect(row).to_contain_text("Not cleared")
    expect(row).to_contain_text("Treatment is suspended")
    row.get_by_role("link", name="Open: planned").click()

    expect(page.get_by_role("heading", name="Planned: not started")).to_be_visible()
    expect(page.get_by_role("button", name="Start infusion now")).to_have_count(0)
    expect(page.locator(".clearance-status")).to_contain_text("Not cleared to start.")
    expect(page.locator(".callout-ok")).to_have_count(0)  # no green banner above the block
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED


def test_a_nurse_sees_the_early_dose_warning_before_starting(
    login,
    live_server,
    users,  # noqa: ANN001
) -> None:
    patient = make_cleared_patient(
        family_name="Tooearly", treatment_start=clock.clinic_today() - timedelta(days=60)
    )
    make_given_infusion(patient, days_ago=15)
    infusion = make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))
    page = login(NURSE)

    row = page.locator("tr", has_text="Tooearly")
    expect(row.locator(".row-warnings")).to_contain_text("Early dose")
    expect(row.locator(".row-warnings")).to_contain_text("15 days after the last one")
    row.get_by_role("link", name="Open: planned").click()

    warning = page.locator(".start-warnings")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("at least 21 days apart")
    start = page.get_by_role("button", name="Start infusion now")
    start.click()  # the browser asks for the tick first: nothing is sent
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED
    page.get_by_label("I have read the warnings above").check()
    start.click()
    expect(page.get_by_text(re.compile(r"Earliest stop: \d\d:\d\d"))).to_be_visible()
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.RUNNING


def test_cancelling_a_visit_asks_for_a_reason(
    login,
    live_server,
    users,  # noqa: ANN001
) -> None:
    patient = make_cleared_patient(family_name="Cancelled")
    infusion = make_infusion(patient, checklist=make_checklist(patient, users[NURSE]))
    page = login(NURSE)
    page.goto(f"{live_server.url}/nurse/infusions/{infusion.id}/")

    page.get_by_text("Cancel this visit…").click()
    step = page.locator(".cancel-step")
    expect(step).to_contain_text("Cancelling discards the bag (300 mg)")
    step.get_by_role("button", name="Cancel the visit").click()
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED  # no reason, no confirmation: nothing

    step.get_by_label("Why is the visit cancelled?").fill("Fever since this morning")
    step.get_by_label(re.compile("Yes, cancel the visit")).check()
    step.get_by_role("button", name="Cancel the visit").click()
    expect(page.get_by_text("Visit cancelled; its bag is marked discarded.")).to_be_visible()
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.CANCELLED
    assert infusion.cancel_reason == "Fever since this morning"
    assert infusion.preparation.status == PreparationStatus.DISCARDED


def test_a_pharmacist_sees_bag_needed_once_the_checklist_clears_until_the_bag_is_made(
    login,
    live_server,  # noqa: ANN001
) -> None:
    patient = make_cleared_patient(family_name="Waitingbag")
    page = login(NURSE)
    page.locator("tr", has_text="Waitingbag").get_by_role(
        "link", name="Pre-infusion checklist"
    ).click()
    answer_all_no(page)
    page.get_by_role("button", name="Record checklist and plan the infusion").click()
    expect(page.get_by_text("the pharmacy is asked for the bag")).to_be_visible()
    expect(page.get_by_role("button", name="Start infusion now")).to_have_count(0)

    page = login(PHARMACIST)
    needed = page.locator(".bags-needed")
    expect(needed).to_contain_text("Waitingbag")
    needed.get_by_role("link", name="Prepare the bag").click()
    expect(page.get_by_label("Patient")).to_have_value(str(patient.id))
    page.get_by_role("radio", name="Room temperature").check()
    page.get_by_role("button", name="Record bag").click()
    expect(page.get_by_text("Bag recorded")).to_be_visible()
    expect(page.locator(".bags-needed")).not_to_contain_text("Waitingbag")
    expect(page.locator("tr", has_text="Waitingbag")).to_contain_text("infusion planned")

    bag = DosePreparation.objects.get(patient=patient)
    assert Infusion.objects.get(patient=patient).preparation_id == bag.id
