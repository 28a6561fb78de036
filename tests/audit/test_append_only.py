"""Nobody alters the audit: on PostgreSQL the database refuses UPDATE and DELETE of an entry
from the application's own connection; only the retention command, after archiving, removes
entries older than the retention period."""

import gzip
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import services
from audit.models import AuditEntry
from natalizumab_monitor import clock

pytestmark = pytest.mark.django_db


def _entry(**fields: Any) -> AuditEntry:
    values = {"at": clock.now(), "action": "read", "via": "page", "patients": []}
    values.update(fields)
    return AuditEntry.objects.create(**values)


@pytest.fixture(autouse=True)
def postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.fail("The append-only guard is PostgreSQL's; run these tests on PostgreSQL")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET username = 'someone-else' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_an_entry(statement: str) -> None:
    entry = _entry(username="nurse")
    with (
        pytest.raises(DatabaseError, match="cannot be changed or deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])
    entry.refresh_from_db()
    assert entry.username == "nurse"


def test_the_orm_cannot_change_or_delete_an_entry_either() -> None:
    entry = _entry(username="nurse")
    for attempt in (
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(username="x"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        lambda: entry.delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert AuditEntry.objects.filter(pk=entry.pk, username="nurse").exists()


def test_the_retention_command_archives_then_removes_only_old_entries(
    settings: Any, tmp_path: Path
) -> None:
    settings.AUDIT_RETENTION_DAYS = 30
    # Entries of two months ago (an INSERT with an old time is allowed; only UPDATE is not).
    old = [_entry(username=f"old-{n}", at=clock.now() - timedelta(days=60 + n)) for n in range(3)]
    recent = _entry(username="recent")
    call_command("archiveaudit", "--to", str(tmp_path))

    [archive] = list(tmp_path.glob("audit-before-*.jsonl.gz"))
    with gzip.open(archive, "rt", encoding="utf-8") as lines:
        archived = [json.loads(line) for line in lines]
    assert sorted(row["username"] for row in archived) == sorted(e.username for e in old)
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()
    # The permission to delete ended with the command's transaction.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=recent.pk).delete()


def test_the_default_retention_is_six_years() -> None:
    cutoff = services.retention_cutoff(clock.now())
    assert 6 * 365 <= (clock.now() - cutoff).days <= 6 * 365 + 2
