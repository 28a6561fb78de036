"""The unread count in the header opens the user's notifications, which can be marked read."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Notification
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from tests.factories import make_patient

from .conftest import make_alert

pytestmark = pytest.mark.django_db


def unread_count(body: str) -> str:
    match = re.search(r'id="unread-notifications"[^>]*>([^<]*)<', body)
    assert match, "the header shows no unread count"
    return match.group(1).strip()


def notify(user: User, *, message: str, hours_ago: int) -> Notification:
    patient = make_patient(family_name=f"Patient{hours_ago}")
    alert = make_alert(patient, message=message)
    notification = Notification.objects.create(alert=alert, recipient=user)
    Notification.objects.filter(pk=notification.pk).update(
        created_at=clock.now() - timedelta(hours=hours_ago)
    )
    return notification


@pytest.fixture
def neurologist(make_user: Callable[..., User]) -> tuple[User, Client]:
    user = make_user(NEUROLOGIST)
    client = Client()
    client.force_login(user)
    return user, client


def test_the_header_count_opens_the_list_newest_first_with_links(
    neurologist: tuple[User, Client], make_user: Callable[..., User]
) -> None:
    user, client = neurologist
    older = notify(user, message="ALT 128 U/L is 3.2 x ULN", hours_ago=5)
    newer = notify(user, message="Anti-natalizumab antibodies persistent", hours_ago=1)
    notify(make_user(NEUROLOGIST), message="Someone else's alert", hours_ago=2)

    worklist = client.get(reverse("patients:worklist")).content.decode()
    assert unread_count(worklist) == "2 unread notifications"
    assert f'href="{reverse("alerts:notifications")}"' in worklist

    body = client.get(reverse("alerts:notifications")).content.decode()
    assert body.index("antibodies persistent") < body.index("ALT 128 U/L")
    assert "Someone else" not in body
    link = reverse("patients:detail", args=[older.alert.patient_id]) + f"#alert-{older.alert_id}"
    assert f'href="{link}"' in body
    assert f"notification-{newer.id}" in body


def test_marking_one_read_then_all_updates_the_count(neurologist: tuple[User, Client]) -> None:
    user, client = neurologist
    first = notify(user, message="first", hours_ago=3)
    notify(user, message="second", hours_ago=2)
    notify(user, message="third", hours_ago=1)

    response = client.post(reverse("alerts:notification_read", args=[first.id]), follow=True)
    assert unread_count(response.content.decode()) == "2 unread notifications"
    assert "Notification marked read." in response.content.decode()
    first.refresh_from_db()
    assert first.read_at is not None

    response = client.post(reverse("alerts:notifications_read_all"), follow=True)
    body = response.content.decode()
    assert unread_count(body) == "0 unread notifications"
    assert "2 notifications marked read." in body
    assert "Mark all read" not in body
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_another_users_notification_cannot_be_marked(
    neurologist: tuple[User, Client], make_user: Callable[..., User]
) -> None:
    _, client = neurologist
    theirs = notify(make_user(NURSE), message="theirs", hours_ago=1)
    response = client.post(reverse("alerts:notification_read", args=[theirs.id]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_nurse_reaches_her_list_and_the_page_needs_a_role(
    client_as: Callable[[str | None], Client],
) -> None:
    nurse = client_as(NURSE)
    body = nurse.get(reverse("alerts:notifications")).content.decode()
    assert "No notification yet." in body
    anonymous = client_as(None).get(reverse("alerts:notifications"))
    assert anonymous.status_code == 302
    assert client_as("api-client").get(reverse("alerts:notifications")).status_code == 403
    assert nurse.get(reverse("alerts:notifications_read_all")).status_code == 405


def test_a_pharmacists_notification_leads_to_the_bags_row(
    make_user: Callable[..., User],
) -> None:
    pharmacist = make_user(PHARMACIST)
    patient = make_patient()
    alert = make_alert(patient, rule="PREP-STABILITY", action="block-infusion")
    alert.evidence = {"preparation_id": "b-1"}
    alert.save()
    Notification.objects.create(alert=alert, recipient=pharmacist)
    client = Client()
    client.force_login(pharmacist)
    body = client.get(reverse("alerts:notifications")).content.decode()
    assert f'href="{reverse("infusions:bags")}#bag-b-1"' in body


def test_the_list_costs_the_same_queries_for_3_and_30_notifications(
    neurologist: tuple[User, Client],
) -> None:
    user, client = neurologist
    counts = []
    for total in (3, 30):
        while Notification.objects.filter(recipient=user).count() < total:
            notify(user, message="finding", hours_ago=1)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("alerts:notifications")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
