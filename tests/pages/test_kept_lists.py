"""The nurse's list, the bag board and the worklist kept in the shared cache (Redis) between
their sites' changes: a second nurse's request reads no records, and every committed change shows at
the next request. Never a stale "cleared", never a list past its moment of change, never a
page lost when the cache is down."""

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.evaluation import evaluate_patients
from alerts.services import acknowledge_alert, resolve_alert
from audit.models import AuditEntry
from infusions import services
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from network import changes, kept
from network.models import Site
from network.services import site_for_new_record
from patients.models import Patient
from patients.services import record_decision
from tests.factories import make_cleared_patient, make_given_infusion, make_preparation

from .conftest import make_alert

pytestmark = pytest.mark.django_db(transaction=True)  # the changes are made after commits


@pytest.fixture(autouse=True)
def shared_cache(settings: Any) -> Iterator[None]:
    """The production's cache: Redis, here under a prefix of this test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/3",
            "KEY_PREFIX": f"kept-lists-{uuid.uuid4().hex}",
        }
    }
    settings.KEEP_DAY_LISTS = True
    yield


@pytest.fixture
def page_as(make_user: Callable[..., User]) -> Callable[[str], Client]:
    def signed_in(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role))
        return client

    return signed_in


def due_today(family_name: str) -> Patient:
    patient = make_cleared_patient(
        family_name=family_name, treatment_start=clock.clinic_today() - timedelta(days=30)
    )
    make_given_infusion(patient, days_ago=28)
    return patient


def evaluated(*patients: Patient) -> None:
    evaluate_patients([patient.pk for patient in patients])


def opened(client: Client, url: str) -> tuple[str, list[str]]:
    """The page, and the tables its request read."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in captured.captured_queries]


RECORDS = tuple(
    f'FROM "{table}"'
    for table in (
        "patients_patient",
        "infusions_infusion",
        "infusions_dosepreparation",
        "alerts_evaluationschedule",
    )
)


def read_records(queries: list[str]) -> bool:
    """Whether a request read patients, infusions, bags or clearances (a kept list reads
    none; the header's count of notifications is not a list)."""
    return any(table in sql for sql in queries for table in RECORDS)


TODAY = "/nurse/today/"
BAGS = "/pharmacy/bags/"


def test_a_second_nurse_is_shown_the_kept_list_without_reading_the_records(
    page_as: Callable[[str], Client],
) -> None:
    patients = [due_today(f"Kept{i}") for i in range(3)]
    evaluated(*patients)
    first, queries = opened(page_as(NURSE), TODAY)
    assert read_records(queries)
    second, queries = opened(page_as(NURSE), TODAY)
    assert not read_records(queries)
    assert second.count("Pre-infusion checklist") == first.count("Pre-infusion checklist") == 3
    assert all(patient.mrn in second for patient in patients)


def test_a_suspension_shows_on_the_kept_list_at_the_next_request(
    page_as: Callable[[str], Client], make_user: Callable[..., User]
) -> None:
    patient = due_today("Suspended")
    evaluated(patient)
    nurse = page_as(NURSE)
    assert "Not cleared" not in opened(nurse, TODAY)[0]
    record_decision(
        patient=patient, action="suspend", reason="New symptoms", user=make_user(NEUROLOGIST)
    )
    page, queries = opened(nurse, TODAY)
    assert read_records(queries)
    assert "Not cleared" in page and "Treatment suspended" in page
    evaluated(patient)  # the evaluation that follows stores the same
    assert "Treatment suspended" in opened(nurse, TODAY)[0]


def test_a_list_is_not_shown_past_the_moment_its_clearances_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = site_for_new_record()
    ends = clock.now() + timedelta(minutes=5)
    computed = []

    def compute() -> tuple[str, Any]:
        computed.append(clock.now())
        return f"list {len(computed)}", ends

    assert kept.kept("test", lambda: [site.pk], compute, shown=lambda _: []) == "list 1"
    assert kept.kept("test", lambda: [site.pk], compute, shown=lambda _: []) == "list 1"
    later = ends + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert kept.kept("test", lambda: [site.pk], compute, shown=lambda _: []) == "list 2"


def test_a_list_is_kept_for_a_minute_at_most_even_with_no_change_to_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bound on a change whose new version was lost (a process killed after its commit):
    each list is kept for between half a minute and a minute."""
    site = site_for_new_record()
    computed = []

    def compute() -> tuple[str, Any]:
        computed.append(clock.now())
        return f"list {len(computed)}", None

    began = clock.now()
    assert kept.kept("test", lambda: [site.pk], compute, shown=lambda _: []) == "list 1"
    monkeypatch.setattr(clock, "now", lambda: began + timedelta(seconds=29))
    assert kept.kept("test", lambda: [site.pk], compute, shown=lambda _: []) == "list 1"
    monkeypatch.setattr(clock, "now", lambda: began + timedelta(seconds=61))
    assert kept.kept("test", lambda: [site.pk], compute, shown=lambda _: []) == "list 2"


def test_a_list_with_a_clearance_computed_on_the_spot_is_not_kept(
    page_as: Callable[[str], Client],
) -> None:
    due_today("Unevaluated")  # marked for an evaluation that has not run
    nurse = page_as(NURSE)
    assert read_records(opened(nurse, TODAY)[1])
    assert read_records(opened(nurse, TODAY)[1])


def test_a_patient_moved_to_another_site_leaves_the_kept_list(
    page_as: Callable[[str], Client],
) -> None:
    patient = due_today("Moving")
    here = patient.site
    evaluated(patient)
    nurse = page_as(NURSE)
    assert patient.mrn in opened(nurse, TODAY)[0]
    elsewhere = Site.objects.create(code="ELSE", name="Elsewhere", time_zone=here.time_zone)
    nurse_user = User.objects.get(pk=nurse.session["_auth_user_id"])
    nurse_user.sites.set([here])
    patient.site = elsewhere
    patient.save()
    assert patient.mrn not in opened(nurse, TODAY)[0]


def test_the_kept_bag_board_shows_a_discarded_bag_at_the_next_request(
    page_as: Callable[[str], Client], make_user: Callable[..., User]
) -> None:
    patient = due_today("Bagged")
    bag = make_preparation(patient)
    evaluated(patient)
    pharmacist = page_as(PHARMACIST)
    assert "Discard" in opened(pharmacist, BAGS)[0]
    assert not read_records(opened(pharmacist, BAGS)[1])
    services.discard_preparation(
        preparation=bag, reason="Dropped on the floor", user=make_user(PHARMACIST)
    )
    page, queries = opened(pharmacist, BAGS)
    assert read_records(queries)
    assert "Dropped on the floor" in page


def test_a_kept_list_still_names_its_patients_to_the_audit(
    page_as: Callable[[str], Client],
) -> None:
    patients = [due_today(f"Audited{i}") for i in range(2)]
    evaluated(*patients)
    nurse = page_as(NURSE)
    opened(nurse, TODAY)
    since = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    assert not read_records(opened(nurse, TODAY)[1])
    [entry] = AuditEntry.objects.filter(id__gt=since, action="read")
    assert set(entry.patients) == {str(patient.pk) for patient in patients}


def test_with_the_cache_down_the_list_is_read_and_changes_are_recorded(
    settings: Any, page_as: Callable[[str], Client], make_user: Callable[..., User]
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    patient = due_today("Uncached")
    evaluated(patient)
    nurse = page_as(NURSE)
    assert patient.mrn in opened(nurse, TODAY)[0]
    record_decision(
        patient=patient, action="suspend", reason="New symptoms", user=make_user(NEUROLOGIST)
    )
    assert "Treatment suspended" in opened(nurse, TODAY)[0]


def test_a_record_changes_only_its_own_sites_version() -> None:
    patient = due_today("Here")
    there = Site.objects.create(code="THERE", name="There", time_zone=patient.site.time_zone)
    before = changes.version([patient.site_id]), changes.version([there.pk])
    make_preparation(patient)
    assert changes.version([patient.site_id]) != before[0]
    assert changes.version([there.pk]) == before[1]


# --- The neurologist's worklist, kept for the sites they see ----------------------------------

WORKLIST = "/worklist/"


def read_alerts(queries: list[str]) -> bool:
    return any('FROM "alerts_alert"' in sql for sql in queries)


def test_a_second_neurologist_is_shown_the_kept_worklist_without_reading_the_alerts(
    page_as: Callable[[str], Client],
) -> None:
    patient = due_today("Alerted")
    make_alert(patient, message="ALT 3.2 times the upper limit")
    first, queries = opened(page_as(NEUROLOGIST), WORKLIST)
    assert read_alerts(queries)
    second, queries = opened(page_as(NEUROLOGIST), WORKLIST)
    assert not read_alerts(queries)
    assert "ALT 3.2 times the upper limit" in second and patient.mrn in second


def test_an_alert_acknowledged_or_resolved_shows_on_the_kept_worklist_at_the_next_request(
    page_as: Callable[[str], Client], make_user: Callable[..., User]
) -> None:
    patient = due_today("Acknowledged")
    alert = make_alert(patient, message="ALT 3.2 times the upper limit")
    neurologist = page_as(NEUROLOGIST)
    assert "(acknowledged)" not in opened(neurologist, WORKLIST)[0]
    someone = make_user(NEUROLOGIST)
    acknowledge_alert(alert=alert, user=someone)
    assert "(acknowledged)" in opened(neurologist, WORKLIST)[0]
    resolve_alert(alert=alert, note="Repeat ALT normal", user=someone)
    assert patient.mrn not in opened(neurologist, WORKLIST)[0]


def test_an_alert_raised_by_an_evaluation_shows_on_the_kept_worklist_at_the_next_request(
    page_as: Callable[[str], Client],
) -> None:
    patient = due_today("Liver")
    evaluated(patient)
    neurologist = page_as(NEUROLOGIST)
    assert "LIVER-" not in opened(neurologist, WORKLIST)[0]
    LabResult.objects.create(
        patient=patient, analyte="ALT", value=Decimal(200), unit="U/L",
        reference_low=Decimal(7), reference_high=Decimal(40),
        collected_at=clock.now() - timedelta(hours=1),
    )  # fmt: skip
    assert "LIVER-" not in opened(neurologist, WORKLIST)[0]  # not evaluated yet: kept
    evaluated(patient)
    assert "LIVER-" in opened(neurologist, WORKLIST)[0]


def test_neurologists_of_two_sites_each_see_their_own_kept_worklist(
    page_as: Callable[[str], Client],
) -> None:
    here_patient = due_today("Here")
    make_alert(here_patient)
    here = here_patient.site
    there = Site.objects.create(code="THERE", name="There", time_zone=here.time_zone)
    there_patient = due_today("There")
    there_patient.site = there
    there_patient.save()
    make_alert(there_patient)
    pages = {}
    for site in (here, there, here, there):
        neurologist = page_as(NEUROLOGIST)
        User.objects.get(pk=neurologist.session["_auth_user_id"]).sites.set([site])
        pages.setdefault(site.code, []).append(opened(neurologist, WORKLIST)[0])
    for code, mine, theirs in ((here.code, here_patient, there_patient),
                               ("THERE", there_patient, here_patient)):  # fmt: skip
        for page in pages[code]:
            assert mine.mrn in page and theirs.mrn not in page
