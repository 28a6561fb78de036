"""axe-core (from npm) in Chromium: every page of every role, on the demo data, has no
violation of impact "serious" or "critical".

Each role signs in through the login page and opens each of its pages: the lists, every
patient's page, the forms (empty and refused), the nurse's infusion page in each state, the
notifications, and the styled error pages. The failure names each violation with its rule id,
its help text and the elements (nodes) it was found on.
"""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page

from audit.models import AuditEntry
from infusions.models import DosePreparation, Infusion, InfusionStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import API_CLIENT, AUDITOR, INTERFACE, NURSE
from patients.models import Patient
from tests.factories import make_checklist, make_infusion, make_preparation

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary.split("\\n").join(" "))
  }));
}"""


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical violations of the page as it stands now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]


class Audit:
    """Runs axe on pages and keeps every serious or critical violation, page by page."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.found: dict[str, list[dict[str, Any]]] = {}
        self.visited: list[str] = []

    def check(self, label: str, path: str | None = None, *, expect: int = 200) -> None:
        if path is not None:
            response = self.page.goto(f"{self.base}{path}")
            assert response is not None and response.status == expect, (label, path)
        self.page.wait_for_load_state("networkidle")
        self.visited.append(label)
        violations = axe_violations(self.page)
        if violations:
            self.found[label] = violations

    def report(self) -> str:
        lines = []
        for label, violations in self.found.items():
            for v in violations:
                lines.append(f"{label}: [{v['impact']}] {v['id']}: {v['help']}")
                lines.extend(f"    {node}" for node in v["nodes"][:5])
        return "\n".join(lines)


def visit_states(nurse: User) -> dict[str, Infusion]:
    """The nurse's infusion page in each state: planned, running, in observation, done."""
    today_patient = Patient.objects.get(mrn="DEMO-0005")
    bag = DosePreparation.objects.filter(patient=today_patient, status="ready").first()
    planned = make_infusion(
        today_patient,
        preparation=bag or make_preparation(today_patient),
        checklist=make_checklist(today_patient, nurse),
    )
    running_patient = Patient.objects.get(mrn="DEMO-0006")
    running = make_infusion(
        running_patient,
        checklist=make_checklist(running_patient, nurse),
        status=InfusionStatus.RUNNING,
        started_at=clock.now() - timedelta(minutes=20),
        nurse=nurse,
    )
    observed_patient = Patient.objects.get(mrn="DEMO-0002")
    observed = make_infusion(
        observed_patient,
        checklist=make_checklist(observed_patient, nurse),
        status=InfusionStatus.STOPPED,
        started_at=clock.now() - timedelta(minutes=80),
        ended_at=clock.now() - timedelta(minutes=15),
        nurse=nurse,
    )
    done = Infusion.objects.filter(status=InfusionStatus.DISCHARGED).first()
    assert done is not None
    return {"planned": planned, "running": running, "observation": observed, "discharged": done}


def test_no_serious_or_critical_violation_on_any_page_of_any_role(
    page: Page, live_server: Any, make_user: Callable[..., User]
) -> None:
    make_user(NURSE)  # the role groups, which a transactional test flushes, exist again
    call_command("loaddemo", verbosity=0)
    nurse = User.objects.get(username="nurse")
    infusions = visit_states(nurse)
    patients = list(Patient.objects.order_by("mrn"))
    audit = Audit(page, live_server.url)

    page.goto(f"{live_server.url}/accounts/login/")
    audit.check("login")
    page.get_by_role("button", name="Sign in").click()  # refused: the form with its errors
    audit.check("login refused")

    sign_in(page, live_server.url, "nurse", "demo-password")
    audit.check("nurse: today's infusions", reverse("infusions:today"))
    for state, infusion in infusions.items():
        audit.check(f"nurse: infusion {state}", reverse("infusions:infusion", args=[infusion.id]))
    for patient in patients:
        audit.check(
            f"nurse: checklist {patient.mrn}", reverse("infusions:checklist", args=[patient.id])
        )
    audit.check("nurse: notifications", reverse("alerts:notifications"))

    sign_in(page, live_server.url, "pharmacist", "demo-password")
    audit.check("pharmacist: bag board", reverse("infusions:bags"))
    audit.check("pharmacist: record a preparation", reverse("infusions:prepare"))
    page.locator("form.form button[type=submit]").last.click()
    audit.check("pharmacist: preparation refused")
    audit.check("pharmacist: notifications", reverse("alerts:notifications"))

    sign_in(page, live_server.url, "neurologist", "demo-password")
    audit.check("neurologist: worklist", reverse("patients:worklist"))
    for patient in patients:
        audit.check(
            f"neurologist: patient {patient.mrn}", reverse("patients:detail", args=[patient.id])
        )
    first = patients[0]
    for form in (
        "labs:lab_result_new",
        "labs:antibody_test_new",
        "labs:mri_study_new",
        "patients:edss_new",
        "patients:relapse_new",
        "patients:medication_new",
        "patients:infection_new",
    ):
        audit.check(f"neurologist: {form}", reverse(form, args=[first.id]))
        page.get_by_role("button", name="Save").click()
        audit.check(f"neurologist: {form} refused")
    audit.check("neurologist: notifications", reverse("alerts:notifications"))
    audit.check("page not found", "/no-such-page/", expect=404)
    audit.check("not for this role", reverse("infusions:today"), expect=403)
    audit.check("action address opened", reverse("alerts:notifications_read_all"), expect=405)

    make_user(AUDITOR, username="privacy-officer")
    sign_in(page, live_server.url, "privacy-officer", "pw-for-tests-1")
    audit.check("auditor: audit search", reverse("audit:search"))
    entry = AuditEntry.objects.order_by("-pk").first()
    if entry is not None:
        audit.check("auditor: audit entry", reverse("audit:entry", args=[entry.pk]))
    audit.check("auditor: access report", reverse("audit:access_report", args=[first.id]))

    for role in (API_CLIENT, INTERFACE):
        make_user(role, username=f"{role}-user")
        sign_in(page, live_server.url, f"{role}-user", "pw-for-tests-1")
        audit.check(f"{role}: home")

    assert len(audit.visited) > 30
    assert not audit.found, "axe found serious or critical violations:\n" + audit.report()
