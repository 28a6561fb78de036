"""Two people at once, on the real database: one wins, the other is told, nothing breaks.

Each test runs real threads with their own PostgreSQL connections.
"""

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from alerts.models import Alert
from alerts.services import next_feed_seq
from infusions.models import Infusion, PreInfusionChecklist
from patients.models import Patient, TreatmentDecision
from tests.api.conftest import make_alert
from tests.api.payloads import valid_body
from tests.factories import make_patient

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def statuses(responses: list[Any]) -> list[int]:
    assert not [r for r in responses if isinstance(r, Exception)], responses
    return sorted(r.status_code for r in responses)


def test_the_same_bag_planned_twice_at_once_gives_one_infusion(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    body = valid_body(world, "POST", "/api/v1/infusions/")
    checklists = PreInfusionChecklist.objects.count()
    clients = [api_as("nurse"), api_as("nurse")]
    responses = at_once(*[lambda c=c: c.post("/api/v1/infusions/", body) for c in clients])
    assert statuses(responses) == [201, 400]
    loser = next(r for r in responses if r.status_code == 400)
    assert "preparation" in loser.json()
    assert Infusion.objects.filter(preparation=world.preparation).count() == 1
    assert PreInfusionChecklist.objects.count() == checklists + 1


def test_two_registrations_of_one_mrn_at_once_give_one_patient(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    body = valid_body(world, "POST", "/api/v1/patients/")
    clients = [api_as("neurologist"), api_as("neurologist")]
    responses = at_once(*[lambda c=c: c.post("/api/v1/patients/", body) for c in clients])
    assert statuses(responses) == [201, 400]
    assert "mrn" in next(r for r in responses if r.status_code == 400).json()
    assert Patient.objects.filter(mrn=body["mrn"]).count() == 1


@pytest.mark.parametrize(("how", "loser_status"), [("version", 409), ("if-match", 412)])
def test_two_edits_from_the_same_version_one_wins(
    api_as: Callable[[str], APIClient], world: SimpleNamespace, how: str, loser_status: int
) -> None:
    url = f"/api/v1/patients/{world.patient.pk}/"

    def edit(name: str) -> Callable[[], Any]:
        client = api_as("neurologist")
        if how == "version":
            return lambda: client.patch(url, {"given_name": name, "version": 1})
        return lambda: client.patch(url, {"given_name": name}, HTTP_IF_MATCH='"1"')

    responses = at_once(edit("Anna"), edit("Berta"))
    assert statuses(responses) == [200, loser_status]
    winner = next(r for r in responses if r.status_code == 200).json()
    world.patient.refresh_from_db()
    assert (world.patient.given_name, world.patient.version) == (winner["given_name"], 2)


def test_two_suspensions_at_once_are_one_decision(
    api_as: Callable[[str], APIClient], world: SimpleNamespace
) -> None:
    url = f"/api/v1/patients/{world.patient.pk}/decisions/"
    clients = [api_as("neurologist"), api_as("neurologist")]
    responses = at_once(
        *[lambda c=c: c.post(url, {"action": "suspend", "reason": "ALT 5x ULN"}) for c in clients]
    )
    assert statuses(responses) == [201, 400]
    assert TreatmentDecision.objects.filter(patient=world.patient).count() == 1


def test_a_later_feed_writer_waits_for_the_earlier_one_to_commit(db: None) -> None:
    """The feed lock is held until commit: seq order is commit order."""
    patient = make_patient()
    first_has_seq, release_first = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> int:
        with transaction.atomic():
            alert = make_alert(patient, dedup_key="first")
            first_has_seq.set()
            release_first.wait(10)
            order.append("first commits")
        return alert.feed_seq

    def second() -> int:
        first_has_seq.wait(10)
        with transaction.atomic():
            alert = make_alert(patient, dedup_key="second")
            order.append("second has its seq")
        return alert.feed_seq

    def release() -> None:
        first_has_seq.wait(10)
        time.sleep(0.5)  # the second writer is blocked on the lock meanwhile
        order.append("released")
        release_first.set()

    first_seq, second_seq, _ = at_once(first, second, release)
    assert order == ["released", "first commits", "second has its seq"]
    assert second_seq > first_seq


def test_a_poller_never_misses_or_repeats_while_writers_commit(
    api_as: Callable[[str], APIClient], db: None
) -> None:
    patient = make_patient()
    writers, per_writer = 4, 15
    done = threading.Event()

    def write(n: int) -> None:
        for i in range(per_writer):
            with transaction.atomic():
                make_alert(patient, dedup_key=f"w{n}-{i}")
                time.sleep(0.002 * (n + 1))  # commit late, after others took their seq
        connection.close()

    def poll() -> list[tuple[str, int, str]]:
        client = api_as("api-client")
        seen: list[tuple[str, int, str]] = []
        url = "/api/v1/alerts/?page_size=5"
        while True:
            finished = done.is_set()
            body = client.get(url).json()
            seen += [(a["id"], a["feed_seq"], a["dedup_key"]) for a in body["results"]]
            url = body["next"]
            if finished and not body["results"]:
                return seen

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    results: list[list[tuple[str, int, str]]] = []
    poller = threading.Thread(target=lambda: results.append(poll()) or connection.close())
    poller.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    poller.join(timeout=60)

    # The alert pipeline may write alerts of its own meanwhile: they count too.
    [seen] = results
    assert len(seen) == len(set(seen)), "a change was delivered twice"
    final = {
        (str(pk), seq, key)
        for pk, seq, key in Alert.objects.values_list("id", "feed_seq", "dedup_key")
    }
    assert final <= set(seen), "a change was missed"
    ours = [key for _, _, key in seen if key.startswith("w")]
    assert sorted(ours) == sorted(f"w{n}-{i}" for n in range(writers) for i in range(per_writer))


def test_feed_seq_is_only_taken_inside_the_writing_transaction(db: None) -> None:
    with pytest.raises(RuntimeError):
        next_feed_seq()
    alert = make_alert(make_patient())
    assert alert.feed_seq == max(Alert.objects.values_list("feed_seq", flat=True))
