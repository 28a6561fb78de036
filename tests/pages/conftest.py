"""Fixtures of the page tests: a browser-like client signed in as a role, and alert rows."""

from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Alert
from natalizumab_monitor import clock
from patients.models import Patient

_feed = count(1)


@pytest.fixture
def client_as(make_user: Callable[..., User]) -> Callable[[str], Client]:
    """A test client signed in as a new user of the role (None: anonymous)."""

    def signed_in(role: str | None) -> Client:
        client = Client()
        if role is not None:
            client.force_login(make_user(role))
        return client

    return signed_in


def build_alert(
    patient: Patient,
    *,
    rule: str = "LIVER-3XULN",
    severity: str = "critical",
    action: str = "suspend",
    status: str = "open",
    age: timedelta = timedelta(hours=1),
    message: str | None = None,
    **fields: Any,
) -> Alert:
    """An alert row as the evaluation would leave it (not saved)."""
    seq = next(_feed)
    return Alert(
        patient=patient,
        rule=rule,
        severity=severity,
        action=action,
        status=status,
        message=message or f"{rule} finding {seq}",
        evidence={},
        source="test",
        profile="document",
        dedup_key=f"{patient.pk}:{rule}:{seq}",
        raised_at=clock.now() - age,
        feed_seq=seq + 10_000_000,
        **fields,
    )


def make_alert(patient: Patient, **fields: Any) -> Alert:
    alert = build_alert(patient, **fields)
    alert.save()
    return alert


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Page tests sign many users in; a slow hash only costs time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
