"""The snapshot builder reads a patient's whole history with a fixed number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.snapshots import build_snapshot, build_snapshots
from labs.models import LabResult
from natalizumab_monitor import clock
from tests.factories import make_checklist, make_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db


def patient_with_history(infusions: int, nurse: object) -> object:
    patient = make_patient()
    for n in range(infusions):
        started = clock.now() - timedelta(days=28 * (n + 1))
        bag = make_preparation(patient, prepared_at=started - timedelta(hours=1), status="used")
        make_infusion(
            patient, preparation=bag, checklist=make_checklist(patient, nurse),
            status="discharged", started_at=started, ended_at=started + timedelta(minutes=65),
            discharged_at=started + timedelta(minutes=130),
        )  # fmt: skip
        LabResult.objects.create(
            patient=patient, analyte="ALT", value=Decimal("22"), unit="U/L",
            reference_low=Decimal("7"), reference_high=Decimal("40"), collected_at=started,
        )  # fmt: skip
    return patient


def queries(build: callable) -> int:
    with CaptureQueriesContext(connection) as captured:
        build()
    return len(captured)


def test_query_count_is_the_same_for_3_and_300_infusions(make_user: callable) -> None:
    nurse = make_user("nurse")
    short = patient_with_history(3, nurse)
    long = patient_with_history(300, nurse)
    assert len(build_snapshot(long.id).infusions) == 300
    assert queries(lambda: build_snapshot(short.id)) == queries(lambda: build_snapshot(long.id))


def test_a_batch_costs_the_same_queries_as_one_patient(make_user: callable) -> None:
    nurse = make_user("nurse")
    ids = [patient_with_history(2, nurse).id for _ in range(5)]
    one = queries(lambda: build_snapshots(ids[:1]))
    batch = queries(lambda: build_snapshots(ids))
    assert batch == one
    assert len(build_snapshots(ids)) == 5


def test_stored_values_reach_the_rules_as_written(make_user: callable) -> None:
    patient = make_patient()
    LabResult.objects.create(
        patient=patient, analyte="ALT", value=Decimal("128"), unit="U/L",
        reference_low=Decimal("7"), reference_high=Decimal("40"), collected_at=clock.now(),
    )  # fmt: skip
    from alerts.clearance import findings_for

    liver = [f for f in findings_for(patient.id) if f.rule == "LIVER-3XULN"]
    assert len(liver) == 1
    assert liver[0].message.startswith("ALT 128 U/L")
    assert "(40 U/L)" in liver[0].message
