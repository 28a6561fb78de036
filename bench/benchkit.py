"""What every benchmark of bench/ needs: its own database, a free port, processes started
beside it, and percentiles. The scripts run as `python bench/NAME.py`, which puts this folder
on the path."""

import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def create_database(database_url: str) -> None:
    """Create the benchmark's PostgreSQL database if it does not exist yet."""
    import psycopg2

    name = database_url.rsplit("/", 1)[1]
    server = psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process of its own session (so it can be killed with its children); its banners go to
    /dev/null, its warnings and errors (stderr) stay on the terminal."""
    return subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )


def percentile(values: list[float], percent: int) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]
