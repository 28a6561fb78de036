"""SQLite (the embedded mode): writes recorded from model signals, for every ORM save,
delete and role membership change. (PostgreSQL uses triggers, which also see
QuerySet.update and bulk_create; SQLite has no session setting to tell them who acted.)"""

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from audit import context, services
from audit.models import AuditAction
from audit.registry import Audited, audited_models

_ENTRIES: dict[type[Model], Audited] = {}
HIDDEN = "(hidden)"


def _active(using: str) -> bool:
    return context.enabled() and connections[using].vendor != "postgresql"


def _values(instance: Model, entry: Audited) -> dict[str, Any]:
    values = {
        field.column: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.column not in entry.ignored
    }
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def _patients(instance: Model, entry: Audited, values: dict[str, Any]) -> list[str]:
    if not entry.patient:
        return []
    value = values.get(entry.patient)
    if value is None:
        return []
    if entry.patient_via:
        from django.apps import apps

        via = apps.get_model(entry.patient_via)
        value = via._base_manager.filter(pk=value).values_list("patient_id", flat=True).first()
        if value is None:
            return []
    return [str(value)]


def _masked(values: dict[str, Any], entry: Audited, *, pairs: bool) -> dict[str, Any]:
    for column in entry.masked:
        if column in values:
            values[column] = [HIDDEN, "(changed)"] if pairs else HIDDEN
    return values


def _before(sender: type[Model], instance: Model, raw: bool, using: str, **kwargs: Any) -> None:
    if not _active(using) or instance._state.adding:
        instance._audit_before = None  # type: ignore[attr-defined]
        return
    old = sender._base_manager.using(using).filter(pk=instance.pk).first()
    instance._audit_before = _values(old, _ENTRIES[sender]) if old else None  # type: ignore[attr-defined]


def _saved(sender: type[Model], instance: Model, created: bool, using: str, **kwargs: Any) -> None:
    if not _active(using):
        return
    entry = _ENTRIES[sender]
    after = _values(instance, entry)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        action, changes = AuditAction.CREATE, _masked(after, entry, pairs=False)
    else:
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            return
        action, changes = AuditAction.UPDATE, _masked(changes, entry, pairs=True)
    services.record(
        action=action,
        record_type=entry.label,
        record_id=str(after.get(entry.record_id, "")),
        patients=_patients(instance, entry, after),
        changes=changes,
    )


def _deleted(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    if not _active(using):
        return
    entry = _ENTRIES[sender]
    values = _values(instance, entry)
    services.record(
        action=AuditAction.DELETE,
        record_type=entry.label,
        record_id=str(values.get(entry.record_id, "")),
        patients=_patients(instance, entry, values),
        changes=_masked(values, entry, pairs=False),
    )


def _memberships(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    pk_set: Any,
    using: str,
    **kwargs: Any,
) -> None:
    if not _active(using) or action not in ("post_add", "post_remove", "pre_clear"):
        return
    if action == "pre_clear":
        pk_set = set(
            instance.groups.values_list("pk", flat=True)  # type: ignore[attr-defined]
            if not reverse
            else instance.user_set.values_list("pk", flat=True)  # type: ignore[attr-defined]
        )
    for other in sorted(pk_set or ()):
        user_id, group_id = (other, instance.pk) if reverse else (instance.pk, other)
        services.record(
            action=AuditAction.CREATE if action == "post_add" else AuditAction.DELETE,
            record_type="auth.user_groups",
            changes={"user_id": user_id, "group_id": group_id},
        )


def connect() -> None:
    for entry, model in audited_models():
        if model is User.groups.through:
            continue
        _ENTRIES[model] = entry
        uid = f"audit-{entry.label}"
        pre_save.connect(_before, sender=model, dispatch_uid=f"{uid}-before")
        post_save.connect(_saved, sender=model, dispatch_uid=f"{uid}-saved")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{uid}-deleted")
    m2m_changed.connect(_memberships, sender=User.groups.through, dispatch_uid="audit-memberships")
