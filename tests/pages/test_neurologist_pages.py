"""The neurologist's pages: worklist, patient page, decisions, alerts and record forms."""

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from alerts.health import SWEEP, TIMERS
from alerts.models import AlertStatus, Heartbeat
from labs.models import AntibodyTest, LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE
from patients.models import EdssAssessment, Infection, Medication, TreatmentStatus
from patients.page_selectors import WORKLIST_PAGE_SIZE
from tests.factories import make_checklist, make_cleared_patient, make_infusion, make_patient

from .conftest import make_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def neurologist(client_as: Callable[[str | None], Client]) -> Client:
    return client_as(NEUROLOGIST)


def field_error(page: str, field: str) -> str:
    assert f'id="id_{field}-error"' in page, f"no error beside {field}"
    return page.split(f'id="id_{field}-error">', 1)[1].split("</p>", 1)[0]


def lab(patient: Any, analyte: str, value: str, high: str = "40", days_ago: int = 1) -> LabResult:
    return LabResult.objects.create(
        patient=patient,
        analyte=analyte,
        value=Decimal(value),
        unit="U/L",
        reference_low=Decimal("7"),
        reference_high=Decimal(high),
        collected_at=clock.now() - timedelta(days=days_ago),
    )


def test_the_worklist_puts_the_worst_and_longest_waiting_first(neurologist: Client) -> None:
    warning_old = make_patient(family_name="WarningOld")
    make_alert(warning_old, severity="warning", rule="MRI-DUE", age=timedelta(days=30))
    critical_new = make_patient(family_name="CriticalNew")
    make_alert(critical_new, severity="critical", age=timedelta(hours=2))
    make_alert(critical_new, severity="info", rule="POP-ELDERLY", age=timedelta(days=90))
    critical_old = make_patient(family_name="CriticalOld")
    make_alert(critical_old, severity="critical", age=timedelta(days=3))
    quiet = make_patient(family_name="Quiet")
    make_alert(quiet, status=AlertStatus.RESOLVED)

    page = neurologist.get(reverse("patients:worklist")).content.decode()

    order = [page.index(name) for name in ("CriticalNew", "CriticalOld", "WarningOld")]
    assert "Quiet" not in page
    # Worst severity first; within it, the oldest standing alert (90 days) first.
    assert order == sorted(order)


def test_the_worklist_filters_by_severity_and_rule(neurologist: Client) -> None:
    liver = make_patient(family_name="Liver")
    make_alert(liver, rule="LIVER-3XULN", severity="critical")
    mri = make_patient(family_name="Imaging")
    make_alert(mri, rule="MRI-DUE", severity="warning", action="remind")

    by_severity = neurologist.get(reverse("patients:worklist"), {"severity": "warning"})
    by_rule = neurologist.get(
        reverse("patients:worklist"), {"rule": "LIVER-3XULN"}, HTTP_HX_REQUEST="true"
    )

    assert "Imaging" in by_severity.content.decode()
    assert "Liver" not in by_severity.content.decode()
    assert "Liver" in by_rule.content.decode()
    assert "Imaging" not in by_rule.content.decode()
    assert "<html" not in by_rule.content.decode()


def test_the_worklist_is_paginated(neurologist: Client) -> None:
    for n in range(WORKLIST_PAGE_SIZE + 2):
        make_alert(make_patient(family_name=f"P{n:03d}"), age=timedelta(minutes=n))
    first = neurologist.get(reverse("patients:worklist")).content.decode()
    second = neurologist.get(reverse("patients:worklist"), {"page": 2}).content.decode()
    assert "Page 1 of 2" in first
    assert "P000" in second and "P001" in second
    assert "P000" not in first


def test_the_patient_page_shows_alerts_pml_risk_charts_and_timeline(neurologist: Client) -> None:
    patient = make_patient()
    lab(patient, "ALT", "20", days_ago=90)
    lab(patient, "ALT", "128", days_ago=1)
    lab(patient, "AST", "30", days_ago=1)
    AntibodyTest.objects.create(
        patient=patient,
        target="jcv",
        result="positive",
        index=Decimal("1.8"),
        collected_at=clock.now() - timedelta(days=10),
    )
    make_alert(patient, message="ALT 128 U/L is 3.20 x ULN")

    response = neurologist.get(reverse("patients:detail", args=[patient.id]))
    page = response.content.decode()

    assert "ALT 128 U/L is 3.20 x ULN" in page
    assert "Acknowledge" in page
    assert "anti-JCV antibody positive" in page
    assert "PML cases per 1000 anti-JCV antibody positive patients" in page
    assert "Source: " in page and "boxed warning" in page
    charts = json.loads(
        page.split('id="chart-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    liver_lines = charts["liver"]["lines"]
    assert [line["value"] for line in liver_lines] == [120.0]
    assert [p["y"] for p in charts["liver"]["series"][0]["points"]] == [20.0, 128.0]
    assert "ALT 128 U/L (7–40)" in page
    assert "Anti-JCV antibodies" in page
    assert "Last sweep" in page or "last sweep" in page


def test_chart_data_cannot_inject_html(neurologist: Client) -> None:
    patient = make_patient()
    Infection.objects.create(
        patient=patient,
        description="</script><script>alert(1)</script>",
        onset_on=clock.clinic_today(),
    )
    page = neurologist.get(reverse("patients:detail", args=[patient.id])).content.decode()
    assert "<script>alert(1)</script>" not in page


def test_a_decision_needs_a_reason_and_shows_in_the_timeline(neurologist: Client) -> None:
    patient = make_patient()
    url = reverse("patients:decide", args=[patient.id])

    refused = neurologist.post(url, {"action": "suspend", "reason": "  "})
    assert refused.status_code == 400
    assert field_error(refused.content.decode(), "reason")
    patient.refresh_from_db()
    assert patient.treatment_status == TreatmentStatus.ACTIVE

    done = neurologist.post(url, {"action": "suspend", "reason": "ALT 3.2 x ULN"}, follow=True)
    patient.refresh_from_db()
    timeline = done.content.decode().split('id="timeline"', 1)[1]
    assert patient.treatment_status == TreatmentStatus.SUSPENDED
    assert "Decision: Suspend" in timeline
    assert "ALT 3.2 x ULN" in timeline


def test_an_override_must_name_its_rule(neurologist: Client, users: dict[str, Any]) -> None:
    patient = make_patient()
    # A "yes" on the visit's checklist holds the infusion: the one finding an override may name.
    make_infusion(patient, checklist=make_checklist(patient, users[NURSE], current_infection=True))
    response = neurologist.post(
        reverse("patients:decide", args=[patient.id]),
        {"action": "override", "reason": "Cleared by phone"},
    )
    assert "must name the rule" in field_error(response.content.decode(), "rule")

    neurologist.post(
        reverse("patients:decide", args=[patient.id]),
        {"action": "override", "rule": "INF-CHECKLIST", "reason": "Cleared by phone"},
    )
    assert patient.decisions.get().rule == "INF-CHECKLIST"


def test_alerts_are_acknowledged_and_resolved_with_a_note(neurologist: Client) -> None:
    patient = make_patient()
    alert = make_alert(patient)

    acknowledged = neurologist.post(
        reverse("alerts:acknowledge", args=[alert.id]), HTTP_HX_REQUEST="true"
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert "Acknowledged by" in acknowledged.content.decode()

    no_note = neurologist.post(
        reverse("alerts:resolve", args=[alert.id]), {"note": ""}, HTTP_HX_REQUEST="true"
    )
    assert "needs a written note" in no_note.content.decode()
    neurologist.post(reverse("alerts:resolve", args=[alert.id]), {"note": "Repeat ALT normal"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolution_note == "Repeat ALT normal"


@pytest.mark.parametrize(
    ("name", "data", "field", "words"),
    [
        (
            "labs:lab_result_new",
            {
                "analyte": "ALT",
                "value": "50",
                "unit": "pmol/L",
                "reference_high": "40",
                "collected_at": "2026-01-01T09:00",
            },
            "unit",
            "U/L",
        ),
        (
            "labs:lab_result_new",
            {
                "analyte": "ALT",
                "value": "-1",
                "unit": "U/L",
                "reference_high": "40",
                "collected_at": "2026-01-01T09:00",
            },
            "value",
            "negative",
        ),
        (
            "labs:antibody_test_new",
            {
                "target": "natalizumab",
                "result": "positive",
                "index": "1.2",
                "collected_at": "2026-01-01T09:00",
            },
            "index",
            "Only an anti-JCV",
        ),
        (
            "labs:mri_study_new",
            {
                "performed_on": "2026-01-01",
                "gd_enhancing_lesions": "-2",
                "new_or_enlarging_t2_lesions": "0",
            },
            "gd_enhancing_lesions",
            "negative",
        ),
        ("patients:edss_new", {"score": "3.3", "assessed_on": "2026-01-01"}, "score", "0.5"),
        ("patients:relapse_new", {"onset_on": "2999-01-01"}, "onset_on", "future"),
        (
            "patients:medication_new",
            {
                "name": "Methotrexate",
                "category": "immunosuppressant",
                "started_on": "2026-02-01",
                "stopped_on": "2026-01-01",
            },
            "stopped_on",
            "before",
        ),
        (
            "patients:infection_new",
            {"description": "", "onset_on": "2026-01-01"},
            "description",
            "required",
        ),
    ],
)
def test_record_forms_show_the_services_errors_beside_the_field(
    neurologist: Client, name: str, data: dict[str, str], field: str, words: str
) -> None:
    patient = make_patient(birth_date=clock.clinic_today().replace(year=1980))
    response = neurologist.post(reverse(name, args=[patient.id]), data)
    assert response.status_code == 400
    assert words in field_error(response.content.decode(), field)


def test_record_forms_save_through_the_services(neurologist: Client) -> None:
    patient = make_patient()
    today = clock.clinic_today().isoformat()
    now = clock.now().astimezone(clock.clinic_zone()).strftime("%Y-%m-%dT%H:%M")
    posts = [
        (
            "labs:lab_result_new",
            {
                "analyte": "AST",
                "value": "31",
                "unit": "U/L",
                "reference_low": "8",
                "reference_high": "40",
                "collected_at": now,
            },
        ),
        (
            "labs:antibody_test_new",
            {"target": "jcv", "result": "positive", "index": "0.6", "collected_at": now},
        ),
        (
            "labs:mri_study_new",
            {
                "performed_on": today,
                "gd_enhancing_lesions": "1",
                "new_or_enlarging_t2_lesions": "2",
            },
        ),
        ("patients:edss_new", {"score": "3.5", "assessed_on": today}),
        ("patients:relapse_new", {"onset_on": today}),
        (
            "patients:medication_new",
            {"name": "Prednisolone", "category": "corticosteroid", "started_on": today},
        ),
        ("patients:infection_new", {"description": "Cystitis", "onset_on": today}),
    ]
    for name, data in posts:
        response = neurologist.post(reverse(name, args=[patient.id]), data)
        assert response.status_code == 302, (name, response.content.decode()[:2000])
        assert response["Location"] == reverse("patients:detail", args=[patient.id])
    assert EdssAssessment.objects.get(patient=patient).score == Decimal("3.5")
    assert Medication.objects.get(patient=patient).name == "Prednisolone"
    assert patient.mri_studies.get().new_or_enlarging_t2_lesions == 2

    infection = Infection.objects.get(patient=patient)
    neurologist.post(
        reverse("patients:infection_resolved", args=[patient.id, infection.id]),
        {"resolved_on": today},
    )
    infection.refresh_from_db()
    assert infection.resolved_on == clock.clinic_today()


def test_a_refused_resolution_is_shown_beside_its_own_infection(neurologist: Client) -> None:
    patient = make_patient()
    today = clock.clinic_today()
    first = Infection.objects.create(patient=patient, description="Cystitis", onset_on=today)
    second = Infection.objects.create(patient=patient, description="Cold", onset_on=today)

    refused = neurologist.post(
        reverse("patients:infection_resolved", args=[patient.id, second.id]), {"resolved_on": ""}
    )

    page = refused.content.decode()
    assert refused.status_code == 400
    assert f'id="resolved-{second.id}-error">Give the date the infection resolved.' in page
    assert f'id="resolved-{first.id}-error"' not in page


def test_the_patient_page_shows_when_the_background_checks_last_ran(neurologist: Client) -> None:
    patient = make_patient()
    sweep = clock.now().replace(hour=2, minute=5, second=0, microsecond=0) - timedelta(days=1)
    Heartbeat.objects.create(name=SWEEP, last_run_at=sweep)
    Heartbeat.objects.create(name=TIMERS, last_run_at=clock.now())

    page = neurologist.get(reverse("patients:detail", args=[patient.id])).content.decode()

    shown = sweep.astimezone(clock.clinic_zone())
    assert (
        f'last sweep: <time datetime="{shown.isoformat()}">{shown:%-d %b %Y %H:%M}</time>' in page
    )
    assert "last timers run: <time" in page


def test_the_patient_page_says_whether_the_next_infusion_is_cleared(neurologist: Client) -> None:
    cleared = make_cleared_patient()
    suspended = make_cleared_patient(treatment_status=TreatmentStatus.SUSPENDED)

    ok = neurologist.get(reverse("patients:detail", args=[cleared.id])).content.decode()
    held = neurologist.get(reverse("patients:detail", args=[suspended.id])).content.decode()

    assert (
        'Cleared</span> <span class="subtle">(after the visit\'s own steps: checklist, bag)' in ok
    )
    assert "Why the next infusion is not cleared" not in ok
    assert "Why the next infusion is not cleared" in held
    assert "Treatment is suspended" in held
