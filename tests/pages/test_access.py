"""Every page needs a login, and opens only for the role it is for (403 for the others)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from infusions.models import Infusion, InfusionStatus
from natalizumab_monitor.roles import API_CLIENT, NEUROLOGIST, NURSE, PHARMACIST, ROLES
from patients.models import Infection
from tests.factories import make_checklist, make_infusion, make_patient, make_preparation

from .conftest import make_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(users: dict[str, Any]) -> dict[str, Any]:
    patient = make_patient()
    checklist = make_checklist(patient, users[NURSE])
    infusion = make_infusion(patient, checklist=checklist)
    bag = make_preparation(patient)
    alert = make_alert(patient)
    infection = Infection.objects.create(
        patient=patient, description="Cystitis", onset_on=patient.treatment_start
    )
    return {
        "patient_id": patient.id,
        "infusion_id": infusion.id,
        "bag_id": bag.id,
        "alert_id": alert.id,
        "infection_id": infection.id,
    }


# (url name, its keyword arguments, the role the page is for)
PAGES = [
    ("infusions:today", (), NURSE),
    ("infusions:checklist", ("patient_id",), NURSE),
    ("infusions:infusion", ("infusion_id",), NURSE),
    ("infusions:bags", (), PHARMACIST),
    ("infusions:prepare", (), PHARMACIST),
    ("patients:worklist", (), NEUROLOGIST),
    ("patients:detail", ("patient_id",), NEUROLOGIST),
    ("labs:lab_result_new", ("patient_id",), NEUROLOGIST),
    ("labs:antibody_test_new", ("patient_id",), NEUROLOGIST),
    ("labs:mri_study_new", ("patient_id",), NEUROLOGIST),
    ("patients:edss_new", ("patient_id",), NEUROLOGIST),
    ("patients:relapse_new", ("patient_id",), NEUROLOGIST),
    ("patients:medication_new", ("patient_id",), NEUROLOGIST),
    ("patients:infection_new", ("patient_id",), NEUROLOGIST),
]
ACTIONS = [
    ("infusions:start", ("infusion_id",), NURSE),
    ("infusions:stop", ("infusion_id",), NURSE),
    ("infusions:discharge", ("infusion_id",), NURSE),
    ("infusions:cancel", ("infusion_id",), NURSE),
    ("infusions:reaction", ("infusion_id",), NURSE),
    ("infusions:bag_used", ("bag_id",), PHARMACIST),
    ("infusions:bag_discard", ("bag_id",), PHARMACIST),
    ("patients:decide", ("patient_id",), NEUROLOGIST),
    ("patients:infection_resolved", ("patient_id", "infection_id"), NEUROLOGIST),
    ("alerts:acknowledge", ("alert_id",), NEUROLOGIST),
    ("alerts:resolve", ("alert_id",), NEUROLOGIST),
]


def url(name: str, args: tuple[str, ...], records: dict[str, Any]) -> str:
    return reverse(name, kwargs={arg: records[arg] for arg in args})


@pytest.mark.parametrize(("name", "args", "role"), PAGES)
def test_a_page_opens_for_its_role_only(
    name: str,
    args: tuple[str, ...],
    role: str,
    records: dict[str, Any],
    client_as: Callable[[str | None], Client],
) -> None:
    target = url(name, args, records)
    anonymous = client_as(None).get(target)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    for other in ROLES:
        response = client_as(other).get(target)
        assert response.status_code == (200 if other == role else 403), (other, target)


@pytest.mark.parametrize(("name", "args", "role"), ACTIONS)
def test_an_action_is_refused_to_other_roles_and_changes_nothing(
    name: str,
    args: tuple[str, ...],
    role: str,
    records: dict[str, Any],
    client_as: Callable[[str | None], Client],
) -> None:
    target = url(name, args, records)
    anonymous = client_as(None).post(target, {"reason": "x", "note": "x"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    for other in ROLES:
        if other != role:
            assert client_as(other).post(target, {"reason": "x", "note": "x"}).status_code == 403
    assert client_as(role).get(target).status_code == 405
    assert Infusion.objects.get(pk=records["infusion_id"]).status == InfusionStatus.PLANNED


@pytest.mark.parametrize(
    ("role", "page"),
    [
        (NURSE, "infusions:today"),
        (PHARMACIST, "infusions:bags"),
        (NEUROLOGIST, "patients:worklist"),
    ],
)
def test_home_sends_each_role_to_its_page(
    role: str, page: str, client_as: Callable[[str | None], Client]
) -> None:
    response = client_as(role).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(page)


def test_home_tells_an_api_client_to_use_the_api(
    client_as: Callable[[str | None], Client],
) -> None:
    response = client_as(API_CLIENT).get(reverse("home"))
    assert response.status_code == 200
    assert "/api/v1/alerts/" in response.content.decode()
    assert 'href="/worklist/"' not in response.content.decode()


def test_home_needs_a_login(client_as: Callable[[str | None], Client]) -> None:
    response = client_as(None).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_each_role_sees_only_its_own_links(client_as: Callable[[str | None], Client]) -> None:
    nurse = client_as(NURSE).get(reverse("infusions:today")).content.decode()
    assert reverse("infusions:today") in nurse
    assert reverse("patients:worklist") not in nurse
    assert reverse("infusions:prepare") not in nurse
    pharmacist = client_as(PHARMACIST).get(reverse("infusions:bags")).content.decode()
    assert reverse("infusions:prepare") in pharmacist
    assert reverse("infusions:today") not in pharmacist


def test_logout_ends_the_session(client_as: Callable[[str | None], Client]) -> None:
    client = client_as(NURSE)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("infusions:today")).status_code == 302
