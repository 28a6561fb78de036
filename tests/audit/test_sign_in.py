"""Sign-in events: login, logout and failed logins (with the username tried and the address);
API tokens issued and revoked."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from knox.models import AuthToken

from .conftest import entries_since, last_id

pytestmark = pytest.mark.django_db


def test_a_failed_login_records_the_username_tried_and_the_address(db: None) -> None:
    User.objects.create_user("nadia", password="right-password-1")
    mark = last_id()
    response = Client().post(
        "/accounts/login/",
        {"username": "nadia", "password": "wrong"},
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 200  # the form again, with its error
    Client().post("/accounts/login/", {"username": "nobody-here", "password": "x"})
    failed = entries_since(mark, action="login-failed")
    assert [(e.username, e.user_id, e.via) for e in failed] == [
        ("nadia", None, "page"),
        ("nobody-here", None, "page"),
    ]
    assert failed[0].remote_addr == "192.0.2.44"
    assert failed[0].changes == {"username": "nadia"}
    assert "wrong" not in str(failed[0].changes)


def test_login_and_logout_are_recorded_with_the_user_and_role(
    users: dict[str, User],
) -> None:
    nurse = users["nurse"]
    nurse.set_password("right-password-1")
    nurse.save()
    client = Client()
    mark = last_id()
    response = client.post(
        "/accounts/login/",
        {"username": "nurse", "password": "right-password-1"},
        REMOTE_ADDR="198.51.100.9",
    )
    assert response.status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    events = entries_since(mark, action__in=["login", "logout"])
    assert [(e.action, e.username, e.role, e.user_id) for e in events] == [
        ("login", "nurse", "nurse", nurse.pk),
        ("logout", "nurse", "nurse", nurse.pk),
    ]
    assert events[0].remote_addr == "198.51.100.9"
    # The login's own update of last_login is no change of the user worth an entry.
    assert entries_since(mark, record_type="auth.user", action="update") == []


def test_a_token_issued_and_revoked_leaves_one_entry_each(users: dict[str, User]) -> None:
    mark = last_id()
    token, key = AuthToken.objects.create(user=users["api-client"])
    token.delete()
    events = entries_since(mark, record_type="knox.authtoken")
    assert [(e.action, e.record_id) for e in events] == [
        ("create", token.token_key),
        ("delete", token.token_key),
    ]
    assert all(e.changes["user_id"] == users["api-client"].pk for e in events)
    assert key not in str([e.changes for e in events])
