"""HL7 v2 ingest through MLLP, end to end: results filed per second, and message-to-alert time.

A real `manage.py hl7listen` and a real Celery worker on PostgreSQL and Redis. Four MLLP
connections send ORU^R01 messages of four results each (10,000 results by default) as fast
as the ACKs come back; a result counts once its ACK is in and its row is in the database.
Among them, one message in 25 carries an ALT at 3.2 x ULN for a patient of its own: the
time from sending that message to its LIVER-3XULN alert in the feed is measured under the
same load (the worker's queue then holds one evaluation per message). Once the queue has
drained, with the 10,000 results in the database, single messages are timed one at a time.

    .venv/bin/python bench/hl7_ingest.py [--results 10000] [--connections 4]

Uses the PostgreSQL database `nm_hl7_bench` (made and migrated when missing;
BENCH_DATABASE_URL to change) and Redis database 6 (BENCH_BROKER_URL), emptied first.
"""

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchkit import create_database, free_port, percentile, spawn

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nm_hl7_bench"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
RESULTS_PER_MESSAGE = 4
ALERT_EVERY = 25  # one message in this many raises an alert
PATIENTS = 100  # whose ordinary results fill the database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300.0, help="Wait for the last alert.")
    parser.add_argument("--single", type=int, default=50, help="Messages timed one at a time.")
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
    messages_count = args.results // RESULTS_PER_MESSAGE
    alert_messages = messages_count // ALERT_EVERY
    ordinary, alerting = _prepare(alert_messages + args.single)
    alerting, one_at_a_time = alerting[:alert_messages], alerting[alert_messages:]
    messages, alert_patient_of = _messages(messages_count, ordinary, alerting)

    port = free_port()
    processes = [
        spawn([sys.executable, "manage.py", "hl7listen", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "4"], env),
        spawn([sys.executable, "-m", "celery", "-A", "natalizumab_monitor", "worker",
                "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip",
                "--without-mingle"], env),
    ]  # fmt: skip
    try:
        _wait_for_port(port)
        time.sleep(3)  # the worker connects to the broker
        watcher = AlertWatcher(set(alert_patient_of.values()))
        watcher.start()
        began = time.monotonic()
        sent_at, codes = asyncio.run(_send_all(port, messages, args.connections))
        elapsed = time.monotonic() - began
        filed = _filed_count()
        watcher.wait(args.timeout)
        singles = [_one_message(port, mrn, args.timeout) for mrn in one_at_a_time]
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    latencies = [
        watcher.seen[patient] - sent_at[index]
        for index, patient in alert_patient_of.items()
        if patient in watcher.seen
    ]
    _report(len(messages), filed, elapsed, codes, latencies, len(alert_patient_of), args)
    if singles:
        print(f"message-to-alert, one message at a time after the burst, {len(singles)} messages")
        print(f"  median {statistics.median(singles) * 1000:8.1f} ms")
        print(f"  p95    {percentile(singles, 95) * 1000:8.1f} ms")
    return 0 if filed == len(messages) * RESULTS_PER_MESSAGE and codes == {"AA"} else 1


def _prepare(alerting: int) -> tuple[list[str], list[str]]:
    """Migrate, empty earlier bench data, make the patients; their MRNs."""
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from alerts.models import Alert, Notification, PendingEvaluation
    from interop.models import InboundMessage, LabInboxEntry
    from labs.models import LabResult, LabResultRevision
    from network.services import site_for_new_record
    from patients.models import Patient

    call_command("migrate", interactive=False, verbosity=0)
    Notification.objects.all().delete()
    Alert.objects.all().delete()
    LabInboxEntry.objects.all().delete()
    InboundMessage.objects.all().delete()
    LabResultRevision.objects.all().delete()
    LabResult.every_result.all().delete()
    PendingEvaluation.objects.all().delete()
    Patient.objects.filter(mrn__startswith="HL7B-").delete()
    redis.Redis.from_url(BROKER_URL).flushdb()
    mrns = [f"HL7B-{n:05d}" for n in range(PATIENTS + alerting)]
    # bulk_create sends no signal: the patients queue no evaluations of their own.
    Patient.objects.bulk_create(
        Patient(
            site=site_for_new_record(),
            mrn=mrn,
            given_name="Bench",
            family_name=mrn,
            birth_date=date(1985, 5, 17),
            sex="female",
            indication="ms",
            treatment_start=date(2025, 1, 6),
        )
        for mrn in mrns
    )
    return mrns[:PATIENTS], mrns[PATIENTS:]


ORDINARY = [
    ("1742-6^ALT^LN", "31", "U/L", "7-40"),
    ("1920-8^AST^LN", "28", "IU/L", "10-40"),
    ("777-3^PLT^LN", "250", "K/uL", "150-400"),
    ("751-8^NEUT^LN", "4.2", "10*9/L", "1.8-7.5"),
]
HIGH_ALT = ("1742-6^ALT^LN", "128", "U/L", "7-40")  # 3.2 x ULN


def _oru(control_id: str, mrn: str, results: list[tuple[str, str, str, str]]) -> str:
    collected = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y%m%d%H%M%S+0000")
    segments = [
        f"MSH|^~\\&|LIS|LAB|NATMON|CLINIC|{collected}||ORU^R01^ORU_R01|{control_id}|P|2.5.1",
        f"PID|1||{mrn}^^^HOSP^MR",
        f"OBR|1||{control_id}^LIS|24325-3^Panel^LN|||{collected}",
        *(
            f"OBX|{i}|NM|{code}||{value}|{unit}|{limits}||||F"
            for i, (code, value, unit, limits) in enumerate(results, start=1)
        ),
    ]
    return "\r".join(segments) + "\r"


def _messages(
    count: int, ordinary: list[str], alerting: list[str]
) -> tuple[list[str], dict[int, str]]:
    """The ORU^R01 messages, and for each alerting one (by index) its patient's MRN."""
    messages: list[str] = []
    alert_patient_of: dict[int, str] = {}
    next_alerting = iter(alerting)
    for n in range(count):
        mrn = ordinary[n % len(ordinary)]
        results = list(ORDINARY)
        if n % ALERT_EVERY == ALERT_EVERY - 1:
            mrn = next(next_alerting, mrn)
            results[0] = HIGH_ALT
            alert_patient_of[n] = mrn
        messages.append(_oru(f"BENCH-{n}", mrn, results))
    return messages, alert_patient_of


async def _send_all(
    port: int, messages: list[str], connections: int
) -> tuple[dict[int, float], set[str]]:
    from hl7.mllp import open_hl7_connection

    sent_at: dict[int, float] = {}
    codes: set[str] = set()

    async def one_connection(indexes: list[int]) -> None:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        for index in indexes:
            sent_at[index] = time.monotonic()
            writer.writeblock(messages[index].encode())
            await writer.drain()
            ack = (await reader.readblock()).decode()
            codes.add(ack.split("\rMSA|", 1)[1][:2])
        writer.close()

    shares = [list(range(i, len(messages), connections)) for i in range(connections)]
    await asyncio.gather(*(one_connection(share) for share in shares))
    return sent_at, codes


def _one_message(port: int, mrn: str, timeout: float) -> float:
    """Send one alerting message on its own; seconds until its alert is in the feed."""
    from alerts.selectors import alert_feed

    message = _oru(f"SINGLE-{mrn}", mrn, [HIGH_ALT, *ORDINARY[1:]])
    began = time.monotonic()
    asyncio.run(_send_all(port, [message], 1))
    while time.monotonic() - began < timeout:
        if alert_feed().filter(rule="LIVER-3XULN", patient__mrn=mrn).exists():
            return time.monotonic() - began
        time.sleep(0.01)
    raise SystemExit(f"no alert {timeout} s after a message")


class AlertWatcher(threading.Thread):
    """Polls the alert feed for each alerting patient's LIVER-3XULN; notes when it appears."""

    def __init__(self, mrns: set[str]) -> None:
        super().__init__(daemon=True)
        self.mrns = mrns
        self.seen: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from alerts.selectors import alert_feed

        try:
            while len(self.seen) < len(self.mrns) and not self.done.is_set():
                waiting = self.mrns - set(self.seen)
                found = (
                    alert_feed()
                    .filter(rule="LIVER-3XULN", patient__mrn__in=waiting)
                    .values_list("patient__mrn", flat=True)
                )
                now = time.monotonic()
                for mrn in found:
                    self.seen.setdefault(mrn, now)
                time.sleep(0.02)
        finally:
            connection.close()

    def wait(self, timeout: float) -> None:
        self.join(timeout)
        self.done.set()


def _filed_count() -> int:
    from labs.models import LabResult

    return LabResult.objects.filter(source_key__startswith="hl7v2:").count()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("hl7listen did not start")


def _report(
    messages: int,
    filed: int,
    elapsed: float,
    codes: set[str],
    latencies: list[float],
    alerting: int,
    args: argparse.Namespace,
) -> None:
    results = messages * RESULTS_PER_MESSAGE
    print(f"HL7 v2 over MLLP: {messages} ORU^R01 messages, {results} results, "
          f"{args.connections} connections")  # fmt: skip
    print(
        f"  filed        {filed} results in {elapsed:.1f} s (ACK codes: {', '.join(sorted(codes))})"
    )
    print(f"  throughput   {filed / elapsed:7.1f} results/s   {messages / elapsed:6.1f} messages/s")
    if latencies:
        print(f"message-to-alert (LIVER-3XULN in the feed), {len(latencies)} of {alerting} seen")
        print(f"  median {statistics.median(latencies) * 1000:8.1f} ms")
        print(f"  p95    {percentile(latencies, 95) * 1000:8.1f} ms")
        print(f"  max    {max(latencies) * 1000:8.1f} ms")
    else:
        print("message-to-alert: no alert seen")


if __name__ == "__main__":
    sys.exit(main())
