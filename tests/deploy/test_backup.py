"""backupdb and restoredb: an encrypted dump of PostgreSQL (and of the embedded SQLite file)
restored into a fresh database; a wrong or missing passphrase is refused, nothing touched."""

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from patients.models import Patient
from tests.factories import make_patient

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple, kept apart"


def manage(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment}
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def database_url(name: str) -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{name}"
    )


def admin_connection() -> psycopg2.extensions.connection:
    settings = connection.settings_dict
    server = psycopg2.connect(
        dbname="postgres",
        user=settings["USER"],
        password=settings.get("PASSWORD") or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    server.autocommit = True
    return server


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database of its own, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    server = admin_connection()
    with server.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with server.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()


def rows(name: str, sql: str) -> list[tuple]:
    settings = connection.settings_dict
    with (
        psycopg2.connect(
            dbname=name,
            user=settings["USER"],
            password=settings.get("PASSWORD") or None,
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
        ) as restored,
        restored.cursor() as cursor,
    ):
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database(tmp_path: Path, fresh_database: str) -> None:
    first = make_patient(mrn="BACKUP-1", family_name="Ashworth")
    second = make_patient(mrn="BACKUP-2", family_name="Ng")
    source = database_url(connection.settings_dict["NAME"])
    backup = tmp_path / "monitor.pgdump.gpg"

    made = manage("backupdb", str(backup), DATABASE_URL=source, BACKUP_PASSPHRASE=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    assert backup.stat().st_mode & 0o777 == 0o600
    content = backup.read_bytes()
    assert b"Ashworth" not in content and b"BACKUP-1" not in content  # encrypted
    assert not content.startswith(b"PGDMP")

    target = database_url(fresh_database)
    restored = manage("restoredb", str(backup), DATABASE_URL=target, BACKUP_PASSPHRASE=PASSPHRASE)
    assert restored.returncode == 0, restored.stderr
    found = rows(fresh_database, "SELECT id, mrn, family_name FROM patients_patient ORDER BY mrn")
    assert [(str(i), m, f) for i, m, f in found] == [
        (str(first.pk), "BACKUP-1", "Ashworth"),
        (str(second.pk), "BACKUP-2", "Ng"),
    ]
    # A database restored is one the app runs on: its migrations are all there.
    check = manage("migrate", "--check", DATABASE_URL=target)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.django_db(transaction=True)
def test_a_wrong_or_missing_passphrase_is_refused_and_nothing_changes(
    tmp_path: Path, fresh_database: str
) -> None:
    make_patient(mrn="BACKUP-3")
    backup = tmp_path / "monitor.pgdump.gpg"
    source = database_url(connection.settings_dict["NAME"])
    made = manage("backupdb", str(backup), DATABASE_URL=source, BACKUP_PASSPHRASE=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    target = database_url(fresh_database)
    before = rows(fresh_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")

    wrong = manage("restoredb", str(backup), DATABASE_URL=target, BACKUP_PASSPHRASE="not it")
    assert wrong.returncode != 0
    assert "wrong BACKUP_PASSPHRASE" in wrong.stderr
    assert "The database was not touched." in wrong.stderr
    assert "not it" not in wrong.stderr

    missing = manage("restoredb", str(backup), DATABASE_URL=target, BACKUP_PASSPHRASE="")
    assert missing.returncode != 0
    assert "Set BACKUP_PASSPHRASE" in missing.stderr
    assert rows(fresh_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == (
        before
    )
    assert before == [(0,)]

    damaged = tmp_path / "damaged.gpg"
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    refused = manage("restoredb", str(damaged), DATABASE_URL=target, BACKUP_PASSPHRASE=PASSPHRASE)
    assert refused.returncode != 0
    assert "The database was not touched." in refused.stderr
    assert Patient.objects.filter(mrn="BACKUP-3").exists()


def test_a_weak_passphrase_makes_no_backup(tmp_path: Path) -> None:
    result = manage("backupdb", str(tmp_path / "b.gpg"), BACKUP_PASSPHRASE="short")
    assert result.returncode != 0
    assert "too short" in result.stderr
    assert not list(tmp_path.iterdir())


def test_the_embedded_sqlite_file_round_trips(tmp_path: Path) -> None:
    database = tmp_path / "embedded.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE note (text TEXT)")
        db.execute("INSERT INTO note VALUES ('kept')")
    url = f"sqlite:///{database}"
    backup = tmp_path / "embedded.gpg"
    common = {
        "DATABASE_URL": url,
        "BACKUP_PASSPHRASE": PASSPHRASE,
        "NATALIZUMAB_VAR_DIR": str(tmp_path),
    }
    made = manage("backupdb", str(backup), **common)
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM note")
        db.execute("INSERT INTO note VALUES ('written after the backup')")

    wrong = manage("restoredb", str(backup), **{**common, "BACKUP_PASSPHRASE": "wrong one"})
    assert wrong.returncode != 0
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT text FROM note").fetchall() == [("written after the backup",)]

    restored = manage("restoredb", str(backup), **common)
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT text FROM note").fetchall() == [("kept",)]
