"""Findings and clearance computed on the spot, and the start gate that uses the same engine."""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from alerts.models import Alert
from alerts.profile import reset_config_cache
from labs.models import LabResult
from natalizumab_monitor import clock
from patients.models import Medication, TreatmentDecision
from tests.api.conftest import planned_infusion
from tests.factories import make_cleared_patient

pytestmark = pytest.mark.django_db


def url(patient_id: object, what: str) -> str:
    return f"/api/v1/patients/{patient_id}/{what}/"


def test_findings_name_the_values_and_write_nothing(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    LabResult.objects.create(
        patient=world.patient, analyte="ALT", value=Decimal("128"), unit="U/L",
        reference_low=Decimal("7"), reference_high=Decimal("40"), collected_at=world.now,
    )  # fmt: skip
    alerts_before = Alert.objects.count()
    response = api_as("neurologist").get(url(world.patient.pk, "findings"))
    assert response.status_code == 200
    [liver] = [f for f in response.json()["results"] if f["rule"] == "LIVER-3XULN"]
    assert liver["severity"] == "critical" and liver["action"] == "suspend"
    assert liver["message"].startswith("ALT 128 U/L") and "3.20 x ULN (40 U/L)" in liver["message"]
    assert liver["profile"] == "document"
    # The api-client role, which may not read lab results, is told the rule but not the value.
    response = api_as("api-client").get(url(world.patient.pk, "findings"))
    [liver] = [f for f in response.json()["results"] if f["rule"] == "LIVER-3XULN"]
    assert liver["action"] == "suspend" and "128" not in liver["message"]
    assert liver["evidence"] == {}
    assert Alert.objects.count() == alerts_before


def test_clearance_of_a_planned_infusion_in_order(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    infusion = planned_infusion(patient, users["nurse"])
    response = api_as("nurse").get(url(patient.pk, "clearance"), {"infusion": infusion.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["cleared"] is True and body["blocking"] == [] and body["profile"] == "document"


def test_clearance_refuses_a_malformed_infusion_id_and_an_unknown_patient(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    nurse = api_as("nurse")
    bad = nurse.get(url(world.patient.pk, "clearance"), {"infusion": "not-a-uuid"})
    assert bad.status_code == 400 and "infusion" in bad.json()
    missing = "00000000-0000-4000-8000-000000000000"
    assert nurse.get(url(missing, "clearance")).status_code == 404
    assert nurse.get(url(missing, "findings")).status_code == 404


def test_an_override_lets_one_infusion_start_and_is_used_up(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    Medication.objects.create(
        patient=patient, name="Azathioprine", category="immunosuppressant",
        started_on=clock.clinic_today() - timedelta(days=30),
    )  # fmt: skip
    first = planned_infusion(patient, users["nurse"])
    nurse, neurologist = api_as("nurse"), api_as("neurologist")
    start = f"/api/v1/infusions/{first.pk}/start/"
    refused = nurse.post(start, {"started_at": clock.now().isoformat()})
    assert refused.status_code == 409
    assert [f["rule"] for f in refused.json()["blocking"]] == ["MED-IMMUNOSUPPRESSANT"]

    decided = neurologist.post(
        url(patient.pk, "decisions"),
        {"action": "override", "rule": "MED-IMMUNOSUPPRESSANT", "reason": "Last dose 30 days ago"},
    )
    assert decided.status_code == 201
    clearance = nurse.get(url(patient.pk, "clearance"), {"infusion": first.pk}).json()
    assert clearance["cleared"] is True
    assert [f["rule"] for f in clearance["overridden"]] == ["MED-IMMUNOSUPPRESSANT"]

    assert nurse.post(start, {"started_at": clock.now().isoformat()}).status_code == 200
    override = TreatmentDecision.objects.get(action="override", patient=patient)
    assert override.consumed_at is not None

    # The next visit meets the same block again: an override covers one infusion.
    second = planned_infusion(patient, users["nurse"])
    again = nurse.post(
        f"/api/v1/infusions/{second.pk}/start/", {"started_at": clock.now().isoformat()}
    )
    assert again.status_code == 409


def test_stopping_a_medication_lifts_its_block(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    started = clock.clinic_today() - timedelta(days=30)
    drug = Medication.objects.create(
        patient=patient, name="Methotrexate", category="antineoplastic", started_on=started
    )
    infusion = planned_infusion(patient, users["nurse"])
    neurologist = api_as("neurologist")
    before = neurologist.get(url(patient.pk, "clearance"), {"infusion": infusion.pk}).json()
    assert [f["rule"] for f in before["blocking"]] == ["MED-IMMUNOSUPPRESSANT"]

    too_early = neurologist.patch(
        f"/api/v1/medications/{drug.pk}/",
        {"stopped_on": (started - timedelta(days=1)).isoformat()},
    )
    assert too_early.status_code == 400 and "stopped_on" in too_early.json()
    drug.refresh_from_db()
    assert drug.stopped_on is None

    stopped_on = clock.clinic_today() - timedelta(days=1)
    response = neurologist.patch(
        f"/api/v1/medications/{drug.pk}/", {"stopped_on": stopped_on.isoformat()}
    )
    assert response.status_code == 200 and response.json()["stopped_on"] == stopped_on.isoformat()
    after = neurologist.get(url(patient.pk, "clearance"), {"infusion": infusion.pk}).json()
    assert after["cleared"] is True


def test_a_medication_cannot_be_renamed_through_the_stop(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    response = api_as("neurologist").patch(
        f"/api/v1/medications/{world.medication.pk}/", {"name": "Other", "stopped_on": None}
    )
    assert response.status_code == 400 and "name" in response.json()


def test_the_label_profile_keeps_a_refrigerated_bag_48_hours(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, settings: object
) -> None:
    prepared_at = world.now - timedelta(minutes=5)
    body = {
        "patient": str(world.patient.pk), "dose_mg": 300, "diluent": "0.9% NaCl",
        "diluent_volume_ml": 100, "prepared_at": prepared_at.isoformat(),
        "storage": "refrigerated",
    }  # fmt: skip
    pharmacist = api_as("pharmacist")
    document = pharmacist.post("/api/v1/preparations/", body).json()
    settings.RULE_PROFILE = "label"  # type: ignore[attr-defined]
    reset_config_cache()
    try:
        label = pharmacist.post("/api/v1/preparations/", body).json()
    finally:
        settings.RULE_PROFILE = "document"  # type: ignore[attr-defined]
        reset_config_cache()
    hours = {
        name: (datetime.fromisoformat(bag["expires_at"]) - prepared_at) / timedelta(hours=1)
        for name, bag in (("document", document), ("label", label))
    }
    assert hours == {"document": 24, "label": 48}
