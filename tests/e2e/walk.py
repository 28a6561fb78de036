"""Every page of every role on the demo data, for the checks that must hold on each of them
(accessibility with axe, the Content-Security-Policy): one walk, so no page is forgotten by one
check and visited by the other."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page

from audit.models import AuditEntry
from infusions.models import DosePreparation, Infusion, InfusionStatus
from natalizumab_monitor import clock
from natalizumab_monitor.roles import API_CLIENT, AUDITOR, INTERFACE, NURSE
from network.models import Site
from patients.models import Patient
from tests.browser import sign_in_through_pages as sign_in
from tests.factories import make_checklist, make_infusion, make_preparation


class Check(Protocol):
    def __call__(self, label: str, path: str | None = None, *, expect: int = 200) -> None: ...


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


def walk_every_page(
    page: Page, live_server: Any, make_user: Callable[..., User], check: Check
) -> None:
    """Sign in as each role and open each of its pages (lists, every patient, the forms empty
    and refused, the infusion page in each state, notifications, error pages), calling
    `check(label, path)` on each: with a path it opens it, without it checks the page as it
    stands after an action."""
    make_user(NURSE)  # the role groups, which a transactional test flushes, exist again
    call_command("loaddemo", verbosity=0)
    nurse = User.objects.get(username="nurse")
    infusions = visit_states(nurse)
    patients = list(Patient.objects.order_by("mrn"))

    page.goto(f"{live_server.url}/accounts/login/")
    check("login")
    page.get_by_role("button", name="Sign in").click()  # refused: the form with its errors
    check("login refused")

    sign_in(page, live_server.url, "nurse", "demo-password")
    check("nurse: today's infusions", reverse("infusions:today"))
    for state, infusion in infusions.items():
        check(f"nurse: infusion {state}", reverse("infusions:infusion", args=[infusion.id]))
    for patient in patients:
        check(f"nurse: checklist {patient.mrn}", reverse("infusions:checklist", args=[patient.id]))
    check("nurse: notifications", reverse("alerts:notifications"))

    sign_in(page, live_server.url, "pharmacist", "demo-password")
    check("pharmacist: bag board", reverse("infusions:bags"))
    check("pharmacist: record a preparation", reverse("infusions:prepare"))
    page.locator("form.form button[type=submit]").last.click()
    check("pharmacist: preparation refused")
    check("pharmacist: notifications", reverse("alerts:notifications"))

    sign_in(page, live_server.url, "neurologist", "demo-password")
    check("neurologist: worklist", reverse("patients:worklist"))
    for patient in patients:
        check(f"neurologist: patient {patient.mrn}", reverse("patients:detail", args=[patient.id]))
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
        check(f"neurologist: {form}", reverse(form, args=[first.id]))
        page.get_by_role("button", name="Save").click()
        check(f"neurologist: {form} refused")
    check("neurologist: notifications", reverse("alerts:notifications"))
    check("page not found", "/no-such-page/", expect=404)
    check("not for this role", reverse("infusions:today"), expect=403)
    check("action address opened", reverse("alerts:notifications_read_all"), expect=405)

    officer = make_user(AUDITOR, username="privacy-officer")
    for site in Site.objects.all():  # the network's privacy officer
        site.staff.add(officer)
    sign_in(page, live_server.url, "privacy-officer", "pw-for-tests-1")
    check("auditor: audit search", reverse("audit:search"))
    entry = AuditEntry.objects.order_by("-pk").first()
    if entry is not None:
        check("auditor: audit entry", reverse("audit:entry", args=[entry.pk]))
    check("auditor: access report", reverse("audit:access_report", args=[first.id]))

    for role in (API_CLIENT, INTERFACE):
        make_user(role, username=f"{role}-user")
        sign_in(page, live_server.url, f"{role}-user", "pw-for-tests-1")
        check(f"{role}: home")
