"""Real Chromium (Debian's package) driven by Playwright, against a live server on PostgreSQL:
the suite's one browser (a plugin of tests/conftest.py)."""

import os
import shutil
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, sync_playwright

from natalizumab_monitor.accounts import needs_second_factor

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop; Django must allow ORM calls beside it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


@pytest.fixture
def login(page: Page, live_server: object, make_user: object):  # noqa: ANN201
    """Sign in through the login page as a new user of the given role."""

    def sign_in(role: str) -> Page:
        user = make_user(role)  # type: ignore[operator]
        sign_in_through_pages(page, live_server.url, user.username, "pw-for-tests-1")  # type: ignore[attr-defined]
        return page

    return sign_in


def sign_in_through_pages(page: Page, base: str, username: str, password: str) -> None:
    """The login page, then (for a role that needs it) the second factor with a code of an
    authenticator the user has."""
    user = User.objects.get(username=username)
    device = None
    if needs_second_factor(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if device is not None and "/accounts/two-factor/" in page.url:
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)  # a code may sign in again
        now = totp(device.bin_key, step=device.step, digits=device.digits)
        page.get_by_label("Code").fill(f"{now:0{device.digits}d}")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
