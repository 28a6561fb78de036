"""Patients: registering, changing with optimistic concurrency, and decisions."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from infusions.models import Infusion
from natalizumab_monitor import clock
from patients.models import Patient, TreatmentDecision
from tests.factories import make_checklist, make_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "MRN-0001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": "1980-12-10",
    "sex": "female",
    "indication": "ms",
    "treatment_start": "2025-01-15",
    "schedule_weeks": 4,
    "pregnant": False,
    "breastfeeding": False,
    "prior_immunosuppressants": True,
}


def test_neurologist_registers_a_patient(api_as: Callable[[str], APIClient]) -> None:
    response = api_as("neurologist").post("/api/v1/patients/", NEW_PATIENT)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in NEW_PATIENT} == NEW_PATIENT
    assert body["treatment_status"] == "active"
    assert body["infusion_count"] == 0
    assert body["version"] == 1 and response["ETag"] == '"1"'
    assert Patient.objects.get(pk=body["id"]).mrn == "MRN-0001"


def test_a_second_patient_with_the_same_mrn_is_refused(
    api_as: Callable[[str], APIClient],
) -> None:
    client = api_as("neurologist")
    assert client.post("/api/v1/patients/", NEW_PATIENT).status_code == 201
    response = client.post("/api/v1/patients/", {**NEW_PATIENT, "given_name": "Other"})
    assert response.status_code == 400
    assert "mrn" in response.json()
    assert Patient.objects.count() == 1


def test_infusion_count_counts_infusions_given(
    api_as: Callable[[str], APIClient], users: dict
) -> None:
    patient = make_patient()
    make_preparation(patient)
    Infusion.objects.create(patient=patient, preparation=make_preparation(patient))
    Infusion.objects.create(
        patient=patient,
        preparation=make_preparation(patient),
        status="running",
        started_at=clock.now() - timedelta(minutes=5),
    )
    body = api_as("api-client").get(f"/api/v1/patients/{patient.pk}/").json()
    assert body["infusion_count"] == 1


def test_patch_changes_the_record_and_its_version(api_as: Callable[[str], APIClient]) -> None:
    patient = make_patient()
    client = api_as("neurologist")
    response = client.patch(
        f"/api/v1/patients/{patient.pk}/", {"pregnant": True}, HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200
    assert response.json()["pregnant"] is True
    assert response.json()["version"] == 2 and response["ETag"] == '"2"'
    patient.refresh_from_db()
    assert patient.pregnant and patient.version == 2


def test_treatment_status_changes_only_through_a_decision(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    response = api_as("neurologist").patch(
        f"/api/v1/patients/{patient.pk}/", {"treatment_status": "suspended"}
    )
    assert response.status_code == 400
    assert "treatment_status" in response.json()
    patient.refresh_from_db()
    assert patient.treatment_status == "active" and patient.version == 1


def test_a_stale_if_match_gets_412_and_changes_nothing(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    client = api_as("neurologist")
    url = f"/api/v1/patients/{patient.pk}/"
    etag = client.get(url)["ETag"]
    assert client.patch(url, {"given_name": "First"}, HTTP_IF_MATCH=etag).status_code == 200
    response = client.patch(url, {"given_name": "Second"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    patient.refresh_from_db()
    assert patient.given_name == "First"


def test_an_unreadable_if_match_never_matches(api_as: Callable[[str], APIClient]) -> None:
    patient = make_patient()
    response = api_as("neurologist").patch(
        f"/api/v1/patients/{patient.pk}/", {"given_name": "X"}, HTTP_IF_MATCH="yesterday"
    )
    assert response.status_code == 412


def test_if_match_star_and_current_version_are_accepted(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    client = api_as("neurologist")
    url = f"/api/v1/patients/{patient.pk}/"
    assert client.patch(url, {"given_name": "A"}, HTTP_IF_MATCH="*").status_code == 200
    assert client.patch(url, {"given_name": "B"}, HTTP_IF_MATCH='W/"2"').status_code == 200


def test_a_stale_version_in_the_body_gets_409(api_as: Callable[[str], APIClient]) -> None:
    patient = make_patient()
    client = api_as("neurologist")
    url = f"/api/v1/patients/{patient.pk}/"
    assert client.patch(url, {"given_name": "First", "version": 1}).status_code == 200
    response = client.patch(url, {"given_name": "Second", "version": 1})
    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    patient.refresh_from_db()
    assert patient.given_name == "First"


def test_list_filters_by_mrn(api_as: Callable[[str], APIClient]) -> None:
    make_patient(mrn="A-1")
    wanted = make_patient(mrn="B-2")
    body = api_as("neurologist").get("/api/v1/patients/", {"mrn": "B-2"}).json()
    assert [p["mrn"] for p in body["results"]] == ["B-2"]
    assert set(body) == {"next", "previous", "results"}
    # A client that knows the MRN finds the patient's id, and is not given the MRN back.
    body = api_as("api-client").get("/api/v1/patients/", {"mrn": "B-2"}).json()
    assert [p["id"] for p in body["results"]] == [str(wanted.pk)]
    assert "mrn" not in body["results"][0]


def test_list_pages_with_next_links(api_as: Callable[[str], APIClient]) -> None:
    for n in range(5):
        make_patient(mrn=f"P-{n}")
    client = api_as("nurse")
    seen = []
    url: str | None = "/api/v1/patients/?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [p["mrn"] for p in body["results"]]
        url = body["next"]
    assert seen == [f"P-{n}" for n in range(5)]


# --- Decisions -----------------------------------------------------------------------------


def decide(client: APIClient, patient: Patient, **data: str):  # noqa: ANN201
    return client.post(f"/api/v1/patients/{patient.pk}/decisions/", data)


def test_suspend_resume_and_discontinue_set_the_treatment_status(
    api_as: Callable[[str], APIClient], users: dict
) -> None:
    patient = make_patient()
    client = api_as("neurologist")
    for action, status in (
        ("suspend", "suspended"),
        ("resume", "active"),
        ("discontinue", "discontinued"),
    ):
        response = decide(client, patient, action=action, reason=f"Because {action}")
        assert response.status_code == 201, response.json()
        assert response.json()["decided_by"] == "neurologist"
        patient.refresh_from_db()
        assert patient.treatment_status == status
    listed = client.get(f"/api/v1/patients/{patient.pk}/decisions/").json()["results"]
    assert [d["action"] for d in listed] == ["suspend", "resume", "discontinue"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "suspend", "reason": "   "}, "reason"),
        ({"action": "suspend"}, "reason"),
        ({"action": "override", "reason": "Checked by phone"}, "rule"),
        ({"action": "override", "reason": "Checked", "rule": "NOT-A-RULE"}, "rule"),
        ({"action": "confirm", "reason": "Still needed in pregnancy"}, "rule"),
        ({"action": "pause", "reason": "x"}, "action"),
        ({"action": "resume", "reason": "Not suspended"}, "action"),
    ],
)
def test_a_decision_without_what_it_needs_is_refused(
    api_as: Callable[[str], APIClient], data: dict, field: str
) -> None:
    patient = make_patient()
    response = decide(api_as("neurologist"), patient, **data)
    assert response.status_code == 400
    assert field in response.json()
    assert not TreatmentDecision.objects.exists()
    patient.refresh_from_db()
    assert patient.treatment_status == "active" and patient.version == 1


@pytest.mark.parametrize(
    ("data", "state"),
    [
        (
            {"action": "override", "reason": "Cleared by phone", "rule": "INF-CHECKLIST"},
            {"checklist_yes": True},
        ),
        (
            {"action": "confirm", "reason": "Treatment still needed", "rule": "POP-PREGNANCY"},
            {"pregnant": True},
        ),
        ({"action": "reauthorize", "reason": "Six-monthly review done"}, {}),
    ],
)
def test_override_confirm_and_reauthorize_are_kept_without_changing_status(
    api_as: Callable[[str], APIClient], users: dict, data: dict, state: dict
) -> None:
    """Each decision in a state where it makes sense: a "yes" on the visit's checklist holds
    the infusion (override), a pregnancy awaits the neurologist (confirm)."""
    patient = make_patient(pregnant=state.get("pregnant", False))
    if state.get("checklist_yes"):
        checklist = make_checklist(patient, users["nurse"], current_infection=True)
        make_infusion(patient, checklist=checklist)
    response = decide(api_as("neurologist"), patient, **data)
    assert response.status_code == 201, response.json()
    decision = TreatmentDecision.objects.get()
    assert (decision.action, decision.rule) == (data["action"], data.get("rule", ""))
    patient.refresh_from_db()
    assert patient.treatment_status == "active"


def test_decisions_of_an_unknown_patient_are_404(api_as: Callable[[str], APIClient]) -> None:
    url = "/api/v1/patients/00000000-0000-4000-8000-000000000000/decisions/"
    client = api_as("neurologist")
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "suspend", "reason": "x"}).status_code == 404
