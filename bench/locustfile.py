"""Load test (locust): clinicians on the pages and REST clients following the alert feed.

Run through bench/loadtest.py, which starts gunicorn on the benchmark database, makes the
accounts and prints p50/p95/p99 per page. By hand:

    LOADTEST_PASSWORD=... LOADTEST_TOKENS=tokens.txt LOADTEST_PATIENTS=ids.txt \\
        .venv/bin/locust -f bench/locustfile.py --headless -u 220 -r 20 -t 2m --host URL

200 clinicians spread over 20 sites (accounts `load-<role>-<site>`), each acting every
~10 s; 20 feed clients (API tokens, one a line in LOADTEST_TOKENS) polling every 5 s.
"""

import itertools
import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, constant, task

SITES = 20
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
PATIENTS = Path(os.environ.get("LOADTEST_PATIENTS", "")).read_text().split()
TOKENS = Path(os.environ.get("LOADTEST_TOKENS", "")).read_text().split()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_seats = itertools.count()
_tokens = itertools.cycle(TOKENS)


class Clinician(HttpUser):
    """Signs in once as one of the site's accounts of its role, then works its pages."""

    abstract = True
    role = ""
    wait_time = between(8, 12)

    def on_start(self) -> None:
        site = next(_seats) % SITES + 1
        page = self.client.get("/accounts/login/", name="sign in")
        token = _CSRF.search(page.text)
        with self.client.post(
            "/accounts/login/",
            {
                "username": f"load-{self.role}-{site:02d}",
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "next": "/",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
            catch_response=True,
        ) as response:
            # Signed in: redirected away from the login page.
            if response.url and "/accounts/login/" in response.url:
                response.failure("still on the login page")

    def patient_page(self) -> None:
        self.client.get(f"/patients/{random.choice(PATIENTS)}/", name="/patients/{id}/")


class Nurse(Clinician):
    role = "nurse"
    weight = 8

    @task
    def today(self) -> None:
        self.client.get("/nurse/today/", name="/nurse/today/")


class Pharmacist(Clinician):
    role = "pharmacist"
    weight = 4

    @task
    def bags(self) -> None:
        self.client.get("/pharmacy/bags/", name="/pharmacy/bags/")


class Neurologist(Clinician):
    role = "neurologist"
    weight = 8

    @task(2)
    def worklist(self) -> None:
        self.client.get("/worklist/", name="/worklist/")

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
