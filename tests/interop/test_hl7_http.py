"""HL7 v2 over HTTP: ACK codes, filed results, the inbox, duplicates and corrections."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from interop.models import InboundMessage, InboxReason, InboxStatus, LabInboxEntry
from labs.models import AntibodyTest, LabResult
from natalizumab_monitor import clock
from tests.factories import make_patient

from . import messages
from .conftest import Ack

pytestmark = pytest.mark.django_db


def test_a_panel_of_two_orders_is_filed_with_units_converted(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    collected = clock.now().astimezone(clock.clinic_zone()) - timedelta(hours=2)
    ack = post_hl7(messages.liver_panel(patient.mrn, collected))
    assert (ack.code, ack.control_id) == ("AA", "LIS-0001")
    results = {r.analyte: r for r in LabResult.objects.filter(patient=patient)}
    assert set(results) == {"ALT", "AST", "NEUT", "PLT", "LYMPH"}
    alt = results["ALT"]
    assert (alt.value, alt.unit, alt.reference_low, alt.reference_high) == (
        Decimal(128),
        "U/L",
        Decimal(7),
        Decimal(40),
    )
    assert alt.collected_at == collected.replace(microsecond=0)
    assert (results["PLT"].unit, results["NEUT"].unit) == ("10*9/L", "10*9/L")


def test_v23_with_crlf_and_a_time_without_zone_is_read_in_the_clinic_zone(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    collected = (clock.now() - timedelta(hours=5)).astimezone(clock.clinic_zone())
    collected = collected.replace(second=0, microsecond=0)
    ack = post_hl7(messages.thyroid_v23(patient.mrn, collected))
    assert ack.code == "AA"
    tsh = LabResult.objects.get(patient=patient, analyte="TSH")
    assert (tsh.value, tsh.unit) == (Decimal("2.1"), "m[IU]/L")
    assert tsh.collected_at == collected
    assert LabResult.objects.get(patient=patient, analyte="FT4").unit == "pmol/L"


def test_antibody_results_and_the_jcv_index_are_filed_as_antibody_tests(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    ack = post_hl7(messages.antibodies(patient.mrn, clock.now() - timedelta(days=1)))
    assert ack.code == "AA"
    jcv = AntibodyTest.objects.get(patient=patient, target="jcv")
    assert (jcv.result, jcv.index) == ("positive", Decimal("1.62"))
    assert AntibodyTest.objects.get(patient=patient, target="natalizumab").result == "negative"


def test_the_same_message_twice_is_filed_once(post_hl7: Callable[[str], Ack]) -> None:
    patient = make_patient()
    message = messages.liver_panel(patient.mrn, clock.now() - timedelta(hours=1))
    assert post_hl7(message).code == "AA"
    assert post_hl7(message).code == "AA"
    assert LabResult.objects.filter(patient=patient).count() == 5
    assert InboundMessage.objects.filter(control_id="LIS-0001").count() == 2


def test_a_correction_replaces_the_value_and_keeps_the_old_one(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    collected = clock.now() - timedelta(hours=1)
    post_hl7(messages.liver_panel(patient.mrn, collected, alt="128"))
    ack = post_hl7(
        messages.liver_panel(patient.mrn, collected, control_id="LIS-0002", alt="64", status="C")
    )
    assert ack.code == "AA"
    alt = LabResult.objects.get(patient=patient, analyte="ALT")
    assert alt.value == Decimal(64)
    assert [r.value for r in alt.revisions.all()] == [Decimal(128)]
    # The original sent again after the correction changes nothing.
    post_hl7(messages.liver_panel(patient.mrn, collected, control_id="LIS-0001", alt="128"))
    alt.refresh_from_db()
    assert alt.value == Decimal(64)
    assert not LabInboxEntry.objects.exists()


def test_a_cancelled_result_is_withdrawn(post_hl7: Callable[[str], Ack]) -> None:
    patient = make_patient()
    collected = clock.now() - timedelta(hours=1)
    post_hl7(messages.liver_panel(patient.mrn, collected))
    post_hl7(messages.liver_panel(patient.mrn, collected, control_id="LIS-X", status="X"))
    assert not LabResult.objects.filter(patient=patient).exists()
    assert LabResult.every_result.filter(patient=patient, withdrawn_at__isnull=False).count() == 5


def test_unknown_code_and_unknown_mrn_wait_in_the_inbox_and_are_acknowledged(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    now = clock.now() - timedelta(hours=1)
    unknown_code = messages.single(
        patient.mrn, now, control_id="U-1", order="O-1", code="2345-7^Glucose^LN", unit="mg/dL"
    )
    unknown_mrn = messages.single("NO-SUCH-MRN", now, control_id="U-2", order="O-2")
    assert post_hl7(unknown_code).code == "AA"
    assert post_hl7(unknown_mrn).code == "AA"
    entries = {e.reason: e for e in LabInboxEntry.objects.all()}
    assert set(entries) == {InboxReason.UNMAPPED_CODE, InboxReason.UNKNOWN_PATIENT}
    assert entries[InboxReason.UNKNOWN_PATIENT].patient_identifiers == "NO-SUCH-MRN"
    assert not LabResult.objects.exists()
    # Sent again: still one entry each.
    post_hl7(unknown_mrn)
    assert LabInboxEntry.objects.count() == 2


def test_a_unit_without_an_exact_conversion_waits_in_the_inbox(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    message = messages.single(
        patient.mrn,
        clock.now() - timedelta(hours=1),
        control_id="U-3",
        order="O-3",
        code="1742-6^ALT^LN",
        value="2.1",
        unit="ukat/L",
        reference_range="0.1-0.7",
    )
    assert post_hl7(message).code == "AA"
    assert LabInboxEntry.objects.get().reason == InboxReason.UNMAPPED_UNIT


@pytest.mark.parametrize(
    ("message", "code", "error"),
    [
        (messages.MALFORMED, "AR", "101"),
        (messages.WRONG_TYPE, "AR", "200"),
        (messages.NO_RESULTS, "AE", "101"),
        ("", "AR", "101"),
        ("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|V-1|P|2.8\rPID|1||X\r", "AR", "203"),
    ],
)
def test_what_cannot_be_read_or_filed_gets_ar_or_ae_with_err(
    post_hl7: Callable[[str], Ack], message: str, code: str, error: str
) -> None:
    ack = post_hl7(message)
    assert (ack.code, ack.error_code) == (code, error)
    assert ack.text
    assert not LabResult.objects.exists()
    assert InboundMessage.objects.get().ack_code == code


def test_a_neurologist_files_an_inbox_entry_to_a_patient(
    post_hl7: Callable[[str], Ack], api_as: Callable[[str], APIClient]
) -> None:
    patient = make_patient()
    post_hl7(
        messages.single(
            "OLD-MRN-9", clock.now() - timedelta(hours=1), control_id="F-1", order="F-1"
        )
    )
    entry = LabInboxEntry.objects.get()
    client = api_as("neurologist")
    listed = client.get("/api/v1/lab-inbox/").json()["results"]
    assert [e["id"] for e in listed] == [str(entry.pk)]
    response = client.post(
        f"/api/v1/lab-inbox/{entry.pk}/file/", {"patient": str(patient.pk)}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == InboxStatus.FILED
    filed = LabResult.objects.get(patient=patient)
    assert filed.value == Decimal(30)
    # The laboratory sends it again: it is known now, and filed once.
    post_hl7(
        messages.single(
            "OLD-MRN-9", clock.now() - timedelta(hours=1), control_id="F-1", order="F-1"
        )
    )
    assert LabResult.objects.filter(patient=patient).count() == 1


def test_a_rejection_needs_a_reason(
    post_hl7: Callable[[str], Ack], api_as: Callable[[str], APIClient]
) -> None:
    post_hl7(messages.single("NOPE", clock.now(), control_id="R-1", order="R-1"))
    entry = LabInboxEntry.objects.get()
    client = api_as("neurologist")
    url = f"/api/v1/lab-inbox/{entry.pk}/reject/"
    assert client.post(url, {"reason": " "}, format="json").status_code == 400
    response = client.post(url, {"reason": "Not our patient"}, format="json")
    assert response.status_code == 200
    entry.refresh_from_db()
    assert (entry.status, entry.rejection_reason) == (InboxStatus.REJECTED, "Not our patient")
    assert client.post(url, {"reason": "again"}, format="json").status_code == 400


def test_the_interface_reads_only_its_own_acks(
    post_hl7: Callable[[str], Ack], api_as: Callable[[str], APIClient]
) -> None:
    post_hl7(messages.MALFORMED)
    InboundMessage.objects.create(
        channel="mllp", received_at=clock.now(), content="x", ack_code="AR"
    )
    listed = api_as("interface").get("/api/v1/hl7/").json()["results"]
    assert [m["ack_code"] for m in listed] == ["AR"]
    assert listed[0]["channel"] == "http"


@pytest.mark.parametrize(
    "body",
    [
        b"MSH|^~\\&|LIS|LAB|A|B|20260101||ORU^R01|N-1|P|2.5.1\rPID|1||\x00X\rOBR|1||O^L|x\r",
        b"MSH|^~\\&|LIS|LAB|A|B|20260101||ORU^R01|L-1|P|2.5.1\rPID|1||\xe9\xff\r",
        b"MSH|",
        b"MSH|^~\\&",
        b"\x0bMSH|^~\\&|A\x1c\r",
        b"MSH|^~\\&|A|B|C|D|X||ORU|C-1|P|2.5.1\rOBX|1|NM|1742-6^ALT^LN||1|U/L|1-2||||F\r",
    ],
)
def test_nothing_a_sender_sends_gives_a_500(interface_user: object, body: bytes) -> None:
    client = APIClient()
    client.force_authenticate(interface_user)
    response = client.post("/api/v1/hl7/", body, content_type="text/plain")
    assert response.status_code == 200
    assert Ack.parse(response.content.decode()).code in ("AR", "AE")
    assert not LabResult.objects.exists()


def test_a_message_may_come_as_json(interface_user: object) -> None:
    patient = make_patient()
    client = APIClient()
    client.force_authenticate(interface_user)
    message = messages.single(patient.mrn, clock.now(), control_id="J-1", order="J-1")
    response = client.post("/api/v1/hl7/", {"message": message}, format="json")
    assert Ack.parse(response.content.decode()).code == "AA"
    assert LabResult.objects.filter(patient=patient).count() == 1
    assert client.post("/api/v1/hl7/", {"message": 5}, format="json").status_code == 400


def test_a_filler_order_number_too_long_to_store_still_files_once(
    post_hl7: Callable[[str], Ack],
) -> None:
    patient = make_patient()
    long_order = "ORD-" + "7" * 300
    message = messages.single(patient.mrn, clock.now(), control_id="LONG-1", order=long_order)
    assert post_hl7(message).code == "AA"
    assert post_hl7(message).code == "AA"
    other = messages.single(
        patient.mrn, clock.now(), control_id="LONG-2", order=long_order + "8", value="31"
    )
    assert post_hl7(other).code == "AA"
    assert LabResult.objects.filter(patient=patient).count() == 2
