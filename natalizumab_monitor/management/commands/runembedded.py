"""Run the whole product on one machine: web server, Celery worker and beat, no other servers."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from alerts.health import background_status
from alerts.tasks import run_timers, sweep

from .loaddemo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Migrate, load the demo data, then serve the web app with a Celery worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument(
            "--hl7-port",
            type=int,
            default=settings.HL7_MLLP_PORT,
            help="Port of the laboratory interface's MLLP listener (0: none).",
        )

    def handle(
        self, *args: Any, addr: str, port: str, no_demo: bool, hl7_port: int, **options: Any
    ) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("loaddemo")
        self._first_checks()
        worker = self._start_worker()
        listener = self._start_hl7_listener(addr, hl7_port) if hl7_port else None
        # Stop the worker too when this command is told to stop.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        url = f"http://{addr}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(f"\nNatalizumab monitor: {url}\n")
            + "Demo logins (password "
            + DEMO_PASSWORD
            + "): "
            + ", ".join(DEMO_USERS)
            + "\n"
        )
        try:
            call_command("runserver", f"{addr}:{port}", use_reloader=False, use_threading=True)
        finally:
            for process in filter(None, (worker, listener)):
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _first_checks(self) -> None:
        """Sweep and run the timers now if they have not run lately, so that no page says
        "none yet, overdue" and /health/ is 200 before beat's first tick."""
        status = background_status()
        if not status.sweep_ok:
            swept = sweep()
            self.stdout.write(f"Alert sweep: {swept['patients']} patients evaluated.")
        if not status.timers_ok:
            run_timers()

    def _start_worker(self) -> subprocess.Popen[bytes]:
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "celery", "-A", "natalizumab_monitor", "worker",
            "--beat", "--schedule", str(var_dir / "celerybeat-schedule"),
            "--pool", "solo", "--loglevel", "INFO",
        ]  # fmt: skip
        return subprocess.Popen(command, env=os.environ.copy())  # noqa: S603 - fixed argv

    def _start_hl7_listener(self, addr: str, port: int) -> subprocess.Popen[bytes]:
        """The laboratory interface's MLLP listener; one filing thread, as SQLite wants."""
        command = [
            sys.executable, "manage.py", "hl7listen",
            "--host", addr, "--port", str(port), "--workers", "1",
        ]  # fmt: skip
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=os.environ.copy())  # noqa: S603
