"""FHIR R4: the record out (validated with fhir.resources), a Bundle of results in."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from alerts.models import Alert, AlertStatus
from interop.models import InboxReason, LabInboxEntry
from labs.models import AntibodyTest, LabResult
from natalizumab_monitor import clock
from patients.models import Patient
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

FHIR = "application/fhir+json"


def read(client: APIClient, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR)
    return response.json()


def validated(resource: dict[str, Any]) -> Any:
    """The resource parsed by its fhir.resources model (raises if it is not valid)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_everything_of_every_demo_patient_is_valid_fhir(
    api_as: Callable[[str], APIClient],
) -> None:
    call_command("loaddemo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = api_as("neurologist")
    seen: set[str] = set()
    for patient in Patient.objects.all():
        body = read(client, f"/fhir/Patient/{patient.pk}/$everything")
        bundle = Bundle.model_validate(body)
        assert bundle.type == "searchset" and bundle.total == len(bundle.entry)
        kinds = [entry["resource"]["resourceType"] for entry in body["entry"]]
        assert kinds[0] == "Patient"
        for entry in body["entry"]:
            validated(entry["resource"])
            assert entry["fullUrl"].endswith(
                f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
            )
        seen.update(kinds)
        open_alerts = Alert.objects.filter(patient=patient, status=AlertStatus.OPEN).count()
        assert kinds.count("DetectedIssue") == open_alerts
        assert kinds.count("Observation") >= patient.lab_results.count()
        me = body["entry"][0]["resource"]
        assert me["identifier"][0]["value"] == patient.mrn
    assert {"Patient", "Observation", "MedicationAdministration", "DetectedIssue"} <= seen


def test_a_lab_observation_carries_loinc_ucum_range_and_interpretation(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    LabResult.objects.create(
        patient=patient,
        analyte="ALT",
        value=Decimal("128"),
        unit="U/L",
        reference_low=Decimal(7),
        reference_high=Decimal(40),
        collected_at=clock.now() - timedelta(days=2),
    )
    LabResult.objects.create(
        patient=patient,
        analyte="PLT",
        value=Decimal("250"),
        unit="10*9/L",
        reference_low=Decimal(150),
        reference_high=Decimal(400),
        collected_at=clock.now() - timedelta(days=1),
    )
    body = read(api_as("nurse"), f"/fhir/Observation?patient={patient.pk}")
    alt, plt = (e["resource"] for e in reversed(body["entry"]))  # newest first
    validated(alt)
    assert alt["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "1742-6",
        "display": "Alanine aminotransferase",
    }
    assert alt["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert alt["valueQuantity"]["code"] == "U/L"
    assert alt["referenceRange"][0]["high"]["value"] == 40
    assert alt["interpretation"][0]["coding"][0]["code"] == "H"
    assert plt["valueQuantity"]["code"] == "10*9/L"
    assert plt["interpretation"][0]["coding"][0]["code"] == "N"


def test_metadata_and_who_may_read(api_as: Callable[[str], APIClient]) -> None:
    capability = read(APIClient(), "/fhir/metadata")
    validated(capability)
    assert capability["fhirVersion"] == "4.0.1"
    patient = make_patient()
    validated(read(api_as("pharmacist"), f"/fhir/Patient/{patient.pk}"))
    for role in ("api-client", "interface", "auditor"):
        outcome = read(api_as(role), f"/fhir/Patient/{patient.pk}/$everything", status=403)
        assert outcome["resourceType"] == "OperationOutcome"
    assert read(APIClient(), f"/fhir/Patient/{patient.pk}", status=401)["issue"][0]["code"] == (
        "login"
    )
    for unknown in ("00000000-0000-4000-8000-000000000000", "not-an-id"):
        validated(read(api_as("neurologist"), f"/fhir/Patient/{unknown}", status=404))


def observation(identifier: str, mrn_reference: dict[str, Any], **fields: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:oid:1.2.3.4.5", "value": identifier}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1742-6"}]},
        "subject": mrn_reference,
        "effectiveDateTime": (clock.now() - timedelta(hours=3)).isoformat(),
        "valueQuantity": {
            "value": 150,
            "unit": "IU/L",
            "system": "http://unitsofmeasure.org",
            "code": "[IU]/L",
        },
        "referenceRange": [{"low": {"value": 7}, "high": {"value": 40}}],
    }
    resource.update(fields)
    return resource


def bundle(kind: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": f"urn:uuid:0000000{n}-0000-4000-8000-000000000000",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for n, resource in enumerate(resources)
        ],
    }


def post(client: APIClient, body: Any, status: int = 200) -> dict[str, Any]:
    response = client.post("/fhir/", body, format="json")
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR)
    return response.json()


def test_a_transaction_of_observations_is_filed_and_a_correction_replaces_the_value(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    client = api_as("interface")
    by_patient = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}
    jcv = observation(
        "AB-1",
        by_patient,
        code={"coding": [{"system": "http://loinc.org", "code": "70173-0"}]},
        valueQuantity=None,
        referenceRange=None,
        valueCodeableConcept={"coding": [{"system": "http://loinc.org", "code": "LA6576-8"}]},
        component=[
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "100977-8"}]},
                "valueQuantity": {"value": 2.1},
            }
        ],
    )
    jcv = {k: v for k, v in jcv.items() if v is not None}
    sent = bundle(
        "transaction",
        {
            "resourceType": "Patient",
            "identifier": [
                {"type": {"coding": [{"code": "MR"}]}, "system": "urn:h", "value": patient.mrn}
            ],
        },
        observation("ALT-1", by_patient),
        jcv,
    )
    answer = post(client, sent)
    Bundle.model_validate(answer)
    assert answer["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created"]
    alt = LabResult.objects.get(patient=patient)
    assert (alt.value, alt.unit, alt.reference_high) == (Decimal(150), "U/L", Decimal(40))
    test = AntibodyTest.objects.get(patient=patient)
    assert (test.target, test.result, test.index) == ("jcv", "positive", Decimal("2.1"))

    # The same Bundle again: filed once.
    assert [e["response"]["status"] for e in post(client, sent)["entry"]][1:] == ["200 OK"] * 2
    assert LabResult.objects.filter(patient=patient).count() == 1

    corrected = observation(
        "ALT-1",
        {"identifier": {"value": patient.mrn}},
        status="corrected",
        valueQuantity={"value": 45, "unit": "U/L"},
    )
    answer = post(client, bundle("batch", corrected))
    assert answer["entry"][0]["response"]["status"] == "200 OK"
    alt.refresh_from_db()
    assert alt.value == Decimal(45)
    assert [r.value for r in alt.revisions.all()] == [Decimal(150)]
    body = read(api_as("neurologist"), f"/fhir/Observation?patient={patient.pk}")
    statuses = {
        e["resource"]["code"]["coding"][0]["code"]: e["resource"]["status"] for e in body["entry"]
    }
    assert statuses["1742-6"] == "corrected"


def test_a_bad_bundle_gets_an_operation_outcome_and_writes_nothing(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    client = api_as("interface")
    no_identifier = observation("X", {"identifier": {"value": patient.mrn}})
    del no_identifier["identifier"]
    for body in (
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "document"},
        {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": {"x": 1}}]},
        bundle(
            "transaction",
            observation("OK-1", {"identifier": {"value": patient.mrn}}),
            no_identifier,
        ),
        [1, 2],
    ):
        outcome = post(client, body, status=400)
        validated(outcome)
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["severity"] == "error"
    assert not LabResult.objects.exists()
    # In a batch, the bad entry alone is refused.
    answer = post(
        client,
        bundle("batch", observation("OK-1", {"identifier": {"value": patient.mrn}}), no_identifier),
    )
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created", "400 Bad Request"]
    assert LabResult.objects.filter(patient=patient).count() == 1


def test_an_unknown_mrn_waits_in_the_inbox(api_as: Callable[[str], APIClient]) -> None:
    answer = post(
        api_as("interface"),
        bundle("batch", observation("U-9", {"identifier": {"value": "NOBODY-9"}})),
    )
    assert answer["entry"][0]["response"]["status"] == "202 Accepted"
    assert LabInboxEntry.objects.get().reason == InboxReason.UNKNOWN_PATIENT
    assert api_as("nurse").post("/fhir/", {}, format="json").status_code == 403


def test_everything_reads_in_a_fixed_number_of_queries(
    api_as: Callable[[str], APIClient], django_assert_max_num_queries: Any
) -> None:
    patient = make_patient()
    for days in range(1, 30):
        LabResult.objects.create(
            patient=patient,
            analyte="AST",
            value=Decimal(20 + days),
            unit="U/L",
            reference_high=Decimal(40),
            collected_at=clock.now() - timedelta(days=days),
        )
        AntibodyTest.objects.create(
            patient=patient, target="jcv", result="negative", collected_at=clock.now()
        )
    client = api_as("neurologist")
    with django_assert_max_num_queries(25):
        body = read(client, f"/fhir/Patient/{patient.pk}/$everything")
    assert body["total"] == 1 + 29 + 29
