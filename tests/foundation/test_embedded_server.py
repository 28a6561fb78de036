"""The embedded mode: one command brings up the web app on SQLite with no server installed."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedded_server_starts_with_demo_data_and_serves_its_login_page(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env["NATALIZUMAB_VAR_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runembedded", "--port", str(port),
         "--hl7-port", str(free_port())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in process.stdout), daemon=True
    )
    reader.start()
    try:
        body = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert "Sign in" in body
        assert (tmp_path / "natalizumab.sqlite3").exists()
        # The first run swept every patient and ran the timers before serving: healthy at once.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/") as r:
            health = json.loads(r.read())
            assert r.status == 200
        assert health["beat"] == "ok"
        assert health["last_sweep"] is not None
        # The worker (with beat) comes up beside the web server.
        while time.monotonic() < deadline and not (
            any(" ready." in line for line in lines)
            and any("HL7 MLLP listener on" in line for line in lines)
        ):
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=5)
    output = "".join(lines)
    assert "Demo data: 6 patients loaded" in output
    assert "demo-password" in output
    assert "beat: Starting" in output
    assert any(line.rstrip().endswith(" ready.") for line in lines)
    assert "Alert sweep: 6 patients evaluated." in output
    assert "HL7 MLLP listener on 127.0.0.1:" in output  # the laboratory interface
    # The broker's control folder and beat's schedule live under var/, not in the checkout.
    assert (tmp_path / "broker" / "control").is_dir()
    assert list(tmp_path.glob("celerybeat-schedule*"))
    assert not (ROOT / "control").exists()
    assert not list(ROOT.glob("celerybeat-schedule*"))
