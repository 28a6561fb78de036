"""Roles, the user and token commands, and the demo data."""

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from infusions.models import Infusion
from labs.models import LabResult
from natalizumab_monitor.roles import ROLE_PERMISSIONS, ROLES, role_of
from patients.models import Patient

pytestmark = pytest.mark.django_db


def perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_each_role_group_exists_with_exactly_its_permissions() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    for role in ROLES:
        assert perms(role) == ROLE_PERMISSIONS[role]


def test_roles_can_do_their_job_and_no_more() -> None:
    assert "infusions.add_infusion" in perms("nurse")
    assert "infusions.add_dosepreparation" not in perms("nurse")
    assert "infusions.add_dosepreparation" in perms("pharmacist")
    assert "infusions.add_infusion" not in perms("pharmacist")
    assert "patients.add_treatmentdecision" in perms("neurologist")
    assert "patients.add_treatmentdecision" not in perms("nurse")
    assert perms("api-client") == {"patients.view_patient", "alerts.view_alert"}


def test_createuser_then_issuetoken_authenticates_and_a_wrong_token_gets_401(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASSWORD", "a-long-password-1")
    call_command("createuser", "alice", role="neurologist", stdout=io.StringIO())
    alice = User.objects.get(username="alice")
    assert alice.check_password("a-long-password-1")
    assert list(alice.groups.values_list("name", flat=True)) == ["neurologist"]

    out = io.StringIO()
    call_command("issuetoken", "alice", stdout=out)
    token = out.getvalue().strip()
    assert len(token.splitlines()) == 1 and len(token) >= 32

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/schema/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * len(token))
    assert client.get("/api/v1/schema/").status_code == 401
    client.credentials()
    assert client.get("/api/v1/schema/").status_code == 401


def test_tokens_are_stored_hashed() -> None:
    from knox.models import AuthToken

    user = User.objects.create_user("bob")
    out = io.StringIO()
    call_command("issuetoken", "bob", stdout=out)
    token = out.getvalue().strip()
    stored = AuthToken.objects.get(user=user)
    assert stored.digest != token and token not in stored.digest
    assert stored.expiry is not None  # tokens expire by default


def test_createuser_refuses_an_unknown_role_and_a_taken_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASSWORD", "a-long-password-1")
    with pytest.raises(CommandError):
        call_command("createuser", "carol", role="surgeon", stdout=io.StringIO())
    call_command("createuser", "carol", role="nurse", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("createuser", "carol", role="nurse", stdout=io.StringIO())


def test_demo_data_loads_twice_without_duplicating() -> None:
    call_command("loaddemo", stdout=io.StringIO())
    counts = (Patient.objects.count(), Infusion.objects.count(), LabResult.objects.count())
    call_command("loaddemo", stdout=io.StringIO())
    assert (Patient.objects.count(), Infusion.objects.count(), LabResult.objects.count()) == counts
    assert counts[0] == 6


def test_demo_data_holds_the_cases_the_clinic_must_see() -> None:
    call_command("loaddemo", stdout=io.StringIO())
    alt = LabResult.objects.filter(patient__mrn="DEMO-0001", analyte="ALT").latest("collected_at")
    assert float(alt.value / alt.reference_high) == pytest.approx(3.2)
    positives = Patient.objects.get(mrn="DEMO-0002").antibody_tests.filter(
        target="natalizumab", result="positive"
    )
    first, last = positives.order_by("collected_at")
    assert (last.collected_at - first.collected_at).days >= 42
    jcv = Patient.objects.get(mrn="DEMO-0003")
    assert jcv.antibody_tests.filter(target="jcv", result="positive", index__gt=1.5).exists()
    assert jcv.infusions.count() > 24
    assert Patient.objects.get(mrn="DEMO-0004").pregnant


def test_a_user_moved_to_another_role_is_that_role_at_once(
    make_user: Callable[..., User],
) -> None:
    """A user object reads its role once, and forgets it when its groups change."""
    user = make_user("nurse")
    assert role_of(user) == "nurse"
    user.groups.clear()
    assert role_of(user) is None
    user.groups.add(Group.objects.get(name="pharmacist"))
    assert role_of(user) == "pharmacist"
