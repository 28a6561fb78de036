"""Lab entry in Chromium: choosing an analyte switches the units and the range; the chart axes
write days as the tables do."""

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.rules.wording import date_text
from labs.models import LabResult
from natalizumab_monitor import clock
from tests.factories import make_patient

pytestmark = pytest.mark.django_db(transaction=True)


def unit_labels(page: Page) -> list[str]:
    return page.locator("#id_unit option").all_inner_texts()


def test_choosing_an_analyte_switches_the_units_and_prefills_its_last_range(
    login: Callable[[str], Page], live_server: Any
) -> None:
    patient = make_patient()
    for analyte, unit, low, high in (("ALT", "U/L", "7", "40"), ("TSH", "u[IU]/mL", "0.35", "4.5")):
        LabResult.objects.create(
            patient=patient,
            analyte=analyte,
            value=Decimal("1.5"),
            unit=unit,
            reference_low=Decimal(low),
            reference_high=Decimal(high),
            collected_at=clock.now() - timedelta(days=30),
        )
    page = login("neurologist")
    page.goto(f"{live_server.url}/patients/{patient.id}/labs/new/")
    assert unit_labels(page) == ["U/L"]
    expect(page.get_by_label("Upper limit of the reference range (ULN)")).to_have_value("40")

    page.get_by_label("Analyte").select_option("TSH")
    assert unit_labels(page) == ["mIU/L", "µIU/mL"]
    expect(page.locator("#id_unit")).to_have_value("u[IU]/mL")  # the unit of the last TSH
    expect(page.get_by_label("Lower limit of the reference range")).to_have_value("0.35")
    expect(page.get_by_label("Upper limit of the reference range (ULN)")).to_have_value("4.5")

    # No earlier platelet count: the range the page filled goes, a typed one would stay.
    page.get_by_label("Analyte").select_option("PLT")
    assert unit_labels(page) == ["×10⁹/L", "×10³/µL"]
    expect(page.get_by_label("Upper limit of the reference range (ULN)")).to_have_value("")
    page.get_by_label("Upper limit of the reference range (ULN)").fill("400")
    page.get_by_label("Analyte").select_option("NEUT")
    expect(page.get_by_label("Upper limit of the reference range (ULN)")).to_have_value("400")

    page.locator("#id_value").fill("3.2")
    page.get_by_label("Lower limit of the reference range").fill("2")
    page.get_by_label("Upper limit of the reference range (ULN)").fill("7.5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Lab result recorded.")).to_be_visible()
    saved = LabResult.objects.get(patient=patient, analyte="NEUT")
    assert saved.unit == "10*9/L"  # the API and the database keep the UCUM code


def test_the_chart_axes_write_days_as_the_tables_do(
    login: Callable[[str], Page], live_server: Any
) -> None:
    patient = make_patient()
    for days, value in ((120, "30"), (60, "150"), (5, "35")):
        LabResult.objects.create(
            patient=patient,
            analyte="ALT",
            value=Decimal(value),
            unit="U/L",
            reference_low=Decimal("7"),
            reference_high=Decimal("40"),
            collected_at=clock.now() - timedelta(days=days),
        )
    page = login("neurologist")
    page.goto(f"{live_server.url}/patients/{patient.id}/")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-liver')")
    ticks = page.evaluate(
        "() => Chart.getChart('chart-liver').scales.x.ticks.map(t => t.label).filter(Boolean)"
    )
    assert ticks and all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", tick) for tick in ticks)
    newest = (clock.now() - timedelta(days=5)).astimezone(clock.clinic_zone()).date()
    tooltip_day = page.evaluate(
        "(x) => Chart.getChart('chart-liver').options.plugins.tooltip.callbacks.title("
        "[{parsed: {x}}])",
        int((clock.now() - timedelta(days=5)).timestamp() * 1000),
    )
    assert tooltip_day == date_text(newest)
    # The table beside the chart writes the same day the same way.
    expect(page.locator("table.latest")).to_contain_text(date_text(newest))
