"""HL7 v2 over a real TCP MLLP socket to a real `hl7listen` process, and a real worker."""

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
import redis

from alerts.models import Alert, AlertStatus
from interop.models import InboundMessage, InboxReason, LabInboxEntry
from labs.models import LabResult
from natalizumab_monitor import clock
from patients.models import Patient
from tests.factories import make_patient
from tests.pipeline.conftest import Worker

from . import messages
from .conftest import ListenerProcess, send_mllp, send_mllp_concurrently, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def open_alerts(patient: Patient, rule: str) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, rule=rule, status=AlertStatus.OPEN))


def test_a_laboratory_session_over_mllp(
    listener: ListenerProcess,
    broker: redis.Redis,
    start_worker: Callable[..., Worker],
) -> None:
    """ALT at 3.2 x ULN raises LIVER-3XULN through the worker; a correction resolves it."""
    start_worker()
    patient = make_patient()
    other = make_patient()
    collected = clock.now() - timedelta(hours=2)
    acks = send_mllp(
        listener.port,
        messages.liver_panel(patient.mrn, collected, alt="128"),  # 3.2 x 40 U/L
        messages.MALFORMED,
        messages.thyroid_v23(other.mrn, collected.astimezone(clock.clinic_zone())),
        messages.single(
            patient.mrn, collected, control_id="U-1", order="U-1", code="2345-7^Glucose^LN"
        ),
        messages.single("NO-SUCH-MRN", collected, control_id="U-2", order="U-2"),
        messages.liver_panel(patient.mrn, collected, alt="128"),  # the same message again
    )
    assert [(a.code, a.control_id) for a in acks] == [
        ("AA", "LIS-0001"),
        ("AR", ""),
        ("AA", "LIS-23-1"),
        ("AA", "U-1"),
        ("AA", "U-2"),
        ("AA", "LIS-0001"),
    ]
    assert LabResult.objects.filter(patient=patient).count() == 5
    assert set(LabResult.objects.filter(patient=other).values_list("analyte", flat=True)) == {
        "TSH",
        "FT4",
    }
    assert set(LabInboxEntry.objects.values_list("reason", flat=True)) == {
        InboxReason.UNMAPPED_CODE,
        InboxReason.UNKNOWN_PATIENT,
    }
    assert InboundMessage.objects.filter(channel="mllp").count() == 6

    raised = wait_for(lambda: open_alerts(patient, "LIVER-3XULN"), timeout=30)
    assert raised[0].evidence["value"] in ("128", "128.0000", 128)

    # The laboratory corrects the ALT: the new value stands, the old one is history, and
    # the alert resolves once the worker evaluates the patient again.
    [ack] = send_mllp(
        listener.port,
        messages.liver_panel(patient.mrn, collected, control_id="LIS-0002", alt="64", status="C"),
    )
    assert ack.code == "AA"
    alt = LabResult.objects.get(patient=patient, analyte="ALT")
    assert alt.value == Decimal(64)
    assert [r.value for r in alt.revisions.all()] == [Decimal(128)]
    wait_for(lambda: not open_alerts(patient, "LIVER-3XULN"), timeout=30)
    assert listener.alive


def test_a_cancelled_result_is_withdrawn_and_its_alert_resolves(
    listener: ListenerProcess,
    broker: redis.Redis,
    start_worker: Callable[..., Worker],
) -> None:
    start_worker()
    patient = make_patient()
    collected = clock.now() - timedelta(hours=1)
    send_mllp(listener.port, messages.liver_panel(patient.mrn, collected, alt="200"))
    wait_for(lambda: open_alerts(patient, "LIVER-3XULN"), timeout=30)
    [ack] = send_mllp(
        listener.port,
        messages.liver_panel(patient.mrn, collected, control_id="LIS-X", alt="200", status="X"),
    )
    assert ack.code == "AA"
    assert not LabResult.objects.filter(patient=patient, analyte="ALT").exists()
    wait_for(lambda: not open_alerts(patient, "LIVER-3XULN"), timeout=30)


def test_a_burst_of_2000_results_over_4_connections_is_filed_exactly_once(
    listener: ListenerProcess,
) -> None:
    patients = [make_patient() for _ in range(40)]
    collected = clock.now() - timedelta(hours=3)
    analytes = [
        ("1742-6^ALT^LN", "31", "U/L", "7-40"),
        ("1920-8^AST^LN", "28", "IU/L", "10-40"),
        ("777-3^PLT^LN", "250", "K/uL", "150-400"),
        ("751-8^NEUT^LN", "4.2", "10*9/L", "1.8-7.5"),
    ]
    burst = []
    for n in range(500):
        patient = patients[n % len(patients)]
        segments = [
            f"MSH|^~\\&|LIS|LAB|NATMON|CLINIC|{messages.ts(collected)}||ORU^R01^ORU_R01|"
            f"B-{n}|P|2.5.1",
            f"PID|1||{patient.mrn}^^^HOSP^MR",
            f"OBR|1||BURST-{n}^LIS|24325-3^Panel^LN|||{messages.ts(collected)}",
        ]
        for set_id, (code, value, unit, limits) in enumerate(analytes, start=1):
            segments.append(f"OBX|{set_id}|NM|{code}||{value}|{unit}|{limits}||||F")
        burst.append("\r".join(segments) + "\r")
    batches = [burst[i::4] for i in range(4)]
    # Each connection also resends some of another connection's messages, as a sender
    # that timed out waiting for an ACK would.
    rng = random.Random(7)
    for i, batch in enumerate(batches):
        batch.extend(rng.sample(batches[(i + 1) % 4][:125], 25))
        rng.shuffle(batch)

    acks = send_mllp_concurrently(listener.port, batches)

    assert [len(a) for a in acks] == [150, 150, 150, 150]
    assert {ack.code for batch in acks for ack in batch} == {"AA"}
    filed = LabResult.objects.filter(source_key__startswith="hl7v2:")
    assert filed.count() == 2000
    assert filed.values("source_key").distinct().count() == 2000
    assert not LabInboxEntry.objects.exists()
    assert listener.alive
