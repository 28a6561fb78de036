"""Every write of a clinical record, a user, a role membership or a token leaves exactly one
audit entry naming who (or the system), the path, the patient and the values before and after.

One table of (record type, write path): the API, the page forms, the admin, management
commands, a Celery task on a real worker, and writes that bypass model signals.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from alerts.models import Alert
from audit import context
from infusions.models import (
    DosePreparation,
    Infusion,
    InfusionReaction,
    PreInfusionChecklist,
)
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from patients.models import (
    ClinicalEvent,
    EdssAssessment,
    Infection,
    Medication,
    Patient,
    Relapse,
    TreatmentDecision,
)
from tests.api.payloads import valid_body

from .conftest import entries_since, last_id

pytestmark = pytest.mark.django_db
N, P, D = "nurse", "pharmacist", "neurologist"


@dataclass(frozen=True)
class ApiWrite:
    record_type: str
    method: str
    template: str
    role: str
    action: str
    field: str  # a column the entry's changes must carry


API_WRITES = [
    ApiWrite("patients.patient", "POST", "/api/v1/patients/", D, "create", "mrn"),
    ApiWrite("patients.patient", "PATCH", "/api/v1/patients/{id}/", D, "update", "given_name"),
    ApiWrite(
        "patients.treatmentdecision",
        "POST",
        "/api/v1/patients/{id}/decisions/",
        D,
        "create",
        "reason",
    ),
    ApiWrite("patients.medication", "POST", "/api/v1/medications/", D, "create", "name"),
    ApiWrite("patients.infection", "POST", "/api/v1/infections/", D, "create", "description"),
    ApiWrite("patients.edssassessment", "POST", "/api/v1/edss/", D, "create", "score"),
    ApiWrite("patients.relapse", "POST", "/api/v1/relapses/", D, "create", "onset_on"),
    ApiWrite("labs.labresult", "POST", "/api/v1/lab-results/", D, "create", "analyte"),
    ApiWrite("labs.antibodytest", "POST", "/api/v1/antibody-tests/", D, "create", "result"),
    ApiWrite("labs.mristudy", "POST", "/api/v1/mri-studies/", D, "create", "performed_on"),
    ApiWrite("infusions.dosepreparation", "POST", "/api/v1/preparations/", P, "create", "dose_mg"),
    ApiWrite("infusions.infusion", "POST", "/api/v1/infusions/{id}/stop/", N, "update", "status"),
    ApiWrite(
        "infusions.infusionreaction",
        "POST",
        "/api/v1/infusions/{id}/reactions/",
        N,
        "create",
        "severity",
    ),
    ApiWrite("alerts.alert", "POST", "/api/v1/alerts/{id}/acknowledge/", N, "update", "status"),
]


def _api_target(world: SimpleNamespace, template: str) -> Any:
    if template.startswith("/api/v1/patients/"):
        return world.patient
    if template.startswith("/api/v1/infusions/"):
        return world.running
    return world.alert


@pytest.mark.parametrize("write", API_WRITES, ids=lambda w: f"{w.record_type}-{w.action}")
def test_an_api_write_leaves_one_entry(
    world: SimpleNamespace, users: dict[str, User], write: ApiWrite
) -> None:
    user = users[write.role]
    client = APIClient()
    client.force_authenticate(user)
    url = write.template
    headers = {}
    if "{id}" in url:
        target = _api_target(world, url)
        url = url.replace("{id}", str(target.pk))
        headers = {"HTTP_IF_MATCH": f'"{getattr(target, "version", 1)}"'}
    body = valid_body(world, write.method, write.template) or {}
    mark = last_id()
    response = getattr(client, write.method.lower())(
        url, body, format="json", HTTP_X_REQUEST_ID="req-under-test", **headers
    )
    assert response.status_code in (200, 201), response.content

    [entry] = entries_since(mark, record_type=write.record_type, action=write.action)
    assert (entry.user_id, entry.username, entry.role) == (user.pk, user.username, write.role)
    assert (entry.via, entry.request_id, entry.remote_addr) == (
        "api",
        "req-under-test",
        "127.0.0.1",
    )
    assert write.field in entry.changes
    if write.action == "update":
        before, after = entry.changes[write.field]
        assert before != after
    created = response.json()
    if write.record_type == "patients.patient" and write.action == "create":
        assert entry.patients == [created["id"]] == [entry.record_id]
    else:
        assert entry.patients == [str(world.patient.pk)]


# --- Page forms ------------------------------------------------------------------------------


def _page_writes(world: SimpleNamespace) -> list[tuple[str, str, dict[str, Any], str, str]]:
    """(record type, url, form data, changed column, its value as the entry holds it)."""
    patient = world.patient.pk
    today = clock.clinic_today().isoformat()
    now = clock.now().astimezone(clock.clinic_zone()).strftime("%Y-%m-%dT%H:%M")
    return [
        (
            "labs.labresult",
            f"/patients/{patient}/labs/new/",
            {
                "analyte": "AST",
                "value": "31",
                "unit": "U/L",
                "reference_low": "0",
                "reference_high": "40",
                "collected_at": now,
            },
            "analyte",
            "AST",
        ),
        (
            "labs.antibodytest",
            f"/patients/{patient}/antibody-tests/new/",
            {"target": "natalizumab", "result": "negative", "collected_at": now},
            "target",
            "natalizumab",
        ),
        (
            "labs.mristudy",
            f"/patients/{patient}/mri/new/",
            {
                "performed_on": today,
                "gd_enhancing_lesions": "0",
                "new_or_enlarging_t2_lesions": "2",
            },
            "new_or_enlarging_t2_lesions",
            2,
        ),
        (
            "patients.edssassessment",
            f"/patients/{patient}/edss/new/",
            {"score": "4.5", "assessed_on": today},
            "assessed_on",
            today,
        ),
        (
            "patients.relapse",
            f"/patients/{patient}/relapses/new/",
            {"onset_on": today},
            "onset_on",
            today,
        ),
        (
            "patients.medication",
            f"/patients/{patient}/medications/new/",
            {"name": "Baclofen", "category": "other", "started_on": today},
            "name",
            "Baclofen",
        ),
        (
            "patients.infection",
            f"/patients/{patient}/infections/new/",
            {"description": "Sinusitis", "onset_on": today},
            "description",
            "Sinusitis",
        ),
        (
            "patients.treatmentdecision",
            f"/patients/{patient}/decisions/",
            {"action": "suspend", "reason": "Raised ALT", "version": str(world.patient.version)},
            "reason",
            "Raised ALT",
        ),
    ]


PAGE_TYPES = [
    row[0] for row in _page_writes(SimpleNamespace(patient=SimpleNamespace(pk="x", version=1)))
]


@pytest.mark.parametrize("record_type", PAGE_TYPES)
def test_a_page_form_write_leaves_one_entry(
    world: SimpleNamespace, users: dict[str, User], page_as: Callable, record_type: str
) -> None:
    _, url, data, column, value = next(r for r in _page_writes(world) if r[0] == record_type)
    mark = last_id()
    response = page_as(D).post(url, data, REMOTE_ADDR="10.1.2.3")
    assert response.status_code in (200, 302), response.content.decode()[:2000]

    [entry] = entries_since(mark, record_type=record_type, action="create")
    assert (entry.username, entry.role, entry.via) == (D, D, "page")
    assert entry.remote_addr == "10.1.2.3" and entry.request_id
    assert entry.patients == [str(world.patient.pk)]
    assert entry.changes[column] == value


def test_acknowledging_an_alert_on_its_page_records_the_status_before_and_after(
    world: SimpleNamespace, page_as: Callable
) -> None:
    mark = last_id()
    response = page_as(D).post(f"/alerts/{world.alert.pk}/acknowledge/")
    assert response.status_code in (200, 302)
    [entry] = entries_since(mark, record_type="alerts.alert", action="update")
    assert entry.changes["status"] == ["open", "acknowledged"]
    assert (entry.username, entry.via, entry.patients) == (D, "page", [str(world.patient.pk)])


# --- Admin -----------------------------------------------------------------------------------


def test_an_admin_change_of_a_user_and_their_role_leaves_one_entry_each(
    users: dict[str, User],
) -> None:
    admin = User.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client()
    client.force_login(admin)
    nurse = users[N]
    page = client.get(f"/admin/auth/user/{nurse.pk}/change/")
    assert page.status_code == 200
    form = {
        "username": nurse.username,
        "first_name": "Nora",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [Group.objects.get(name=P).pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": nurse.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": nurse.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": nurse.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": nurse.date_joined.strftime("%H:%M:%S"),
    }
    mark = last_id()
    response = client.post(f"/admin/auth/user/{nurse.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors

    [changed] = entries_since(mark, record_type="auth.user", action="update")
    assert changed.changes["first_name"] == ["", "Nora"]
    assert (changed.username, changed.via) == ("root", "admin")
    removed = entries_since(mark, record_type="auth.user_groups", action="delete")
    added = entries_since(mark, record_type="auth.user_groups", action="create")
    assert [e.changes["group_id"] for e in removed] == [Group.objects.get(name=N).pk]
    assert [e.changes["group_id"] for e in added] == [Group.objects.get(name=P).pk]
    assert {e.via for e in removed + added} == {"admin"}


# --- Management commands ---------------------------------------------------------------------


def test_createuser_and_issuetoken_leave_the_user_the_role_and_the_token(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD", "a-long-password-1")
    mark = last_id()
    call_command("createuser", "priya", "--role", "auditor")
    call_command("issuetoken", "priya")
    user = User.objects.get(username="priya")

    [created] = entries_since(mark, record_type="auth.user", action="create")
    assert created.record_id == str(user.pk) and created.via == "system" and created.username == ""
    assert created.changes["username"] == "priya"
    assert created.changes["password"] == "(hidden)"
    [membership] = entries_since(mark, record_type="auth.user_groups", action="create")
    assert membership.changes["group_id"] == Group.objects.get(name="auditor").pk
    [token] = entries_since(mark, record_type="knox.authtoken", action="create")
    stored = AuthToken.objects.get(user=user)
    assert token.record_id == stored.token_key and token.changes["digest"] == "(hidden)"
    assert stored.digest not in str(token.changes)


def test_loaddemo_records_every_record_it_creates_as_the_system(db: None) -> None:
    mark = last_id()
    call_command("loaddemo", verbosity=0)
    for model in (Patient, LabResult, DosePreparation, Infusion, TreatmentDecision):
        label = model._meta.label_lower
        created = entries_since(mark, record_type=label, action="create")
        assert sorted(e.record_id for e in created) == sorted(
            str(pk) for pk in model.objects.values_list("pk", flat=True)
        ), label
        assert {(e.via, e.username) for e in created} <= {("system", "")}


# --- Writes that bypass model signals (PostgreSQL triggers) ----------------------------------

MODELS = [
    (Patient, "given_name", "Changed"),
    (Medication, "name", "Changed"),
    (Infection, "description", "Changed"),
    (ClinicalEvent, "note", "Changed"),
    (EdssAssessment, "score", 6),
    (Relapse, "onset_on", "2025-01-02"),
    (TreatmentDecision, "reason", "Changed"),
    (LabResult, "value", 33),
    (AntibodyTest, "result", "indeterminate"),
    (MriStudy, "gd_enhancing_lesions", 7),
    (DosePreparation, "shaken", True),
    (PreInfusionChecklist, "authorized", False),
    (Infusion, "started_at", datetime(2025, 1, 1, 9, 30, tzinfo=UTC)),
    (InfusionReaction, "symptoms", ["rash"]),
    (Alert, "message", "Changed"),
]


def _one_of(model: type, world: SimpleNamespace, users: dict[str, User]) -> Any:
    existing = model.objects.filter(**_of_patient(model, world.patient)).first()
    if existing is not None:
        return existing
    if model is ClinicalEvent:
        return ClinicalEvent.objects.create(
            patient=world.patient, kind="jaundice", observed_on=date(2025, 1, 1), note="Seen",
        )  # fmt: skip
    if model is TreatmentDecision:
        return TreatmentDecision.objects.create(
            patient=world.patient, action="suspend", reason="ALT", decided_by=users[D],
            decided_at=clock.now(),
        )  # fmt: skip
    if model is Infection:
        return Infection.objects.create(
            patient=world.patient, description="Cold", onset_on=date(2025, 1, 1)
        )
    if model is InfusionReaction:
        return InfusionReaction.objects.create(
            infusion=world.running, severity="mild", symptoms=["flushing"],
            onset_at=clock.now() - timedelta(minutes=5), recorded_by=users[N],
        )  # fmt: skip
    raise AssertionError(model)


def _of_patient(model: type, patient: Patient) -> dict[str, Any]:
    if model is Patient:
        return {"pk": patient.pk}
    if model is InfusionReaction:
        return {"infusion__patient": patient}
    return {"patient": patient}


@pytest.mark.parametrize(
    ("model", "column", "value"), MODELS, ids=lambda v: getattr(v, "__name__", "")
)
def test_a_queryset_update_leaves_one_entry_with_before_and_after(
    world: SimpleNamespace, users: dict[str, User], model: type, column: str, value: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("QuerySet.update is audited by PostgreSQL triggers; run on PostgreSQL")
    record = _one_of(model, world, users)
    field = model._meta.get_field(column)
    actor = context.Actor(via="import", user=users[D], request_id="bulk-1", remote_addr="10.9.9.9")
    mark = last_id()
    with context.acting(actor):
        changed = model.objects.filter(pk=record.pk).update(**{field.attname: value})
    assert changed == 1
    [entry] = entries_since(mark, record_type=model._meta.label_lower)
    assert entry.action == "update"
    assert entry.record_id == str(record.pk)
    assert entry.patients == [str(world.patient.pk)]
    assert (entry.username, entry.role, entry.via, entry.request_id, entry.remote_addr) == (
        D, D, "import", "bulk-1", "10.9.9.9",
    )  # fmt: skip
    assert field.column in entry.changes
    assert entry.changes[field.column][0] != entry.changes[field.column][1]


def test_bulk_create_leaves_one_entry_per_row(world: SimpleNamespace) -> None:
    mark = last_id()
    rows = LabResult.objects.bulk_create(
        [
            LabResult(
                patient=world.patient, analyte=analyte, value=20, unit="U/L",
                reference_high=40, collected_at=clock.now() - timedelta(hours=1),
            )
            for analyte in ("ALT", "AST")
        ]
    )  # fmt: skip
    entries = entries_since(mark, record_type="labs.labresult", action="create")
    assert sorted(e.record_id for e in entries) == sorted(str(r.pk) for r in rows)
    assert {e.via for e in entries} == {"system"}


def test_a_delete_keeps_the_record_as_it_was(world: SimpleNamespace) -> None:
    relapse = Relapse.objects.create(patient=world.patient, onset_on="2025-02-01")
    mark = last_id()
    Relapse.objects.filter(pk=relapse.pk).delete()
    [entry] = entries_since(mark, record_type="patients.relapse")
    assert entry.action == "delete" and entry.changes["onset_on"] == "2025-02-01"
    assert entry.patients == [str(world.patient.pk)]


def test_with_the_audit_off_a_write_leaves_no_entry(world: SimpleNamespace, settings: Any) -> None:
    settings.AUDIT_ENABLED = False
    mark = last_id()
    Relapse.objects.create(patient=world.patient, onset_on="2025-02-01")
    assert entries_since(mark) == []
