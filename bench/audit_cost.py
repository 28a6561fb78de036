"""What the audit costs: page and API timings with AUDIT_ENABLED on and off, in one process.

    .venv/bin/python bench/audit_cost.py [--rounds 30] [--patients 60]

Uses the PostgreSQL database `nm_audit_bench` (made and migrated when missing;
BENCH_DATABASE_URL to change), emptied of earlier bench patients. Each round times every
request once with the audit on and once off, alternating, so that load on the machine falls
on both alike. Prints the median of each and how much slower the audit makes it; the target
is under 10 %. (bench/event_to_alert.py with AUDIT_ENABLED=true/false gives the pipeline's.)
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchkit import create_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nm_audit_bench"
)
TARGET = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--patients", type=int, default=60)
    args = parser.parse_args()
    os.environ.update(
        {
            "DATABASE_URL": DATABASE_URL,
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "memory://"),
            "DJANGO_SETTINGS_MODULE": "natalizumab_monitor.settings",
            "LOG_LEVEL": "ERROR",
            "ALLOWED_HOSTS": "testserver",
            "API_RATE_USER": "1000000/minute",  # the bench is one user asking fast
        }
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    sys.path.insert(0, str(ROOT))
    create_database(DATABASE_URL)
    import django

    django.setup()
    requests = _prepare(args.patients)
    from django.test import override_settings

    timings: dict[str, dict[bool, list[float]]] = {name: {True: [], False: []} for name in requests}
    for send in requests.values():  # warm up: templates, caches, connections
        for enabled in (True, False):
            with override_settings(AUDIT_ENABLED=enabled):
                send()
    for round_number in range(args.rounds):
        order = (True, False) if round_number % 2 == 0 else (False, True)
        for name, send in requests.items():
            for enabled in order:
                with override_settings(AUDIT_ENABLED=enabled):
                    started = time.perf_counter()
                    send()
                    timings[name][enabled].append(time.perf_counter() - started)
    _report(timings, args.rounds)
    return 0


def _prepare(patient_count: int) -> dict[str, Callable[[], Any]]:
    """Patients with standing alerts and lab histories; the requests to time."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db.models import Max
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.test import APIClient

    from alerts.models import Alert, Notification, PendingEvaluation
    from labs.models import LabResult
    from natalizumab_monitor import clock
    from network.services import site_for_new_record
    from patients.models import Patient

    call_command("migrate", interactive=False, verbosity=0)
    bench = Patient.objects.filter(mrn__startswith="AUDIT-BENCH-")
    Notification.objects.filter(alert__patient__in=bench).delete()
    Alert.objects.filter(patient__in=bench).delete()
    LabResult.objects.filter(patient__in=bench).delete()
    PendingEvaluation.objects.filter(patient__in=bench).delete()
    bench.delete()
    user, _ = User.objects.get_or_create(username="audit-bench-neurologist")
    user.groups.add(Group.objects.get(name="neurologist"))
    now = clock.now()
    patients = Patient.objects.bulk_create(
        Patient(
            site=site_for_new_record(),
            mrn=f"AUDIT-BENCH-{n:05d}",
            given_name="Bench",
            family_name=f"Patient {n}",
            birth_date=date(1985, 5, 17),
            sex="female",
            indication="ms",
            treatment_start=date(2025, 1, 6),
        )
        for n in range(patient_count)
    )
    LabResult.objects.bulk_create(
        LabResult(
            patient=patient,
            analyte=analyte,
            value=20 + days % 7,
            unit="U/L",
            reference_low=7,
            reference_high=40,
            collected_at=now - timedelta(days=days * 28),
        )
        for patient in patients
        for analyte in ("ALT", "AST")
        for days in range(1, 13)
    )
    first_seq = (Alert.objects.aggregate(last=Max("feed_seq"))["last"] or 0) + 1
    Alert.objects.bulk_create(
        Alert(
            patient=patient,
            rule="LIVER-3XULN",
            severity="critical",
            action="suspend",
            message="ALT at 3 x ULN or above.",
            evidence={},
            source="bench",
            profile="document",
            dedup_key=f"LIVER-3XULN:{patient.pk}:bench",
            raised_at=now - timedelta(hours=n + 1),
            feed_seq=first_seq + n,
        )
        for n, patient in enumerate(patients)
    )
    page = Client()
    page.force_login(user)
    # The neurologist's second factor, as if the authenticator's code had been entered.
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="Bench", confirmed=True)
    session = page.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    api = APIClient()
    api.force_authenticate(user)
    first = patients[0]

    def get(client: Any, url: str) -> Callable[[], Any]:
        def send() -> Any:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return send

    return {
        "worklist page (25 patients)": get(page, "/worklist/"),
        "patient page": get(page, f"/patients/{first.pk}/"),
        "API lab results (50)": get(api, "/api/v1/lab-results/?page_size=50"),
        "API one patient": get(api, f"/api/v1/patients/{first.pk}/"),
    }


def _report(timings: dict[str, dict[bool, list[float]]], rounds: int) -> None:
    print(f"{rounds} rounds, median of each, audit on vs off (target: under {TARGET:.0%} slower)")
    worst = 0.0
    for name, runs in timings.items():
        on, off = statistics.median(runs[True]), statistics.median(runs[False])
        slower = on / off - 1
        worst = max(worst, slower)
        print(f"  {name:32} on {on * 1000:7.1f} ms   off {off * 1000:7.1f} ms   {slower:+6.1%}")
    print(f"worst: {worst:+.1%} ({'within' if worst < TARGET else 'OVER'} the target)")


if __name__ == "__main__":
    raise SystemExit(main())
