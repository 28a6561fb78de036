"""Sign-in fit for health data: lockout, two factors, passwords, sessions that end, and the
headers every response carries (issue: ASVS 5.0 L2 / HIPAA 164.312)."""

import time
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from natalizumab_monitor.accounts import (
    DEVICE_RECHECK_SECONDS,
    LAST_ACTIVITY,
    NO_DEVICE_CHECKED_AT,
    SIGNED_IN_AT,
)
from natalizumab_monitor.roles import API_CLIENT, AUDITOR, NEUROLOGIST, NURSE

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: str) -> object:
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"


# --- Lockout ---------------------------------------------------------------------------------


def test_the_sixth_sign_in_after_five_failures_is_refused_even_with_the_right_password(
    make_user: Callable[..., User],
) -> None:
    user = make_user(NURSE)
    for _ in range(4):
        assert sign_in(Client(), user.username, "wrong-password").status_code == 200
    fifth = sign_in(Client(), user.username, "wrong-password")
    assert fifth.status_code == 429  # the fifth failure locks
    refused = sign_in(Client(), user.username)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in refused.wsgi_request.session


def test_the_lockout_message_does_not_say_whether_the_user_exists(
    make_user: Callable[..., User],
) -> None:
    user = make_user(NURSE)
    pages = []
    for username in (user.username, "nobody-by-that-name"):
        for _ in range(5):
            sign_in(Client(REMOTE_ADDR="10.0.0.1"), username, "wrong-password")
        page = sign_in(Client(REMOTE_ADDR="10.0.0.2"), username).content.decode()
        pages.append(page.split('<main id="main"', 1)[1])
        call_command("axes_reset")
    assert pages[0] == pages[1]


def test_five_failures_from_one_address_lock_that_address_for_every_username(
    make_user: Callable[..., User],
) -> None:
    user = make_user(NURSE)
    for n in range(5):
        sign_in(Client(), f"guess-{n}", "wrong-password", REMOTE_ADDR="10.9.9.9")
    assert sign_in(Client(), user.username, REMOTE_ADDR="10.9.9.9").status_code == 429
    assert sign_in(Client(), user.username, REMOTE_ADDR="10.9.9.10").status_code == 302


def test_a_command_unlocks_a_user(make_user: Callable[..., User]) -> None:
    user = make_user(NURSE)
    for n in range(5):
        sign_in(Client(), user.username, "wrong-password", REMOTE_ADDR=f"10.1.1.{n}")
    assert sign_in(Client(), user.username, REMOTE_ADDR="10.1.1.99").status_code == 429
    call_command("axes_reset_username", user.username)
    assert sign_in(Client(), user.username, REMOTE_ADDR="10.1.1.99").status_code == 302


# --- Two factors -----------------------------------------------------------------------------


def test_a_role_that_needs_totp_enrols_by_qr_code_before_any_clinical_page(
    make_user: Callable[..., User],
) -> None:
    user = make_user(NEUROLOGIST)
    client = Client()
    sign_in(client, user.username)
    worklist = client.get(reverse("patients:worklist"))
    assert worklist.status_code == 302 and worklist["Location"].startswith(
        reverse("two-factor-verify")
    )
    setup = client.get(reverse("two-factor-verify"), follow=True)
    page = setup.content.decode()
    assert setup.redirect_chain[-1][0].startswith(reverse("two-factor-setup"))
    assert "<svg" in page and "authenticator app" in page
    assert client.get(reverse("patients:worklist")).status_code == 302  # still nothing

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(reverse("two-factor-setup"), {"token": "000000"})
    assert wrong.status_code == 400 and "not valid" in wrong.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # each wrong code makes the next one wait
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    done = client.post(reverse("two-factor-setup"), {"token": code(device)})
    codes = done.content.decode().split("<code>")[1:]
    assert len(codes) == 10
    assert client.get(reverse("patients:worklist")).status_code == 200


def test_a_recovery_code_signs_in_once(make_user: Callable[..., User]) -> None:
    user = make_user(AUDITOR)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    sign_in(client, user.username)
    from natalizumab_monitor.accounts import _new_recovery_codes

    recovery = _new_recovery_codes(user)[0]
    verified = client.post(reverse("two-factor-verify"), {"token": recovery, "next": "/audit/"})
    assert verified.status_code == 302 and verified["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200
    assert not StaticToken.objects.filter(token=recovery).exists()

    again = Client()
    sign_in(again, user.username)
    refused = again.post(reverse("two-factor-verify"), {"token": recovery})
    assert refused.status_code == 400
    assert again.get("/audit/").status_code == 302


def test_a_nurse_needs_no_second_factor_unless_she_enrolled(
    make_user: Callable[..., User],
) -> None:
    nurse = make_user(NURSE)
    client = Client()
    sign_in(client, nurse.username)
    assert client.get(reverse("infusions:today")).status_code == 200
    TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    enrolled = Client()
    sign_in(enrolled, nurse.username)
    assert enrolled.get(reverse("infusions:today")).status_code == 302


def test_a_session_open_when_a_device_is_enrolled_elsewhere_is_asked_for_it_within_minutes(
    make_user: Callable[..., User],
) -> None:
    nurse = make_user(NURSE)
    client = Client()
    sign_in(client, nurse.username)
    assert client.get(reverse("infusions:today")).status_code == 200
    TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)  # by an administrator
    # The session remembers that she had no device, for a few minutes...
    assert client.get(reverse("infusions:today")).status_code == 200
    session = client.session
    session[NO_DEVICE_CHECKED_AT] -= DEVICE_RECHECK_SECONDS
    session.save()
    # ...then looks again, and asks for the code.
    asked = client.get(reverse("infusions:today"))
    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("two-factor-verify"))


def test_the_admin_is_behind_the_second_factor(db: None) -> None:
    User.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    sign_in(client, "root")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-factor-verify"))


def test_an_api_client_cannot_sign_in_to_pages(make_user: Callable[..., User]) -> None:
    user = make_user(API_CLIENT)
    client = Client()
    page = sign_in(client, user.username).content.decode()
    assert "cannot sign in to pages" in page
    assert client.get(reverse("home")).status_code == 302  # to the login page


# --- Passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weak", ["a", "short-pw", "123456789012345", "password1234", "nurse-jane-smith"]
)
def test_createuser_refuses_a_weak_password(
    db: None, monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    Group.objects.get_or_create(name=NURSE)
    monkeypatch.setenv("PASSWORD", weak)
    with pytest.raises(CommandError, match="Password refused"):
        call_command("createuser", "nurse-jane-smith", "--role", NURSE)
    assert not User.objects.filter(username="nurse-jane-smith").exists()


def test_argon2_hashes_new_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = [  # type: ignore[attr-defined]
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
    user = User.objects.create_user("hashed", password="a-strong-passphrase-1")
    assert user.password.startswith("argon2")


def test_every_user_changes_the_password_from_the_header(make_user: Callable[..., User]) -> None:
    user = make_user(NURSE)
    client = Client()
    client.force_login(user)
    page = client.get(reverse("infusions:today")).content.decode()
    assert f'href="{reverse("password-change")}"' in page
    change = reverse("password-change")
    weak = client.post(
        change, {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"}
    )
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    strong = "violet-harbour-lantern-42"
    done = client.post(
        change, {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(strong)


# --- Sessions --------------------------------------------------------------------------------


def _age_session(client: Client, *, idle: float = 0, since_sign_in: float = 0) -> None:
    session = client.session
    now = time.time()
    session[LAST_ACTIVITY] = now - idle
    session[SIGNED_IN_AT] = now - since_sign_in
    session.save()


def test_an_idle_session_ends_after_15_minutes_and_the_login_page_says_why(
    make_user: Callable[..., User],
) -> None:
    client = Client()
    client.force_login(make_user(NURSE))
    client.get(reverse("infusions:today"))
    _age_session(client, idle=14 * 60, since_sign_in=14 * 60)
    assert client.get(reverse("infusions:today")).status_code == 200
    _age_session(client, idle=15 * 60 + 1, since_sign_in=30 * 60)
    ended = client.get(reverse("infusions:today"))
    assert ended.status_code == 302 and ended["Location"].endswith("?signed_out=idle")
    login = client.get(ended["Location"]).content.decode()
    assert "signed out after 15 minutes without activity" in login
    assert client.get(reverse("infusions:today")).status_code == 302


def test_a_session_ends_after_a_12_hour_shift_even_when_busy(
    make_user: Callable[..., User],
) -> None:
    client = Client()
    client.force_login(make_user(NURSE))
    client.get(reverse("infusions:today"))
    _age_session(client, idle=10, since_sign_in=12 * 3600 + 1)
    ended = client.get(reverse("infusions:today"))
    assert ended["Location"].endswith("?signed_out=shift")


def test_stay_signed_in_restarts_the_idle_clock_but_polling_does_not(
    make_user: Callable[..., User],
) -> None:
    client = Client()
    client.force_login(make_user(NURSE))
    client.get(reverse("infusions:today"))
    _age_session(client, idle=14 * 60)
    client.get(reverse("infusions:today"), HTTP_X_BACKGROUND="1")
    assert time.time() - client.session[LAST_ACTIVITY] >= 14 * 60
    assert client.post(reverse("session-keepalive")).status_code == 200
    assert time.time() - client.session[LAST_ACTIVITY] < 5


def test_cookies_are_secure_and_http_only_when_not_in_debug(
    make_user: Callable[..., User],
) -> None:
    user = make_user(NURSE)
    response = sign_in(Client(), user.username)
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert response.cookies["csrftoken"]["secure"]


# --- Headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/nurse/today/", "/api/v1/patients/", "/health/"]
)
def test_every_response_carries_the_security_headers(
    make_user: Callable[..., User], path: str
) -> None:
    client = Client()
    client.force_login(make_user(NURSE))
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in csp
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/nurse/today/", "/api/v1/patients/", "/api/v1/alerts/"])
def test_authenticated_pages_and_api_answers_are_never_cached(
    make_user: Callable[..., User], path: str
) -> None:
    client = Client()
    client.force_login(make_user(NURSE))
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.parametrize("cookie", ["abc\x00def", "x" * 500, "not a key", "ünïcode"])
def test_a_malformed_session_cookie_is_no_session_and_no_error(
    make_user: Callable[..., User], cookie: str
) -> None:
    client = Client()
    client.cookies["sessionid"] = cookie
    assert client.get(reverse("infusions:today")).status_code == 302  # to the login page
    assert client.post("/api/v1/relapses/", {}).status_code in (401, 403)
