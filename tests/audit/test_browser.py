"""The privacy officer's afternoon in a real browser: a neurologist opens a patient and
changes the record; the auditor finds both by the patient's MRN, reads the change side by
side, and prints the patient's access report."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from patients.models import Patient
from tests.factories import make_cleared_patient

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_the_auditor_finds_who_read_and_changed_a_patient_and_prints_the_report(
    login: Callable[[str], Page],
    live_server: object,
    make_user: Callable[..., User],
    tmp_path: Path,
) -> None:
    patient = make_cleared_patient(given_name="Maren")
    base = live_server.url  # type: ignore[attr-defined]

    page = login("neurologist")
    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maren")
    neurologist = User.objects.get(groups__name="neurologist").username
    Patient.objects.filter(pk=patient.pk).update(pregnant=True)  # a write outside any page
    page.get_by_role("button", name="Log out").click()

    page = login("auditor")
    expect(page).to_have_url(f"{base}/audit/")
    expect(page.get_by_role("link", name="Audit")).to_have_attribute("aria-current", "page")
    page.get_by_label("Patient").fill(patient.mrn)
    page.get_by_label("Username").fill(neurologist)
    page.get_by_label("Action").select_option("read")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#audit-entries tbody tr")
    # The page and what it fetched for itself: each a read by the neurologist, from the page.
    expect(rows.first).to_contain_text(f"{neurologist} (neurologist)")
    expect(rows.filter(has_not_text="patients:")).to_have_count(0)

    page.get_by_label("Username").fill("")
    page.get_by_label("Action").select_option("update")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("system")
    rows.first.get_by_role("link", name="Details").click()
    change = page.locator("#entry-changes tr", has_text="pregnant")
    expect(change.locator("td").nth(0)).to_have_text("false")
    expect(change.locator("td").nth(1)).to_have_text("true")
    # With UPDATE_SCREENSHOTS=1 they replace the ones README.md shows; else a temporary folder.
    shots = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "audit-entry.png"), full_page=True)

    page.locator("#entry-facts").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Access report")).to_be_visible()
    expect(page.locator("#report-patient")).to_contain_text(patient.mrn)
    report = page.locator("#report-entries tbody")
    expect(report).to_contain_text("read")
    expect(report).to_contain_text("update")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    page.screenshot(path=str(shots / "audit-access-report-print.png"), full_page=True)
