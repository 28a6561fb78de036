"""Lab entry a neurologist would not fight: units follow the analyte, the range starts from the
patient's last result, units and dates read as people write them, messages name fields in words."""

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from alerts.evaluation import evaluate_patient
from alerts.rules.wording import date_text
from labs.models import LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST
from tests.factories import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def neurologist(client_as: Callable[[str | None], Client]) -> Client:
    return client_as(NEUROLOGIST)


def result(
    patient: Any, analyte: str, value: str, unit: str, low: str, high: str, days: int
) -> LabResult:
    return LabResult.objects.create(
        patient=patient,
        analyte=analyte,
        value=Decimal(value),
        unit=unit,
        reference_low=Decimal(low) if low else None,
        reference_high=Decimal(high),
        collected_at=clock.now() - timedelta(days=days),
    )


def options(page: str, field: str) -> list[tuple[str, str]]:
    select = page.split(f'name="{field}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def selected(page: str, field: str) -> str:
    select = page.split(f'name="{field}"', 1)[1].split("</select>", 1)[0]
    match = re.search(r'<option value="([^"]*)"[^>]*selected', select)
    return match.group(1) if match else ""


def input_value(page: str, field: str) -> str:
    tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', page)
    assert tag, field
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def field_error(page: str, field: str) -> str:
    assert f'id="id_{field}-error"' in page, f"no error beside {field}"
    return page.split(f'id="id_{field}-error">', 1)[1].split("</p>", 1)[0]


def form_data(page: str) -> dict[str, Any]:
    return json.loads(
        page.split('id="lab-form-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    )


def test_the_default_analyte_and_unit_agree_and_the_range_is_the_last_one(
    neurologist: Client,
) -> None:
    patient = make_patient()
    result(patient, "ALT", "30", "U/L", "5", "45", days=200)
    result(patient, "ALT", "28", "U/L", "7", "40", days=20)
    result(patient, "TSH", "1.8", "u[IU]/mL", "0.35", "4.5", days=10)
    page = neurologist.get(reverse("labs:lab_result_new", args=[patient.id])).content.decode()

    assert selected(page, "analyte") == "ALT"
    assert options(page, "unit") == [("U/L", "U/L")]
    assert (input_value(page, "reference_low"), input_value(page, "reference_high")) == ("7", "40")
    # What the page's script switches to when TSH is chosen: its units, its last range.
    data = form_data(page)
    assert data["units"]["TSH"] == [["m[IU]/L", "mIU/L"], ["u[IU]/mL", "µIU/mL"]]
    assert data["units"]["PLT"] == [["10*9/L", "×10⁹/L"], ["10*3/uL", "×10³/µL"]]
    assert data["last"]["TSH"] == {"unit": "u[IU]/mL", "low": "0.35", "high": "4.5"}
    assert "PLT" not in data["last"]
    assert "js/lab_form.js" in page and "<script>" not in page  # a static file, no inline script
    visible = re.sub(r"<[^>]*>", "", page.split('class="form"', 1)[1].split("</form>", 1)[0])
    assert "Upper limit of the reference range" in visible and "_" not in visible


def test_a_patient_without_results_gets_an_empty_range(neurologist: Client) -> None:
    patient = make_patient()
    page = neurologist.get(reverse("labs:lab_result_new", args=[patient.id])).content.decode()
    assert input_value(page, "reference_high") == ""
    assert form_data(page)["last"] == {}


def test_a_unit_of_another_analyte_is_refused_in_words_and_nothing_is_written(
    neurologist: Client,
) -> None:
    patient = make_patient()
    collected = clock.now().astimezone(clock.clinic_zone()).strftime("%Y-%m-%dT%H:%M")
    response = neurologist.post(
        reverse("labs:lab_result_new", args=[patient.id]),
        {
            "analyte": "TSH",
            "value": "2.1",
            "unit": "U/L",
            "reference_low": "0.4",
            "reference_high": "4",
            "collected_at": collected,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert field_error(page, "unit") == (
        "Thyroid-stimulating hormone is reported in mIU/L or µIU/mL, not U/L."
    )
    # The refused page offers the chosen analyte's units.
    assert [label for _, label in options(page, "unit")] == ["mIU/L", "µIU/mL"]
    assert not LabResult.objects.filter(patient=patient).exists()


def test_the_services_messages_name_fields_in_words(neurologist: Client) -> None:
    patient = make_patient()
    collected = clock.now().astimezone(clock.clinic_zone()).strftime("%Y-%m-%dT%H:%M")
    response = neurologist.post(
        reverse("labs:lab_result_new", args=[patient.id]),
        {
            "analyte": "ALT",
            "value": "20",
            "unit": "U/L",
            "reference_low": "50",
            "reference_high": "40",
            "collected_at": collected,
        },
    )
    assert response.status_code == 400
    message = field_error(response.content.decode(), "reference_low")
    assert message == "Must be below the upper limit."
    assert not LabResult.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("name", "data", "field", "words"),
    [
        (
            "patients:medication_new",
            {
                "name": "Methotrexate",
                "category": "immunosuppressant",
                "started_on": "2026-02-01",
                "stopped_on": "2026-01-01",
            },
            "stopped_on",
            "Cannot be before the start date.",
        ),
        (
            "patients:infection_new",
            {"description": "Cystitis", "onset_on": "2026-02-01", "resolved_on": "2026-01-01"},
            "resolved_on",
            "Cannot be before the onset.",
        ),
        (
            "patients:relapse_new",
            {"onset_on": "1970-01-01"},
            "onset_on",
            "Cannot be before the patient&#x27;s birth date (17 May 1985).",
        ),
    ],
)
def test_other_record_forms_name_fields_and_dates_in_words(
    neurologist: Client, name: str, data: dict[str, str], field: str, words: str
) -> None:
    patient = make_patient()
    response = neurologist.post(reverse(name, args=[patient.id]), data)
    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == words


def test_units_and_dates_read_as_people_write_them_while_the_api_keeps_ucum(
    neurologist: Client, client_as: Callable[[str | None], Client]
) -> None:
    patient = make_patient()
    tsh = result(patient, "TSH", "6.2", "m[IU]/L", "0.4", "4", days=3)
    result(patient, "PLT", "120", "10*9/L", "150", "400", days=3)
    page = neurologist.get(reverse("patients:detail", args=[patient.id])).content.decode()
    assert "6.2 mIU/L" in page and "120 ×10⁹/L" in page
    assert "m[IU]/L" not in page.split('id="chart-data"', 1)[0]
    charts = json.loads(
        page.split('id="chart-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert charts["tsh"]["unit"] == "mIU/L"
    assert charts["time_zone"] == "Europe/London"
    collected_on = date_text(tsh.collected_at.astimezone(clock.clinic_zone()).date())
    assert collected_on in page
    api = client_as(NEUROLOGIST).get(f"/api/v1/lab-results/?patient={patient.id}").json()
    assert {row["unit"] for row in api["results"]} == {"m[IU]/L", "10*9/L"}


def test_a_suspension_whose_cause_normalised_says_so_on_the_patient_page(
    neurologist: Client,
) -> None:
    patient = make_patient()
    result(patient, "ALT", "128", "U/L", "7", "40", days=10)
    normal = result(patient, "ALT", "35", "U/L", "7", "40", days=2)
    evaluate_patient(patient.id)
    page = neurologist.get(reverse("patients:detail", args=[patient.id])).content.decode()
    on = date_text(normal.collected_at.astimezone(clock.clinic_zone()).date())
    assert (
        f"ALT back to 35 U/L on {on}, within its range: suspended until a neurologist resumes"
        in page
    )


def test_the_clinic_date_format_is_the_same_in_an_alert_and_its_table() -> None:
    moment = datetime(2026, 12, 3, 14, 5, tzinfo=clock.clinic_zone())
    assert date_text(moment.date()) == "3 Dec 2026"
