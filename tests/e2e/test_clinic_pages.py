"""The clinic in real Chromium against a live server on PostgreSQL: one journey per role."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from alerts.evaluation import evaluate_patient
from alerts.models import Alert
from infusions.models import Infusion, InfusionStatus
from labs.models import LabResult
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

pytestmark = pytest.mark.django_db(transaction=True)


def answer(page: Page, question: str, choice: str) -> None:
    page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label(choice).check()


def test_a_nurse_completes_the_checklist_starts_stops_and_sees_the_observation_countdown(
    login,
    live_server,
    settings,  # noqa: ANN001
) -> None:
    # The journey watches a whole hour of observation untouched: longer than the idle logoff
    # (tests/e2e/test_sign_in.py covers that one).
    settings.SESSION_IDLE_MINUTES = 120
    patient = make_cleared_patient(family_name="Nightingale")
    make_preparation(patient)
    page = login(NURSE)
    page.clock.install()

    row = page.locator("tr", has_text="Nightingale")
    expect(row).to_contain_text("Checklist to do")
    row.get_by_role("link", name="Pre-infusion checklist").click()
    answer(page, "1. Is treatment authorized", "Yes")
    for question in ("2. In the past month", "3. Any condition", "4. In the past month", "5."):
        answer(page, question, "No")
    page.get_by_role("button", name="Record checklist and plan the infusion").click()

    expect(page.get_by_text("Cleared to start.")).to_be_visible()
    page.get_by_role("button", name="Start infusion now").click()
    expect(page.get_by_text(re.compile(r"Earliest stop: \d\d:\d\d"))).to_be_visible()
    infusion = Infusion.objects.get(patient=patient)
    assert infusion.status == InfusionStatus.RUNNING

    # Stopping before 60 min asks for the reason and a confirmation.
    expect(page.get_by_role("button", name="Stop infusion now")).to_be_hidden()
    page.get_by_text(re.compile(r"Stop before \d\d:\d\d")).click()
    page.get_by_label("Why stop now?").fill("Patient asked to stop")
    page.get_by_label("Yes, stop the infusion early").check()
    page.get_by_role("button", name="Stop early").click()
    countdown = page.locator(".observation [data-countdown-to]")
    expect(countdown).to_have_text(re.compile(r"^(60:00|59:\d\d)$"))
    before = countdown.inner_text()
    page.clock.run_for(3000)
    expect(countdown).not_to_have_text(before)
    expect(page.get_by_role("button", name="Discharge patient")).to_be_hidden()

    page.clock.run_for(60 * 60 * 1000)
    expect(countdown).to_have_text("complete")
    expect(page.get_by_text("Observation complete.")).to_be_visible()
    expect(page.get_by_role("button", name="Discharge patient")).to_be_visible()


def test_a_blocked_start_shows_why(login, live_server, users) -> None:  # noqa: ANN001
    patient = make_cleared_patient()
    checklist = make_checklist(patient, users[NURSE], new_neurological_symptoms=True)
    infusion = make_infusion(patient, checklist=checklist)
    page = login(NURSE)
    page.goto(f"{live_server.url}/nurse/infusions/{infusion.id}/")

    # No start is offered: one box says why, before any click.
    expect(page.get_by_role("button", name="Start infusion now")).to_have_count(0)
    reasons = page.locator(".clearance-status")
    expect(reasons).to_have_count(1)
    expect(reasons).to_contain_text("Not ready to start.")
    expect(reasons).to_contain_text("prescriber")
    expect(reasons).to_contain_text("INF-CHECKLIST")
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED


def test_a_pharmacists_bag_turns_amber_then_red_at_expiry_without_a_reload(
    login,
    live_server,  # noqa: ANN001
) -> None:
    now = clock.now()
    # Two minutes of stability left: inside the amber hour.
    bag = make_preparation(
        make_patient(family_name="Florence"), prepared_at=now - timedelta(hours=8, minutes=-2)
    )
    page = login("pharmacist")
    # The tablet's clock is three hours slow: the countdown must follow the server's.
    page.clock.install(time=now - timedelta(hours=3))
    page.reload()
    page.evaluate("window.notReloaded = true")

    row = page.locator(f"#bag-{bag.id}")
    expect(row).to_have_class(re.compile(r"\bis-warning\b"))
    expect(row.locator("[data-countdown-to]")).to_have_text(re.compile(r"^0[12]:\d\d$"))
    expect(row.get_by_text("Expired: do not infuse")).to_be_hidden()

    page.clock.run_for(150_000)

    expect(row).to_have_class(re.compile(r"\bis-done\b"))
    expect(row.locator("[data-countdown-to]")).to_have_text("Expired")
    expect(row.get_by_text("Expired: do not infuse")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_a_neurologist_sees_the_liver_alert_opens_the_chart_and_suspends(
    login,
    live_server,  # noqa: ANN001
) -> None:
    patient = make_patient(family_name="Hepatic")
    LabResult.objects.create(
        patient=patient,
        analyte="ALT",
        value=Decimal("128"),
        unit="U/L",
        reference_low=Decimal("7"),
        reference_high=Decimal("40"),
        collected_at=clock.now() - timedelta(days=1),
    )
    evaluate_patient(patient.id)
    assert Alert.objects.filter(patient=patient, rule="LIVER-3XULN", status="open").exists()
    page = login("neurologist")

    row = page.locator("tr", has_text="Hepatic")
    expect(row).to_contain_text("LIVER-3XULN")
    expect(row).to_contain_text("3.20 x ULN")
    row.get_by_role("link", name=re.compile("Hepatic")).click()

    expect(page.locator("#chart-liver")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-liver')")
    limit = page.evaluate(
        """() => Object.values(Chart.getChart('chart-liver').options.plugins.annotation.annotations)
                 .filter(a => a.type === 'line').map(a => [a.yMin, a.label.content])"""
    )
    assert limit == [[120, "3 × ULN (ALT): 120 U/L"]]

    page.get_by_label("Suspend treatment").check()
    page.get_by_label("Reason").fill("ALT 3.2 x ULN: suspend until it falls")
    page.get_by_role("button", name="Record decision").click()

    expect(page.get_by_text("Decision recorded: suspend.")).to_be_visible()
    expect(page.locator("#treatment-status")).to_have_text("Suspended")
    expect(page.locator("#timeline")).to_contain_text("ALT 3.2 x ULN: suspend until it falls")
    patient.refresh_from_db()
    assert patient.treatment_status == TreatmentStatus.SUSPENDED
