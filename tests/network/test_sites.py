"""Sites as the people of a network meet them: who sees which patients, one site at a time on
the nurse's and pharmacist's pages, the site's clock, the commands that open sites and place
staff, and a one-site installation that behaves as before."""

import io
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from alerts import evaluation
from alerts.models import Notification
from audit.models import AuditEntry
from interop.models import LabInboxEntry
from interop.results import IncomingResult, ResultStatus
from interop.services import file_result
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import AUDITOR, NEUROLOGIST, NURSE, PHARMACIST
from network.models import Site
from network.services import create_site
from patients.models import Patient
from tests.factories import make_given_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(make_user: Any) -> SimpleNamespace:
    """London and Amsterdam, a patient due today at each, a nurse at each and one at both."""
    london = create_site(code="LDN", name="London centre", time_zone="Europe/London")
    amsterdam = create_site(code="AMS", name="Amsterdam centre", time_zone="Europe/Amsterdam")
    people = {}
    for name, role, sites in [
        ("nurse-ldn", NURSE, [london]),
        ("nurse-ams", NURSE, [amsterdam]),
        ("nurse-both", NURSE, [london, amsterdam]),
        ("pharmacist-ldn", PHARMACIST, [london]),
        ("pharmacist-both", PHARMACIST, [london, amsterdam]),
        ("neuro-ldn", NEUROLOGIST, [london]),
        ("neuro-ams", NEUROLOGIST, [amsterdam]),
        ("neuro-both", NEUROLOGIST, [london, amsterdam]),
        ("auditor-ams", AUDITOR, [amsterdam]),
    ]:
        people[name] = make_user(role, username=name)
        for site in sites:
            site.staff.add(people[name])
    due = {}
    for site, family in [(london, "Lancaster"), (amsterdam, "Achterberg")]:
        patient = make_patient(site=site, family_name=family, mrn=f"{site.code}-1")
        make_given_infusion(patient, days_ago=28)  # due today
        due[site.code] = patient
    return SimpleNamespace(london=london, amsterdam=amsterdam, people=people, due=due)


def _page(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user: User) -> Client:
    _, token = AuthToken.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def test_the_nurses_list_shows_only_her_sites_patients(network: SimpleNamespace) -> None:
    london = _page(network.people["nurse-ldn"]).get("/nurse/today/").content.decode()
    amsterdam = _page(network.people["nurse-ams"]).get("/nurse/today/").content.decode()
    assert "Lancaster" in london and "Achterberg" not in london
    assert "Achterberg" in amsterdam and "Lancaster" not in amsterdam


def test_a_nurse_of_two_sites_works_one_at_a_time_and_switches(network: SimpleNamespace) -> None:
    nurse = _page(network.people["nurse-both"])
    first = nurse.get("/nurse/today/").content.decode()
    assert "Lancaster" in first and "Achterberg" not in first  # her first site: London
    assert 'id="site-switcher"' in first and "Amsterdam centre" in first
    switched = nurse.post(
        "/site/", {"site": network.amsterdam.pk, "next": "/nurse/today/"}, follow=True
    )
    page = switched.content.decode()
    assert switched.redirect_chain[-1][0] == "/nurse/today/"
    assert "Achterberg" in page and "Lancaster" not in page
    assert "You are working at Amsterdam centre." in page


def test_the_switcher_refuses_a_site_the_user_does_not_work_at(network: SimpleNamespace) -> None:
    nurse = _page(network.people["nurse-ldn"])
    page = nurse.post("/site/", {"site": network.amsterdam.pk}, follow=True).content.decode()
    assert "That is not one of your sites." in page
    assert "Achterberg" not in nurse.get("/nurse/today/").content.decode()


def test_the_bag_board_is_the_sites_and_its_times_are_the_sites_clock(
    network: SimpleNamespace,
) -> None:
    prepared_at = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    make_preparation(network.due["LDN"], prepared_at=prepared_at)
    make_preparation(network.due["AMS"], prepared_at=prepared_at + timedelta(minutes=1))
    pharmacist = _page(network.people["pharmacist-both"])
    london = pharmacist.get("/pharmacy/bags/").content.decode()
    at_london = prepared_at.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M")
    assert "Lancaster" in london and "Achterberg" not in london
    assert at_london in london
    pharmacist.post("/site/", {"site": network.amsterdam.pk})
    amsterdam = pharmacist.get("/pharmacy/bags/").content.decode()
    moment = prepared_at + timedelta(minutes=1)
    at_amsterdam = moment.astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%H:%M")
    assert "Achterberg" in amsterdam and "Lancaster" not in amsterdam
    assert at_amsterdam in amsterdam  # an hour ahead of London's clock
    assert moment.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") not in amsterdam


def test_a_patients_page_is_on_the_patients_sites_clock(network: SimpleNamespace) -> None:
    patient = network.due["AMS"]
    collected = datetime(2026, 6, 1, 7, 30, tzinfo=ZoneInfo("UTC"))
    LabResult.objects.create(
        patient=patient,
        analyte="ALT",
        value=20,
        unit="U/L",
        reference_low=7,
        reference_high=40,
        collected_at=collected,
    )
    neurologist = _page(network.people["neuro-both"])  # current site: London
    page = neurologist.get(f"/patients/{patient.pk}/").content.decode()
    assert "09:30" in page  # 07:30 UTC is 09:30 in Amsterdam in summer, 08:30 in London


@pytest.mark.parametrize(("person", "site"), [("neuro-ldn", "LDN"), ("neuro-both", "AMS")])
def test_a_page_reads_the_users_sites_once_for_its_reads_and_its_header(
    network: SimpleNamespace, person: str, site: str
) -> None:
    neurologist = _page(network.people[person])
    patient = network.due[site]
    with CaptureQueriesContext(connection) as captured:
        page = neurologist.get(f"/patients/{patient.pk}/").content.decode()
    assert patient.family_name in page
    memberships = [q for q in captured.captured_queries if "network_site_staff" in q["sql"]]
    assert len(memberships) == 1


def test_the_api_lists_the_callers_sites_and_their_patients_only(
    network: SimpleNamespace,
) -> None:
    london = _api(network.people["neuro-ldn"])
    sites = london.get("/api/v1/sites/").json()["results"]
    assert sites == [
        {
            "id": network.london.pk,
            "code": "LDN",
            "name": "London centre",
            "time_zone": "Europe/London",
        }
    ]
    patients = london.get("/api/v1/patients/").json()["results"]
    assert [p["id"] for p in patients] == [str(network.due["LDN"].pk)]
    assert patients[0]["site"] == network.london.pk
    both = _api(network.people["neuro-both"]).get("/api/v1/sites/").json()["results"]
    assert [s["code"] for s in both] == ["AMS", "LDN"]


NEW_PATIENT = {
    "mrn": "NEW-77",
    "given_name": "Nia",
    "family_name": "Newcombe",
    "birth_date": "1990-01-01",
    "sex": "female",
    "indication": "ms",
}


def test_a_patient_registered_joins_the_callers_only_site(network: SimpleNamespace) -> None:
    response = _api(network.people["neuro-ams"]).post(
        "/api/v1/patients/", NEW_PATIENT, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["site"] == network.amsterdam.pk
    assert Patient.all_sites.get(mrn="NEW-77").site == network.amsterdam


def test_a_caller_of_several_sites_must_name_one_of_theirs(network: SimpleNamespace) -> None:
    both = _api(network.people["neuro-both"])
    unnamed = both.post("/api/v1/patients/", NEW_PATIENT, content_type="application/json")
    assert unnamed.status_code == 400
    assert "site" in unnamed.json()
    other = _api(network.people["neuro-ldn"]).post(
        "/api/v1/patients/",
        {**NEW_PATIENT, "site": network.amsterdam.pk},
        content_type="application/json",
    )
    assert other.status_code == 400
    assert "site" in other.json()
    assert not Patient.all_sites.filter(mrn="NEW-77").exists()
    named = both.post(
        "/api/v1/patients/",
        {**NEW_PATIENT, "site": network.amsterdam.pk},
        content_type="application/json",
    )
    assert named.status_code == 201 and named.json()["site"] == network.amsterdam.pk


def test_an_mrn_is_unique_across_the_network_without_saying_where(
    network: SimpleNamespace,
) -> None:
    response = _api(network.people["neuro-ldn"]).post(
        "/api/v1/patients/", {**NEW_PATIENT, "mrn": "AMS-1"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["mrn"] == ["A patient with this MRN already exists."]


def test_a_record_naming_another_sites_patient_is_refused_and_not_written(
    network: SimpleNamespace,
) -> None:
    response = _api(network.people["neuro-ldn"]).post(
        "/api/v1/lab-results/",
        {
            "patient": str(network.due["AMS"].pk),
            "analyte": "ALT",
            "value": 200,
            "unit": "U/L",
            "reference_low": 7,
            "reference_high": 40,
            "collected_at": clock.now().isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "patient" in response.json()
    assert not LabResult.every_result.filter(patient=network.due["AMS"]).exists()


def test_critical_notifications_go_to_the_patients_site_only(network: SimpleNamespace) -> None:
    patient = network.due["AMS"]
    LabResult.objects.create(
        patient=patient,
        analyte="ALT",
        value=200,
        unit="U/L",
        reference_low=7,
        reference_high=40,
        collected_at=clock.now() - timedelta(hours=1),
    )
    evaluation.evaluate_patient(str(patient.pk))
    told = set(
        Notification.all_sites.filter(alert__patient=patient).values_list(
            "recipient__username", flat=True
        )
    )
    assert {"neuro-ams", "neuro-both"} <= told
    assert not told & {"neuro-ldn", "nurse-ldn", "pharmacist-ldn"}


def test_a_result_for_a_known_patient_waits_in_that_sites_inbox(network: SimpleNamespace) -> None:
    incoming = IncomingResult(
        result_key="LIS|AMS-1|77",
        patient_identifiers=("AMS-1",),
        code="99999-9",  # not mapped: it waits for a person
        code_system="LN",
        code_text="Something new",
        value="12",
        unit="U/L",
        reference_range="0-40",
        collected_at=clock.now(),
        status=ResultStatus.FINAL,
    )
    file_result(incoming)
    entry = LabInboxEntry.all_sites.get(result_key="LIS|AMS-1|77")
    assert entry.site == network.amsterdam
    seen_ams = _api(network.people["neuro-ams"]).get("/api/v1/lab-inbox/").json()["results"]
    seen_ldn = _api(network.people["neuro-ldn"]).get("/api/v1/lab-inbox/").json()["results"]
    assert [e["id"] for e in seen_ams] == [str(entry.pk)]
    assert seen_ldn == []


def test_an_auditor_sees_the_trail_of_her_sites_patients_only(network: SimpleNamespace) -> None:
    _page(network.people["neuro-ldn"]).get(f"/patients/{network.due['LDN'].pk}/")
    _page(network.people["neuro-ams"]).get(f"/patients/{network.due['AMS'].pk}/")
    auditor = _api(network.people["auditor-ams"])
    entries = auditor.get("/api/v1/audit/?page_size=500").json()["results"]
    named = {p for e in entries for p in e["patients"]}
    assert str(network.due["AMS"].pk) in named
    assert str(network.due["LDN"].pk) not in named
    report = auditor.get(f"/api/v1/patients/{network.due['LDN'].pk}/access-report/")
    assert report.status_code == 404
    assert AuditEntry.objects.filter(patients__contains=[str(network.due["LDN"].pk)]).exists()


def test_createsite_and_createuser_place_staff(
    network: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD", "a-long-enough-password-2026")
    out = io.StringIO()
    call_command(
        "createsite", "EDI", name="Edinburgh centre", time_zone="Europe/London", stdout=out
    )
    assert "Created site EDI" in out.getvalue()
    with pytest.raises(CommandError, match="time zone"):
        call_command("createsite", "XX", name="Nowhere", time_zone="Mars/Olympus")
    with pytest.raises(CommandError, match="--site"):
        call_command("createuser", "nosite", "--role", NURSE)
    with pytest.raises(CommandError, match="No site with the code ZZZ"):
        call_command("createuser", "lost", "--role", NURSE, "--site", "ZZZ")
    assert not User.objects.filter(username="lost").exists()
    out = io.StringIO()
    call_command("createuser", "two", "--role", NURSE, "--site", "EDI", "--site", "LDN", stdout=out)
    assert "at EDI, LDN" in out.getvalue()
    assert {s.code for s in User.objects.get(username="two").sites.all()} == {"EDI", "LDN"}


def test_opening_a_second_site_keeps_everyone_on_the_first(make_user: Any) -> None:
    nurse = make_user(NURSE, username="always-here")
    patient = make_patient(family_name="Firstsite")  # the one site, made with the patient
    make_given_infusion(patient, days_ago=28)
    assert "Firstsite" in _page(nurse).get("/nurse/today/").content.decode()
    create_site(code="NEW", name="New centre", time_zone="Europe/Paris")
    assert list(nurse.sites.all()) == [patient.site]
    assert "Firstsite" in _page(nurse).get("/nurse/today/").content.decode()


def test_one_site_shows_no_site_and_everyone_works_there(make_user: Any) -> None:
    nurse = make_user(NURSE)  # placed at no site
    patient = make_patient(family_name="Onlyone")
    make_given_infusion(patient, days_ago=28)
    assert Site.objects.count() == 1
    page = _page(nurse).get("/nurse/today/").content.decode()
    assert "Onlyone" in page
    assert "site-switcher" not in page and 'id="current-site"' not in page


def test_a_user_of_no_site_in_a_network_sees_no_patient(
    network: SimpleNamespace, make_user: Any
) -> None:
    stray = make_user(NEUROLOGIST, username="stray")
    assert _api(stray).get("/api/v1/patients/").json()["results"] == []
    assert _page(stray).get(f"/patients/{network.due['LDN'].pk}/").status_code == 404


def test_patients_filter_by_site(network: SimpleNamespace) -> None:
    both = _api(network.people["neuro-both"])
    at_ams = both.get(f"/api/v1/patients/?site={network.amsterdam.pk}").json()["results"]
    assert [p["id"] for p in at_ams] == [str(network.due["AMS"].pk)]
    assert both.get("/api/v1/patients/?site=amsterdam").status_code == 400
    london_only = _api(network.people["neuro-ldn"])
    assert london_only.get(f"/api/v1/patients/?site={network.amsterdam.pk}").json() == {
        "next": None,
        "previous": None,
        "results": [],
    }
