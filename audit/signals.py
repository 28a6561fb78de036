"""Everything the audit listens to, connected once from AuditConfig.ready()."""

from typing import Any

from celery.signals import task_postrun, task_prerun
from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import post_init, post_migrate
from django.http import HttpRequest

from audit import context, orm_writes, reads, services, triggers
from audit.models import AuditAction, AuditEntry
from audit.registry import audited_models

_task_actors: dict[str, object] = {}


def _connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    triggers.install_wrapper(connection)


def _migrated(app_config: AppConfig, using: str, **kwargs: Any) -> None:
    if app_config.label == "audit":
        triggers.install_row_triggers(connections[using])


def _actor(request: HttpRequest | None) -> context.Actor:
    if context.is_open() or request is None:
        return context.current()
    return context.for_request(request)


def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    actor = _actor(request)
    services.record(
        action=AuditAction.LOGIN,
        actor=actor,
        record_type="auth.user",
        record_id=str(user.pk),
        user_id=user.pk,
        username=user.get_username(),
    )


def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    services.record(
        action=AuditAction.LOGOUT,
        actor=_actor(request),
        record_type="auth.user",
        record_id=str(user.pk),
        user_id=user.pk,
        username=user.get_username(),
    )


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Whatever was typed is kept, but PostgreSQL text holds no NUL.
    tried = str(credentials.get("username", "")).replace("\x00", "")[:150]
    services.record(
        action=AuditAction.LOGIN_FAILED,
        actor=_actor(request),
        record_type="auth.user",
        changes={"username": tried},
        user_id=None,
        username=tried,
        role="",
    )


def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    actor = context.Actor(via="system", request_id=task_id or "")
    _task_actors[task_id or ""] = context.open_actor(actor)


def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_actors.pop(task_id or "", None)
    if token is not None:
        context.close_actor(token)


def connect() -> None:
    connection_created.connect(_connection_created, dispatch_uid="audit-context-wrapper")
    for connection in connections.all(initialized_only=True):
        triggers.install_wrapper(connection)
    post_migrate.connect(_migrated, dispatch_uid="audit-row-triggers")
    for entry, model in audited_models():
        if entry.patient in ("id", "patient_id"):
            reads.PATIENT_ATTRIBUTE[model] = entry.patient
            post_init.connect(reads.loaded, sender=model, dispatch_uid=f"audit-read-{entry.label}")
    # Showing audit entries shows the patients' data they hold: a read of those patients.
    reads.PATIENT_ATTRIBUTE[AuditEntry] = "patients"
    post_init.connect(reads.loaded, sender=AuditEntry, dispatch_uid="audit-read-entries")
    orm_writes.connect()
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
    task_prerun.connect(_task_started, dispatch_uid="audit-task-started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="audit-task-finished", weak=False)
