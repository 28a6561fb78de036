"""Each role's main page on the demo data (manage.py loaddemo), as a ward tablet shows it.

The screenshots land in a temporary folder; with UPDATE_SCREENSHOTS=1 they replace the ones
in docs/screenshots/ that README.md shows.
"""

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from alerts.evaluation import evaluate_patients
from natalizumab_monitor import clock
from patients.models import Infection, Patient
from tests.browser import sign_in_through_pages
from tests.factories import make_cleared_patient

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def answer_all_no(page: Page) -> None:
    page.get_by_role("group", name=re.compile(r"1\. Is treatment authorized")).get_by_label(
        "Yes"
    ).check()
    for question in ("2. In the past month", "3. Any condition", "4. In the past month", "5."):
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label("No").check()


def sign_in(page: Page, url: str, username: str) -> None:
    sign_in_through_pages(page, url, username, "demo-password")


def test_each_roles_main_page_on_the_demo_data(
    page: Page,
    live_server,
    make_user,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    make_user("nurse")  # the role groups, which a transactional test flushes, exist again
    call_command("loaddemo", verbosity=0)
    # Raise the demo's alerts here, whether or not a worker is listening.
    # Two more patients due today: one the rules hold, one without a bag yet.
    infected = make_cleared_patient(given_name="Yusuf", family_name="Ahmed")
    Infection.objects.create(
        patient=infected, description="Chest infection", onset_on=clock.clinic_today()
    )
    make_cleared_patient(given_name="Ana", family_name="Novak")
    evaluate_patients(Patient.objects.values_list("id", flat=True))
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server.url, "nurse")
    expect(page.get_by_role("heading", name="Today's infusions")).to_be_visible()
    expect(page.locator("tr", has_text="Mensah")).to_be_visible()
    page.screenshot(path=folder / "nurse.png", full_page=True)

    # A visit of the day: the checklist, then the infusion page with its confirmation step.
    page.locator("tr", has_text="Mensah").get_by_role("link", name="Pre-infusion checklist").click()
    answer_all_no(page)
    page.get_by_role("button", name="Record checklist and plan the infusion").click()
    expect(page.get_by_text("Cleared to start.")).to_be_visible()
    page.get_by_text("Cancel this visit…").click()
    page.screenshot(path=folder / "nurse-infusion.png", full_page=True)

    # A patient the rules hold: one box of reasons, no start button.
    page.goto(f"{live_server.url}/nurse/today/")
    held = page.locator("tr", has_text="Ahmed")
    expect(held).to_contain_text("Not cleared")
    page.screenshot(path=folder / "nurse.png", full_page=True)
    held.get_by_role("link", name=re.compile("checklist")).click()
    answer_all_no(page)
    page.get_by_role("button", name="Record checklist and plan the infusion").click()
    expect(page.get_by_text("Not cleared to start.")).to_be_visible()
    page.screenshot(path=folder / "nurse-infusion-not-cleared.png", full_page=True)

    # A cleared checklist without a bag asks the pharmacy for one.
    page.goto(f"{live_server.url}/nurse/today/")
    page.locator("tr", has_text="Novak").get_by_role("link", name=re.compile("checklist")).click()
    answer_all_no(page)
    page.get_by_role("button", name="Record checklist and plan the infusion").click()
    expect(page.get_by_text("the pharmacy is asked for the bag")).to_be_visible()

    sign_in(page, live_server.url, "pharmacist")
    expect(page.locator(".bags-needed")).to_contain_text("Novak")
    expect(page.get_by_role("heading", name="Today's bags")).to_be_visible()
    expect(page.locator("tr", has_text="Mensah")).to_contain_text("Ready")
    page.screenshot(path=folder / "pharmacist.png", full_page=True)

    sign_in(page, live_server.url, "neurologist")
    expect(page.get_by_role("heading", name="Patients needing attention")).to_be_visible()
    expect(page.locator("tr", has_text="Okafor")).to_contain_text("LIVER-3XULN")
    page.screenshot(path=folder / "neurologist-worklist.png", full_page=True)

    okafor = Patient.objects.get(mrn="DEMO-0001")
    page.goto(f"{live_server.url}/patients/{okafor.id}/")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-liver')")
    page.screenshot(path=folder / "neurologist-patient.png", full_page=True)

    shots = ("nurse", "nurse-infusion", "nurse-infusion-not-cleared", "pharmacist")
    for name in (*shots, "neurologist-worklist", "neurologist-patient"):
        assert (folder / f"{name}.png").stat().st_size > 10_000


def test_notifications_lab_entry_and_an_error_page_on_the_demo_data(
    page: Page,
    live_server,
    make_user,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    make_user("nurse")  # the role groups, which a transactional test flushes, exist again
    call_command("loaddemo", verbosity=0)  # sweeps: the demo's critical alerts notify
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server.url, "neurologist")
    page.get_by_role("link", name="unread notification").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.locator(".notification-item.unread", has_text="Okafor, Margaret")).to_be_visible()
    page.screenshot(path=folder / "neurologist-notifications.png", full_page=True)

    okafor = Patient.objects.get(mrn="DEMO-0001")
    page.goto(f"{live_server.url}/patients/{okafor.id}/labs/new/")
    page.get_by_label("Analyte").select_option("TSH")
    expect(page.locator("#id_unit")).to_have_value("m[IU]/L")
    page.screenshot(path=folder / "neurologist-lab-entry.png", full_page=True)

    page.goto(f"{live_server.url}/patients/{okafor.id}/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.screenshot(path=folder / "not-found.png", full_page=True)

    for name in ("neurologist-notifications", "neurologist-lab-entry", "not-found"):
        assert (folder / f"{name}.png").stat().st_size > 10_000
