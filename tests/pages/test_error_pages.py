"""Errors a user can meet (403, 404, 405, 500) show the clinic's layout, not a bare page."""

from collections.abc import Callable
from uuid import uuid4

import pytest
from django.test import Client
from django.urls import reverse

from natalizumab_monitor.roles import NEUROLOGIST, NURSE

pytestmark = pytest.mark.django_db

LAYOUT = ('class="site-header"', 'href="/">Natalizumab monitor</a>', "css/app.css")


def assert_in_layout(body: str, heading: str) -> None:
    for part in LAYOUT:
        assert part in body
    assert f"<h1>{heading}</h1>" in body


def test_403_a_page_of_another_role(client_as: Callable[[str | None], Client]) -> None:
    response = client_as(NURSE).get(reverse("patients:worklist"))
    assert response.status_code == 403
    assert_in_layout(response.content.decode(), "This page is not for your role")


def test_404_an_unknown_patient_and_an_unknown_address(
    client_as: Callable[[str | None], Client],
) -> None:
    neurologist = client_as(NEUROLOGIST)
    for address in (reverse("patients:detail", args=[uuid4()]), "/no-such-page/"):
        response = neurologist.get(address)
        assert response.status_code == 404
        body = response.content.decode()
        assert_in_layout(body, "Page not found")
        # Still signed in: the header keeps the user's navigation.
        assert "Worklist" in body


def test_405_reloading_an_action_address_shows_a_page_that_changes_nothing(
    client_as: Callable[[str | None], Client],
) -> None:
    response = client_as(NEUROLOGIST).get(reverse("alerts:notifications_read_all"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    body = response.content.decode()
    assert_in_layout(body, "This address is for a form's button")
    assert "Nothing was changed" in body


def test_405_of_the_api_stays_json(client_as: Callable[[str | None], Client]) -> None:
    response = client_as(NEUROLOGIST).delete("/api/v1/patients/")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.urls("tests.pages.error_urls")
def test_500_a_fault_shows_the_layout_without_the_details(
    client_as: Callable[[str | None], Client],
) -> None:
    client = client_as(NEUROLOGIST)
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    body = response.content.decode()
    assert_in_layout(body, "Something went wrong")
    assert "a fault in the page" not in body
    assert "Traceback" not in body
