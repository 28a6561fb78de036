"""The alert pipeline at scale: one table per database size (generated 3-year histories).

    .venv/bin/python bench/scale.py [--sizes 1000,10000,50000] [--workers 1,2] [--events 30]

For each size, the database is filled up to that many generated patients (`loadscale`,
seed 1, 20 sites; patients already there are kept: a database that already holds more
than a size measures its own size there, so run the sizes in order from an empty or
smaller database, e.g. BENCH_SCALE_DATABASE_URL=.../nat_scale_small for 1,000 and 10,000),
then:

- sweep: every patient evaluated, in this one process, in batches (the second of two runs:
  the first raises the alerts), against the plain-SQL floor: the very statements the snapshot
  builder sends for the same batches, run on a raw cursor with no row conversion;
- timers: what the minute timers do through the rest of the day, in one run once the last
  bag left ready today has expired (the generator leaves one for about 1 patient in 20):
  the bags' expiries belong to the timers, not to the nightly job;
- nightly: the next night's job (the clock moved to 02:30 tomorrow), in this one process;
- the full sweep and the nightly job fanned out over N Celery workers (separate processes,
  one task at a time each) through Redis: from dispatch to the run's last batch (the workers
  keep the real clock: their nightly job finds only what fell due since the sweep);
- event to alert: a lab result written (as a service would) to its alert in the database,
  through Redis and a worker, p50 and p95;
- peak memory of this process (the in-process sweep and nightly job);
- pages: the nurse's today list, the pharmacist's bag board, the neurologist's worklist,
  the alert feed (REST) and a patient's page, each as a user of one site whose 100 patients
  all come for an infusion today (a site of the day, made once a day beside the generated
  ones): median server time of 10 requests through Django's test client (the whole
  middleware stack, audit included) and the number of queries, taken right after the sweeps
  (every patient evaluated now, as a clinic's evaluations leave them; the timers and the
  nightly job above run on a clock moved ahead).

Uses the PostgreSQL database `nat_scale_bench` (BENCH_SCALE_DATABASE_URL; made and migrated
when missing) and Redis database 9 (BENCH_SCALE_BROKER_URL), emptied of queued tasks.
"""

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchkit import create_database, percentile

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nat_scale_bench"
)
BROKER_URL = os.environ.get("BENCH_SCALE_BROKER_URL", "redis://127.0.0.1:6379/9")
SEED, SITES, YEARS = 1, 20, 3
TARGET_RATIO = 3.0
TARGET_NIGHTLY_SECONDS = 60.0
# The pages' day: patients of a site of their own, every one due today.
DAY_PATIENTS, PAGE_REQUESTS = 100, 10
TARGET_LIST_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--workers", default="1,2", help="worker counts for the fan-out")
    parser.add_argument("--events", type=int, default=30, help="events for event-to-alert")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    workers = [int(count) for count in args.workers.split(",") if count]

    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "natalizumab_monitor.settings",
        "SECRET_KEY": os.environ.get(
            "SECRET_KEY", "bench-only-key-made-for-measurements-8d2e4f6a0b1c3e5f7a9b"
        ),
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "0",
        "MFA_REQUIRED_ROLES": "auditor",  # the bench's neurologist signs in without TOTP
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    create_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    from patients.models import Patient

    call_command("migrate", interactive=False, verbosity=0)
    for size in sizes:
        figures = Figures(size)
        figures.generator = _fill_to(size)
        day_site = _site_of_the_day()
        figures.in_database = Patient.all_sites.count()
        _measure_sweeps(figures)
        # The pages as the clinic leaves them: every patient evaluated now (the timers and
        # the nightly job below run on a clock moved ahead).
        figures.pages = _measure_pages(day_site)
        _measure_timers_and_nightly(figures)
        for count in workers:
            figures.fan_out[count] = _measure_fan_out(count, env, figures, args.events)
        figures.print()
    return 0


class Figures:
    def __init__(self, size: int) -> None:
        self.size = size
        self.in_database = size
        self.generator: tuple[int, float] = (0, 0.0)
        self.first_sweep = self.sweep = self.floor = self.nightly = self.timers = 0.0
        self.nightly_patients = self.timers_patients = 0
        self.fan_out: dict[int, dict[str, float]] = {}
        self.events: list[float] = []
        self.peak_mb = 0.0
        self.pages: list[tuple[str, float, int]] = []  # (page, median ms, queries)

    def print(self) -> None:
        ratio = self.sweep / self.floor if self.floor else float("nan")
        rows = [
            ("patients in the database", f"{self.in_database:,} (the site of the day's too)"),
            (
                "generator (loadscale)",
                f"{self.generator[1]:.1f} s for {self.generator[0]:,} new patients"
                if self.generator[0]
                else "already loaded",
            ),
            ("first sweep (raises the alerts)", f"{self.first_sweep:.1f} s"),
            (
                "sweep, one process",
                f"{self.sweep:.1f} s ({self.in_database / self.sweep:,.0f}/s)",
            ),
            ("plain-SQL floor (same statements)", f"{self.floor:.1f} s"),
            (
                "sweep / floor",
                f"{ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: "
                f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})",
            ),
            (
                "timers, once today's bags expired",
                f"{self.timers:.1f} s for {self.timers_patients:,} patients",
            ),
            (
                "nightly job, one process",
                f"{self.nightly:.1f} s for {self.nightly_patients:,} due patients (target < "
                f"{TARGET_NIGHTLY_SECONDS:.0f} s: "
                f"{'met' if self.nightly < TARGET_NIGHTLY_SECONDS else 'NOT met'})",
            ),
        ]
        for count, times in sorted(self.fan_out.items()):
            workers = f"{count} worker{'s' if count > 1 else ''}"
            rows.append((f"full sweep, {workers}", f"{times['sweep']:.1f} s"))
            rows.append(
                (
                    f"nightly job now, {workers}",
                    f"{times['nightly']:.1f} s for {times['nightly_patients']:.0f} due patients",
                )
            )
        if self.events:
            rows.append(
                (
                    "event to alert (1 worker)",
                    f"p50 {statistics.median(self.events) * 1000:.0f} ms, "
                    f"p95 {percentile(self.events, 95) * 1000:.0f} ms "
                    f"over {len(self.events)} events",
                )
            )
        rows.append(("peak memory, this process", f"{self.peak_mb:.0f} MB"))
        for page, milliseconds, queries in self.pages:
            target = ""
            if page in ("nurse's today list", "bag board"):
                met = "met" if milliseconds < TARGET_LIST_MS else "NOT met"
                target = f" (target < {TARGET_LIST_MS:.0f} ms: {met})"
            rows.append(
                (
                    f"page: {page}",
                    f"{milliseconds:.0f} ms, {queries} queries{target}",
                )
            )
        width = max(len(name) for name, _ in rows)
        print(f"\n== {self.size:,} patients ==")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
        sys.stdout.flush()


def _fill_to(size: int) -> tuple[int, float]:
    """Generated patients up to `size` (seed 1): (patients added, seconds)."""
    from django.core.management import call_command

    from patients.models import Patient

    have = Patient.objects.filter(mrn__regex=rf"^S[0-9]+-{SEED}-").count()
    if have >= size:
        return 0, 0.0
    began = time.monotonic()
    call_command(
        "loadscale",
        patients=size - have,
        first=have,
        sites=SITES,
        years=YEARS,
        seed=SEED,
        no_progress=False,
    )
    return size - have, time.monotonic() - began


def _site_of_the_day() -> str:
    """A site whose DAY_PATIENTS patients all come for an infusion today (made once a day:
    yesterday's would be overdue today), and its nurse, pharmacist and neurologist."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from natalizumab_monitor import clock
    from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
    from network.models import Site
    from patients.models import Patient

    code = f"DAY-{clock.clinic_today():%Y%m%d}"
    if not Patient.all_sites.filter(site__code=code).exists():
        call_command(
            "loadscale",
            patients=DAY_PATIENTS,
            site=code,
            visits_today=True,
            years=YEARS,
            seed=int(f"{clock.clinic_today():%Y%m%d}"),
            no_progress=True,
        )
    site = Site.objects.get(code=code)
    for role in (NURSE, PHARMACIST, NEUROLOGIST):
        user, _ = User.objects.get_or_create(username=f"bench-{role}")
        user.groups.add(Group.objects.get(name=role))
        user.sites.set([site])  # one site: the pages show its day
    return code


def _measure_pages(code: str) -> list[tuple[str, float, int]]:
    """Median server time and queries of each main page, as a user of the day's site."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from patients.models import Patient

    patient = Patient.all_sites.filter(site__code=code).order_by("mrn").first()
    pages = [
        ("nurse's today list", "nurse", "/nurse/today/"),
        ("bag board", "pharmacist", "/pharmacy/bags/"),
        ("worklist", "neurologist", "/worklist/"),
        ("alert feed (REST)", "neurologist", "/api/v1/alerts/"),
        ("patient page", "neurologist", f"/patients/{patient.pk}/"),
    ]
    found = []
    for name, role, url in pages:
        client = Client(HTTP_HOST="localhost")
        client.force_login(User.objects.get(username=f"bench-{role}"))
        assert client.get(url).status_code == 200, url  # warm, and it works
        times = []
        for _ in range(PAGE_REQUESTS):
            began = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - began)
            assert response.status_code == 200, url
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        found.append((name, statistics.median(times) * 1000, len(captured.captured_queries)))
    return found


def _measure_sweeps(figures: Figures) -> None:
    from django.conf import settings
    from django.db import connection

    from alerts import sweeps, tasks
    from alerts.snapshots import row_queries

    figures.first_sweep = _timed(tasks.sweep)
    figures.sweep = _timed(tasks.sweep)
    ids = sweeps.every_patient()
    size = settings.ALERT_SWEEP_BATCH_SIZE

    def floor() -> None:
        with connection.cursor() as cursor:
            for start in range(0, len(ids), size):
                for query in row_queries(ids[start : start + size]).values():
                    sql, params = query.query.sql_with_params()
                    cursor.execute(sql, params)
                    cursor.fetchall()

    figures.floor = _timed(floor)


def _measure_timers_and_nightly(figures: Figures) -> None:
    from django.db.models import Max

    from alerts import tasks
    from infusions.models import DosePreparation, PreparationStatus
    from natalizumab_monitor import clock

    real_now = clock.now
    now = real_now()
    last_bag = DosePreparation.all_sites.filter(
        status=PreparationStatus.READY, expires_at__gt=now
    ).aggregate(last=Max("expires_at"))["last"]
    day_done = (last_bag or now) + timedelta(minutes=1)
    tomorrow = max((now + timedelta(days=1)).replace(hour=2, minute=30), day_done)
    try:
        clock.now = lambda: day_done  # type: ignore[assignment]
        began = time.monotonic()
        figures.timers_patients = tasks.run_timers()["patients"]
        figures.timers = time.monotonic() - began
        clock.now = lambda: tomorrow  # type: ignore[assignment]
        began = time.monotonic()
        figures.nightly_patients = tasks.nightly()["patients"]
        figures.nightly = time.monotonic() - began
    finally:
        clock.now = real_now  # type: ignore[assignment]
    figures.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_fan_out(
    count: int, env: dict[str, str], figures: Figures, events: int
) -> dict[str, float]:
    import redis

    from alerts import tasks
    from alerts.models import SweepKind, SweepRun

    redis.Redis.from_url(BROKER_URL).flushdb()
    workers = [
        subprocess.Popen(  # noqa: S603 - fixed argv
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "natalizumab_monitor",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench{n}@%h",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for n in range(count)
    ]
    try:
        time.sleep(4)  # the workers connect and load their code
        times: dict[str, float] = {}
        times["sweep"], _ = _run_fanned_out(tasks.sweep, SweepKind.FULL, SweepRun)
        times["nightly"], times["nightly_patients"] = _run_fanned_out(
            tasks.nightly, SweepKind.NIGHTLY, SweepRun
        )
        if count == 1 and events:
            figures.events = [_one_event() for _ in range(events)]
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    return times


def _run_fanned_out(task: Any, kind: str, run_model: Any) -> tuple[float, int]:
    """Seconds from dispatch to the run's last batch, and the run's patients.

    The run is the one the dispatcher recorded under its task id (not the latest by date:
    the in-process nightly job, run on tomorrow's clock, has a later start than this one).
    """
    began = time.monotonic()
    run_id = task.delay().id
    while True:
        run = run_model.objects.filter(pk=run_id, kind=kind).first()
        if run is not None and run.finished_at is not None:
            return time.monotonic() - began, run.patients
        if time.monotonic() - began > 3600:
            raise SystemExit(f"the {kind} run did not finish in an hour")
        time.sleep(0.05)


def _one_event() -> float:
    """A high ALT written as a service writes it; seconds until its alert is in the table."""
    import random

    from alerts.models import Alert
    from labs.models import LabResult
    from natalizumab_monitor import clock
    from patients.models import Patient

    patient_id = random.choice(list(Patient.objects.values_list("pk", flat=True)[:500]))
    began = time.monotonic()
    result = LabResult.objects.create(
        patient_id=patient_id, analyte="ALT", value=Decimal("150"), unit="U/L",
        reference_low=Decimal("7"), reference_high=Decimal("40"), collected_at=clock.now(),
    )  # fmt: skip
    key = str(result.pk)
    while time.monotonic() - began < 60:
        if Alert.objects.filter(patient_id=patient_id, dedup_key__endswith=key).exists():
            return time.monotonic() - began
        time.sleep(0.01)
    raise SystemExit("no alert a minute after a lab result")


def _timed(work: Callable[[], Any]) -> float:
    began = time.monotonic()
    work()
    return time.monotonic() - began


if __name__ == "__main__":
    sys.exit(main())
