"""PostgreSQL: a row trigger on every audited table writes the audit entry of each change.

Why triggers: they see every writer (ORM, QuerySet.update, bulk_create, raw SQL, a
migration-free script); the entry is written in the same transaction as the change, so a
change without its entry cannot commit. One generic function (migration 0002) serves every
table: it diffs to_jsonb(OLD) and to_jsonb(NEW), so a column another app adds is audited
without touching this app. The tables come from the one list in audit/registry.py; their
triggers are (re)installed after every migrate.

Who acted: each INSERT/UPDATE/DELETE the application sends is prefixed with
`SELECT set_config('audit.context', <json>, true)` in the same statement batch, so the
setting lives exactly as long as the transaction (a pooled connection never carries it over).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from audit import context
from audit.registry import Audited, audited_models

TRIGGER_NAME = "audit_row_change"
_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_OWN_TABLE = '"audit_auditentry"'  # the audit's own inserts fire no row trigger


def inject_context(execute: Any, sql: str, params: Any, many: bool, ctx: dict[str, Any]) -> Any:
    """A connection execute wrapper: stamp each write statement with the acting context."""
    if many or not isinstance(sql, str) or not _WRITE.match(sql) or _OWN_TABLE in sql[:40]:
        return execute(sql, params, many, ctx)
    setting = context.as_setting()
    if setting is None:
        return execute(sql, params, many, ctx)
    literal = "'" + setting.replace("'", "''") + "'"
    if params is not None:
        literal = literal.replace("%", "%%")  # the driver formats the whole batch
    return execute(f"SELECT set_config('audit.context', {literal}, true); {sql}", params, many, ctx)


def install_wrapper(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql" and inject_context not in connection.execute_wrappers:
        connection.execute_wrappers.append(inject_context)


def _arguments(entry: Audited) -> list[str]:
    via_table = ""
    if entry.patient_via:
        from django.apps import apps

        via_table = apps.get_model(entry.patient_via)._meta.db_table
    return [
        entry.label,
        entry.patient,
        via_table,
        ",".join(entry.masked),
        ",".join(entry.ignored),
        entry.record_id,
    ]


def install_row_triggers(connection: BaseDatabaseWrapper) -> list[str]:
    """Create or refresh the row trigger of every audited table that exists; return the
    tables changed. Idempotent, and cheap when nothing changed (one catalogue query)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        cursor.execute(
            "SELECT c.relname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s",
            [TRIGGER_NAME],
        )
        installed = {name: bytes(args) for name, args in cursor.fetchall()}
        changed = []
        for entry, model in audited_models():
            table = model._meta.db_table
            if table not in tables:
                continue
            arguments = _arguments(entry)
            encoded = b"".join(a.encode() + b"\x00" for a in arguments)
            if installed.get(table) == encoded:
                continue
            quoted = ", ".join("'" + a.replace("'", "''") + "'" for a in arguments)
            name = connection.ops.quote_name(table)
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {name}")
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER_NAME} AFTER INSERT OR UPDATE OR DELETE ON {name} "
                f"FOR EACH ROW EXECUTE FUNCTION audit_record_change({quoted})"
            )
            changed.append(table)
    return changed


@contextmanager
def purge_allowed(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Let the block (inside a transaction) delete audit entries: only the retention command
    opens it. The flag is transaction-local, and switched off again at the block's end."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('audit.purge', 'on', true)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.purge', 'off', true)")
