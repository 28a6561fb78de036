"""CSV import: a preview of every row before anything is written, the import as a background
task with its progress, the same from a terminal, and nothing filed twice."""

import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from interop.models import CsvImport, ImportStatus, InboxReason, LabInboxEntry
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST
from patients.models import Patient
from tests.factories import make_patient
from tests.pipeline.conftest import Worker

from .conftest import wait_for


def results_csv(patient: Patient) -> str:
    when = (clock.now() - timedelta(days=1)).astimezone(clock.clinic_zone())
    local = when.strftime("%Y-%m-%dT%H:%M")  # no zone: the clinic's
    zoned = when.isoformat()
    return (
        "mrn,loinc,analyte,value,unit,reference_low,reference_high,collected_at,accession_number\n"
        f"{patient.mrn},1742-6,,52,IU/L,7,40,{zoned},ACC-1\n"
        f"{patient.mrn},,PLT,250,K/uL,150,400,{local},ACC-1\n"
        f"NOBODY-1,1920-8,,30,U/L,10,40,{zoned},ACC-2\n"
        f"{patient.mrn},1742-6,,30,U/L,7,40,yesterday,ACC-3\n"
        f"{patient.mrn},1920-8,,0.5,ukat/L,0.1,0.6,{zoned},ACC-4\n"
    )


def upload(client: Client, text: str) -> CsvImport:
    response = client.post(
        reverse("interop:csv_upload"),
        {"file": SimpleUploadedFile("results.csv", text.encode(), content_type="text/csv")},
    )
    assert response.status_code == 302, response.content.decode()
    return CsvImport.objects.latest("uploaded_at")


def neurologist_client(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users[NEUROLOGIST])
    return client


@pytest.mark.django_db
def test_the_preview_shows_every_rows_outcome_and_writes_nothing(
    users: dict[str, User],
) -> None:
    patient = make_patient()
    client = neurologist_client(users)
    saved = upload(client, results_csv(patient))
    page = client.get(reverse("interop:csv_import", args=[saved.pk])).content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr") == 5
    assert '<tr class="outcome-filed"><td>2</td>' in rows
    assert '<tr class="outcome-filed"><td>3</td>' in rows
    assert "No patient has this MRN" in rows
    assert "is not ISO 8601" in rows
    assert "no exact conversion" in rows
    assert not LabResult.objects.exists()
    assert not LabInboxEntry.objects.exists()


@pytest.mark.django_db
def test_a_file_that_is_not_a_csv_of_results_is_refused(users: dict[str, User]) -> None:
    client = neurologist_client(users)
    response = client.post(
        reverse("interop:csv_upload"),
        {"file": SimpleUploadedFile("x.csv", b"name,age\nAnn,3\n", content_type="text/csv")},
    )
    assert response.status_code == 400
    assert "The header row lacks" in response.content.decode()
    assert not CsvImport.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_import_runs_in_the_worker_with_its_progress_and_twice_files_once(
    users: dict[str, User],
    broker: redis.Redis,
    start_worker: Callable[..., Worker],
) -> None:
    start_worker()
    patient = make_patient()
    client = neurologist_client(users)
    text = results_csv(patient)
    saved = upload(client, text)
    assert client.post(reverse("interop:csv_import_start", args=[saved.pk])).status_code == 302
    progress = reverse("interop:csv_import_progress", args=[saved.pk])
    wait_for(lambda: "Imported: 5 of 5 rows" in client.get(progress).content.decode(), 30)
    fragment = client.get(progress).content.decode()
    assert "2 filed, 0 already filed, 2 waiting" in fragment and "1 refused" in fragment
    assert 'hx-trigger="every 1s"' not in fragment  # done: the page stops polling
    alt = LabResult.objects.get(patient=patient, analyte="ALT")
    assert (alt.value, alt.unit) == (Decimal(52), "U/L")
    plt = LabResult.objects.get(patient=patient, analyte="PLT")
    assert plt.unit == "10*9/L"
    assert plt.collected_at.astimezone(clock.clinic_zone()).strftime("%H:%M") == (
        alt.collected_at.astimezone(clock.clinic_zone()).strftime("%H:%M")
    )
    assert set(LabInboxEntry.objects.values_list("reason", flat=True)) == {
        InboxReason.UNKNOWN_PATIENT,
        InboxReason.UNMAPPED_UNIT,
    }

    again = upload(client, text)
    page = client.get(reverse("interop:csv_import", args=[again.pk])).content.decode()
    assert page.count('class="outcome-duplicate"') == 2
    client.post(reverse("interop:csv_import_start", args=[again.pk]))
    wait_for(lambda: CsvImport.objects.get(pk=again.pk).status == ImportStatus.DONE, 30)
    assert LabResult.objects.filter(patient=patient).count() == 2
    assert LabInboxEntry.objects.count() == 2


@pytest.mark.django_db
def test_importlabs_from_a_terminal_with_a_progress_bar(tmp_path: Path) -> None:
    patient = make_patient()
    path = tmp_path / "results.csv"
    path.write_text(results_csv(patient))
    out, err = io.StringIO(), io.StringIO()
    call_command("importlabs", str(path), stdout=out, stderr=err)
    assert "5 rows: 2 filed, 2 queued, 1 refused." in out.getvalue()
    assert "100%" in err.getvalue() and "5/5" in err.getvalue()
    assert LabResult.objects.filter(patient=patient).count() == 2
    out = io.StringIO()
    call_command("importlabs", str(path), stdout=out, stderr=io.StringIO())
    assert "5 rows: 2 duplicate, 2 queued, 1 refused." in out.getvalue()
    assert LabResult.objects.filter(patient=patient).count() == 2
