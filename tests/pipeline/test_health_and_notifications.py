"""Health of the background work, and notifications: in the page header, by e-mail once."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMessage
from django.db import OperationalError
from django.test import Client

from alerts import tasks
from alerts.models import Notification
from alerts.notifications import deliver_emails
from natalizumab_monitor import clock, views
from tests.factories import make_patient

from .conftest import high_alt

pytestmark = pytest.mark.django_db


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_to


def test_health_is_200_after_a_timers_run_and_503_when_beat_has_been_silent_5_min(
    client: Client, set_clock: Callable[[datetime], None]
) -> None:
    now = clock.now()
    set_clock(now)
    tasks.run_timers()

    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["beat"] == "ok" and body["broker"] == "ok"

    set_clock(now + timedelta(minutes=5, seconds=1))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["beat"] == "stale"


def test_the_page_header_shows_the_unread_notification_count(
    users: dict[str, User], client: Client
) -> None:
    patient = make_patient()
    high_alt(patient)
    high_alt(patient, multiple="5")
    tasks.evaluate_patient(str(patient.pk))
    read = Notification.objects.filter(recipient=users["nurse"]).first()
    Notification.objects.filter(pk=read.pk).update(read_at=clock.now())

    client.force_login(users["nurse"])
    page = client.get("/", follow=True).content.decode()  # the nurse's page of the day

    assert "1 unread notification<" in page
    client.force_login(users["api-client"])
    assert "0 unread notifications" in client.get("/", follow=True).content.decode()


def test_health_is_503_when_the_database_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DownConnection:
        def cursor(self) -> Any:
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", DownConnection())
    monkeypatch.setattr(views, "background_status", lambda: pytest.fail("database is down"))

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_an_email_that_fails_to_send_is_sent_by_a_later_run_and_only_once(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    neurologist = make_user("neurologist", username="dr-mail")
    neurologist.email = "dr-mail@example.org"
    neurologist.save()
    real_send = EmailMessage.send

    def refuse(self: EmailMessage, fail_silently: bool = False) -> int:
        raise OSError("mail server unreachable")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    patient = make_patient()
    high_alt(patient)
    tasks.evaluate_patient(str(patient.pk))
    [notification] = Notification.objects.filter(recipient=neurologist)
    assert notification.emailed_at is None and not mail.outbox

    monkeypatch.setattr(EmailMessage, "send", real_send)
    assert deliver_emails() == 1
    assert deliver_emails() == 0
    tasks.run_timers()
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None
