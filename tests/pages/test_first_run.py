"""A fresh install looks healthy: the first run evaluates every patient and records a sweep."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from alerts.health import SWEEP, TIMERS
from alerts.models import Alert, Heartbeat
from natalizumab_monitor.management.commands.runembedded import Command as RunEmbedded
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_loaddemo_sweeps_at_once_so_the_demo_page_shows_a_real_last_sweep(
    users: dict[str, object],
) -> None:
    out = StringIO()
    call_command("loaddemo", stdout=out)
    assert "Alert sweep: 6 patients evaluated." in out.getvalue()
    sweep = Heartbeat.objects.get(name=SWEEP)
    assert sweep.detail["patients"] == Patient.objects.count() == 6
    # The demo's findings are alerts already, with no worker running.
    okafor = Patient.objects.get(mrn="DEMO-0001")
    assert Alert.objects.filter(patient=okafor, rule="LIVER-3XULN").exists()

    client = Client()
    client.force_login(users["neurologist"])  # type: ignore[arg-type]
    page = client.get(reverse("patients:detail", args=[okafor.id])).content.decode()
    swept = page.split("last sweep:", 1)[1].split("·", 1)[0]
    assert "<time" in swept and "none yet" not in swept and "overdue" not in swept


def test_the_first_run_checks_make_health_200_before_beat_ticks(client: Client) -> None:
    assert client.get("/health/").status_code == 503  # nothing has run yet
    RunEmbedded(stdout=StringIO())._first_checks()
    assert {SWEEP, TIMERS} <= set(Heartbeat.objects.values_list("name", flat=True))
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["beat"] == "ok"
