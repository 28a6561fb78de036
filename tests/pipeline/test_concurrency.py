"""Evaluations that run at the same time leave one standing alert per finding."""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from alerts import tasks
from alerts.evaluation import evaluate_patient
from alerts.models import Alert, AlertStatus, PendingEvaluation
from tests.factories import make_patient, make_preparation

from .conftest import high_alt

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*jobs: Callable[[], Any]) -> None:
    """Start every job at once, each in its own thread with its own connection."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def standing_keys() -> Counter[str]:
    return Counter(
        Alert.objects.filter(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]).values_list(
            "dedup_key", flat=True
        )
    )


def test_two_sweeps_at_once_leave_exactly_one_alert_per_finding(
    role_groups: None, settings: Any
) -> None:
    settings.ALERT_SWEEP_BATCH_SIZE = 3
    for n in range(8):
        patient = make_patient()
        high_alt(patient)
        if n % 2:
            make_preparation(patient, diluent="5% glucose")  # PREP-DILUENT: a second critical
    PendingEvaluation.objects.all().delete()

    run_together(tasks.sweep, tasks.sweep)

    keys = standing_keys()
    assert keys and set(keys.values()) == {1}
    assert Counter(Alert.objects.values_list("rule", flat=True))["LIVER-3XULN"] == 8
    assert Counter(Alert.objects.values_list("rule", flat=True))["PREP-DILUENT"] == 4
    # Nothing was raised twice and resolved: every alert there is is standing.
    assert Alert.objects.count() == sum(keys.values())
    feed = list(Alert.objects.values_list("feed_seq", flat=True))
    assert len(feed) == len(set(feed))


def test_the_same_evaluation_run_twice_at_once_raises_one_alert(role_groups: None) -> None:
    patient = make_patient()
    high_alt(patient)

    run_together(lambda: evaluate_patient(patient.pk), lambda: evaluate_patient(patient.pk))
    evaluate_patient(patient.pk)

    keys = standing_keys()
    assert set(keys.values()) == {1}
    assert Alert.objects.filter(patient=patient, rule="LIVER-3XULN").count() == 1
    assert Alert.objects.count() == sum(keys.values())
