"""Recording lab results, antibody tests and MRI studies: each one transaction, validated."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from natalizumab_monitor.services import Problems, check_record_date
from patients.models import Patient

from .models import (
    UCUM_UNITS,
    Analyte,
    AntibodyResult,
    AntibodyTarget,
    AntibodyTest,
    LabResult,
    MriStudy,
)

# The largest value a lab could report for the analyte in that unit: anything above is a
# typo or a unit mix-up, not a result (ALT 10000 U/L is already fulminant hepatitis).
PLAUSIBLE_MAX: dict[tuple[str, str], Decimal] = {
    (Analyte.ALT, "U/L"): Decimal(10000),
    (Analyte.AST, "U/L"): Decimal(10000),
    (Analyte.TSH, "m[IU]/L"): Decimal(500),
    (Analyte.TSH, "u[IU]/mL"): Decimal(500),
    (Analyte.FT4, "pmol/L"): Decimal(200),
    (Analyte.FT4, "ng/dL"): Decimal(16),
    **{(Analyte.NEUT, unit): Decimal(200) for unit in UCUM_UNITS[Analyte.NEUT]},
    **{(Analyte.LYMPH, unit): Decimal(1000) for unit in UCUM_UNITS[Analyte.LYMPH]},
    **{(Analyte.MONO, unit): Decimal(200) for unit in UCUM_UNITS[Analyte.MONO]},
    **{(Analyte.PLT, unit): Decimal(5000) for unit in UCUM_UNITS[Analyte.PLT]},
}
JCV_INDEX_MAX = Decimal(20)
MRI_LESIONS_MAX = 500


def _check_amount(
    problems: Problems, field: str, value: Decimal | None, maximum: Decimal | None, unit: str
) -> None:
    if value is None:
        return
    if value < 0:
        problems.add(field, "Cannot be negative.")
    elif maximum is not None and value > maximum:
        problems.add(field, f"Implausible: more than {maximum} {unit}. Check the value and unit.")


@transaction.atomic
def record_lab_result(
    *,
    patient: Patient,
    analyte: str,
    value: Decimal,
    unit: str,
    reference_high: Decimal,
    collected_at: datetime,
    reference_low: Decimal | None = None,
) -> LabResult:
    """One result with its own lab's reference range, in a UCUM unit that fits the analyte."""
    problems = Problems()
    maximum = None
    if analyte not in Analyte.values:
        problems.add("analyte", f"Unknown analyte; one of {', '.join(Analyte.values)}.")
    elif unit not in UCUM_UNITS[Analyte(analyte)]:
        allowed = ", ".join(UCUM_UNITS[Analyte(analyte)])
        problems.add("unit", f"{analyte} is reported in {allowed} (UCUM), not {unit!r}.")
    else:
        maximum = PLAUSIBLE_MAX[(Analyte(analyte), unit)]
    _check_amount(problems, "value", value, maximum, unit)
    _check_amount(problems, "reference_low", reference_low, maximum, unit)
    _check_amount(problems, "reference_high", reference_high, maximum, unit)
    if "reference_high" not in problems and reference_high == 0:
        problems.add("reference_high", "The upper limit of normal must be above zero.")
    if (
        reference_low is not None
        and "reference_low" not in problems
        and "reference_high" not in problems
        and reference_low >= reference_high
    ):
        problems.add("reference_low", "Must be below reference_high.")
    check_record_date(problems, "collected_at", collected_at, patient.birth_date)
    problems.raise_if_any()
    return LabResult.objects.create(
        patient=patient,
        analyte=analyte,
        value=value,
        unit=unit,
        reference_low=reference_low,
        reference_high=reference_high,
        collected_at=collected_at,
    )


@transaction.atomic
def record_antibody_test(
    *,
    patient: Patient,
    target: str,
    result: str,
    collected_at: datetime,
    index: Decimal | None = None,
) -> AntibodyTest:
    """An anti-natalizumab or anti-JCV antibody test; only the JCV assay reports an index."""
    problems = Problems()
    if target not in AntibodyTarget.values:
        problems.add("target", f"Must be one of {', '.join(AntibodyTarget.values)}.")
    if result not in AntibodyResult.values:
        problems.add("result", f"Must be one of {', '.join(AntibodyResult.values)}.")
    if index is not None:
        if target == AntibodyTarget.NATALIZUMAB:
            problems.add("index", "Only an anti-JCV antibody test reports an index.")
        else:
            _check_amount(problems, "index", index, JCV_INDEX_MAX, "")
    check_record_date(problems, "collected_at", collected_at, patient.birth_date)
    problems.raise_if_any()
    return AntibodyTest.objects.create(
        patient=patient, target=target, result=result, index=index, collected_at=collected_at
    )


@transaction.atomic
def record_mri_study(
    *,
    patient: Patient,
    performed_on: date,
    gd_enhancing_lesions: int,
    new_or_enlarging_t2_lesions: int,
    pml_suspected: bool = False,
) -> MriStudy:
    problems = Problems()
    for field, count in (
        ("gd_enhancing_lesions", gd_enhancing_lesions),
        ("new_or_enlarging_t2_lesions", new_or_enlarging_t2_lesions),
    ):
        if count < 0:
            problems.add(field, "Cannot be negative.")
        elif count > MRI_LESIONS_MAX:
            problems.add(field, f"Implausible: more than {MRI_LESIONS_MAX} lesions.")
    check_record_date(problems, "performed_on", performed_on, patient.birth_date)
    problems.raise_if_any()
    return MriStudy.objects.create(
        patient=patient,
        performed_on=performed_on,
        gd_enhancing_lesions=gd_enhancing_lesions,
        new_or_enlarging_t2_lesions=new_or_enlarging_t2_lesions,
        pml_suspected=pml_suspected,
    )
