"""Load test (locust): clinicians on the pages and REST clients following the alert feed.

Run through bench/loadtest.py, which starts gunicorn on the benchmark database, makes the
accounts, their sessions and tokens, and prints p50/p95/p99 per page. By hand:

    LOADTEST_SESSIONS=sessions.txt LOADTEST_TOKENS=tokens.txt LOADTEST_PATIENTS=ids.txt \\
        .venv/bin/locust -f bench/locustfile.py --headless -u 220 -r 20 -t 2m --host URL

200 clinicians spread over 20 sites (accounts `load-<role>-<site>`, each working at its
site), each acting every ~10 s; 20 feed clients (API tokens, one a line in LOADTEST_TOKENS)
polling every 5 s. Clinicians come signed in: LOADTEST_SESSIONS has a session key made for
each seat ("role site key" a line), so that password hashing at sign-in (costly on purpose)
is not what the test measures. LOADTEST_PATIENTS has "site id" a line: a clinician opens
the records of their own site's patients.
"""

import itertools
import os
import random
from collections import defaultdict
from pathlib import Path

import gevent
from locust import HttpUser, between, constant, events, task
from locust.env import Environment

SESSION_COOKIE = os.environ.get("LOADTEST_SESSION_COOKIE", "sessionid")


def _lines(variable: str) -> list[list[str]]:
    return [line.split() for line in Path(os.environ.get(variable, "")).read_text().splitlines()]


SESSIONS: dict[str, list[tuple[str, str]]] = defaultdict(list)  # role -> [(site, key)]
for _role, _site, _key in _lines("LOADTEST_SESSIONS"):
    SESSIONS[_role].append((_site, _key))
PATIENTS: dict[str, list[str]] = defaultdict(list)  # site -> patient ids
for _site, _patient in _lines("LOADTEST_PATIENTS"):
    PATIENTS[_site].append(_patient)
TOKENS = [line[0] for line in _lines("LOADTEST_TOKENS")]
WARMUP_SECONDS = float(os.environ.get("LOADTEST_WARMUP_SECONDS", "0"))
_seats = {role: itertools.cycle(seats) for role, seats in SESSIONS.items()}
_tokens = itertools.cycle(TOKENS)


@events.init.add_listener
def _count_after_warmup(environment: Environment, **kwargs: object) -> None:
    """Once every user has started, the figures restart after the warm-up (whose own figures
    are written to LOADTEST_WARMUP_REPORT)."""

    def warmed_up() -> None:
        total = environment.stats.total
        Path(os.environ.get("LOADTEST_WARMUP_REPORT", os.devnull)).write_text(
            f"{total.num_requests} requests, {total.num_failures} errors, "
            f"p50 {total.get_response_time_percentile(0.5):.0f} ms, "
            f"p95 {total.get_response_time_percentile(0.95):.0f} ms, "
            f"p99 {total.get_response_time_percentile(0.99):.0f} ms"
        )
        environment.stats.reset_all()

    @events.spawning_complete.add_listener
    def _spawned(user_count: int, **kwargs: object) -> None:
        if WARMUP_SECONDS:
            gevent.spawn_later(WARMUP_SECONDS, warmed_up)


class Clinician(HttpUser):
    """Takes the next seat of its role (a site and a signed-in session), then works its pages."""

    abstract = True
    role = ""
    wait_time = between(8, 12)

    def on_start(self) -> None:
        self.site, key = next(_seats[self.role])
        self.client.cookies.set(SESSION_COOKIE, key)

    def page(self, url: str, name: str) -> None:
        """A page; one that is not the page asked for (signed out: the login page) fails."""
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure("signed out")

    def patient_page(self) -> None:
        patient = random.choice(PATIENTS[self.site])
        self.page(f"/patients/{patient}/", "/patients/{id}/")


class Nurse(Clinician):
    role = "nurse"
    weight = 8

    @task
    def today(self) -> None:
        self.page("/nurse/today/", "/nurse/today/")


class Pharmacist(Clinician):
    role = "pharmacist"
    weight = 4

    @task
    def bags(self) -> None:
        self.page("/pharmacy/bags/", "/pharmacy/bags/")


class Neurologist(Clinician):
    role = "neurologist"
    weight = 8

    @task(2)
    def worklist(self) -> None:
        self.page("/worklist/", "/worklist/")

    @task(3)
    def patient(self) -> None:
        self.patient_page()


class FeedClient(HttpUser):
    """An EHR or pager following GET /api/v1/alerts/ with its cursor."""

    fixed_count = 20
    wait_time = constant(5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Token {next(_tokens)}"}
        self.next_url = "/api/v1/alerts/"

    @task
    def poll(self) -> None:
        with self.client.get(
            self.next_url, headers=self.headers, name="/api/v1/alerts/", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                return
            following = response.json().get("next")
            if following:
                self.next_url = following.split("://", 1)[-1].split("/", 1)[-1]
                self.next_url = "/" + self.next_url
