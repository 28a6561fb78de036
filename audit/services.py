"""The audit's own writes: reads, sign-ins, exports; and the retention of old entries.

Writes to clinical records are not recorded here: the database triggers (PostgreSQL) or
model signals (SQLite) record them, whatever path made them.
"""

import gzip
import json
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from audit import context
from audit.models import AuditAction, AuditEntry
from audit.triggers import purge_allowed
from natalizumab_monitor import clock


def record(
    *,
    action: str,
    actor: context.Actor | None = None,
    record_type: str = "",
    record_id: str = "",
    patients: Iterable[str] = (),
    changes: dict[str, Any] | None = None,
    **stamp: Any,
) -> AuditEntry | None:
    """Write one entry, stamped with the acting context (or `actor`); `stamp` overrides it."""
    if not context.enabled():
        return None
    fields = {**(actor or context.current()).stamp(), **stamp}
    return AuditEntry.objects.create(
        at=clock.now(),
        action=action,
        record_type=record_type,
        record_id=record_id,
        patients=sorted(set(patients)),
        changes=changes or {},
        **fields,
    )


def record_read(*, patients: Iterable[str], record_type: str, actor: context.Actor) -> None:
    """One entry for one response, naming every patient it showed."""
    record(action=AuditAction.READ, actor=actor, patients=patients, record_type=record_type)


def record_export(
    *, patients: Iterable[str], record_type: str, count: int, filters: dict[str, str]
) -> None:
    """An export of the audit itself: what was selected, and how many entries went out."""
    record(
        action=AuditAction.EXPORT,
        patients=patients,
        record_type=record_type,
        changes={"entries": count, "filters": filters},
    )


def as_json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)


# --- Retention -------------------------------------------------------------------------------


def retention_cutoff(now: datetime | None = None) -> datetime:
    return (now or clock.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)


def archive_and_purge(
    *, before: datetime, folder: Path, batch_size: int = 5000
) -> tuple[int, Path | None]:
    """Write every entry older than `before` to a gzip JSON-lines file, make it durable, and
    only then delete those entries (the one delete the append-only trigger allows)."""
    old = AuditEntry.objects.filter(at__lt=before).order_by("id")
    last_id = old.values_list("id", flat=True).last()
    if last_id is None:
        return 0, None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-before-{before:%Y%m%dT%H%M%SZ}-{last_id}.jsonl.gz"
    partial = path.with_suffix(".partial")
    count = 0
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        for entry in old.filter(id__lte=last_id).values().iterator(chunk_size=batch_size):
            out.write(json.dumps(entry, cls=DjangoJSONEncoder, sort_keys=True) + "\n")
            count += 1
        out.flush()
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    partial.rename(path)
    with transaction.atomic(), purge_allowed(connection):
        deleted, _ = AuditEntry.objects.filter(at__lt=before, id__lte=last_id).delete()
        if deleted != count:  # rolls the delete back: the archive holds what stays
            raise RuntimeError(f"Archived {count} entries but would delete {deleted}.")
    return count, path
