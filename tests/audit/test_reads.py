"""Every response that shows a patient leaves one entry naming exactly the patients shown;
a health check, a static file or a refusal leaves none."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEntry
from infusions.page_selectors import todays_infusion_list
from labs.models import LabResult
from natalizumab_monitor import clock
from patients.models import Patient
from tests.api.conftest import make_alert
from tests.factories import make_cleared_patient, make_patient, make_preparation

from .conftest import entries_since, last_id

pytestmark = pytest.mark.django_db
N, P, D, C = "nurse", "pharmacist", "neurologist", "api-client"


def _reads(mark: int) -> list[AuditEntry]:
    return entries_since(mark, action="read")


def _api(users: dict[str, User], role: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(users[role])
    return client


def _lab(patient: Patient, hours: int = 1) -> LabResult:
    return LabResult.objects.create(
        patient=patient,
        analyte="ALT",
        value=20,
        unit="U/L",
        reference_high=40,
        collected_at=clock.now() - timedelta(hours=hours),
    )


def test_the_patient_page_names_its_patient(
    users: dict[str, User], page_as: Callable[[str], Client]
) -> None:
    patient, other = make_cleared_patient(), make_cleared_patient()
    client = page_as(D)
    mark = last_id()
    response = client.get(f"/patients/{patient.pk}/", REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200
    [entry] = _reads(mark)
    assert entry.patients == [str(patient.pk)] and str(other.pk) not in entry.patients
    assert (entry.username, entry.role, entry.via, entry.remote_addr) == (D, D, "page", "10.0.0.7")
    assert entry.record_type == "patients:detail"
    assert entry.request_id == response["X-Request-ID"]


def test_the_worklist_names_exactly_the_patients_it_lists(
    users: dict[str, User], page_as: Callable[[str], Client]
) -> None:
    listed = [make_patient(), make_patient()]
    for patient in listed:
        make_alert(patient)
    quiet = make_patient()
    client = page_as(D)
    mark = last_id()
    assert client.get("/worklist/").status_code == 200
    [entry] = _reads(mark)
    assert sorted(entry.patients) == sorted(str(p.pk) for p in listed)
    assert str(quiet.pk) not in entry.patients


def test_the_nurses_list_and_the_bag_board_name_the_patients_they_show(
    users: dict[str, User], page_as: Callable[[str], Client]
) -> None:
    due = make_cleared_patient()
    make_preparation(due)
    later = make_patient(treatment_start=clock.clinic_today() + timedelta(days=30))
    make_preparation(later)
    make_patient(treatment_start=clock.clinic_today() + timedelta(days=30))  # no bag, not due
    shown_today = {str(row.patient.pk) for row in todays_infusion_list(site=None)}
    assert str(due.pk) in shown_today and str(later.pk) not in shown_today

    mark = last_id()
    assert page_as(N).get("/nurse/today/").status_code == 200
    [entry] = _reads(mark)
    assert set(entry.patients) == shown_today

    mark = last_id()
    assert page_as(P).get("/pharmacy/bags/").status_code == 200
    [entry] = _reads(mark)
    assert set(entry.patients) == {str(due.pk), str(later.pk)}


def test_an_api_page_of_fifty_is_one_insert_naming_exactly_its_fifty(
    users: dict[str, User],
) -> None:
    patients = [make_patient() for _ in range(51)]
    for hours, patient in enumerate(patients, start=1):
        _lab(patient, hours=hours)
    client = _api(users, D)
    mark = last_id()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/lab-results/?page_size=50")
    assert response.status_code == 200
    shown = {row["patient"] for row in response.json()["results"]}
    assert len(shown) == 50
    [entry] = _reads(mark)
    assert set(entry.patients) == shown  # not the 51st row the cursor looked ahead at
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "audit_auditentry"' in q["sql"]]
    assert len(inserts) == 1
    assert (entry.via, entry.record_type) == ("api", "lab-result-list")


@pytest.mark.parametrize("suffix", ["", "findings/", "clearance/"])
def test_an_api_read_of_one_patient_names_that_patient(users: dict[str, User], suffix: str) -> None:
    patient, other = make_cleared_patient(), make_cleared_patient()
    mark = last_id()
    response = _api(users, D).get(f"/api/v1/patients/{patient.pk}/{suffix}")
    assert response.status_code == 200
    [entry] = _reads(mark)
    assert entry.patients == [str(patient.pk)] and str(other.pk) not in entry.patients


def test_the_alert_feed_names_the_patients_of_its_alerts_for_a_token_client(
    users: dict[str, User],
) -> None:
    first, second, silent = make_patient(), make_patient(), make_patient()
    make_alert(first)
    make_alert(second)
    mark = last_id()
    response = _api(users, C).get("/api/v1/alerts/")
    assert response.status_code == 200
    [entry] = _reads(mark)
    assert sorted(entry.patients) == sorted([str(first.pk), str(second.pk)])
    assert (entry.username, entry.role) == (C, C)
    assert str(silent.pk) not in entry.patients


def test_health_static_files_and_refusals_leave_no_read(
    users: dict[str, User], page_as: Callable[[str], Client]
) -> None:
    patient = make_cleared_patient()
    mark = last_id()
    Client().get("/health/")
    assert Client().get("/static/css/app.css").status_code == 200
    assert page_as(N).get(f"/patients/{patient.pk}/").status_code == 403
    assert _api(users, C).get("/api/v1/lab-results/").status_code == 403
    assert _reads(mark) == []


def test_with_the_audit_off_a_read_leaves_no_entry(users: dict[str, User], settings: Any) -> None:
    patient = make_cleared_patient()
    settings.AUDIT_ENABLED = False
    mark = last_id()
    assert _api(users, D).get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert _reads(mark) == []
