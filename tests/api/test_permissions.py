"""Who may do what: one table of role x endpoint x method -> status, and every route in it.

A route added under /api/v1/ without a row here fails test_every_api_route_is_in_the_table.
"""

import re
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver
from knox.models import AuthToken
from rest_framework.test import APIClient

from interop.models import InboxReason, LabInboxEntry
from natalizumab_monitor import clock
from tests.api.payloads import valid_body

N, P, D, C = "nurse", "pharmacist", "neurologist", "api-client"
A = "auditor"  # the privacy officer: the audit and nothing else
I = "interface"  # noqa: E741 - the laboratory system: posts results, reads its own ACKs
ROLES = (N, P, D, C, A, I)


def allowed(status: int, *roles: str) -> dict[str, int]:
    """`status` for the roles named, 403 for the others."""
    return {role: status if role in roles else 403 for role in ROLES}


CLINICAL = (N, P, D)
EVERYONE = (N, P, D, C)

TABLE: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/patients/"): allowed(200, *EVERYONE),
    ("POST", "/api/v1/patients/"): allowed(201, D),
    ("GET", "/api/v1/patients/{id}/"): allowed(200, *EVERYONE),
    ("PATCH", "/api/v1/patients/{id}/"): allowed(200, D),
    ("GET", "/api/v1/patients/{id}/decisions/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/patients/{id}/decisions/"): allowed(201, D),
    ("GET", "/api/v1/patients/{id}/findings/"): allowed(200, *EVERYONE),
    ("GET", "/api/v1/patients/{id}/clearance/"): allowed(200, *EVERYONE),
    ("GET", "/api/v1/medications/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/medications/"): allowed(201, D),
    ("GET", "/api/v1/medications/{id}/"): allowed(200, *CLINICAL),
    ("PATCH", "/api/v1/medications/{id}/"): allowed(200, D),
    ("GET", "/api/v1/infections/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/infections/"): allowed(201, D),
    ("GET", "/api/v1/infections/{id}/"): allowed(200, *CLINICAL),
    ("PATCH", "/api/v1/infections/{id}/"): allowed(200, D),
    ("GET", "/api/v1/lab-results/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/lab-results/"): allowed(201, D),
    ("GET", "/api/v1/lab-results/{id}/"): allowed(200, *CLINICAL),
    ("GET", "/api/v1/antibody-tests/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/antibody-tests/"): allowed(201, D),
    ("GET", "/api/v1/antibody-tests/{id}/"): allowed(200, *CLINICAL),
    ("GET", "/api/v1/mri-studies/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/mri-studies/"): allowed(201, D),
    ("GET", "/api/v1/mri-studies/{id}/"): allowed(200, *CLINICAL),
    ("GET", "/api/v1/edss/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/edss/"): allowed(201, D),
    ("GET", "/api/v1/edss/{id}/"): allowed(200, *CLINICAL),
    ("GET", "/api/v1/relapses/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/relapses/"): allowed(201, D),
    ("GET", "/api/v1/relapses/{id}/"): allowed(200, *CLINICAL),
    ("GET", "/api/v1/preparations/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/preparations/"): allowed(201, P),
    ("GET", "/api/v1/preparations/{id}/"): allowed(200, *CLINICAL),
    ("GET", "/api/v1/infusions/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/infusions/"): allowed(201, N),
    ("GET", "/api/v1/infusions/{id}/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/infusions/{id}/start/"): allowed(200, N),
    ("POST", "/api/v1/infusions/{id}/stop/"): allowed(200, N),
    ("POST", "/api/v1/infusions/{id}/discharge/"): allowed(200, N),
    ("POST", "/api/v1/infusions/{id}/reactions/"): allowed(201, N),
    ("POST", "/api/v1/infusions/{id}/clear-checklist/"): allowed(200, D),
    ("GET", "/api/v1/alerts/"): allowed(200, *EVERYONE),
    ("GET", "/api/v1/alerts/{id}/"): allowed(200, *EVERYONE),
    ("POST", "/api/v1/alerts/{id}/acknowledge/"): allowed(200, *CLINICAL),
    ("POST", "/api/v1/alerts/{id}/resolve/"): allowed(200, D),
    ("GET", "/api/v1/audit/"): allowed(200, A),
    ("GET", "/api/v1/patients/{id}/access-report/"): allowed(200, A),
    ("GET", "/api/v1/hl7/"): allowed(200, I),
    ("POST", "/api/v1/hl7/"): allowed(200, I),
    ("GET", "/api/v1/lab-inbox/"): allowed(200, D),
    ("GET", "/api/v1/lab-inbox/{id}/"): allowed(200, D),
    ("POST", "/api/v1/lab-inbox/{id}/file/"): allowed(200, D),
    ("POST", "/api/v1/lab-inbox/{id}/reject/"): allowed(200, D),
    ("GET", "/api/v1/sites/"): allowed(200, *EVERYONE, A, I),  # each caller's own sites
    ("GET", "/api/v1/schema/"): allowed(200, *EVERYONE, A, I),
    ("GET", "/api/v1/docs/"): allowed(200, *EVERYONE, A, I),
    # Revokes the token in use (tests/api/test_least_privilege.py); every role may.
    ("POST", "/api/v1/auth/logout/"): allowed(200, *EVERYONE, A, I),
}


def _target(world: SimpleNamespace, method: str, template: str) -> Any:
    """The record whose id fills {id}: one in the state the action needs."""
    resource, action = (template.split("/") + [""])[3], (template.split("/") + ["", ""])[5]
    if resource == "lab-inbox":
        return _waiting_lab_result()
    infusion_for = {
        "start": world.planned,
        "stop": world.running,
        "discharge": world.stopped,
        "clear-checklist": world.held,
    }
    by_resource = {
        "patients": world.patient,
        "medications": world.medication,
        "infections": world.infection,
        "lab-results": world.lab_result,
        "antibody-tests": world.antibody_test,
        "mri-studies": world.mri_study,
        "edss": world.edss,
        "relapses": world.relapse,
        "preparations": world.preparation,
        "infusions": infusion_for.get(action, world.running),
        "alerts": world.alert,
    }
    return by_resource[resource]


def _waiting_lab_result() -> LabInboxEntry:
    """An ALT result for an MRN nobody has, waiting in the lab inbox."""
    return LabInboxEntry.objects.create(
        created_at=clock.now(),
        result_key="hl7v2:LIS:PERM-1:1",
        reason=InboxReason.UNKNOWN_PATIENT,
        patient_identifiers="NOBODY-1",
        code="1742-6",
        code_system="http://loinc.org",
        value="30",
        unit="U/L",
        reference_range="7-40",
        collected_at=clock.now() - timedelta(hours=1),
        result_status="final",
    )


def _request(client: APIClient, method: str, template: str, world: SimpleNamespace) -> Any:
    url = template
    if "{id}" in template:
        url = template.replace("{id}", str(_target(world, method, template).pk))
    body = valid_body(world, method, template)
    return _send(client, method, url, body)


def _send(client: APIClient, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if method == "GET":
        return client.get(url)
    return getattr(client, method.lower())(url, body, format="json")


def _row_counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in ("patients", "labs", "infusions", "alerts")
    }


@pytest.mark.parametrize(("method", "template"), list(TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_status_of_the_table(
    api_as: Callable[[str], APIClient],
    world: SimpleNamespace,
    role: str,
    method: str,
    template: str,
) -> None:
    expected = TABLE[(method, template)][role]
    before = _row_counts()
    response = _request(api_as(role), method, template, world)
    assert response.status_code == expected, getattr(response, "data", response)
    if expected == 403:
        assert _row_counts() == before


@pytest.mark.parametrize(("method", "template"), list(TABLE))
def test_anonymous_gets_401(world: SimpleNamespace, method: str, template: str) -> None:
    before = _row_counts()
    response = _request(APIClient(), method, template, world)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert _row_counts() == before


@pytest.mark.parametrize(("method", "template"), [(m, t) for (m, t) in TABLE if "{id}" in t])
def test_an_unknown_id_is_404_for_a_role_that_may(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, method: str, template: str
) -> None:
    role = next(r for r, status in TABLE[(method, template)].items() if status != 403)
    client = api_as(role)
    body = valid_body(world, method, template)
    for unknown in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        url = template.replace("{id}", unknown)
        response = _send(client, method, url, body)
        assert response.status_code == 404, (url, response.content)


def test_a_knox_token_and_a_session_both_authenticate(
    users: dict[str, User], world: SimpleNamespace
) -> None:
    _, token = AuthToken.objects.create(user=users[C])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/alerts/").status_code == 200
    assert client.get("/api/v1/medications/").status_code == 403

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(users[D])
    assert browser.get(f"/api/v1/patients/{world.patient.pk}/").status_code == 200
    # A session write without the CSRF token is refused (and writes nothing).
    assert browser.post("/api/v1/relapses/", {}, format="json").status_code == 403


@pytest.mark.parametrize(
    "header", ["Token", "Token a b", "Token \xff\xfe", "Token " + "0" * 64, "Token abc\x00"]
)
def test_a_malformed_token_is_401(db: None, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/patients/").status_code == 401


def _api_routes() -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                path = _template(prefix + str(pattern.pattern))
                if path.startswith("/api/v1/"):
                    routes.update((method, path) for method in _methods(pattern.callback))

    walk(get_resolver().url_patterns, "/")
    return routes


def _template(regex: str) -> str:
    path = regex.replace("^", "").replace("$", "").replace("\\", "")
    return re.sub(r"\(\?P<\w+>[^)]*\)|<[^>]+>", "{id}", path)


def _methods(callback: Any) -> set[str]:
    if hasattr(callback, "actions"):  # a DRF viewset route
        return {m.upper() for m in callback.actions if m not in ("head", "options")}
    view_class = callback.view_class
    return {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)}


def test_every_api_route_is_in_the_table() -> None:
    routes = _api_routes()
    assert routes - set(TABLE) == set(), "routes missing from the permission table"
    assert set(TABLE) - routes == set(), "rows for routes that do not exist"
