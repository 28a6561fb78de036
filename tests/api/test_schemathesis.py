"""The published OpenAPI schema, checked against the running API by schemathesis.

For each role, every operation gets generated requests through the WSGI app; every
response must be no 5xx, carry a documented status code and match its documented schema.
Path ids and referenced records are drawn from seeded records (and one unknown id), and
dates and times from around now, so that generated requests reach the services instead of
stopping at a 404 or at a date in the year 2700.
"""

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, given, settings
from knox.models import AuthToken
from psycopg2.extensions import TRANSACTION_STATUS_INERROR as TRANSACTION_IN_ERROR
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from natalizumab_monitor import clock
from tests.api.conftest import make_alert, planned_infusion
from tests.factories import make_preparation

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
UNKNOWN = "00000000-0000-4000-8000-000000000000"
ROLES = ("neurologist", "nurse", "pharmacist", "api-client")


@contextmanager
def connection_kept_across_requests() -> Iterator[None]:
    """Requests through the WSGI handler would close the test's connection at their end
    (Django's test client also reconnects this handler after each of its requests)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _ids_by_path(world: SimpleNamespace, users: dict[str, User]) -> dict[str, list[str]]:
    """The ids a generated request may name, per path prefix."""
    planned = [world.planned] + [planned_infusion(world.patient, users["nurse"]) for _ in range(3)]
    alerts = [world.alert] + [make_alert(world.patient) for _ in range(3)]

    def ids(*records: Any) -> list[str]:
        return [str(r.pk) for r in records] + [UNKNOWN]

    return {
        "/api/v1/patients/": ids(world.patient, world.other_patient),
        "/api/v1/medications/": ids(world.medication),
        "/api/v1/infections/": ids(world.infection),
        "/api/v1/lab-results/": ids(world.lab_result),
        "/api/v1/antibody-tests/": ids(world.antibody_test),
        "/api/v1/mri-studies/": ids(world.mri_study),
        "/api/v1/edss/": ids(world.edss),
        "/api/v1/relapses/": ids(world.relapse),
        "/api/v1/preparations/": ids(world.preparation),
        "/api/v1/infusions/": ids(*planned, world.running, world.stopped),
        "/api/v1/alerts/": ids(*alerts),
        "patient": ids(world.patient, world.other_patient),
        "preparation": ids(*[make_preparation(world.patient) for _ in range(3)]),
    }


def _narrowed(raw: dict[str, Any], ids: dict[str, list[str]]) -> dict[str, Any]:
    """The schema with path ids and record references drawn from `ids`; responses untouched."""
    schema = copy.deepcopy(raw)
    for path, operations in schema["paths"].items():
        prefix = next((p for p in ids if path.startswith(p)), None)
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and prefix:
                    parameter["schema"] = {"type": "string", "enum": ids[prefix]}
                elif parameter["in"] == "query" and parameter["name"] == "patient":
                    parameter["schema"] = {"type": "string", "enum": ids["patient"]}
    for name, component in schema["components"]["schemas"].items():
        if not name.endswith("Request"):
            continue
        properties = component.get("properties", {})
        for field in ("patient", "preparation"):
            if field in properties:
                properties[field] = {"type": "string", "enum": ids[field]}
        for field, definition in properties.items():
            choices = _moments().get(definition.get("format", ""))
            if choices:
                nullable = {"nullable": True} if definition.get("nullable") else {}
                properties[field] = {"type": "string", "enum": choices, **nullable}
    return schema


def _moments() -> dict[str, list[str]]:
    """Dates and times around now, mostly valid, so that orderings (start, stop) vary."""
    now = clock.now()
    ago = [timedelta(minutes=m) for m in (-60, 0, 1, 10, 45, 90, 600, 3000, 60 * 24 * 400)]
    return {
        "date-time": [(now - delta).isoformat() for delta in ago],
        "date": [(now - delta).date().isoformat() for delta in ago] + ["1985-05-17", "2010-01-01"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_conforms_to_the_schema(
    role: str,
    users: dict[str, User],
    world: SimpleNamespace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reader = APIClient()
    reader.force_authenticate(users[role])
    raw = reader.get("/api/v1/schema/", {"format": "json"}).json()
    schema = schemathesis.from_dict(
        _narrowed(raw, _ids_by_path(world, users)), app=get_wsgi_application()
    )
    user = users[role]
    _, token = AuthToken.objects.create(user=user)
    headers = {"Authorization": f"Token {token}"}
    checks = (not_a_server_error, status_code_conformance, response_schema_conformance)

    operations, cases, failures = 0, 0, []
    with connection_kept_across_requests():
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize="SCHEMATHESIS_RANDOM" not in os.environ,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                nonlocal cases
                cases += 1
                savepoint = transaction.savepoint()
                own = headers
                if case.path == "/api/v1/auth/logout/":  # revokes the token it is sent
                    own = {"Authorization": f"Token {AuthToken.objects.create(user=user)[1]}"}
                response = case.call_wsgi(headers=own)
                # A database error that a response hid would abort the transaction.
                failed = connection.connection.get_transaction_status() == TRANSACTION_IN_ERROR
                if failed:
                    transaction.savepoint_rollback(savepoint)
                else:
                    transaction.savepoint_commit(savepoint)
                assert not failed, f"a database error behind the {response.status_code} response"
                case.validate_response(response, checks=checks)

            try:
                check()
            except Exception as exc:  # noqa: BLE001 - every operation is checked, then reported
                failures.append(f"{operation.verbose_name}: {exc}")

    with capsys.disabled():
        print(
            f"\nschemathesis as {role}: {operations} operations, {cases} cases, "
            f"{len(failures)} failures"
        )
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
