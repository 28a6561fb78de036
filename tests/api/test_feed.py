"""The alert feed: a poller following `next` sees every change once, in commit order."""

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from alerts.api import encode_cursor
from alerts.models import Alert
from natalizumab_monitor import clock
from tests.api.conftest import make_alert
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

FEED = "/api/v1/alerts/"


def follow(client: APIClient, url: str) -> tuple[list[dict], str]:
    """Every result from `url` on, and the `next` of the last (empty) page."""
    seen: list[dict] = []
    while True:
        body = client.get(url).json()
        assert body["next"], "next is always given"
        assert body["previous"] is None
        if not body["results"]:
            return seen, body["next"]
        seen += body["results"]
        url = body["next"]


def test_a_poller_sees_alerts_inserted_between_pages_once_and_in_order(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    first = [make_alert(patient) for _ in range(3)]
    client = api_as("api-client")

    page = client.get(FEED, {"page_size": 2}).json()
    seen = [a["id"] for a in page["results"]]
    inserted = [make_alert(patient) for _ in range(3)]  # between page 1 and page 2
    rest, resume = follow(client, page["next"])
    seen += [a["id"] for a in rest]
    assert seen == [str(a.pk) for a in first + inserted]

    later = make_alert(patient)
    again, _ = follow(client, resume)  # the last page's next, polled later
    assert [a["id"] for a in again] == [str(later.pk)]


def test_next_is_given_even_for_an_empty_feed(api_as: Callable[[str], APIClient], db: None) -> None:
    client = api_as("api-client")
    body = client.get(FEED).json()
    assert body["results"] == [] and body["next"]
    alert = make_alert(make_patient())
    assert [a["id"] for a in client.get(body["next"]).json()["results"]] == [str(alert.pk)]


def test_a_change_moves_the_alert_to_the_end_of_the_feed(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    alerts = [make_alert(patient) for _ in range(3)]
    client = api_as("api-client")
    seen, resume = follow(client, FEED)
    assert api_as("nurse").post(f"{FEED}{alerts[0].pk}/acknowledge/").status_code == 200
    changes, _ = follow(client, resume)
    assert [(a["id"], a["status"]) for a in changes] == [(str(alerts[0].pk), "acknowledged")]
    assert changes[0]["feed_seq"] > max(a["feed_seq"] for a in seen)


def test_the_feed_is_ordered_by_commit_not_by_raised_at(
    api_as: Callable[[str], APIClient],
) -> None:
    patient = make_patient()
    late = make_alert(patient, raised_at=clock.now())
    early = make_alert(patient, raised_at=clock.now() - timedelta(days=3))
    ids = [a["id"] for a in api_as("api-client").get(FEED).json()["results"]]
    assert ids == [str(late.pk), str(early.pk)]


def test_feed_filters(api_as: Callable[[str], APIClient]) -> None:
    one, two = make_patient(), make_patient()
    liver = make_alert(one)
    mri = make_alert(two, rule="MRI-DUE", severity="info", action="remind", dedup_key="MRI-DUE:x")
    acknowledged = make_alert(one, rule="ADA-POSITIVE", severity="warning", action="inform")
    acknowledged.status = "acknowledged"
    acknowledged.save()
    client = api_as("api-client")

    def ids(**query: str) -> list[str]:
        return [a["id"] for a in client.get(FEED, query).json()["results"]]

    assert ids(patient=str(two.pk)) == [str(mri.pk)]
    assert ids(rule="LIVER-3XULN") == [str(liver.pk)]
    assert ids(severity="info") == [str(mri.pk)]
    assert ids(status="acknowledged") == [str(acknowledged.pk)]
    cutoff = Alert.objects.get(pk=mri.pk).updated_at
    assert ids(updated_after=cutoff.isoformat()) == [str(acknowledged.pk)]
    page = client.get(FEED, {"rule": "LIVER-3XULN"}).json()
    assert "rule=LIVER-3XULN" in page["next"]


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "garbage!"},
        {"cursor": encode_cursor(5)[:-2]},
        {"cursor": "YWZ0ZXI6LTU"},
        {"severity": "urgent"},
        {"status": "closed"},
        {"patient": "42"},
        {"updated_after": "last tuesday"},
    ],
)
def test_bad_feed_parameters_are_400(
    api_as: Callable[[str], APIClient], db: None, query: dict[str, str]
) -> None:
    response = api_as("api-client").get(FEED, query)
    assert response.status_code == 400
    assert list(response.json()) == list(query)


def test_acknowledge_records_who_and_a_second_time_changes_nothing(
    api_as: Callable[[str], APIClient], users: dict
) -> None:
    alert = make_alert(make_patient())
    pharmacist = api_as("pharmacist")
    body = pharmacist.post(f"{FEED}{alert.pk}/acknowledge/").json()
    assert (body["status"], body["acknowledged_by"]) == ("acknowledged", "pharmacist")
    again = pharmacist.post(f"{FEED}{alert.pk}/acknowledge/").json()
    assert again["feed_seq"] == body["feed_seq"]


def test_resolve_needs_a_note_and_happens_once(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    neurologist = api_as("neurologist")
    url = f"{FEED}{world.alert.pk}/resolve/"
    response = neurologist.post(url, {"note": "Repeat ALT 35 U/L"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolved_by"], body["resolution_note"]) == (
        "resolved",
        "neurologist",
        "Repeat ALT 35 U/L",
    )
    assert neurologist.post(url, {"note": "Again"}).status_code == 409
    assert neurologist.post(f"{FEED}{world.alert.pk}/acknowledge/").status_code == 409
