"""The reads behind the lab, antibody and MRI endpoints."""

from decimal import Decimal

from django.db.models import QuerySet

from patients.models import Patient

from .models import AntibodyTest, LabResult, MriStudy


def lab_result_list() -> QuerySet[LabResult]:
    return LabResult.objects.all()


def antibody_test_list() -> QuerySet[AntibodyTest]:
    return AntibodyTest.objects.all()


def mri_study_list() -> QuerySet[MriStudy]:
    return MriStudy.objects.all()


def last_reference_ranges(patient: Patient) -> dict[str, dict[str, str]]:
    """The unit and reference range of the patient's last result of each analyte (one query):
    a new result from the same lab usually carries the same range."""
    rows = (
        LabResult.objects.filter(patient=patient)
        .order_by("collected_at", "created_at")
        .values_list("analyte", "unit", "reference_low", "reference_high")
    )
    last: dict[str, dict[str, str]] = {}
    for analyte, unit, low, high in rows:  # oldest first: the last one seen stays
        last[analyte] = {"unit": unit, "low": _plain(low), "high": _plain(high)}
    return last


def _plain(value: Decimal | None) -> str:
    """A stored decimal as a person would type it: 0.4000 -> 0.4, 40.0000 -> 40."""
    return "" if value is None else format(value.normalize(), "f")
