"""The monitoring record as FHIR R4 resources, built with fhir.resources models.

Every resource is constructed through its model, so what leaves is validated on the way
out: a record that would make an invalid resource fails here, not in the reader's system.
(fhir.resources' R4B models: the resources used here are the same in R4.)
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.resource import Resource

from alerts.models import Alert, AlertStatus
from infusions.models import Infusion, InfusionStatus
from labs.models import AntibodyTarget, AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from patients.models import EdssAssessment, Infection, Medication, Patient, Relapse

from .. import mapping

FHIR_VERSION = "4.0.1"
MRN_SYSTEM = "urn:natalizumab-monitor:mrn"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
SNOMED = "http://snomed.info/sct"
INTRAVENOUS_ROUTE = ("47625008", "Intravenous route")
ANSWER = {  # LOINC answer codes of the antibody results
    "positive": ("LA6576-8", "Positive"),
    "negative": ("LA6577-6", "Negative"),
    "indeterminate": ("LA11884-6", "Indeterminate"),
}
ALERT_SEVERITY = {"critical": "high", "warning": "moderate", "info": "low"}


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _reference(patient_id: object) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {
        "value": value.normalize() if value == value.to_integral() else value,
        "unit": unit,
        "system": mapping.UCUM_SYSTEM,
        "code": unit,
    }


def _laboratory() -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}]


def patient(record: Patient) -> FhirPatient:
    return FhirPatient(
        id=str(record.pk),
        identifier=[
            {
                "use": "usual",
                "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}]},
                "system": MRN_SYSTEM,
                "value": record.mrn,
            }
        ],
        name=[{"family": record.family_name, "given": [record.given_name]}],
        gender=record.sex,
        birthDate=record.birth_date,
    )


def lab_observation(result: LabResult) -> Observation:
    loinc = result.loinc
    interpretation = "N"
    if result.value > result.reference_high:
        interpretation = "H"
    elif result.reference_low is not None and result.value < result.reference_low:
        interpretation = "L"
    limits: dict[str, Any] = {"high": _quantity(result.reference_high, result.unit)}
    if result.reference_low is not None:
        limits["low"] = _quantity(result.reference_low, result.unit)
    corrected = any(True for _ in result.revisions.all())
    return Observation(
        id=str(result.pk),
        status="corrected" if corrected else "final",
        category=_laboratory(),
        code={
            "coding": [
                {
                    "system": mapping.LOINC_SYSTEM,
                    "code": loinc,
                    "display": result.get_analyte_display(),
                }
            ],
            "text": result.get_analyte_display(),
        },
        subject=_reference(result.patient_id),
        effectiveDateTime=_instant(result.collected_at),
        valueQuantity=_quantity(result.value, result.unit),
        referenceRange=[limits],
        interpretation=[{"coding": [{"system": INTERPRETATION, "code": interpretation}]}],
    )


def antibody_observation(test: AntibodyTest) -> Observation:
    kind = mapping.ANTI_JCV if test.target == AntibodyTarget.JCV else mapping.ANTI_NATALIZUMAB
    answer_code, answer_text = ANSWER[test.result]
    components = []
    if test.index is not None:
        components.append(
            {
                "code": {
                    "coding": [
                        {
                            "system": mapping.LOINC_SYSTEM,
                            "code": mapping.ANTIBODY_TESTS[mapping.JCV_INDEX],
                            "display": mapping.TEST_NAMES[mapping.JCV_INDEX],
                        }
                    ]
                },
                "valueQuantity": {
                    "value": test.index,
                    "unit": "index",
                    "system": mapping.UCUM_SYSTEM,
                    "code": "{index}",
                },
            }
        )
    corrected = any(True for _ in test.revisions.all())
    return Observation(
        id=str(test.pk),
        status="corrected" if corrected else "final",
        category=_laboratory(),
        code={
            "coding": [
                {
                    "system": mapping.LOINC_SYSTEM,
                    "code": mapping.ANTIBODY_TESTS[kind],
                    "display": mapping.TEST_NAMES[kind],
                }
            ],
            "text": mapping.TEST_NAMES[kind],
        },
        subject=_reference(test.patient_id),
        effectiveDateTime=_instant(test.collected_at),
        valueCodeableConcept={
            "coding": [
                {"system": mapping.LOINC_SYSTEM, "code": answer_code, "display": answer_text}
            ],
            "text": answer_text,
        },
        component=components or None,
    )


def edss_observation(assessment: EdssAssessment) -> Observation:
    return Observation(
        id=str(assessment.pk),
        status="final",
        category=[
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam", "display": "Exam"}]}
        ],
        code={"text": "EDSS (Kurtzke Expanded Disability Status Scale)"},
        subject=_reference(assessment.patient_id),
        effectiveDateTime=assessment.assessed_on,
        valueQuantity={
            "value": assessment.score,
            "unit": "score",
            "system": mapping.UCUM_SYSTEM,
            "code": "{score}",
        },
    )


def infusion_administration(infusion: Infusion) -> MedicationAdministration:
    dose = infusion.preparation.dose_mg if infusion.preparation is not None else Decimal(300)
    period: dict[str, str] = {"start": _instant(infusion.started_at)}  # type: ignore[arg-type]
    if infusion.ended_at is not None:
        period["end"] = _instant(infusion.ended_at)
    return MedicationAdministration(
        id=str(infusion.pk),
        status="in-progress" if infusion.status == InfusionStatus.RUNNING else "completed",
        medicationCodeableConcept={"text": "natalizumab"},
        subject=_reference(infusion.patient_id),
        effectivePeriod=period,
        dosage={
            "text": f"{dose.normalize()} mg by intravenous infusion",
            "route": {
                "coding": [
                    {
                        "system": SNOMED,
                        "code": INTRAVENOUS_ROUTE[0],
                        "display": INTRAVENOUS_ROUTE[1],
                    }
                ]
            },
            "dose": _quantity(dose, "mg"),
        },
    )


def medication_statement(medication: Medication) -> MedicationStatement:
    period: dict[str, date] = {"start": medication.started_on}
    if medication.stopped_on is not None:
        period["end"] = medication.stopped_on
    return MedicationStatement(
        id=str(medication.pk),
        status="completed" if medication.stopped_on else "active",
        medicationCodeableConcept={"text": medication.name},
        subject=_reference(medication.patient_id),
        effectivePeriod=period,
        category={"text": medication.get_category_display()},
    )


def _clinical_status(resolved: bool) -> dict[str, Any]:
    code = "resolved" if resolved else "active"
    return {"coding": [{"system": CONDITION_CLINICAL, "code": code}]}


def infection_condition(infection: Infection) -> Condition:
    return Condition(
        id=str(infection.pk),
        clinicalStatus=_clinical_status(infection.resolved_on is not None),
        code={"text": infection.description},
        subject=_reference(infection.patient_id),
        onsetDateTime=infection.onset_on,
        abatementDateTime=infection.resolved_on,
    )


def relapse_condition(relapse: Relapse) -> Condition:
    return Condition(
        id=str(relapse.pk),
        clinicalStatus=_clinical_status(False),
        code={"text": "Relapse of multiple sclerosis"},
        subject=_reference(relapse.patient_id),
        onsetDateTime=relapse.onset_on,
    )


def mri_report(study: MriStudy) -> DiagnosticReport:
    conclusion = (
        f"Gadolinium-enhancing (T1) lesions: {study.gd_enhancing_lesions}; "
        f"new or enlarging T2 lesions: {study.new_or_enlarging_t2_lesions}; "
        f"read as possible PML: {'yes' if study.pml_suspected else 'no'}."
    )
    return DiagnosticReport(
        id=str(study.pk),
        status="final",
        category=[{"text": "MRI"}],
        code={"text": "MRI of the brain"},
        subject=_reference(study.patient_id),
        effectiveDateTime=study.performed_on,
        conclusion=conclusion,
    )


def alert_issue(alert: Alert) -> DetectedIssue:
    return DetectedIssue(
        id=str(alert.pk),
        status="final",
        code={"text": alert.rule},
        severity=ALERT_SEVERITY.get(alert.severity, "moderate"),
        patient=_reference(alert.patient_id),
        identifiedDateTime=_instant(alert.raised_at),
        detail=alert.message,
    )


def observations(record: Patient) -> list[Observation]:
    """Every observation of the patient, newest first."""
    dated: list[tuple[datetime, Observation]] = []
    for result in record.lab_results.all():
        dated.append((result.collected_at, lab_observation(result)))
    for test in record.antibody_tests.all():
        dated.append((test.collected_at, antibody_observation(test)))
    for assessment in record.edss.all():
        moment = datetime.combine(assessment.assessed_on, time(), tzinfo=clock.clinic_zone())
        dated.append((moment, edss_observation(assessment)))
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [observation for _, observation in dated]


def everything(record: Patient) -> list[Resource]:
    """The patient's monitoring record: the resources of `$everything`."""
    started = (InfusionStatus.RUNNING, InfusionStatus.STOPPED, InfusionStatus.DISCHARGED)
    return [
        patient(record),
        *observations(record),
        *(
            infusion_administration(i)
            for i in record.infusions.all()
            if i.status in started and i.started_at is not None
        ),
        *(medication_statement(m) for m in record.medications.all()),
        *(infection_condition(i) for i in record.infections.all()),
        *(relapse_condition(r) for r in record.relapses.all()),
        *(mri_report(s) for s in record.mri_studies.all()),
        *(alert_issue(a) for a in record.alerts.all() if a.status == AlertStatus.OPEN),
    ]


def record_prefetches() -> list[Any]:
    """What `everything` reads, in one query per kind of record."""
    return [
        Prefetch("lab_results", queryset=LabResult.objects.prefetch_related("revisions")),
        Prefetch("antibody_tests", queryset=AntibodyTest.objects.prefetch_related("revisions")),
        "edss",
        Prefetch("infusions", queryset=Infusion.objects.select_related("preparation")),
        "medications",
        "infections",
        "relapses",
        "mri_studies",
        "alerts",
    ]


def searchset(resources: Iterable[Resource], base_url: str) -> Bundle:
    entries = [
        {
            "fullUrl": f"{base_url}{resource.get_resource_type()}/{resource.id}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    return Bundle(type="searchset", total=len(entries), entry=entries or None)


def operation_outcome(severity: str, code: str, text: str) -> OperationOutcome:
    return OperationOutcome(issue=[{"severity": severity, "code": code, "diagnostics": text}])


def capability_statement(base_url: str) -> CapabilityStatement:
    return CapabilityStatement(
        status="active",
        date=_instant(clock.now()),
        kind="instance",
        software={"name": "Natalizumab treatment monitor"},
        implementation={"description": "Natalizumab treatment monitor", "url": base_url},
        fhirVersion=FHIR_VERSION,
        format=["application/fhir+json"],
        rest=[
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}],
                        "operation": [
                            {
                                "name": "everything",
                                "definition": "http://hl7.org/fhir/OperationDefinition/"
                                "Patient-everything",
                            }
                        ],
                    },
                    {
                        "type": "Observation",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [{"name": "patient", "type": "reference"}],
                    },
                ],
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
            }
        ],
    )
