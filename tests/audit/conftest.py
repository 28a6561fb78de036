"""Fixtures of the audit tests: the API suite's world of records, and entry look-ups."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEntry
from tests.api.conftest import world  # noqa: F401 - fixtures shared with the API tests
from tests.pipeline.conftest import broker, start_worker  # noqa: F401 - and the pipeline's


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def page_as(users: dict[str, User]) -> Any:
    """A browser-like client signed in as the user of the role."""

    def client_for(role: str) -> Client:
        client = Client()
        client.force_login(users[role])
        return client

    return client_for


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def entries_since(mark: int, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark, **filters).order_by("id"))
