"""Fixtures of the alert pipeline: real Celery workers on Redis, a Redis of our own, helpers.

Workers run as subprocesses against the test database (pytest-django's `test_` name) and
the broker of this run (CELERY_BROKER_URL), and are killed at the end of each test.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db import connection

from alerts.models import Alert, AlertStatus
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.celery import app as celery_app
from natalizumab_monitor.roles import sync_role_groups
from patients.models import Patient

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], timeout: float = 20, interval: float = 0.1) -> Any:
    """Poll until `condition()` is truthy; returns its value, or fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {condition}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def standing(patient: Patient, rule: str | None = None) -> list[Alert]:
    alerts = Alert.objects.filter(
        patient=patient, status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    )
    if rule:
        alerts = alerts.filter(rule=rule)
    return list(alerts)


def high_alt(patient: Patient, multiple: str = "3.2", **fields: Any) -> LabResult:
    """An ALT at `multiple` x its ULN of 40 U/L."""
    values: dict[str, Any] = {
        "analyte": "ALT",
        "value": Decimal(multiple) * 40,
        "unit": "U/L",
        "reference_low": Decimal("7"),
        "reference_high": Decimal("40"),
        "collected_at": clock.now(),
    }
    values.update(fields)
    return LabResult.objects.create(patient=patient, **values)


@pytest.fixture
def role_groups(db: None) -> None:
    """The role groups (a transactional test's flush removes what the migration made)."""
    sync_role_groups(Group, Permission)


@pytest.fixture
def make_user(role_groups: None, make_user: Callable[..., User]) -> Callable[..., User]:
    return make_user


class Worker:
    """A `celery worker` subprocess on the test database."""

    def __init__(self, env: dict[str, str], extra: list[str]) -> None:
        self.lines: list[str] = []
        command = [
            sys.executable, "-m", "celery", "-A", "natalizumab_monitor", "worker",
            "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
            *extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace"))

    def wait_ready(self, timeout: float = 60) -> "Worker":
        wait_for(lambda: any(" ready." in line for line in self.lines), timeout, 0.2)
        return self

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no acknowledgement, no message given back.

        Returns once the whole output is read: what the worker logged before it died is all in
        `output` (the reader thread would otherwise still be behind the pipe).
        """
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._reader.join(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=5)


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a worker: this test run's database and broker."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{connection.settings_dict['NAME']}"
            ),
            "CELERY_BROKER_URL": celery_app.conf.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CONN_MAX_AGE": "0",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


@pytest.fixture
def start_worker() -> Iterator[Callable[..., Worker]]:
    """Start workers (keyword arguments become environment variables); all killed after."""
    started: list[Worker] = []

    def start(*extra: str, wait: bool = True, **env: str) -> Worker:
        worker = Worker(worker_env(**env), list(extra))
        started.append(worker)
        return worker.wait_ready() if wait else worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """The Redis database of this run's broker, emptied before and after the test."""
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class RedisServer:
    """A redis-server of our own on a free port: the machine's shared one is never stopped."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client), timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()
