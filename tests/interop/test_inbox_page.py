"""The neurologist's lab inbox page: what waits, filing it to a patient, rejecting it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from interop.models import InboxReason, InboxStatus, LabInboxEntry
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, ROLES
from tests.factories import make_patient

pytestmark = pytest.mark.django_db


def waiting(**fields: object) -> LabInboxEntry:
    values: dict[str, object] = {
        "created_at": clock.now(),
        "result_key": "hl7v2:LIS:PAGE-1:1",
        "reason": InboxReason.UNKNOWN_PATIENT,
        "detail": "No patient has this MRN.",
        "patient_identifiers": "OLD-77",
        "code": "1742-6",
        "code_system": "http://loinc.org",
        "code_text": "Alanine aminotransferase",
        "value": "150",
        "unit": "IU/L",
        "reference_range": "7-40",
        "collected_at": clock.now() - timedelta(hours=3),
        "result_status": "final",
    }
    values.update(fields)
    return LabInboxEntry.objects.create(**values)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_opens_for_the_neurologist_only(users: dict[str, User]) -> None:
    entry = waiting()
    for role in ROLES:
        for target in (reverse("interop:inbox"), reverse("interop:inbox_entry", args=[entry.pk])):
            response = client_for(users[role]).get(target)
            assert response.status_code == (200 if role == NEUROLOGIST else 403), (role, target)
    page = client_for(users[NEUROLOGIST]).get(reverse("interop:inbox")).content.decode()
    assert "OLD-77" in page and "No patient with this MRN" in page
    assert reverse("interop:inbox") in page  # the neurologist's navigation names it


def test_filing_an_entry_from_the_page_files_the_result(users: dict[str, User]) -> None:
    entry = waiting()
    patient = make_patient()
    client = client_for(users[NEUROLOGIST])
    response = client.post(
        reverse("interop:inbox_file", args=[entry.pk]), {"patient": str(patient.pk)}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == InboxStatus.FILED and entry.decided_by == users[NEUROLOGIST]
    result = LabResult.objects.get(patient=patient)
    assert (result.analyte, result.value, result.unit) == ("ALT", Decimal(150), "U/L")
    assert "Nothing waits" in client.get(reverse("interop:inbox")).content.decode()


def test_an_unmapped_code_needs_the_test_named(users: dict[str, User]) -> None:
    entry = waiting(code="ALTX", code_system="urn:local", reason=InboxReason.UNMAPPED_CODE)
    patient = make_patient()
    client = client_for(users[NEUROLOGIST])
    url = reverse("interop:inbox_file", args=[entry.pk])
    refused = client.post(url, {"patient": str(patient.pk)})
    assert refused.status_code == 400
    assert "not one of the monitored tests" in refused.content.decode()
    assert not LabResult.objects.exists()
    assert client.post(url, {"patient": str(patient.pk), "analyte": "ALT"}).status_code == 302
    assert LabResult.objects.get(patient=patient).analyte == "ALT"


def test_rejecting_needs_a_reason_and_keeps_it(users: dict[str, User]) -> None:
    entry = waiting()
    client = client_for(users[NEUROLOGIST])
    url = reverse("interop:inbox_reject", args=[entry.pk])
    assert client.post(url, {"reason": "   "}).status_code == 400
    assert client.post(url, {"reason": "Sample from another clinic"}).status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.rejection_reason) == (
        InboxStatus.REJECTED,
        "Sample from another clinic",
    )
    page = client.get(reverse("interop:inbox")).content.decode()
    assert "Sample from another clinic" in page
