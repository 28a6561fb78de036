"""Clearance means one thing (API.md, "Clearance"), decisions must make sense (API.md,
"Decisions"), and a blind PATCH is refused (API.md, "Concurrency")."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from infusions.models import Infusion, InfusionStatus
from natalizumab_monitor import clock
from patients.models import Infection, Patient, TreatmentDecision
from tests.api.conftest import planned_infusion
from tests.factories import make_cleared_patient, make_infusion, make_preparation

pytestmark = pytest.mark.django_db


def clearance(client: APIClient, patient: Patient, **query: object) -> dict:
    response = client.get(f"/api/v1/patients/{patient.pk}/clearance/", query)
    assert response.status_code == 200
    return response.json()


def rules(findings: list[dict]) -> list[str]:
    return [finding["rule"] for finding in findings]


def test_a_well_monitored_patient_with_no_visit_yet_is_cleared_with_a_checklist_step(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_cleared_patient()
    body = clearance(api_as("nurse"), patient)
    assert body["cleared"] is True and body["blocking"] == []
    steps = {step["rule"]: step["evidence"]["reasons"] for step in body["visit_steps"]}
    assert steps == {"INF-CHECKLIST": ["missing"], "PREP-DOSE": ["no-preparation"]}
    assert body["warnings"] == []


def test_a_ready_bag_leaves_only_the_checklist_step(api_as: Callable[[str], APIClient]) -> None:
    patient = make_cleared_patient()
    make_preparation(patient)
    body = clearance(api_as("api-client"), patient)
    assert body["cleared"] is True and rules(body["visit_steps"]) == ["INF-CHECKLIST"]


def test_an_active_infection_is_not_cleared(api_as: Callable[[str], APIClient]) -> None:
    patient = make_cleared_patient()
    Infection.objects.create(patient=patient, description="Cystitis", onset_on=clock.clinic_today())
    body = clearance(api_as("nurse"), patient)
    assert body["cleared"] is False
    assert rules(body["blocking"]) == ["INF-ACTIVE-INFECTION"]
    # The visit's own steps are listed apart and never make `cleared` false on their own.
    assert "INF-CHECKLIST" in rules(body["visit_steps"])


def test_an_early_dose_is_a_warning_before_the_start(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    patient = make_cleared_patient(treatment_start=clock.clinic_today() - timedelta(days=60))
    ten_days_ago = clock.now() - timedelta(days=10)
    make_infusion(
        patient,
        preparation=make_preparation(patient, prepared_at=ten_days_ago - timedelta(minutes=30)),
        status=InfusionStatus.DISCHARGED,
        started_at=ten_days_ago,
        ended_at=ten_days_ago + timedelta(minutes=60),
        discharged_at=ten_days_ago + timedelta(minutes=120),
    )
    infusion = planned_infusion(patient, users["nurse"])
    body = clearance(api_as("nurse"), patient, infusion=infusion.pk)
    [early] = body["warnings"]
    assert early["rule"] == "INF-INTERVAL" and early["action"] == "inform"
    assert early["evidence"]["days_since_previous"] == 10
    assert "10 days after the last one" in early["message"]
    # A warning does not block: the nurse sees it, and the start goes ahead.
    assert body["cleared"] is True and body["visit_steps"] == []


def test_a_bag_near_its_limit_is_a_warning(api_as: Callable[[str], APIClient]) -> None:
    patient = make_cleared_patient()
    make_preparation(patient, prepared_at=clock.now() - timedelta(hours=7, minutes=30))
    body = clearance(api_as("nurse"), patient)
    assert rules(body["warnings"]) == ["PREP-STABILITY"]
    assert body["cleared"] is True


def test_the_start_still_refuses_a_visit_without_a_checklist(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_cleared_patient()
    infusion = make_infusion(patient)  # planned, no checklist recorded
    assert clearance(api_as("nurse"), patient, infusion=infusion.pk)["cleared"] is True
    response = api_as("nurse").post(
        f"/api/v1/infusions/{infusion.pk}/start/", {"started_at": clock.now().isoformat()}
    )
    assert response.status_code == 409
    assert rules(response.json()["blocking"]) == ["INF-CHECKLIST"]
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.PLANNED and infusion.started_at is None


def test_the_start_refuses_an_expired_bag_as_a_visit_step(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    bag = make_preparation(patient, prepared_at=clock.now() - timedelta(hours=9))
    infusion = planned_infusion(patient, users["nurse"], preparation=bag)
    body = clearance(api_as("nurse"), patient, infusion=infusion.pk)
    assert body["cleared"] is True and rules(body["visit_steps"]) == ["PREP-STABILITY"]
    response = api_as("nurse").post(
        f"/api/v1/infusions/{infusion.pk}/start/", {"started_at": clock.now().isoformat()}
    )
    assert response.status_code == 409 and rules(response.json()["blocking"]) == ["PREP-STABILITY"]


def decide(client: APIClient, patient: Patient, **body: str) -> object:
    return client.post(f"/api/v1/patients/{patient.pk}/decisions/", body)


def test_an_override_of_prep_stability_is_refused_and_writes_nothing(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    patient = make_cleared_patient()
    bag = make_preparation(patient, prepared_at=clock.now() - timedelta(hours=9))
    planned_infusion(patient, users["nurse"], preparation=bag)
    response = decide(
        api_as("neurologist"), patient, action="override", rule="PREP-STABILITY", reason="Hurry"
    )
    assert response.status_code == 400
    assert "never be overridden" in response.json()["rule"][0]
    assert not TreatmentDecision.objects.filter(patient=patient).exists()


def test_an_override_of_a_rule_that_does_not_block_now_is_refused(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_cleared_patient()
    response = decide(
        api_as("neurologist"), patient, action="override", rule="LIVER-3XULN", reason="Why not"
    )
    assert response.status_code == 400 and "does not block" in response.json()["rule"][0]
    assert not TreatmentDecision.objects.filter(patient=patient).exists()


def test_a_resume_of_an_active_course_is_refused_and_writes_nothing(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_cleared_patient()
    response = decide(api_as("neurologist"), patient, action="resume", reason="Resume")
    assert response.status_code == 400
    assert response.json()["action"] == ["Treatment is active: there is nothing to resume."]
    patient.refresh_from_db()
    assert patient.treatment_status == "active" and patient.version == 1
    assert not TreatmentDecision.objects.filter(patient=patient).exists()


def test_after_a_discontinuation_only_a_resume_is_accepted(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_cleared_patient()
    neurologist = api_as("neurologist")
    assert decide(neurologist, patient, action="discontinue", reason="PML").status_code == 201
    refused = decide(neurologist, patient, action="suspend", reason="Also")
    assert refused.status_code == 400 and "only a resume" in refused.json()["action"][0]
    resumed = decide(neurologist, patient, action="resume", reason="Diagnosis revised")
    assert resumed.status_code == 201
    patient.refresh_from_db()
    assert patient.treatment_status == "active"


@pytest.mark.parametrize("path", ["patients", "infections"])
def test_a_patch_without_if_match_or_version_is_428_and_changes_nothing(
    api_as: Callable[[str], APIClient], path: str
) -> None:
    patient = make_cleared_patient()
    infection = Infection.objects.create(
        patient=patient, description="Cold", onset_on=clock.clinic_today()
    )
    record = patient if path == "patients" else infection
    body = (
        {"given_name": "Changed"}
        if path == "patients"
        else {"resolved_on": clock.clinic_today().isoformat()}
    )
    client = api_as("neurologist")
    response = client.patch(f"/api/v1/{path}/{record.pk}/", body)
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]
    record.refresh_from_db()
    assert record.version == 1
    # The same change naming the version it read goes through.
    named = client.patch(f"/api/v1/{path}/{record.pk}/", body, HTTP_IF_MATCH='"1"')
    assert named.status_code == 200


def test_a_planned_visit_waits_for_its_bag_and_gets_it_when_prepared(
    api_as: Callable[[str], APIClient], users: dict[str, User]
) -> None:
    """The checklist comes first; the bag recorded next joins the visit waiting for it."""
    patient = make_cleared_patient()
    infusion = planned_infusion(patient, users["nurse"], preparation=None)
    assert infusion.preparation_id is None
    body = clearance(api_as("nurse"), patient, infusion=infusion.pk)
    assert rules(body["visit_steps"]) == ["PREP-DOSE"]
    made = api_as("pharmacist").post(
        "/api/v1/preparations/",
        {
            "patient": str(patient.pk),
            "dose_mg": 300,
            "diluent": "0.9% NaCl",
            "diluent_volume_ml": 100,
            "prepared_at": clock.now().isoformat(),
            "storage": "room",
        },
    )
    assert made.status_code == 201
    infusion = Infusion.objects.get(pk=infusion.pk)
    assert str(infusion.preparation_id) == made.json()["id"]
    assert clearance(api_as("nurse"), patient, infusion=infusion.pk)["visit_steps"] == []
