"""Every model that names a patient is audited, or is named as bookkeeping: a model another
app adds fails here until it is declared in audit/registry.py."""

from django.apps import apps
from django.db import connection

from audit.registry import AUDITED, NOT_AUDITED
from audit.triggers import TRIGGER_NAME
from patients.models import Patient


def _names_a_patient(model: type) -> bool:
    if model is Patient:
        return True
    return any(
        getattr(field, "related_model", None) is Patient for field in model._meta.concrete_fields
    )


def test_every_model_that_names_a_patient_is_declared() -> None:
    declared = {entry.label for entry in AUDITED} | NOT_AUDITED
    naming = {m._meta.label_lower for m in apps.get_models() if _names_a_patient(m)}
    assert naming - declared == set(), "add these to audit/registry.py (AUDITED or NOT_AUDITED)"


def test_every_declared_table_has_its_trigger(django_db_blocker: object) -> None:
    from audit.registry import audited_models

    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        if connection.vendor != "postgresql":
            return
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s",
            [TRIGGER_NAME],
        )
        installed = {row[0] for row in cursor.fetchall()}
    assert {model._meta.db_table for _, model in audited_models()} <= installed
