"""Every route, walked by every role from another site: a record of a patient of another site
is a 404, as if it did not exist; no list, page, feed or export shows it; nothing a request
names changes it. The same requests by the same role at the patient's own site find the record
(so each check could fail).

The routes come from the URL configuration itself: a route added later is walked too, and a
route this file does not know fails the walk until it says what it names.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from knox.models import AuthToken

from alerts import evaluation
from alerts.models import Alert, Notification
from audit.models import AuditEntry
from infusions.models import DosePreparation, Infusion, InfusionReaction, PreInfusionChecklist
from interop.models import CsvImport, LabInboxEntry
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from natalizumab_monitor.roles import (
    API_CLIENT,
    AUDITOR,
    INTERFACE,
    NEUROLOGIST,
    NURSE,
    PHARMACIST,
    ROLES,
)
from network.models import Site
from patients.models import (
    EdssAssessment,
    Infection,
    Medication,
    Patient,
    Relapse,
    TreatmentDecision,
)
from tests.api.conftest import planned_infusion
from tests.factories import make_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db

MACHINE_ROLES = {API_CLIENT, INTERFACE}  # they call the API with a token, never pages

# What each route parameter names: a record of the patient of site A (attribute of `world`).
RECORD_PARAMETERS = {
    "patient_id": "patient",
    "infusion_id": "planned",
    "bag_id": "bag",
    "infection_id": "infection",
    "alert_id": "alert",
    "notification_id": "notification",
    "entry_id": "audit_entry",  # an int: the audit entry of the patient's registration
    "id": "patient",  # /api/v1/patients/{id}/decisions/ and access-report
}
API_DETAIL_RECORDS = {
    "patient": "patient",
    "medication": "medication",
    "infection": "infection",
    "lab-result": "lab_result",
    "antibody-test": "antibody_test",
    "mri-study": "mri",
    "edss": "edss",
    "relapse": "relapse",
    "preparation": "bag",
    "infusion": "planned",
    "alert": "alert",
}
# Routes about no patient's record: sign-in and account, health, the API's schema, the
# sites, the laboratory's own messages. The lab inbox and CSV imports hold results that
# matched no patient yet (no site to scope them by): walked as lists, they must still show
# nothing of site A's patient.
NOT_A_PATIENTS_RECORD = {
    "lab-inbox-detail",
    "lab-inbox-file",
    "lab-inbox-reject",
    "inbox_entry",
    "inbox_file",
    "inbox_reject",
    "csv_import",
    "csv_import_start",
    "csv_import_progress",
}
# Lists the patient of site A is on, for the role named, at the patient's own site: the
# control that the other site's empty list is scoping, not an empty database.
LISTS_THAT_SHOW_THE_PATIENT = {
    "today": NURSE,
    "bags": PHARMACIST,
    "prepare": PHARMACIST,
    "worklist": NEUROLOGIST,
    "notifications": NEUROLOGIST,
    "search": AUDITOR,
    "fhir-observations": NEUROLOGIST,
    "patient-list": NEUROLOGIST,
    "medication-list": NEUROLOGIST,
    "infection-list": NEUROLOGIST,
    "lab-result-list": NEUROLOGIST,
    "antibody-test-list": NEUROLOGIST,
    "mri-study-list": NEUROLOGIST,
    "edss-list": NEUROLOGIST,
    "relapse-list": NEUROLOGIST,
    "preparation-list": PHARMACIST,
    "infusion-list": NURSE,
    "alert-list": API_CLIENT,
    "audit-list": AUDITOR,
}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced: "patients:detail", "patient-detail"
    pattern: str
    parameters: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def short_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and entry.name:
            parameters = tuple(entry.pattern.regex.groupindex)
            yield Route(namespace + entry.name, prefix + str(entry.pattern), parameters)


# Signing in and out is about no patient (tests/foundation, tests/e2e/test_sign_in.py).
SIGN_IN_AND_OUT = {"login", "logout", "api-logout", "two-factor-verify"}
ROUTES = [
    r
    for r in _walk(get_resolver().url_patterns)
    if not r.pattern.startswith("admin/") and r.short_name not in SIGN_IN_AND_OUT
]


@pytest.fixture
def world(make_user: Any) -> SimpleNamespace:
    """Sites A and B, a user of every role at each, and a patient of site A with a record of
    every kind: alerts raised, a notification sent, an audit trail."""
    alpha = Site.objects.create(code="ALPHA", name="Alpha centre", time_zone="Europe/London")
    bravo = Site.objects.create(code="BRAVO", name="Bravo centre", time_zone="Europe/Dublin")
    staff = {}
    for site in (alpha, bravo):
        for role in ROLES:
            user = make_user(role, username=f"{role}-{site.code.lower()}")
            site.staff.add(user)
            staff[site.code, role] = user
    nurse = staff["ALPHA", NURSE]
    now, today = clock.now(), clock.clinic_today()
    # Due today, with a planned visit, a bag and a severe reaction last time: on every list.
    patient = make_patient(
        site=alpha,
        mrn="ALPHA-90417",
        given_name="Ottoline",
        family_name="Quennell",
        treatment_start=today - timedelta(days=400),
    )
    given = make_infusion(patient, status="discharged", started_at=now - timedelta(days=28))
    given.ended_at = given.discharged_at = now - timedelta(days=28) + timedelta(hours=2)
    given.save()
    reaction = InfusionReaction.objects.create(
        infusion=given,
        severity="severe",
        symptoms=["wheeze"],
        onset_at=given.started_at + timedelta(minutes=20),
        recorded_by=nurse,
    )
    bag = make_preparation(patient, prepared_by=staff["ALPHA", PHARMACIST])
    planned = planned_infusion(patient, nurse, preparation=bag)
    records = SimpleNamespace(
        patient=patient,
        given=given,
        reaction=reaction,
        bag=bag,
        planned=planned,
        infection=Infection.objects.create(
            patient=patient, description="Otitis externa", onset_on=today
        ),
        medication=Medication.objects.create(
            patient=patient, name="Baclofen", category="other", started_on=today
        ),
        edss=EdssAssessment.objects.create(
            patient=patient, score=Decimal("3.5"), assessed_on=today
        ),
        relapse=Relapse.objects.create(patient=patient, onset_on=today - timedelta(days=90)),
        lab_result=LabResult.objects.create(
            patient=patient,
            analyte="ALT",
            value=Decimal("190"),  # over 3x ULN: a critical alert
            unit="U/L",
            reference_low=Decimal("7"),
            reference_high=Decimal("40"),
            collected_at=now - timedelta(days=1),
        ),
        antibody_test=AntibodyTest.objects.create(
            patient=patient, target="jcv", result="negative", collected_at=now
        ),
        mri=MriStudy.objects.create(
            patient=patient,
            performed_on=today,
            gd_enhancing_lesions=0,
            new_or_enlarging_t2_lesions=0,
        ),
        decision=TreatmentDecision.objects.create(
            patient=patient,
            action="resume",
            reason="Liver enzymes back to normal",
            decided_by=staff["ALPHA", NEUROLOGIST],
            decided_at=now - timedelta(days=60),
        ),
    )
    evaluation.evaluate_patient(str(patient.pk))
    records.alert = Alert.objects.filter(patient=patient).order_by("created_at").first()
    records.notification = Notification.objects.filter(alert__patient=patient).first()
    records.audit_entry = (
        AuditEntry.objects.filter(record_id=str(patient.pk)).order_by("id").first()
    )
    assert records.alert and records.notification and records.audit_entry
    # A result naming no patient of the network, and an upload: anyone's at the inbox.
    unmatched = SimpleNamespace(
        inbox_entry=LabInboxEntry.objects.create(
            created_at=now,
            result_key="LAB|NOBODY|1",
            reason="unknown-patient",
            patient_identifiers="NOBODY-1",
            code="1742-6",
            value="30",
            unit="U/L",
        ),
        csv_import=CsvImport.objects.create(
            uploaded_by=staff["BRAVO", NEUROLOGIST],
            uploaded_at=now,
            file_name="results.csv",
            content="mrn,analyte,value,unit,reference_high,collected_at,accession_number\n",
        ),
    )
    return SimpleNamespace(
        alpha=alpha, bravo=bravo, staff=staff, records=records, unmatched=unmatched
    )


def _url_of_unmatched(route: Route, world: SimpleNamespace) -> str:
    """The inbox and imports name an unmatched result or an upload, never site A's record."""
    record = world.unmatched.csv_import if "import" in route.name else world.unmatched.inbox_entry
    return reverse(route.name, kwargs={p: str(record.pk) for p in route.parameters})


def _ghost_url_of_unmatched(route: Route) -> str:
    return reverse(route.name, kwargs={p: str(uuid.uuid4()) for p in route.parameters})


def _traces(world: SimpleNamespace) -> set[str]:
    """What of site A's patient must not appear in another site's response."""
    r = world.records
    ids = {
        str(getattr(r, name).pk)
        for name in vars(r)
        if name not in {"audit_entry"} and hasattr(getattr(r, name), "pk")
    }
    return ids | {r.patient.mrn, r.patient.family_name}


def _fingerprint() -> tuple[Any, ...]:
    """The state of every patient's record: changed if any request wrote to one."""
    models = [
        Patient,
        Infusion,
        PreInfusionChecklist,
        DosePreparation,
        InfusionReaction,
        Alert,
        Notification,
        Infection,
        Medication,
        EdssAssessment,
        Relapse,
        TreatmentDecision,
        LabResult,
        AntibodyTest,
        MriStudy,
        LabInboxEntry,
        CsvImport,
    ]
    state = []
    for model in models:
        rows = model._base_manager.order_by("pk").values_list("pk", *_changing_fields(model))
        state.append(tuple(rows))
    return tuple(state)


def _changing_fields(model: Any) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname != "id"]


def _client(user: User, route: Route) -> Client:
    client = Client()
    if route.is_api or user.groups.filter(name__in=MACHINE_ROLES).exists():
        _, token = AuthToken.objects.create(user=user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    else:
        client.force_login(user)
    return client


def _url(route: Route, world: SimpleNamespace, *, ghost: bool = False) -> str:
    """The route naming site A's records (ghost: naming records that never existed)."""
    kwargs = {}
    for parameter in route.parameters:
        if parameter == "pk":
            basename = next(b for b in API_DETAIL_RECORDS if route.name.startswith(b + "-"))
            record = getattr(world.records, API_DETAIL_RECORDS.get(basename, basename))
        else:
            record = getattr(world.records, RECORD_PARAMETERS[parameter])
        kwargs[parameter] = str(_ghost_of(record.pk) if ghost else record.pk)
    url = reverse(route.name, kwargs=kwargs)
    if route.short_name == "fhir-observations":
        patient = world.records.patient.pk
        url += f"?patient={_ghost_of(patient) if ghost else patient}"
    return url


def _ghost_of(pk: Any) -> Any:
    return 2**31 - 1 if isinstance(pk, int) else uuid.uuid4()


def _names_a_record(route: Route) -> bool:
    return bool(route.parameters) and route.short_name not in NOT_A_PATIENTS_RECORD


def _post_body(route: Route) -> dict[str, Any]:
    """A body the route accepts, so that only the record it names can stop it."""
    now = clock.now().isoformat()
    return {
        "infusion-start": {"started_at": now},
        "infusion-stop": {"ended_at": now, "reason": "Wheeze after ten minutes"},
        "infusion-discharge": {"discharged_at": now, "reason": "Left early, well"},
        "infusion-clear-checklist": {"note": "Infection treated; cleared to proceed"},
        "infusion-reactions": {"severity": "mild", "symptoms": ["rash"], "onset_at": now},
        "alert-resolve": {"note": "Repeat result normal"},
    }.get(route.short_name, {})


def _call(client: Client, method: str, url: str, route: Route) -> Any:
    if method == "GET":
        return client.get(url)
    return client.post(url, data=_post_body(route), content_type="application/json")


def _reached(response: Any) -> bool:
    """Whether the request got past who-may-call-this to the record itself."""
    if response.status_code in (401, 403, 404, 405):
        return False
    return not response.get("Location", "").startswith(reverse("login"))


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def test_the_walk_knows_every_route_parameter() -> None:
    """A new route naming a record fails here until the walk knows what it names."""
    for route in ROUTES:
        if route.short_name in NOT_A_PATIENTS_RECORD:
            continue
        for parameter in route.parameters:
            if parameter == "pk":
                assert any(route.name.startswith(b + "-") for b in API_DETAIL_RECORDS), route
            else:
                assert parameter in RECORD_PARAMETERS, route


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_another_sites_user_of_every_role_finds_nothing_of_the_patient(
    route: Route, world: SimpleNamespace
) -> None:
    unmatched = route.short_name in NOT_A_PATIENTS_RECORD
    url = _url_of_unmatched(route, world) if unmatched else _url(route, world)
    # The same route naming records that never were.
    ghost = _ghost_url_of_unmatched(route) if unmatched else _url(route, world, ghost=True)
    traces = {t for t in _traces(world) if t not in url}  # an id sent may be echoed back
    calls = [(role, method) for role in ROLES for method in ("GET", "POST")]
    # From site B: nothing shown, nothing changed, the answer of a record that never was.
    before = _fingerprint()
    answers = {}
    for role, method in calls:
        away = _call(_client(world.staff["BRAVO", role], route), method, url, route)
        shown = sorted(t for t in traces if t in _body(away))
        assert not shown, f"{role} {method} {url} showed {shown}"
        answers[role, method] = away.status_code
        if _names_a_record(route):
            never = _call(_client(world.staff["BRAVO", role], route), method, ghost, route)
            assert away.status_code == never.status_code, (
                f"{role} {method} {url}: {away.status_code}, but {never.status_code} for a "
                "record that does not exist"
            )
    if not unmatched:  # the inbox and uploads are anyone's to act on
        assert _fingerprint() == before, f"a request from another site to {url} changed a record"
    # At site A, the same requests reach the record: the checks above could fail.
    reached_at_home, refused_away = [], []
    for role, method in calls if _names_a_record(route) else []:
        home = _call(_client(world.staff["ALPHA", role], route), method, url, route)
        if _reached(home):
            reached_at_home.append((role, method))
            if answers[role, method] == 404:
                refused_away.append((role, method))
    if _names_a_record(route):
        assert reached_at_home, f"no role reaches {url} at the patient's own site"
        assert refused_away, f"{url}: no role that reaches it at home gets 404 from away"
    if route.short_name in LISTS_THAT_SHOW_THE_PATIENT:
        role = LISTS_THAT_SHOW_THE_PATIENT[route.short_name]
        home = _client(world.staff["ALPHA", role], route).get(url)
        assert home.status_code == 200
        assert {t for t in traces if t in _body(home)}, f"{url} at home shows nothing"
