"""Fixtures shared by every suite: users of each role and API clients that act as them."""

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import AppConfig
from django.contrib.auth.models import Group, Permission, User
from django.db.models.signals import post_migrate
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from natalizumab_monitor.accounts import needs_second_factor
from natalizumab_monitor.roles import ROLES, sync_role_groups


def _restore_role_groups(app_config: AppConfig, **kwargs: Any) -> None:
    """The flush after a transactional test re-runs post_migrate (permissions) but not the
    data migration that made the role groups: make them again, as migrate did (again once
    the laboratory interface's permissions exist)."""
    if app_config.label in ("alerts", "interop"):
        sync_role_groups(Group, Permission)


# One Chromium for the whole run, whichever folder's tests ask for it first.
pytest_plugins = ["tests.browser"]

post_migrate.connect(_restore_role_groups, dispatch_uid="tests.restore_role_groups")


@pytest.fixture(autouse=True)
def force_login_gives_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    """`client.force_login(user)` stands for the whole sign-in, second factor included: a user
    whose role needs TOTP gets a confirmed device and a verified session. Tests of the sign-in
    itself go through the login and two-factor pages instead."""
    original = Client.force_login

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        original(self, user, backend or "django.contrib.auth.backends.ModelBackend")
        if needs_second_factor(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            device = device or TOTPDevice.objects.create(user=user, name="Tests", confirmed=True)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str, username: str | None = None) -> User:
        user = User.objects.create_user(
            username=username or f"{role}-{User.objects.count() + 1}", password="pw-for-tests-1"
        )
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    """One user per role, keyed by role name."""
    return {role: make_user(role, username=role) for role in ROLES}


@pytest.fixture
def api_as(users: dict[str, User]) -> Callable[[str], APIClient]:
    """An API client authenticated as the user of the given role."""

    def client_for(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[role])
        return client

    return client_for
