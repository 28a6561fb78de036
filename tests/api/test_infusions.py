"""Dose preparations, the infusion workflow, its gate and reactions, as a nurse sees them."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from infusions.models import DosePreparation, Infusion, InfusionReaction, PreInfusionChecklist
from infusions.services import preparation_expiry
from tests.api.payloads import valid_body
from tests.factories import make_preparation

pytestmark = pytest.mark.django_db

PREPARATIONS = "/api/v1/preparations/"
INFUSIONS = "/api/v1/infusions/"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("storage", "out_of_fridge", "hours"),
    [("room", None, 8), ("refrigerated", None, 24), ("refrigerated", T0 + timedelta(hours=2), 8)],
)
def test_preparation_expiry_counts_from_dilution(
    storage: str, out_of_fridge: datetime | None, hours: int
) -> None:
    assert preparation_expiry(T0, storage, out_of_fridge) == T0 + timedelta(hours=hours)


def test_a_pharmacist_records_a_bag_with_its_expiry(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    body = {**valid_body(world, "POST", PREPARATIONS), "storage": "refrigerated"}
    response = api_as("pharmacist").post(PREPARATIONS, body)
    assert response.status_code == 201
    bag = response.json()
    prepared_at = datetime.fromisoformat(body["prepared_at"])
    assert datetime.fromisoformat(bag["expires_at"]) == prepared_at + timedelta(hours=24)
    assert (bag["status"], bag["prepared_by"]) == ("ready", "pharmacist")


def test_a_bag_out_of_the_fridge_keeps_the_room_limit(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    prepared_at = world.now - timedelta(hours=1)
    body = {
        **valid_body(world, "POST", PREPARATIONS),
        "storage": "refrigerated",
        "prepared_at": prepared_at.isoformat(),
        "room_temperature_since": (world.now - timedelta(minutes=10)).isoformat(),
    }
    bag = api_as("pharmacist").post(PREPARATIONS, body).json()
    assert datetime.fromisoformat(bag["expires_at"]) == prepared_at + timedelta(hours=8)


@pytest.mark.parametrize("flag", ["frozen", "shaken"])
def test_a_frozen_or_shaken_bag_is_recorded_as_discarded(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, flag: str
) -> None:
    body = {**valid_body(world, "POST", PREPARATIONS), flag: True}
    bag = api_as("pharmacist").post(PREPARATIONS, body).json()
    assert bag["status"] == "discarded"
    assert bag["discarded_reason"] == flag.capitalize()


def test_a_ready_bag_past_its_limit_reads_expired_and_filters_so(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    prepared_at = world.now - timedelta(hours=9)
    old = make_preparation(
        world.patient, prepared_at=prepared_at, expires_at=prepared_at + timedelta(hours=8)
    )
    client = api_as("nurse")
    assert client.get(f"{PREPARATIONS}{old.pk}/").json()["status"] == "expired"
    assert client.get(f"{PREPARATIONS}{world.preparation.pk}/").json()["status"] == "ready"
    expired = client.get(PREPARATIONS, {"status": "expired"}).json()["results"]
    assert [b["id"] for b in expired] == [str(old.pk)]
    ready = client.get(PREPARATIONS, {"status": "ready", "patient": str(world.patient.pk)})
    assert str(old.pk) not in {b["id"] for b in ready.json()["results"]}


def test_a_visit_from_checklist_to_discharge(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    nurse = api_as("nurse")
    created = nurse.post(INFUSIONS, valid_body(world, "POST", INFUSIONS))
    assert created.status_code == 201
    infusion = created.json()
    assert infusion["status"] == "planned" and infusion["checklist"]["asked_by"] == "nurse"
    assert PreInfusionChecklist.objects.filter(pk=infusion["checklist"]["id"]).exists()
    url = f"{INFUSIONS}{infusion['id']}/"

    start = world.now - timedelta(minutes=25)  # the bag was prepared 30 minutes ago
    response = nurse.post(f"{url}start/", {"started_at": start.isoformat()}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "running" and response["ETag"] == '"2"'
    world.preparation.refresh_from_db()
    assert world.preparation.status == "used"

    end = start + timedelta(minutes=24)
    response = nurse.post(f"{url}stop/", {"ended_at": end.isoformat(), "version": 2})
    assert response.json()["status"] == "stopped"
    assert datetime.fromisoformat(response.json()["ended_at"]) == end

    response = nurse.post(f"{url}discharge/", {"discharged_at": world.now.isoformat()})
    assert response.status_code == 200
    assert response.json()["status"] == "discharged" and response.json()["version"] == 4
    patient = api_as("api-client").get(f"/api/v1/patients/{world.patient.pk}/").json()
    assert patient["infusion_count"] == 3  # the running and stopped ones of `world`, and this


def test_an_infusion_cannot_start_twice_or_stop_before_it_runs(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    nurse = api_as("nurse")
    url = f"{INFUSIONS}{world.planned.pk}/"
    assert nurse.post(f"{url}stop/", {"ended_at": world.now.isoformat()}).status_code == 409
    assert (
        nurse.post(f"{url}discharge/", {"discharged_at": world.now.isoformat()}).status_code == 409
    )
    assert nurse.post(f"{url}start/", {"started_at": world.now.isoformat()}).status_code == 200
    again = nurse.post(f"{url}start/", {"started_at": world.now.isoformat()})
    assert again.status_code == 409 and again.json()["blocking"] == []


def test_a_stale_version_on_start_is_refused(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    url = f"{INFUSIONS}{world.planned.pk}/start/"
    nurse = api_as("nurse")
    body = {"started_at": world.now.isoformat()}
    assert nurse.post(url, body, HTTP_IF_MATCH='"7"').status_code == 412
    assert nurse.post(url, {**body, "version": 7}).status_code == 409
    world.planned.refresh_from_db()
    assert world.planned.status == "planned" and world.planned.version == 1


def _start(client: APIClient, infusion: Infusion, at: datetime):  # noqa: ANN202
    return client.post(f"{INFUSIONS}{infusion.pk}/start/", {"started_at": at.isoformat()})


@pytest.mark.parametrize("status", ["suspended", "discontinued"])
def test_the_gate_refuses_a_patient_whose_treatment_is_not_active(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, status: str
) -> None:
    world.patient.treatment_status = status
    world.patient.save()
    response = _start(api_as("nurse"), world.planned, world.now)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] and [f["rule"] for f in body["blocking"]] == ["INF-CHECKLIST"]
    # API.md's finding shape, plus the version of the rule profile that raised it.
    assert set(body["blocking"][0]) == {
        "profile_version",
        "rule",
        "severity",
        "action",
        "message",
        "evidence",
        "source",
        "profile",
        "dedup_key",
    }
    world.planned.refresh_from_db()
    assert world.planned.status == "planned" and world.planned.started_at is None


def test_the_gate_refuses_a_bag_expired_at_the_start(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    bag = world.planned.preparation
    bag.prepared_at = world.now - timedelta(hours=8, minutes=1)  # room temperature: 8 h
    bag.expires_at = bag.prepared_at + timedelta(hours=8)
    bag.save()
    nurse = api_as("nurse")
    response = _start(nurse, world.planned, world.now)
    assert response.status_code == 409
    assert [f["rule"] for f in response.json()["blocking"]] == ["PREP-STABILITY"]
    # Started (as recorded) before the limit, it was still good.
    assert _start(nurse, world.planned, world.now - timedelta(minutes=2)).status_code == 200


def test_the_gate_holds_a_yes_on_the_checklist_until_a_prescriber_clears_it(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, users: dict
) -> None:
    body = valid_body(world, "POST", INFUSIONS)
    body["checklist"]["current_infection"] = True
    nurse = api_as("nurse")
    infusion = nurse.post(INFUSIONS, body).json()
    assert infusion["checklist"]["needs_clearance"] is True
    planned = Infusion.objects.get(pk=infusion["id"])
    response = _start(nurse, planned, world.now)
    assert response.status_code == 409
    [finding] = response.json()["blocking"]
    assert finding["rule"] == "INF-CHECKLIST"
    assert finding["evidence"]["yes_answers"] == ["current_infection"]

    clear = f"{INFUSIONS}{planned.pk}/clear-checklist/"
    assert nurse.post(clear, {"note": "ok"}).status_code == 403
    neurologist = api_as("neurologist")
    assert neurologist.post(clear, {"note": "  "}).status_code == 400
    cleared = neurologist.post(clear, {"note": "Cystitis treated, afebrile"})
    assert cleared.status_code == 200
    planned.checklist.refresh_from_db()
    assert planned.checklist.cleared_by == users["neurologist"]
    assert neurologist.post(clear, {"note": "again"}).status_code == 409
    assert _start(nurse, planned, world.now).status_code == 200


def test_a_severe_reaction_stops_a_running_infusion_at_its_onset(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    onset = world.now - timedelta(minutes=5)
    response = api_as("nurse").post(
        f"{INFUSIONS}{world.running.pk}/reactions/",
        {"severity": "severe", "symptoms": ["urticaria", "dyspnea"], "onset_at": onset.isoformat()},
    )
    assert response.status_code == 201
    assert response.json()["symptoms"] == ["urticaria", "dyspnea"]
    world.running.refresh_from_db()
    assert world.running.status == "stopped" and world.running.ended_at == onset
    infusion = api_as("neurologist").get(f"{INFUSIONS}{world.running.pk}/").json()
    assert [r["severity"] for r in infusion["reactions"]] == ["severe"]


def test_a_mild_reaction_leaves_the_infusion_running(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    response = api_as("nurse").post(
        f"{INFUSIONS}{world.running.pk}/reactions/",
        {"severity": "mild", "symptoms": ["headache"], "onset_at": world.now.isoformat()},
    )
    assert response.status_code == 201
    world.running.refresh_from_db()
    assert world.running.status == "running" and world.running.ended_at is None


def test_a_reaction_to_an_infusion_not_started_is_409(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    response = api_as("nurse").post(
        f"{INFUSIONS}{world.planned.pk}/reactions/",
        {"severity": "mild", "symptoms": ["rash"], "onset_at": world.now.isoformat()},
    )
    assert response.status_code == 409
    assert not InfusionReaction.objects.exists()


def test_infusions_filter_by_patient_and_status(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    client = api_as("neurologist")
    running = client.get(INFUSIONS, {"patient": str(world.patient.pk), "status": "running"})
    assert [i["id"] for i in running.json()["results"]] == [str(world.running.pk)]
    other = client.get(INFUSIONS, {"patient": str(world.other_patient.pk)}).json()
    assert other["results"] == []
    assert DosePreparation.objects.filter(patient=world.other_patient).count() == 0
