"""The privacy officer's pages and API: search by patient, user, action and dates; one
entry's before and after; CSV of a selection; the access report. The audit is theirs alone,
and they see no clinical page or endpoint."""

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit import context
from audit.models import AuditEntry
from natalizumab_monitor import clock
from natalizumab_monitor.roles import AUDITOR, ROLES
from patients.models import Patient, Relapse
from tests.factories import make_patient

from .conftest import last_id

pytestmark = pytest.mark.django_db
D = "neurologist"


@pytest.fixture
def history(users: dict[str, User]) -> dict[str, Patient]:
    """Two patients; the neurologist changed one's name and read both through the API."""
    ours, theirs = make_patient(given_name="Ann"), make_patient()
    with context.acting(context.Actor(via="api", user=users[D], remote_addr="10.0.0.5")):
        Patient.objects.filter(pk=ours.pk).update(given_name="Anna")
    reader = APIClient()
    reader.force_authenticate(users[D])
    assert reader.get(f"/api/v1/patients/{ours.pk}/").status_code == 200
    assert reader.get(f"/api/v1/patients/{theirs.pk}/").status_code == 200
    return {"ours": ours, "theirs": theirs}


def _auditor_api(users: dict[str, User]) -> APIClient:
    client = APIClient()
    client.force_authenticate(users[AUDITOR])
    return client


def _all(client: APIClient, query: str) -> list[dict]:
    response = client.get(f"/api/v1/audit/?page_size=2&{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"]
    while body["next"]:
        body = client.get(body["next"]).json()
        rows += body["results"]
    return rows


def test_the_api_filters_by_patient_user_action_and_time_oldest_first(
    users: dict[str, User], history: dict[str, Patient]
) -> None:
    client = _auditor_api(users)
    ours = str(history["ours"].pk)
    about = _all(client, f"patient={ours}")
    assert [row["id"] for row in about] == sorted(row["id"] for row in about)
    assert all(ours in row["patients"] for row in about)
    assert {row["action"] for row in about} >= {"create", "update", "read"}
    [update] = _all(client, f"patient={ours}&action=update&user={D}")
    assert update["changes"] == {"given_name": ["Ann", "Anna"]}
    assert (update["user"], update["role"], update["via"]) == (D, D, "api")
    assert update["record_type"] == "patients.patient" and update["remote_addr"] == "10.0.0.5"
    assert set(update) == {
        "id", "at", "user", "role", "action", "record_type", "record_id", "patients",
        "changes", "via", "request_id", "remote_addr",
    }  # fmt: skip
    reads = _all(client, f"user={D}&action=read")
    assert [row["patients"] for row in reads] == [[ours], [str(history["theirs"].pk)]]
    future = (clock.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert _all(client, f"since={future}") == []
    before = set(AuditEntry.objects.values_list("id", flat=True))
    assert {row["id"] for row in _all(client, f"until={future}")} >= before
    system_creates = _all(client, "action=create")
    assert any(row["user"] is None for row in system_creates)


@pytest.mark.parametrize(
    "query",
    [
        "patient=not-a-uuid",
        "action=peek",
        "since=yesterday",
        "until=2026-13-01T10:00Z",
        "cursor=zz",
    ],
)
def test_bad_filters_are_a_400(users: dict[str, User], query: str) -> None:
    assert _auditor_api(users).get(f"/api/v1/audit/?{query}").status_code == 400


def test_the_access_report_api_lists_who_read_or_changed_the_patient(
    users: dict[str, User], history: dict[str, Patient]
) -> None:
    client = _auditor_api(users)
    ours = history["ours"]
    response = client.get(f"/api/v1/patients/{ours.pk}/access-report/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["action"], r["user"]) for r in rows if r["user"]] == [("update", D), ("read", D)]
    assert all(str(ours.pk) in r["patients"] for r in rows)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/api/v1/patients/{unknown}/access-report/").status_code == 404


def test_the_audit_api_refuses_every_other_role(users: dict[str, User], history: dict) -> None:
    for role in ROLES:
        if role == AUDITOR:
            continue
        client = APIClient()
        client.force_authenticate(users[role])
        assert client.get("/api/v1/audit/").status_code == 403, role
        url = f"/api/v1/patients/{history['ours'].pk}/access-report/"
        assert client.get(url).status_code == 403, role
    assert APIClient().get("/api/v1/audit/").status_code == 401


def test_the_auditor_gets_403_on_clinical_pages_and_endpoints(
    users: dict[str, User], page_as: Callable[[str], Client], history: dict
) -> None:
    pages = page_as(AUDITOR)
    patient = history["ours"].pk
    for url in ("/worklist/", f"/patients/{patient}/", "/nurse/today/", "/pharmacy/bags/"):
        assert pages.get(url).status_code == 403, url
    api = _auditor_api(users)
    for url in (
        "/api/v1/patients/",
        f"/api/v1/patients/{patient}/",
        f"/api/v1/patients/{patient}/findings/",
        "/api/v1/lab-results/",
        "/api/v1/alerts/",
    ):
        assert api.get(url).status_code == 403, url
    home = pages.get("/")
    assert home.status_code == 302 and home["Location"] == reverse("audit:search")


def test_the_search_page_finds_by_patient_mrn_user_and_action_and_links_the_details(
    page_as: Callable[[str], Client], history: dict[str, Patient]
) -> None:
    client = page_as(AUDITOR)
    ours = history["ours"]
    page = client.get("/audit/", {"patient": ours.mrn, "user": D, "action": "update"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 entry" in html and str(ours.pk) in html
    entry = AuditEntry.objects.get(action="update", username=D)
    assert reverse("audit:entry", args=[entry.pk]) in html
    assert str(history["theirs"].pk) not in html
    assert 'href="/audit/"' in html  # the auditor's link in the header

    unknown = client.get("/audit/", {"patient": "NO-SUCH-MRN"})
    assert unknown.status_code == 400
    assert "No patient has this id or medical record number." in unknown.content.decode()


def test_an_entry_shows_before_and_after_side_by_side(
    page_as: Callable[[str], Client], history: dict[str, Patient]
) -> None:
    entry = AuditEntry.objects.get(action="update", username=D)
    mark = last_id()
    page = page_as(AUDITOR).get(reverse("audit:entry", args=[entry.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index("<code>given_name</code>") :]
    assert row.index("Ann") < row.index("Anna")
    assert "10.0.0.5" in html
    # The entry holds the patient's data: the auditor's look at it is a read of the patient.
    [read] = AuditEntry.objects.filter(id__gt=mark, action="read")
    assert (read.role, read.patients) == (AUDITOR, [str(history["ours"].pk)])


def test_the_csv_export_holds_the_selection_and_is_itself_recorded(
    users: dict[str, User], page_as: Callable[[str], Client], history: dict[str, Patient]
) -> None:
    ours = history["ours"]
    mark = last_id()
    response = page_as(AUDITOR).get("/audit/export.csv", {"patient": str(ours.pk)})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = AuditEntry.objects.filter(id__lte=mark, patients__contains=[str(ours.pk)])
    assert [int(r["id"]) for r in rows] == list(
        expected.order_by("id").values_list("id", flat=True)
    )
    assert any(r["action"] == "update" and "Anna" in r["changes"] for r in rows)
    export = AuditEntry.objects.get(id__gt=mark, action="export")
    assert export.username == users[AUDITOR].username and export.patients == [str(ours.pk)]
    assert export.changes["entries"] == len(rows)


def test_a_formula_in_a_tried_username_is_defused_in_the_csv(
    page_as: Callable[[str], Client],
) -> None:
    Client().post("/accounts/login/", {"username": "=HYPERLINK(1)", "password": "x"})
    response = page_as(AUDITOR).get("/audit/export.csv", {"action": "login-failed"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["user"] for r in rows] == ["'=HYPERLINK(1)"]


def test_the_printable_access_report_names_the_patient_and_every_access(
    page_as: Callable[[str], Client], history: dict[str, Patient]
) -> None:
    ours = history["ours"]
    Relapse.objects.create(patient=ours, onset_on="2025-03-01")
    mark = last_id()
    page = page_as(AUDITOR).get(reverse("audit:access_report", args=[ours.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert ours.mrn in html and "Anna" in html
    assert "patients.relapse" in html and "10.0.0.5" in html
    # Showing the patient's name to the auditor is itself a read of the record.
    [read] = AuditEntry.objects.filter(id__gt=mark, action="read")
    assert read.patients == [str(ours.pk)] and read.role == AUDITOR


def test_the_audit_pages_refuse_every_other_role(
    page_as: Callable[[str], Client], history: dict[str, Patient]
) -> None:
    entry = AuditEntry.objects.first()
    assert entry is not None
    urls = [
        "/audit/",
        reverse("audit:entry", args=[entry.pk]),
        "/audit/export.csv",
        reverse("audit:access_report", args=[history["ours"].pk]),
    ]
    for role in ROLES:
        if role == AUDITOR:
            continue
        client = page_as(role)
        for url in urls:
            assert client.get(url).status_code == 403, (role, url)
    assert Client().get("/audit/").status_code == 302


def test_the_admin_shows_entries_and_offers_no_change(users: dict[str, User]) -> None:
    root = User.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client()
    client.force_login(root)
    entry = AuditEntry.objects.first()
    assert entry is not None
    assert client.get("/admin/audit/auditentry/").status_code == 200
    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
