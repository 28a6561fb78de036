"""Sign-in in real Chromium: the lockout, the second factor before any clinical page, and the
idle logoff of a shared ward tablet, warning first."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from natalizumab_monitor.roles import NEUROLOGIST, NURSE

pytestmark = pytest.mark.django_db(transaction=True)


def submit_login(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_sixth_sign_in_after_five_failures_is_refused_with_the_right_password(
    page: Page,
    live_server,
    make_user,  # noqa: ANN001
) -> None:
    user = make_user(NURSE)
    for _ in range(4):
        submit_login(page, live_server.url, user.username, "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("did not match")
    submit_login(page, live_server.url, user.username, "not-the-password")
    submit_login(page, live_server.url, user.username, "pw-for-tests-1")
    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    page.goto(f"{live_server.url}/nurse/today/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_neurologist_reaches_no_clinical_page_before_the_second_factor(
    page: Page,
    live_server,
    make_user,  # noqa: ANN001
) -> None:
    user = make_user(NEUROLOGIST)
    submit_login(page, live_server.url, user.username, "pw-for-tests-1")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    page.goto(f"{live_server.url}/worklist/")
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    expect(page.get_by_role("heading", name="Patients needing attention")).to_have_count(0)

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = totp(device.bin_key, step=device.step, digits=device.digits)
    page.get_by_label("Code").fill(f"{code:06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Patients needing attention")).to_be_visible()


def test_a_tablet_left_alone_warns_then_signs_out(login, live_server) -> None:  # noqa: ANN001
    page = login(NURSE)
    page.clock.install()
    page.goto(f"{live_server.url}/nurse/today/")
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_hidden()

    page.clock.run_for((14 * 60 + 5) * 1000)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("You will be signed out in")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()

    page.clock.run_for((14 * 60 + 5) * 1000)
    expect(warning).to_be_visible()
    page.clock.run_for(60 * 1000)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?signed_out=idle"))
    expect(page.get_by_text("signed out after 15 minutes without activity")).to_be_visible()
    page.goto(f"{live_server.url}/nurse/today/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
