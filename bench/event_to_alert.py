"""Event-to-alert latency: POST a lab result through the API, time until GET /api/v1/alerts/
shows its alert. A live server (gunicorn) and a real Celery worker on Redis and PostgreSQL.

    .venv/bin/python bench/event_to_alert.py [--events 200]

Uses the PostgreSQL database `nm_bench` (made and migrated when missing; BENCH_DATABASE_URL
to change) and Redis database 6 (BENCH_BROKER_URL), both emptied of earlier bench data.
Prints the median and 95th percentile; the target is p95 < 2 s.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchkit import create_database, free_port, percentile, spawn

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nm_bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
TARGET_P95_SECONDS = 2.0
POLL_SECONDS = 0.01


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=30.0, help="Give up on one event.")
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "natalizumab_monitor.settings",
        "SECRET_KEY": os.environ.get(
            "SECRET_KEY", "bench-only-key-made-for-measurements-3f9a1c7e5b2d4f6a8c0e"
        ),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    create_database(DATABASE_URL)
    token, patient_ids = _prepare(args.events)

    port = free_port()
    processes = [
        spawn(
            [sys.executable, "-m", "gunicorn", "natalizumab_monitor.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
            env,
        ),
        spawn(
            [sys.executable, "-m", "celery", "-A", "natalizumab_monitor", "worker",
             "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle"],
            env,
        ),
    ]  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(base)
        _warm_up(base, token)
        latencies = [
            _one_event(base, token, patient_id, args.timeout) for patient_id in patient_ids
        ]
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    _report(latencies)
    return 0 if percentile(latencies, 95) < TARGET_P95_SECONDS else 1


def _prepare(events: int) -> tuple[str, list[str]]:
    """Migrate, empty earlier bench data, make a neurologist with a token and the patients."""
    import django

    django.setup()
    import redis
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from knox.models import AuthToken

    from alerts.models import Alert, Notification, PendingEvaluation
    from labs.models import LabResult
    from network.services import site_for_new_record
    from patients.models import Patient

    call_command("migrate", interactive=False, verbosity=0)
    Notification.objects.all().delete()
    Alert.objects.all().delete()
    LabResult.objects.filter(patient__mrn__startswith="BENCH-").delete()
    PendingEvaluation.objects.all().delete()
    Patient.objects.filter(mrn__startswith="BENCH-").delete()
    redis.Redis.from_url(BROKER_URL).flushdb()  # after the deletes: they queued evaluations
    user, _ = User.objects.get_or_create(username="bench-neurologist")
    user.groups.add(Group.objects.get(name="neurologist"))
    _, token = AuthToken.objects.create(user=user)
    # bulk_create sends no signal: the patients queue no evaluations of their own.
    patients = Patient.objects.bulk_create(
        Patient(
            site=site_for_new_record(),
            mrn=f"BENCH-{n:05d}",
            given_name="Bench",
            family_name=f"Patient {n}",
            birth_date=date(1985, 5, 17),
            sex="female",
            indication="ms",
            treatment_start=date(2025, 1, 6),
        )
        for n in range(events)
    )
    return token, [str(patient.pk) for patient in patients]


def _request(
    base: str, token: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own live server
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_for_server(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2)  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the live server did not start")


def _warm_up(base: str, token: str) -> None:
    # The first request of each gunicorn worker and the worker's first task load code.
    for _ in range(4):
        _request(base, token, "/api/v1/alerts/?rule=NONE")


def _one_event(base: str, token: str, patient_id: str, timeout: float) -> float:
    alt = {
        "patient": patient_id,
        "analyte": "ALT",
        "value": 128,  # 3.2 x ULN
        "unit": "U/L",
        "reference_low": 7,
        "reference_high": 40,
        "collected_at": datetime.now(UTC).isoformat(),
    }
    began = time.monotonic()
    status, body = _request(base, token, "/api/v1/lab-results/", alt)
    if status != 201:
        raise SystemExit(f"POST /api/v1/lab-results/ answered {status}: {body}")
    query = f"/api/v1/alerts/?patient={patient_id}&rule=LIVER-3XULN"
    while time.monotonic() - began < timeout:
        status, feed = _request(base, token, query)
        if status == 200 and any(
            alert["dedup_key"].endswith(body["id"]) for alert in feed["results"]
        ):
            return time.monotonic() - began
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"no alert {timeout} s after a lab result")


def _report(latencies: list[float]) -> None:
    p95 = percentile(latencies, 95)
    print(f"event-to-alert latency over {len(latencies)} events (POST lab result -> alert in feed)")
    print(f"  median {statistics.median(latencies) * 1000:7.1f} ms")
    print(f"  p95    {p95 * 1000:7.1f} ms   (target < {TARGET_P95_SECONDS * 1000:.0f} ms: "
          f"{'met' if p95 < TARGET_P95_SECONDS else 'NOT met'})")  # fmt: skip
    print(f"  min    {min(latencies) * 1000:7.1f} ms")
    print(f"  max    {max(latencies) * 1000:7.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
