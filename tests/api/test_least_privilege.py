"""Least privilege (API.md): the api-client role reads patients as ids, findings and alerts
without the free text of records it may not read; rate limits; tokens that can be revoked.
"""

import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from knox.models import AuthToken
from rest_framework.test import APIClient

from alerts import evaluation
from alerts.models import Alert
from alerts.rules.engine import RULE_IDS
from infusions.models import InfusionReaction
from natalizumab_monitor import clock, disclosure
from network.models import Site
from patients.models import ClinicalEvent, Infection, Medication, Patient
from tests.api.conftest import planned_infusion
from tests.api.test_permissions import TABLE
from tests.factories import make_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db

# Free text the api-client must never be given, written into records it may not read.
INFECTION = "Cellulitis of the left shin"
MEDICATION = "Methotrexate weekly"
SYMPTOM = "wheeze after ten minutes"
NOTE = "Word-finding difficulty noticed by her husband"
DILUENT = "Dextrose 5 percent"
SECRETS = (INFECTION, MEDICATION, SYMPTOM, NOTE, DILUENT)


@pytest.fixture
def clinic(users: dict[str, User]) -> SimpleNamespace:
    """The demo patients, plus one whose records hold free text of every kind, alerts raised."""
    call_command("loaddemo", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    for site in Site.objects.all():  # the demo is a network of two sites: work at both
        site.staff.add(*users.values())
    today = clock.clinic_today()
    rich = make_patient(
        mrn="RICH-7731",
        given_name="Rosalind",
        family_name="Achterberg",
        birth_date=date(2011, 3, 9),  # a child: the age rules name her birth date
        breastfeeding=True,
        prior_immunosuppressants=True,
    )
    Infection.objects.create(patient=rich, description=INFECTION, onset_on=today)
    Medication.objects.create(
        patient=rich, name=MEDICATION, category="immunosuppressant", started_on=today
    )
    ClinicalEvent.objects.create(patient=rich, kind="pml-signs", observed_on=today, note=NOTE)
    given = make_infusion(rich, status="stopped", started_at=clock.now() - timedelta(hours=3))
    given.ended_at = clock.now() - timedelta(hours=2)
    given.save()
    InfusionReaction.objects.create(
        infusion=given,
        severity="severe",
        symptoms=[SYMPTOM],
        onset_at=clock.now() - timedelta(hours=2, minutes=30),
        recorded_by=users["nurse"],
    )
    make_preparation(rich, diluent=DILUENT, dose_mg=Decimal("300"))
    planned_infusion(rich, users["nurse"], current_infection=True)
    evaluation.evaluate_patient(str(rich.pk))
    return SimpleNamespace(rich=rich, patients=list(Patient.objects.all()))


def identifying(patients: list[Patient]) -> dict[str, str]:
    """Every patient's name, MRN and birth date, as they would appear in a body."""
    found = {}
    for patient in patients:
        found[patient.mrn] = f"MRN of {patient.pk}"
        found[patient.given_name] = f"given name of {patient.pk}"
        found[patient.family_name] = f"family name of {patient.pk}"
        found[patient.birth_date.isoformat()] = f"birth date of {patient.pk}"
    return found


def walk(client: APIClient, url: str) -> Iterator[Any]:
    """Every page of a list (following `next` until it comes back empty), or one response."""
    seen: set[str] = set()
    while url and url not in seen:
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        yield response
        json_body = response["Content-Type"].startswith("application/json")
        body = response.json() if json_body else {}
        if not isinstance(body, dict) or not body.get("results"):
            return
        url = body.get("next") or ""


def test_api_client_responses_name_no_patient_and_carry_no_free_text(
    api_as: Callable[[str], APIClient], clinic: SimpleNamespace
) -> None:
    client = api_as("api-client")
    patients = clinic.patients
    assert Alert.objects.filter(patient=clinic.rich).count() >= 3
    reads = [
        template
        for (method, template), statuses in TABLE.items()
        if method == "GET" and statuses["api-client"] == 200
    ]
    # Every GET route the role may call, every page, every patient and alert behind it.
    urls = [t for t in reads if "{id}" not in t]
    for template in (t for t in reads if t.startswith("/api/v1/patients/{id}")):
        urls += [template.replace("{id}", str(p.pk)) for p in patients]
    for template in (t for t in reads if t.startswith("/api/v1/alerts/{id}")):
        urls += [template.replace("{id}", str(a.pk)) for a in Alert.objects.all()]
    assert {t.split("{id}")[0] for t in reads} >= {"/api/v1/patients/", "/api/v1/alerts/"}

    bodies = []
    for url in urls:
        for response in walk(client, url):
            bodies.append((url, response.content.decode()))
    assert len(bodies) > 2 * len(patients)

    forbidden = {**identifying(patients), **dict.fromkeys(SECRETS, "free text")}
    for url, body in bodies:
        for text, what in forbidden.items():
            assert text not in body, f"{url} gives the {what}"
    patient = json.loads(next(b for u, b in bodies if u.endswith(f"{clinic.rich.pk}/")))
    assert set(patient) == set(disclosure.PSEUDONYMOUS_PATIENT_FIELDS)
    for flag in ("pregnant", "breastfeeding", "birth_date", "sex", "mrn"):
        assert flag not in patient


def test_a_clinician_reads_what_the_api_client_does_not(
    api_as: Callable[[str], APIClient], clinic: SimpleNamespace
) -> None:
    rich = clinic.rich
    client = api_as("neurologist")
    patient = client.get(f"/api/v1/patients/{rich.pk}/").json()
    assert (patient["mrn"], patient["family_name"], patient["birth_date"]) == (
        "RICH-7731",
        "Achterberg",
        "2011-03-09",
    )
    findings = json.dumps(client.get(f"/api/v1/patients/{rich.pk}/findings/").json())
    for text in (INFECTION, MEDICATION, SYMPTOM, DILUENT, "2011-03-09"):
        assert text in findings
    alerts = client.get("/api/v1/alerts/", {"patient": str(rich.pk), "page_size": 200}).json()
    assert INFECTION in json.dumps(alerts["results"])


def test_the_api_client_sees_which_rules_hold_a_patient_but_not_why(
    api_as: Callable[[str], APIClient], clinic: SimpleNamespace
) -> None:
    rich = clinic.rich
    clearance = api_as("api-client").get(f"/api/v1/patients/{rich.pk}/clearance/").json()
    assert clearance["cleared"] is False
    rules = {finding["rule"] for finding in clearance["blocking"]}
    assert {"INF-ACTIVE-INFECTION", "MED-IMMUNOSUPPRESSANT"} <= rules
    for finding in clearance["blocking"] + clearance["warnings"] + clearance["visit_steps"]:
        assert finding["message"] == disclosure.WITHHELD
        assert finding["evidence"] == {}
    # The same rules, with their reasons, for the nurse.
    nurse = api_as("nurse").get(f"/api/v1/patients/{rich.pk}/clearance/").json()
    assert {f["rule"] for f in nurse["blocking"]} == rules
    assert any(INFECTION in f["message"] for f in nurse["blocking"])


def test_a_message_is_withheld_for_a_role_lacking_one_record_type(
    api_as: Callable[[str], APIClient], clinic: SimpleNamespace, users: dict[str, User]
) -> None:
    """Redaction follows the view permission of each record type behind a finding."""
    nurse = users["nurse"]
    nurse.groups.first().permissions.remove(
        *nurse.groups.first().permissions.filter(codename="view_infection")
    )
    findings = api_as("nurse").get(f"/api/v1/patients/{clinic.rich.pk}/findings/").json()
    by_rule = {f["rule"]: f for f in findings["results"]}
    assert by_rule["INF-ACTIVE-INFECTION"]["message"] == disclosure.WITHHELD
    assert MEDICATION in by_rule["MED-IMMUNOSUPPRESSANT"]["message"]


def test_every_rule_names_the_records_it_reveals() -> None:
    assert set(disclosure.RULE_RECORDS) == set(RULE_IDS)


# --- Rate limits -----------------------------------------------------------------------------


@pytest.fixture
def low_rates(settings: Any) -> Iterator[None]:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/minute", "anon": "2/minute"},
    }
    cache.clear()
    yield
    cache.clear()


def test_past_the_rate_a_user_gets_429_with_retry_after(
    users: dict[str, User], low_rates: None
) -> None:
    _, key = AuthToken.objects.create(user=users["api-client"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    statuses = [client.get("/api/v1/alerts/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get("/api/v1/alerts/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"]
    # The limit is the user's own: another user is served.
    other = APIClient()
    other.force_authenticate(users["nurse"])
    assert other.get("/api/v1/alerts/").status_code == 200


def test_the_limit_holds_across_processes_with_the_redis_cache(
    users: dict[str, User], settings: Any
) -> None:
    """Production counts in Redis (CACHE_URL): what one process counted, another sees."""
    broker = os.environ["CELERY_BROKER_URL"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker,
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/minute", "anon": "2/minute"},
    }
    client = APIClient()
    client.force_authenticate(users["api-client"])
    assert [client.get("/api/v1/alerts/").status_code for _ in range(2)] == [200, 200]
    key = f"throttle_user_{users['api-client'].pk}"
    assert len(cache.get(key)) == 2  # the request history, kept in Redis
    assert client.get("/api/v1/alerts/").status_code == 429
    cache.delete(key)


def test_anonymous_calls_are_limited_per_address(db: None, low_rates: None) -> None:
    # The one thing anonymous callers may read (every other path answers 401 first).
    client = APIClient()
    assert [client.get("/fhir/metadata").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/fhir/metadata")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.7")
    assert elsewhere.get("/fhir/metadata").status_code == 200


def test_the_schema_describes_logout(api_as: Callable[[str], APIClient]) -> None:
    schema = api_as("api-client").get("/api/v1/schema/", {"format": "json"}).json()
    logout = schema["paths"]["/api/v1/auth/logout/"]
    assert set(logout) == {"post"}
    assert {"200", "401", "429"} <= set(logout["post"]["responses"])
    assert "requestBody" not in logout["post"]


def test_the_schema_documents_429_on_every_operation(api_as: Callable[[str], APIClient]) -> None:
    schema = api_as("api-client").get("/api/v1/schema/", {"format": "json"}).json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)


# --- Tokens ----------------------------------------------------------------------------------


def token_client(user: User) -> tuple[APIClient, AuthToken]:
    token, key = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, token


def test_a_token_expires_after_90_days_by_default(users: dict[str, User]) -> None:
    token, _ = AuthToken.objects.create(user=users["api-client"])
    lifetime = token.expiry - clock.now()
    assert timedelta(days=89, hours=23) < lifetime <= timedelta(days=90)


def test_an_expired_token_gets_401(users: dict[str, User]) -> None:
    client, token = token_client(users["api-client"])
    AuthToken.objects.filter(pk=token.pk).update(expiry=clock.now() - timedelta(seconds=1))
    assert client.get("/api/v1/alerts/").status_code == 401


def test_logout_revokes_the_token_in_use_and_no_other(users: dict[str, User]) -> None:
    client, _ = token_client(users["api-client"])
    other, _ = token_client(users["api-client"])
    response = client.post("/api/v1/auth/logout/")
    assert response.status_code == 200, response.content
    assert response.json() == {"detail": "The token is revoked."}
    assert client.get("/api/v1/alerts/").status_code == 401
    assert client.post("/api/v1/auth/logout/").status_code == 401
    assert other.get("/api/v1/alerts/").status_code == 200


def test_revoketoken_revokes_every_token_of_the_user(users: dict[str, User]) -> None:
    first, _ = token_client(users["api-client"])
    second, _ = token_client(users["api-client"])
    nurse, _ = token_client(users["nurse"])
    out = io.StringIO()
    call_command("revoketoken", "api-client", stdout=out)
    assert out.getvalue().strip() == "Revoked 2 tokens of api-client."
    assert first.get("/api/v1/alerts/").status_code == 401
    assert second.get("/api/v1/alerts/").status_code == 401
    assert nurse.get("/api/v1/alerts/").status_code == 200


def test_revoketoken_of_nobody_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("revoketoken", "nobody")
