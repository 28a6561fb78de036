"""Load test runner: gunicorn on the scale benchmark's database, locust against it.

    .venv/bin/python bench/loadtest.py [--minutes 2] [--gunicorn-workers 4]

Uses the database bench/scale.py filled (`nat_scale_bench`, BENCH_SCALE_DATABASE_URL; run
that first), makes 20 accounts per clinical role (`load-nurse-01`, ...) and 20 API tokens,
starts gunicorn, runs bench/locustfile.py headless (200 clinicians acting every ~10 s,
20 feed clients polling every 5 s) and prints p50/p95/p99 and errors per page. Users sign
in as they start (--spawn-rate a second: password hashing is costly on purpose); the
figures cover the `--minutes` after the last one started (locust --reset-stats).

The load test signs neurologists in with a password alone (MFA_REQUIRED_ROLES=auditor for
this server only), serves plain HTTP (SECURE_COOKIES=false) and lifts the API rate limits:
it measures the pages, not the sign-in.
"""

import argparse
import csv
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchkit import free_port

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nat_scale_bench"
)
SITES = 20
ROLES = ("nurse", "pharmacist", "neurologist")
TARGET_P95_MS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument(
        "--spawn-rate", type=float, default=2.0, help="users started a second (sign-ins)"
    )
    args = parser.parse_args()
    password = secrets.token_urlsafe(18)
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
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="loadtest-"))
    _prepare(password, work)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "natalizumab_monitor.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers),
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        locust_env = {
            **env,
            "LOADTEST_PASSWORD": password,
            "LOADTEST_TOKENS": str(work / "tokens.txt"),
            "LOADTEST_PATIENTS": str(work / "patients.txt"),
        }
        subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
             "--headless", "-u", "220", "-r", str(args.spawn_rate),
             "-t", f"{int(220 / args.spawn_rate + args.minutes * 60)}s", "--reset-stats",
             "--host", base, "--csv", str(work / "run"), "--only-summary"],
            cwd=ROOT, env=locust_env, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return _report(work / "run_stats.csv", work / "run_failures.csv")


def _prepare(password: str, work: Path) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from knox.models import AuthToken

    from patients.models import Patient

    for role in ROLES:
        group = Group.objects.get(name=role)
        for site in range(1, SITES + 1):
            user, _ = User.objects.get_or_create(username=f"load-{role}-{site:02d}")
            user.set_password(password)
            user.save()
            user.groups.add(group)
    feed, _ = User.objects.get_or_create(username="load-feed")
    feed.groups.add(Group.objects.get(name="neurologist"))
    tokens = [AuthToken.objects.create(user=feed)[1] for _ in range(20)]
    (work / "tokens.txt").write_text("\n".join(tokens))
    ids = Patient.objects.order_by("?").values_list("pk", flat=True)[:2000]
    (work / "patients.txt").write_text("\n".join(str(pk) for pk in ids))


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2)  # noqa: S310
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


def _report(stats: Path, failures: Path) -> int:
    rows = list(csv.DictReader(stats.open()))
    print(f"{'page':<24} {'requests':>8} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    worst = 0.0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        p95 = float(row["95%"] or 0)
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
