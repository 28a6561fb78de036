"""The reads behind the auditor's pages and API."""

from uuid import UUID

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from network.scoping import visible_site_ids
from patients.models import Patient

from .models import AuditEntry


def audit_entries() -> QuerySet[AuditEntry]:
    """Every entry the caller may see, oldest first: none that names another site's patient."""
    entries = AuditEntry.objects.order_by("id")
    sites = visible_site_ids()
    if sites is None:
        return entries
    return entries.exclude(_names_a_patient_outside(sites))


def _names_a_patient_outside(sites: frozenset[int]) -> RawSQL:
    """Whether an entry names a patient of a site not in `sites` (a correlated subquery)."""
    # Only constants and placeholders are joined into the SQL.
    outside = f"patient.site_id NOT IN ({', '.join(['%s'] * len(sites))})" if sites else "1 = 1"
    if connection.vendor == "postgresql":
        named = "jsonb_array_elements_text(audit_auditentry.patients) AS named(id)"
        same = "patient.id = named.id::uuid"
    else:  # SQLite keeps a UUID as 32 hex digits
        named = "json_each(audit_auditentry.patients) AS named"
        same = "patient.id = replace(named.value, '-', '')"
    sql = (
        f"EXISTS (SELECT 1 FROM {named} JOIN patients_patient AS patient ON {same} WHERE {outside})"  # noqa: S608, E501
    )
    return RawSQL(sql, sorted(sites), output_field=BooleanField())  # noqa: S611


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
