"""A write by a Celery task on a real worker is the system's, stamped with the task's id."""

from collections.abc import Callable
from typing import Any

import pytest

from alerts.models import Alert
from audit.models import AuditEntry
from tests.factories import make_cleared_patient
from tests.pipeline.conftest import Worker, high_alt, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_alert_the_worker_raises_is_recorded_as_the_systems_write(
    start_worker: Callable[..., Worker], broker: Any
) -> None:
    worker = start_worker()
    patient = make_cleared_patient()
    high_alt(patient)  # committed: the write queues an evaluation on the worker

    alert = wait_for(lambda: Alert.objects.filter(patient=patient, rule="LIVER-3XULN").first())
    [entry] = AuditEntry.objects.filter(record_type="alerts.alert", record_id=str(alert.pk))
    assert entry.action == "create"
    assert (entry.user_id, entry.username, entry.role, entry.via) == (None, "", "", "system")
    assert entry.patients == [str(patient.pk)]
    assert entry.changes["rule"] == "LIVER-3XULN" and entry.changes["status"] == "open"
    # The task's id, as the worker logged it when it ran the evaluation.
    assert entry.request_id and entry.request_id in worker.output
