"""Load test runner: gunicorn on the scale benchmark's database, locust against it.

    .venv/bin/python bench/loadtest.py [--minutes 2] [--gunicorn-workers 3]

Uses the database bench/scale.py filled (`nat_scale_bench`, BENCH_SCALE_DATABASE_URL; run
that first: generated sites S01..S20), makes 20 accounts per clinical role (`load-nurse-01`
works at S01, ...), a signed-in session for each of the 200 clinicians' seats and 20 API
tokens, starts gunicorn and a Celery worker with the beat (as in production: the timers keep
the stored clearances current), waits for the worker's first timers run to finish (what fell
due while no worker ran is caught up, as in a running clinic; after bench/scale.py, whose
timers ran on a clock moved ahead, a few hundred patients), runs bench/locustfile.py
headless (200 clinicians acting every ~10 s, 20 feed clients polling every 5 s) and prints
p50/p95/p99 and errors per page. The figures cover the `--minutes` after a warm-up of
`--warmup-seconds` once the last user started: the first requests find every process's
caches cold (each site's kept lists, the compiled templates) and queue behind each other;
the warm-up's own figures print too.

The sessions are made in the database as a sign-in leaves them (user, backend, the
password's hash, the session clock; no second factor: MFA_REQUIRED_ROLES=auditor for this
server only), so that password hashing, costly on purpose, is not what the test measures.
The server serves plain HTTP (SECURE_COOKIES=false), lifts the API rate limits, and keeps
its cache in Redis as docker-compose.yml does (CACHE_URL: the day lists kept between
changes, network/kept.py).
"""

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from benchkit import free_port

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nat_scale_bench"
)
SITES = 20
ROLES = ("nurse", "pharmacist", "neurologist")
SEATS_PER_ACCOUNT = 5  # sessions made per account: up to 100 clinicians of a role
TARGET_P95_MS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    # As docker-compose.yml's `web`: on 2 cores, a fourth worker only queues for the CPU.
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--spawn-rate", type=float, default=20.0, help="users started a second")
    parser.add_argument("--warmup-seconds", type=float, default=30.0)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "natalizumab_monitor.settings",
        "SECRET_KEY": os.environ.get(
            "SECRET_KEY", "bench-only-key-made-for-measurements-8d2e4f6a0b1c3e5f7a9b"
        ),
        "LOG_LEVEL": "WARNING",
        "MFA_REQUIRED_ROLES": "auditor",
        "SECURE_COOKIES": "false",  # plain HTTP on this machine: cookies must come back
        "API_RATE_USER": "100000/minute",
        "API_RATE_ANON": "100000/minute",
        "CELERY_BROKER_URL": os.environ.get("BENCH_SCALE_BROKER_URL", "redis://127.0.0.1:6379/9"),
        # As docker-compose.yml: the cache in Redis, shared by the server's workers.
        "CACHE_URL": os.environ.get("BENCH_SCALE_CACHE_URL", "redis://127.0.0.1:6379/10"),
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="loadtest-"))
    _prepare(work)
    port = free_port()
    # (Django is set up by _prepare.) The last timers run before ours: bench/scale.py's ran
    # on a clock moved ahead, so the worker's first run is told by a change, not by a time.
    timers_before = _last_timers_run()
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "natalizumab_monitor.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers),
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    # The clinic's background work runs too, as in production: a worker with the beat, whose
    # timers keep the stored clearances current (bags reaching their limits).
    worker = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "celery", "-A", "natalizumab_monitor", "worker", "--beat",
         "--concurrency", "1", "--loglevel", "WARNING",
         "--schedule", str(work / "celerybeat-schedule")],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        _wait_for_timers(after=timers_before)
        locust_env = {
            **env,
            "LOADTEST_SESSIONS": str(work / "sessions.txt"),
            "LOADTEST_TOKENS": str(work / "tokens.txt"),
            "LOADTEST_PATIENTS": str(work / "patients.txt"),
            "LOADTEST_WARMUP_SECONDS": str(args.warmup_seconds),
            "LOADTEST_WARMUP_REPORT": str(work / "warmup.txt"),
        }
        subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
             "--headless", "-u", "220", "-r", str(args.spawn_rate),
             "-t", f"{int(220 / args.spawn_rate + args.warmup_seconds + args.minutes * 60)}s",
             "--reset-stats",
             "--host", base, "--csv", str(work / "run"), "--only-summary"],
            cwd=ROOT, env=locust_env, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=60)
    warmup = work / "warmup.txt"
    if warmup.exists():
        print(f"warm-up ({args.warmup_seconds:.0f} s, not counted below): {warmup.read_text()}")
    return _report(work / "run_stats.csv", work / "run_failures.csv")


def _prepare(work: Path) -> None:
    """Accounts at their sites, a signed-in session per seat, feed tokens, patients by site."""
    import django

    django.setup()
    import time as clock

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from knox.models import AuthToken

    from natalizumab_monitor.accounts import LAST_ACTIVITY, SIGNED_IN_AT
    from natalizumab_monitor.management.commands.loadscale import site_code
    from network.models import Site
    from patients.models import Patient

    sites = {site.code: site for site in Site.objects.filter(code__startswith="S")}
    missing = [site_code(n) for n in range(1, SITES + 1) if site_code(n) not in sites]
    if missing:
        raise SystemExit(f"no site {', '.join(missing)}: run bench/scale.py (loadscale) first")
    seats = []
    now = clock.time()
    for role in ROLES:
        group = Group.objects.get(name=role)
        for number in range(1, SITES + 1):
            code = site_code(number)
            user, made = User.objects.get_or_create(username=f"load-{role}-{number:02d}")
            if made:
                user.set_unusable_password()  # signed in by the sessions below only
                user.save()
            user.groups.add(group)
            user.sites.set([sites[code]])
            for _ in range(SEATS_PER_ACCOUNT):  # locust's users of this account
                session = SessionStore()
                session[SESSION_KEY] = str(user.pk)
                session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
                session[HASH_SESSION_KEY] = user.get_session_auth_hash()
                session[SIGNED_IN_AT] = session[LAST_ACTIVITY] = now
                session.create()
                seats.append(f"{role} {code} {session.session_key}")
    (work / "sessions.txt").write_text("\n".join(seats))
    feed, _ = User.objects.get_or_create(username="load-feed")
    feed.groups.add(Group.objects.get(name="neurologist"))
    feed.sites.set(sites.values())
    tokens = [AuthToken.objects.create(user=feed)[1] for _ in range(20)]
    (work / "tokens.txt").write_text("\n".join(tokens))
    lines = []
    for code, site in sorted(sites.items()):
        ids = Patient.all_sites.filter(site=site).order_by("?").values_list("pk", flat=True)
        lines += [f"{code} {pk}" for pk in ids[:100]]
    (work / "patients.txt").write_text("\n".join(lines))


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2)  # noqa: S310
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


def _last_timers_run() -> datetime | None:
    from alerts.health import TIMERS
    from alerts.models import Heartbeat

    return Heartbeat.objects.filter(name=TIMERS).values_list("last_run_at", flat=True).first()


def _wait_for_timers(*, after: datetime | None) -> None:
    """Until the worker's first timers run has finished: what fell due while no worker ran
    (the bags bench/scale.py's sweeps left ready, their stored clearances ended) is caught up,
    as in a clinic whose worker has been running. Beat's first run comes a minute after it
    starts."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        last = _last_timers_run()
        if last is not None and last != after:
            return
        time.sleep(1)
    raise SystemExit("the worker's timers did not run")


def _report(stats: Path, failures: Path) -> int:
    rows = list(csv.DictReader(stats.open()))
    print(f"{'page':<24} {'requests':>8} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    worst = 0.0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        if not row["Request Count"] or row["Request Count"] == "0":
            continue  # nothing measured for it in the window (locust writes N/A)
        p95 = float(row["95%"])
        if name != "all":
            worst = max(worst, p95)
        print(
            f"{name:<24} {row['Request Count']:>8} {row['Failure Count']:>7} "
            f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7}"
        )
    for failure in csv.DictReader(failures.open()) if failures.exists() else []:
        print(f"  error: {failure['Name']}: {failure['Error']} ({failure['Occurrences']}x)")
    print(f"worst page p95 {worst:.0f} ms (target < {TARGET_P95_MS} ms: "
          f"{'met' if worst < TARGET_P95_MS else 'NOT met'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
