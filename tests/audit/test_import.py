"""A result the laboratory system sends is recorded as an import by the interface's account;
the message itself stays in its own table, never copied into the audit."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from labs.models import LabResult
from natalizumab_monitor import clock
from tests.factories import make_patient
from tests.interop import messages

from .conftest import entries_since, last_id

pytestmark = pytest.mark.django_db


def test_results_filed_from_an_hl7_message_are_imports_of_the_interface(
    users: dict[str, User],
) -> None:
    patient = make_patient()
    client = APIClient()
    client.force_authenticate(users["interface"])
    message = messages.liver_panel(patient.mrn, clock.now() - timedelta(hours=2))
    mark = last_id()
    response = client.post(
        "/api/v1/hl7/", message.encode(), content_type="x-application/hl7-v2+er7"
    )
    assert response.status_code == 200

    filed = set(LabResult.objects.filter(patient=patient).values_list("pk", flat=True))
    entries = entries_since(mark, record_type="labs.labresult", action="create")
    assert {e.record_id for e in entries} == {str(pk) for pk in filed} and filed
    assert {(e.via, e.username, e.role) for e in entries} == {("import", "interface", "interface")}
    assert {tuple(e.patients) for e in entries} == {(str(patient.pk),)}
    [received] = entries_since(mark, record_type="interop.inboundmessage", action="create")
    assert received.changes["content"] == "(hidden)" and patient.mrn not in str(received.changes)
