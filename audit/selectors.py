"""The reads behind the auditor's pages and API."""

from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from patients.models import Patient

from .models import AuditEntry


def audit_entries() -> QuerySet[AuditEntry]:
    """Every entry, oldest first."""
    return AuditEntry.objects.order_by("id")


def latest_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def concerning(entries: QuerySet[AuditEntry], patient_id: UUID | str) -> QuerySet[AuditEntry]:
    """The entries that name the patient (PostgreSQL: jsonb containment, on its GIN index)."""
    key = str(UUID(str(patient_id)))
    if connection.vendor == "postgresql":
        return entries.filter(patients__contains=[key])
    return entries.filter(patients__icontains=f'"{key}"')


def patient_exists(patient_id: UUID | str) -> bool:
    """Whether the patient exists (a malformed id names no patient)."""
    try:
        key = UUID(str(patient_id))
    except ValueError:
        return False
    return Patient.objects.filter(pk=key).exists()


def access_report(patient_id: UUID | str) -> QuerySet[AuditEntry]:
    """Who read or changed the patient's record, when and how: the accounting of disclosures."""
    return concerning(audit_entries(), patient_id)
