"""Recording lab results, antibody tests and MRI studies: each one transaction, validated."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from natalizumab_monitor import clock
from natalizumab_monitor.services import Problems, check_record_date
from patients.models import Patient

from .models import (
    UCUM_UNITS,
    Analyte,
    AntibodyResult,
    AntibodyTarget,
    AntibodyTest,
    AntibodyTestRevision,
    LabResult,
    LabResultRevision,
    MriStudy,
    RevisionChange,
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


def _check_lab_values(
    *,
    patient: Patient,
    analyte: str,
    value: Decimal,
    unit: str,
    reference_low: Decimal | None,
    reference_high: Decimal,
    collected_at: datetime,
) -> None:
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
    source_key: str | None = None,
) -> LabResult:
    """One result with its own lab's reference range, in a UCUM unit that fits the analyte.

    `source_key` is the sender's key of the result (laboratory interface); a second result
    with the same key is refused by the database (IntegrityError).
    """
    _check_lab_values(
        patient=patient,
        analyte=analyte,
        value=value,
        unit=unit,
        reference_low=reference_low,
        reference_high=reference_high,
        collected_at=collected_at,
    )
    return LabResult.objects.create(
        patient=patient,
        analyte=analyte,
        value=value,
        unit=unit,
        reference_low=reference_low,
        reference_high=reference_high,
        collected_at=collected_at,
        source_key=source_key,
    )


def _keep_lab_revision(lab_result: LabResult, change: RevisionChange) -> None:
    LabResultRevision.objects.create(
        lab_result=lab_result,
        change=change,
        changed_at=clock.now(),
        value=lab_result.value,
        unit=lab_result.unit,
        reference_low=lab_result.reference_low,
        reference_high=lab_result.reference_high,
        collected_at=lab_result.collected_at,
    )


@transaction.atomic
def correct_lab_result(
    *,
    lab_result: LabResult,
    value: Decimal,
    unit: str,
    reference_high: Decimal,
    collected_at: datetime,
    reference_low: Decimal | None = None,
) -> LabResult:
    """The laboratory corrected a result: the new value stands, the old one stays in its history.

    Saving the result queues a new evaluation of the patient, as any write does.
    """
    _check_lab_values(
        patient=lab_result.patient,
        analyte=lab_result.analyte,
        value=value,
        unit=unit,
        reference_low=reference_low,
        reference_high=reference_high,
        collected_at=collected_at,
    )
    _keep_lab_revision(lab_result, RevisionChange.CORRECTED)
    lab_result.value = value
    lab_result.unit = unit
    lab_result.reference_low = reference_low
    lab_result.reference_high = reference_high
    lab_result.collected_at = collected_at
    lab_result.save()
    return lab_result


@transaction.atomic
def withdraw_lab_result(*, lab_result: LabResult) -> LabResult:
    """The laboratory cancelled a result: it no longer counts, and what it raised resolves."""
    if lab_result.withdrawn_at is None:
        _keep_lab_revision(lab_result, RevisionChange.WITHDRAWN)
        lab_result.withdrawn_at = clock.now()
        lab_result.save()
    return lab_result


def _check_antibody_values(
    *, patient: Patient, target: str, result: str, index: Decimal | None, collected_at: datetime
) -> None:
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


@transaction.atomic
def record_antibody_test(
    *,
    patient: Patient,
    target: str,
    result: str,
    collected_at: datetime,
    index: Decimal | None = None,
    source_key: str | None = None,
) -> AntibodyTest:
    """An anti-natalizumab or anti-JCV antibody test; only the JCV assay reports an index."""
    _check_antibody_values(
        patient=patient, target=target, result=result, index=index, collected_at=collected_at
    )
    return AntibodyTest.objects.create(
        patient=patient,
        target=target,
        result=result,
        index=index,
        collected_at=collected_at,
        source_key=source_key,
    )


def _keep_antibody_revision(test: AntibodyTest, change: RevisionChange) -> None:
    AntibodyTestRevision.objects.create(
        antibody_test=test,
        change=change,
        changed_at=clock.now(),
        result=test.result,
        index=test.index,
        collected_at=test.collected_at,
    )


@transaction.atomic
def correct_antibody_test(
    *,
    antibody_test: AntibodyTest,
    result: str,
    collected_at: datetime,
    index: Decimal | None = None,
) -> AntibodyTest:
    """A corrected antibody result replaces the old one, which stays in its history."""
    _check_antibody_values(
        patient=antibody_test.patient,
        target=antibody_test.target,
        result=result,
        index=index,
        collected_at=collected_at,
    )
    _keep_antibody_revision(antibody_test, RevisionChange.CORRECTED)
    antibody_test.result = result
    antibody_test.index = index
    antibody_test.collected_at = collected_at
    antibody_test.save()
    return antibody_test


@transaction.atomic
def withdraw_antibody_test(*, antibody_test: AntibodyTest) -> AntibodyTest:
    """A cancelled antibody result no longer counts; its history keeps what it said."""
    if antibody_test.withdrawn_at is None:
        _keep_antibody_revision(antibody_test, RevisionChange.WITHDRAWN)
        antibody_test.withdrawn_at = clock.now()
        antibody_test.save()
    return antibody_test


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
