"""Encrypted backups of the database: `manage.py backupdb FILE` and `manage.py restoredb FILE`.

The dump is PostgreSQL's custom format (pg_dump), or for the embedded SQLite file a consistent
copy made with SQLite's online backup API. It is encrypted with GnuPG as OpenPGP, symmetric
AES-256 under the passphrase in BACKUP_PASSPHRASE (integrity-protected: a changed byte or a
wrong passphrase fails the decryption). GnuPG rather than code of our own: a long-kept,
audited tool, a standard format, and a backup that can be read without this app
(`gpg --decrypt FILE | pg_restore -d DB`) on the day it is needed most.

The plain dump never touches the disk for PostgreSQL (pg_dump | gpg, gpg | pg_restore); a
restore first decrypts the whole file once to check it, so a wrong passphrase or a damaged
file is refused before the database is touched.
"""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connections

PASSPHRASE_VARIABLE = "BACKUP_PASSPHRASE"  # noqa: S105 - the variable's name
MIN_PASSPHRASE_LENGTH = 16
_CHUNK = 1024 * 1024
_MAGIC = {"postgresql": b"PGDMP", "sqlite": b"SQLite format 3\x00"}


class BackupError(Exception):
    """The backup or restore could not be done; the message says why (never the passphrase)."""


def passphrase(*, creating: bool) -> str:
    value = os.environ.get(PASSPHRASE_VARIABLE, "")
    if not value:
        raise BackupError(f"Set {PASSPHRASE_VARIABLE}: backups are encrypted with it.")
    if creating and len(value) < MIN_PASSPHRASE_LENGTH:
        raise BackupError(
            f"{PASSPHRASE_VARIABLE} is too short for a backup: use at least "
            f"{MIN_PASSPHRASE_LENGTH} characters (a long random one, kept apart from the backups)."
        )
    return value


def _database() -> tuple[str, dict[str, Any]]:
    db = settings.DATABASES["default"]
    engine = db["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return "sqlite", db
    if engine in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
        return "postgresql", db
    raise BackupError(f"No backup for the database engine {engine}.")


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install {package}).")
    return found


def _pg_arguments(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment of the PostgreSQL client tools."""
    arguments = ["--dbname", str(db["NAME"])]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            arguments += [flag, str(db[key])]
    environment = dict(os.environ)
    environment.pop(PASSPHRASE_VARIABLE, None)
    if db.get("PASSWORD"):
        environment["PGPASSWORD"] = str(db["PASSWORD"])
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        environment["PGSSLMODE"] = str(sslmode)
    return arguments, environment


@contextlib.contextmanager
def _gpg(arguments: list[str], secret: str, **popen: Any) -> Iterator[subprocess.Popen]:
    """gpg with the passphrase on a pipe (never in argv or the environment) and a keyring of
    its own, removed afterwards with its agent, so nothing is cached between runs."""
    gpg = _tool("gpg", "gnupg")
    home = tempfile.mkdtemp(prefix="gpg-")
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, secret.encode() + b"\n")
        os.close(write_end)
        command = [
            gpg,
            "--homedir",
            home,
            "--batch",
            "--no-tty",
            "--quiet",
            "--no-symkey-cache",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            str(read_end),
            *arguments,
        ]
        with subprocess.Popen(command, pass_fds=(read_end,), **popen) as process:  # noqa: S603
            os.close(read_end)
            read_end = -1
            yield process
    finally:
        if read_end >= 0:
            os.close(read_end)
        subprocess.run(  # noqa: S603
            [shutil.which("gpgconf") or "gpgconf", "--homedir", home, "--kill", "gpg-agent"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)


_ENCRYPT = [
    "--symmetric",
    "--cipher-algo",
    "AES256",
    "--s2k-mode",
    "3",
    "--s2k-digest-algo",
    "SHA512",
    "--s2k-count",
    "65011712",
    "--compress-algo",
    "none",  # the dumps are compressed already
]


def backup(target: Path) -> int:
    """Write an encrypted dump of the database to `target`; its size in bytes."""
    secret = passphrase(creating=True)
    kind, db = _database()
    target = target.resolve()
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if kind == "postgresql":
            _backup_postgresql(db, secret, partial)
        else:
            _backup_sqlite(db, secret, partial)
        os.chmod(partial, 0o600)
        partial.replace(target)  # a failed backup never leaves a file that looks whole
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def _backup_postgresql(db: dict[str, Any], secret: str, partial: Path) -> None:
    arguments, environment = _pg_arguments(db)
    pg_dump = _tool("pg_dump", "postgresql-client")
    with subprocess.Popen(  # noqa: S603
        [pg_dump, "--format", "custom", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    ) as dump:
        with _gpg(
            [*_ENCRYPT, "--output", str(partial)],
            secret,
            stdin=dump.stdout,
            stderr=subprocess.PIPE,
        ) as encrypt:
            assert dump.stdout is not None
            dump.stdout.close()  # gpg holds it now
            _, gpg_errors = encrypt.communicate()
        _, dump_errors = dump.communicate()
    if dump.returncode != 0:
        raise BackupError(f"pg_dump failed: {dump_errors.decode(errors='replace').strip()}")
    if encrypt.returncode != 0:
        raise BackupError(f"gpg failed: {gpg_errors.decode(errors='replace').strip()}")


def _backup_sqlite(db: dict[str, Any], secret: str, partial: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="backup-") as private:  # mode 0700
        copy = Path(private) / "copy.sqlite3"
        with (
            contextlib.closing(sqlite3.connect(db["NAME"])) as source,
            contextlib.closing(sqlite3.connect(copy)) as destination,
        ):
            source.backup(destination)
        with (
            copy.open("rb") as plain,
            _gpg(
                [*_ENCRYPT, "--output", str(partial)], secret, stdin=plain, stderr=subprocess.PIPE
            ) as encrypt,
        ):
            _, errors = encrypt.communicate()
        if encrypt.returncode != 0:
            raise BackupError(f"gpg failed: {errors.decode(errors='replace').strip()}")


def _refuse(detail: str) -> BackupError:
    return BackupError(
        f"The backup cannot be read ({detail}): wrong {PASSPHRASE_VARIABLE}, or a damaged "
        "or foreign file. The database was not touched."
    )


def verify(source: Path, kind: str, secret: str) -> None:
    """Decrypt the whole file once, discarding it: a wrong passphrase, a changed byte or a dump
    of another kind of database is refused here, before any restore begins."""
    with _gpg(
        ["--decrypt", str(source)], secret, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as decrypt:
        assert decrypt.stdout is not None
        head = decrypt.stdout.read(len(_MAGIC[kind]))
        while decrypt.stdout.read(_CHUNK):
            pass
        errors = decrypt.stderr.read() if decrypt.stderr else b""
        decrypt.wait()
    if decrypt.returncode != 0:
        reason = errors.decode(errors="replace").strip().splitlines()
        raise _refuse(reason[-1] if reason else f"gpg exit {decrypt.returncode}")
    if head != _MAGIC[kind]:
        raise BackupError(
            f"The backup decrypts, but is not a {kind} dump: it is not for this database. "
            "The database was not touched."
        )


def restore(source: Path) -> None:
    """Replace the database's content with the backup's, in one transaction."""
    secret = passphrase(creating=False)
    kind, db = _database()
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    verify(source, kind, secret)
    connections.close_all()
    if kind == "postgresql":
        _restore_postgresql(db, secret, source)
    else:
        _restore_sqlite(db, secret, source)


def _restore_postgresql(db: dict[str, Any], secret: str, source: Path) -> None:
    arguments, environment = _pg_arguments(db)
    pg_restore = _tool("pg_restore", "postgresql-client")
    with _gpg(
        ["--decrypt", str(source)], secret, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as decrypt:
        with subprocess.Popen(  # noqa: S603
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                *arguments,
            ],
            stdin=decrypt.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        ) as load:
            assert decrypt.stdout is not None
            decrypt.stdout.close()
            _, load_errors = load.communicate()
        decrypt.wait()
    if load.returncode != 0:
        raise BackupError(
            "pg_restore failed; its transaction was rolled back: "
            + load_errors.decode(errors="replace").strip()
        )


def _restore_sqlite(db: dict[str, Any], secret: str, source: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="restore-") as private:  # mode 0700
        copy = Path(private) / "copy.sqlite3"
        with copy.open("wb") as plain:
            _decrypt_to(source, secret, plain)
        with (
            contextlib.closing(sqlite3.connect(copy)) as backup_copy,
            contextlib.closing(sqlite3.connect(db["NAME"])) as live,
        ):
            backup_copy.backup(live)


def _decrypt_to(source: Path, secret: str, plain: IO[bytes]) -> None:
    with _gpg(["--decrypt", str(source)], secret, stdout=plain, stderr=subprocess.PIPE) as decrypt:
        _, errors = decrypt.communicate()
    if decrypt.returncode != 0:
        raise _refuse(errors.decode(errors="replace").strip())
