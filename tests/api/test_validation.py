"""Bad input a clinician or a client could send: each refused with 400 naming the field,
and nothing written."""

import json
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from infusions.models import Infusion
from tests.api.payloads import valid_body
from tests.api.test_permissions import TABLE
from tests.factories import make_preparation

MISSING = object()  # the field is left out of the body


def _writer(method: str, template: str) -> str:
    return next(role for role, status in TABLE[(method, template)].items() if status != 403)


def _row_counts() -> dict[str, int]:
    models = [m for m in apps.get_models() if m._meta.app_label in ("patients", "labs")]
    models += [m for m in apps.get_models() if m._meta.app_label in ("infusions", "alerts")]
    return {m._meta.label: m.objects.count() for m in models}


def _state(world: SimpleNamespace) -> list[tuple]:
    """What a refused write must leave as it was, beyond the row counts."""
    rows = [
        tuple(Infusion.objects.values_list("status", "version", "ended_at").get(pk=i.pk))
        for i in (world.planned, world.running, world.stopped)
    ]
    world.patient.refresh_from_db()
    world.infection.refresh_from_db()
    world.alert.refresh_from_db()
    rows.append((world.patient.version, world.patient.treatment_status))
    rows.append((world.infection.version, world.infection.resolved_on))
    rows.append((world.alert.status, world.alert.feed_seq))
    return rows


def _url(world: SimpleNamespace, template: str) -> str:
    targets = {
        "/api/v1/patients/{id}/": world.patient,
        "/api/v1/infections/{id}/": world.infection,
        "/api/v1/infusions/{id}/start/": world.planned,
        "/api/v1/infusions/{id}/stop/": world.running,
        "/api/v1/infusions/{id}/discharge/": world.stopped,
        "/api/v1/infusions/{id}/reactions/": world.running,
        "/api/v1/infusions/{id}/clear-checklist/": world.held,
        "/api/v1/medications/{id}/": world.medication,
        "/api/v1/alerts/{id}/resolve/": world.alert,
    }
    return template.replace("{id}", str(targets[template].pk)) if "{id}" in template else template


def _apply(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        if value is MISSING:
            target.pop(key, None)
        else:
            target[key] = value
    return body


def ago(**delta: float) -> Callable[[SimpleNamespace], str]:
    return lambda world: (world.now - timedelta(**delta)).isoformat()


def ahead(**delta: float) -> Callable[[SimpleNamespace], str]:
    return lambda world: (world.now + timedelta(**delta)).isoformat()


PATIENTS = "/api/v1/patients/"
LABS = "/api/v1/lab-results/"
ANTIBODIES = "/api/v1/antibody-tests/"
MRI = "/api/v1/mri-studies/"
EDSS = "/api/v1/edss/"
RELAPSES = "/api/v1/relapses/"
MEDICATIONS = "/api/v1/medications/"
INFECTIONS = "/api/v1/infections/"
PREPARATIONS = "/api/v1/preparations/"
INFUSIONS = "/api/v1/infusions/"
UNKNOWN = "00000000-0000-4000-8000-000000000000"

# (method, endpoint, changes to a valid body, the field the 400 names)
BAD_INPUT: list[tuple[str, str, dict[str, Any], str]] = [
    # Lab results
    ("POST", LABS, {"analyte": "GGT"}, "analyte"),
    ("POST", LABS, {"analyte": "ALT", "unit": "mg/dL"}, "unit"),
    ("POST", LABS, {"analyte": "TSH", "unit": "U/L"}, "unit"),
    ("POST", LABS, {"unit": "u/l"}, "unit"),
    ("POST", LABS, {"value": -1}, "value"),
    ("POST", LABS, {"analyte": "ALT", "value": 10001}, "value"),
    ("POST", LABS, {"analyte": "TSH", "unit": "m[IU]/L", "value": 600}, "value"),
    ("POST", LABS, {"analyte": "FT4", "unit": "ng/dL", "value": 100}, "value"),
    ("POST", LABS, {"value": 1e300}, "value"),
    ("POST", LABS, {"reference_low": 50, "reference_high": 40}, "reference_low"),
    ("POST", LABS, {"reference_low": 40, "reference_high": 40}, "reference_low"),
    ("POST", LABS, {"reference_low": MISSING, "reference_high": 0}, "reference_high"),
    ("POST", LABS, {"reference_high": -5}, "reference_high"),
    ("POST", LABS, {"collected_at": ahead(minutes=10)}, "collected_at"),
    ("POST", LABS, {"collected_at": "2025-01-01T10:00:00"}, "collected_at"),
    ("POST", LABS, {"collected_at": "yesterday"}, "collected_at"),
    ("POST", LABS, {"collected_at": "1950-01-01T10:00:00Z"}, "collected_at"),
    ("POST", LABS, {"collected_at": "0001-01-01T00:00:00+01:00"}, "collected_at"),
    ("POST", LABS, {"collected_at": "9999-12-31T23:59:59-10:00"}, "collected_at"),
    ("POST", LABS, {"collected_at": 1735689600}, "collected_at"),
    ("POST", LABS, {"value": "25"}, "value"),
    ("POST", LABS, {"value": True}, "value"),
    ("POST", LABS, {"value": None}, "value"),
    ("POST", LABS, {"value": [25]}, "value"),
    ("POST", LABS, {"value": MISSING}, "value"),
    ("POST", LABS, {"unit": "U/L" * 10}, "unit"),
    ("POST", LABS, {"unit": 7}, "unit"),
    ("POST", LABS, {"patient": UNKNOWN}, "patient"),
    ("POST", LABS, {"patient": "not-a-uuid"}, "patient"),
    ("POST", LABS, {"patient": None}, "patient"),
    ("POST", LABS, {"patient": {"id": UNKNOWN}}, "patient"),
    # Antibody tests
    ("POST", ANTIBODIES, {"target": "natalizumab", "index": 1.0}, "index"),
    ("POST", ANTIBODIES, {"index": -0.1}, "index"),
    ("POST", ANTIBODIES, {"index": 500}, "index"),
    ("POST", ANTIBODIES, {"result": "weak"}, "result"),
    ("POST", ANTIBODIES, {"collected_at": ahead(days=1)}, "collected_at"),
    # MRI
    ("POST", MRI, {"gd_enhancing_lesions": -1}, "gd_enhancing_lesions"),
    ("POST", MRI, {"gd_enhancing_lesions": 1.5}, "gd_enhancing_lesions"),
    ("POST", MRI, {"gd_enhancing_lesions": "2"}, "gd_enhancing_lesions"),
    ("POST", MRI, {"new_or_enlarging_t2_lesions": 10**12}, "new_or_enlarging_t2_lesions"),
    ("POST", MRI, {"performed_on": "2025-02-30"}, "performed_on"),
    ("POST", MRI, {"performed_on": "2999-01-01"}, "performed_on"),
    ("POST", MRI, {"pml_suspected": "no"}, "pml_suspected"),
    # EDSS
    ("POST", EDSS, {"score": 3.25}, "score"),
    ("POST", EDSS, {"score": 3.04}, "score"),
    ("POST", EDSS, {"score": 10.5}, "score"),
    ("POST", EDSS, {"score": -0.5}, "score"),
    ("POST", EDSS, {"score": "3.5"}, "score"),
    ("POST", EDSS, {"assessed_on": "2999-01-01"}, "assessed_on"),
    # Relapses
    ("POST", RELAPSES, {"onset_on": "2999-01-01"}, "onset_on"),
    ("POST", RELAPSES, {"onset_on": "1900-01-01"}, "onset_on"),
    # Medications
    ("POST", MEDICATIONS, {"stopped_on": "2025-01-01"}, "stopped_on"),
    ("POST", MEDICATIONS, {"category": "steroid"}, "category"),
    ("POST", MEDICATIONS, {"name": "   "}, "name"),
    ("POST", MEDICATIONS, {"name": "x" * 201}, "name"),
    # Infections
    ("POST", INFECTIONS, {"resolved_on": "2025-04-01"}, "resolved_on"),
    ("POST", INFECTIONS, {"description": ""}, "description"),
    ("PATCH", "/api/v1/infections/{id}/", {"resolved_on": "2000-01-01"}, "resolved_on"),
    ("PATCH", "/api/v1/infections/{id}/", {"patient": UNKNOWN}, "patient"),
    ("PATCH", "/api/v1/infections/{id}/", {"resolved_on": "2999-01-01"}, "resolved_on"),
    # Patients
    ("POST", PATIENTS, {"birth_date": "2999-01-01"}, "birth_date"),
    ("POST", PATIENTS, {"birth_date": "1850-01-01"}, "birth_date"),
    ("POST", PATIENTS, {"sex": "f"}, "sex"),
    ("POST", PATIENTS, {"indication": "psoriasis"}, "indication"),
    ("POST", PATIENTS, {"schedule_weeks": 5}, "schedule_weeks"),
    ("POST", PATIENTS, {"pregnant": "yes"}, "pregnant"),
    ("POST", PATIENTS, {"mrn": "x" * 33}, "mrn"),
    ("POST", PATIENTS, {"mrn": 12345}, "mrn"),
    ("POST", PATIENTS, {"mrn": "T-\x00"}, "mrn"),
    ("POST", PATIENTS, {"given_name": "x" * 10_000}, "given_name"),
    ("POST", PATIENTS, {"treatment_start": "1980-01-01"}, "treatment_start"),
    ("POST", PATIENTS, {"treatment_start": "2999-01-01"}, "treatment_start"),
    ("PATCH", "/api/v1/patients/{id}/", {"mrn": ""}, "mrn"),
    ("PATCH", "/api/v1/patients/{id}/", {"birth_date": None}, "birth_date"),
    ("PATCH", "/api/v1/patients/{id}/", {"version": "1"}, "version"),
    ("PATCH", "/api/v1/patients/{id}/", {"version": 0}, "version"),
    # Dose preparations
    ("POST", PREPARATIONS, {"diluent": "5% glucose"}, "diluent"),
    ("POST", PREPARATIONS, {"diluent": "Water for injection"}, "diluent"),
    ("POST", PREPARATIONS, {"dose_mg": 0}, "dose_mg"),
    ("POST", PREPARATIONS, {"dose_mg": 30000}, "dose_mg"),
    ("POST", PREPARATIONS, {"diluent_volume_ml": -100}, "diluent_volume_ml"),
    ("POST", PREPARATIONS, {"prepared_at": ahead(hours=1)}, "prepared_at"),
    ("POST", PREPARATIONS, {"storage": "freezer"}, "storage"),
    ("POST", PREPARATIONS, {"room_temperature_since": ago(minutes=1)}, "room_temperature_since"),
    (
        "POST",
        PREPARATIONS,
        {"storage": "refrigerated", "room_temperature_since": ago(hours=1)},
        "room_temperature_since",
    ),
    ("POST", PREPARATIONS, {"frozen": "no"}, "frozen"),
    # Infusions
    ("POST", INFUSIONS, {"route": "iv-push"}, "route"),
    ("POST", INFUSIONS, {"route": "bolus"}, "route"),
    ("POST", INFUSIONS, {"preparation": UNKNOWN}, "preparation"),
    ("POST", INFUSIONS, {"checklist.current_infection": MISSING}, "checklist.current_infection"),
    ("POST", INFUSIONS, {"checklist.authorized": "no"}, "checklist.authorized"),
    ("POST", INFUSIONS, {"checklist": None}, "checklist"),
    ("POST", INFUSIONS, {"checklist": MISSING}, "checklist"),
    ("POST", "/api/v1/infusions/{id}/start/", {"started_at": ahead(hours=1)}, "started_at"),
    ("POST", "/api/v1/infusions/{id}/start/", {"started_at": ago(hours=2)}, "started_at"),
    ("POST", "/api/v1/infusions/{id}/stop/", {"ended_at": ago(hours=1)}, "ended_at"),
    ("POST", "/api/v1/infusions/{id}/stop/", {"ended_at": ago(minutes=30)}, "ended_at"),
    ("POST", "/api/v1/infusions/{id}/stop/", {"ended_at": ahead(minutes=30)}, "ended_at"),
    (
        "POST",
        "/api/v1/infusions/{id}/discharge/",
        {"discharged_at": ago(minutes=62)},
        "discharged_at",
    ),
    ("POST", "/api/v1/infusions/{id}/reactions/", {"onset_at": ago(hours=1)}, "onset_at"),
    ("POST", "/api/v1/infusions/{id}/reactions/", {"symptoms": []}, "symptoms"),
    ("POST", "/api/v1/infusions/{id}/reactions/", {"symptoms": "rash"}, "symptoms"),
    ("POST", "/api/v1/infusions/{id}/reactions/", {"symptoms": [" "]}, "symptoms.0"),
    ("POST", "/api/v1/infusions/{id}/reactions/", {"symptoms": ["x"] * 21}, "symptoms"),
    ("POST", "/api/v1/infusions/{id}/reactions/", {"severity": "moderate"}, "severity"),
    # Alerts
    ("POST", "/api/v1/alerts/{id}/resolve/", {"note": "  "}, "note"),
    ("POST", "/api/v1/alerts/{id}/resolve/", {"note": MISSING}, "note"),
]


def _names_version(method: str) -> dict[str, str]:
    """A PATCH names the version it read (a blind one is 428, tested on its own)."""
    return {"HTTP_IF_MATCH": '"1"'} if method == "PATCH" else {}


@pytest.mark.parametrize(
    ("method", "template", "changes", "field"),
    BAD_INPUT,
    ids=[f"{m} {t} {f}: {c!r:.40}" for m, t, c, f in BAD_INPUT],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    api_as: Callable[[str], APIClient],
    world: SimpleNamespace,
    method: str,
    template: str,
    changes: dict[str, Any],
    field: str,
) -> None:
    body = valid_body(world, method, template)
    assert body is not None
    changes = {k: v(world) if callable(v) else v for k, v in changes.items()}
    before = (_row_counts(), _state(world))
    client = api_as(_writer(method, template))
    response = getattr(client, method.lower())(
        _url(world, template), _apply(body, changes), **_names_version(method)
    )
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)
    assert (_row_counts(), _state(world)) == before


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("POST", LABS),
        ("POST", PREPARATIONS),
        ("PATCH", "/api/v1/patients/{id}/"),
        ("POST", "/api/v1/infusions/{id}/start/"),
    ],
)
def test_a_valid_body_is_accepted(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, method: str, template: str
) -> None:
    """The control for the table above: only the change made the body bad."""
    client = api_as(_writer(method, template))
    body = valid_body(world, method, template)
    response = getattr(client, method.lower())(
        _url(world, template), body, **_names_version(method)
    )
    assert response.status_code in (200, 201), response.content


def test_a_time_within_the_clock_skew_tolerance_is_accepted(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    body = valid_body(world, "POST", LABS)
    body["collected_at"] = (world.now + timedelta(minutes=2)).isoformat()
    assert api_as("neurologist").post(LABS, body).status_code == 201


def test_a_lab_value_is_kept_exactly_and_reads_with_its_loinc(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    body = {**valid_body(world, "POST", LABS), "analyte": "ALT", "value": 120.5}
    response = api_as("neurologist").post(LABS, body)
    assert response.status_code == 201
    assert response.json()["loinc"] == "1742-6"
    assert response.json()["value"] == 120.5


def test_a_bag_of_another_patient_is_refused(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    other_bag = make_preparation(world.other_patient)
    body = {**valid_body(world, "POST", INFUSIONS), "preparation": str(other_bag.pk)}
    before = _row_counts()
    response = api_as("nurse").post(INFUSIONS, body)
    assert response.status_code == 400
    assert "another patient" in response.json()["preparation"][0]
    assert _row_counts() == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "discarded", "discarded_reason": "Shaken"}, "discarded"),
        ({"prepared_at_hours_ago": 9}, "expired"),
    ],
)
def test_a_bag_that_cannot_be_used_is_refused_at_planning(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, fields: dict, message: str
) -> None:
    hours = fields.pop("prepared_at_hours_ago", None)
    if hours:
        prepared_at = world.now - timedelta(hours=hours)
        fields = {"prepared_at": prepared_at, "expires_at": prepared_at + timedelta(hours=8)}
    bag = make_preparation(world.patient, **fields)
    body = {**valid_body(world, "POST", INFUSIONS), "preparation": str(bag.pk)}
    response = api_as("nurse").post(INFUSIONS, body)
    assert response.status_code == 400
    assert message in response.json()["preparation"][0]


def test_a_bag_already_planned_is_refused(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    body = valid_body(world, "POST", INFUSIONS)
    client = api_as("nurse")
    assert client.post(INFUSIONS, body).status_code == 201
    before = _row_counts()
    response = client.post(INFUSIONS, body)
    assert response.status_code == 400
    assert "already" in response.json()["preparation"][0]
    assert _row_counts() == before


# --- Bodies that are not what the API takes --------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"not json", "application/json", 400),
        (b'{"patient": ', "application/json", 400),
        (b"[]", "application/json", 400),
        (b'"a string"', "application/json", 400),
        (b"null", "application/json", 400),
        (b'{"value": NaN}', "application/json", 400),
        (b'{"value": Infinity}', "application/json", 400),
        (b'{"unit": "\\ud800"}', "application/json", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b"analyte=ALT&value=3", "application/x-www-form-urlencoded", 415),
        (b"analyte: ALT", "text/plain", 415),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    api_as: Callable[[str], APIClient],
    world: SimpleNamespace,
    content: bytes,
    content_type: str,
    status: int,
) -> None:
    before = _row_counts()
    response = api_as("neurologist").generic("POST", LABS, content, content_type)
    assert response.status_code == status, response.content
    if status == 400:
        assert "non_field_errors" in response.json()
    assert _row_counts() == before


def test_a_huge_body_is_refused(api_as: Callable[[str], APIClient], world: SimpleNamespace) -> None:
    body = json.dumps({**valid_body(world, "POST", LABS), "unit": "x" * 3_000_000})
    before = _row_counts()
    response = api_as("neurologist").generic("POST", LABS, body, "application/json")
    assert response.status_code == 400
    assert "larger than" in response.json()["non_field_errors"][0]
    assert _row_counts() == before


@pytest.mark.parametrize(
    "query",
    [
        {"patient": "not-a-uuid"},
        {"cursor": "garbage"},
        {"cursor": "cD1ub3QtYS1kYXRl"},  # p=not-a-date
    ],
)
def test_bad_list_parameters_are_400(
    api_as: Callable[[str], APIClient], db: None, query: dict[str, str]
) -> None:
    response = api_as("neurologist").get(LABS, query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)
