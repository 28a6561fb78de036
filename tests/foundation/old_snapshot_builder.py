"""The snapshot builder as it was: model instances, then pydantic validation of every field.

Kept as the reference the fast builder (alerts.snapshots) must agree with, record for record.
"""

from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from alerts.rules.snapshot import (
    AntibodyTestSnapshot,
    ChecklistSnapshot,
    ClinicalEventSnapshot,
    DecisionSnapshot,
    EdssSnapshot,
    InfectionSnapshot,
    InfusionSnapshot,
    LabResultSnapshot,
    MedicationSnapshot,
    MriStudySnapshot,
    PatientSnapshot,
    PreparationSnapshot,
    ReactionSnapshot,
    RelapseSnapshot,
)
from infusions.models import Infusion, InfusionReaction, PreInfusionChecklist
from patients.models import Patient

_CHECKLIST_FIELDS = (
    "id",
    "asked_at",
    "authorized",
    "new_neurological_symptoms",
    "immunocompromised",
    "immunosuppressants_last_month",
    "current_infection",
    "cleared_at",
)


def _patients_with_history() -> QuerySet[Patient]:
    return Patient.objects.select_related("site").prefetch_related(
        Prefetch(
            "infusions",
            queryset=Infusion.objects.select_related("checklist").prefetch_related(
                Prefetch("reactions", queryset=InfusionReaction.objects.order_by("onset_at"))
            ),
        ),
        Prefetch("checklists", queryset=PreInfusionChecklist.objects.select_related("infusion")),
        "preparations",
        "lab_results",
        "antibody_tests",
        "mri_studies",
        "edss",
        "relapses",
        "medications",
        "infections",
        "clinical_events",
        "decisions",
    )


def _as_written(value: Decimal | None) -> Decimal | None:
    """A stored Decimal without the column's padding: 128.0000 U/L is read as 128 U/L."""
    return None if value is None else value.normalize()


def _checklist(checklist: PreInfusionChecklist, infusion_id: UUID | None) -> ChecklistSnapshot:
    values = {name: getattr(checklist, name) for name in _CHECKLIST_FIELDS}
    return ChecklistSnapshot(**values, infusion_id=infusion_id)


def _infusion_id_of(checklist: PreInfusionChecklist) -> UUID | None:
    try:
        return checklist.infusion.id
    except Infusion.DoesNotExist:
        return None


def _snapshot(patient: Patient) -> PatientSnapshot:
    return PatientSnapshot(
        id=patient.id,
        birth_date=patient.birth_date,
        sex=patient.sex,
        indication=patient.indication,
        treatment_start=patient.treatment_start,
        schedule_weeks=patient.schedule_weeks,
        treatment_status=patient.treatment_status,
        pregnant=patient.pregnant,
        breastfeeding=patient.breastfeeding,
        prior_immunosuppressants=patient.prior_immunosuppressants,
        clinic_time_zone=patient.site.time_zone,
        infusions=tuple(
            InfusionSnapshot(
                id=infusion.id,
                preparation_id=infusion.preparation_id,
                route=infusion.route,
                status=infusion.status,
                started_at=infusion.started_at,
                ended_at=infusion.ended_at,
                discharged_at=infusion.discharged_at,
                checklist=_checklist(infusion.checklist, infusion.id)
                if infusion.checklist
                else None,
                reactions=tuple(
                    ReactionSnapshot(
                        id=reaction.id,
                        severity=reaction.severity,
                        symptoms=tuple(reaction.symptoms or ()),
                        onset_at=reaction.onset_at,
                    )
                    for reaction in infusion.reactions.all()
                ),
            )
            for infusion in patient.infusions.all()
        ),
        preparations=tuple(
            PreparationSnapshot(
                id=bag.id,
                dose_mg=_as_written(bag.dose_mg),
                diluent=bag.diluent,
                diluent_volume_ml=_as_written(bag.diluent_volume_ml),
                prepared_at=bag.prepared_at,
                storage=bag.storage,
                room_temperature_since=bag.room_temperature_since,
                frozen=bag.frozen,
                shaken=bag.shaken,
                status=bag.status,
            )
            for bag in patient.preparations.all()
        ),
        checklists=tuple(
            _checklist(checklist, _infusion_id_of(checklist))
            for checklist in patient.checklists.all()
        ),
        lab_results=tuple(
            LabResultSnapshot(
                id=lab.id,
                analyte=lab.analyte,
                value=_as_written(lab.value),
                unit=lab.unit,
                reference_low=_as_written(lab.reference_low),
                reference_high=_as_written(lab.reference_high),
                collected_at=lab.collected_at,
            )
            for lab in patient.lab_results.all()
        ),
        antibody_tests=tuple(
            AntibodyTestSnapshot(
                id=test.id,
                target=test.target,
                result=test.result,
                index=_as_written(test.index),
                collected_at=test.collected_at,
            )
            for test in patient.antibody_tests.all()
        ),
        mri_studies=tuple(
            MriStudySnapshot(
                id=mri.id,
                performed_on=mri.performed_on,
                gd_enhancing_lesions=mri.gd_enhancing_lesions,
                new_or_enlarging_t2_lesions=mri.new_or_enlarging_t2_lesions,
                pml_suspected=mri.pml_suspected,
            )
            for mri in patient.mri_studies.all()
        ),
        edss=tuple(
            EdssSnapshot(id=e.id, score=e.score, assessed_on=e.assessed_on)
            for e in patient.edss.all()
        ),
        relapses=tuple(
            RelapseSnapshot(id=r.id, onset_on=r.onset_on) for r in patient.relapses.all()
        ),
        medications=tuple(
            MedicationSnapshot(
                id=m.id,
                name=m.name,
                category=m.category,
                started_on=m.started_on,
                stopped_on=m.stopped_on,
            )
            for m in patient.medications.all()
        ),
        infections=tuple(
            InfectionSnapshot(
                id=i.id, description=i.description, onset_on=i.onset_on, resolved_on=i.resolved_on
            )
            for i in patient.infections.all()
        ),
        clinical_events=tuple(
            ClinicalEventSnapshot(
                id=c.id, kind=c.kind, observed_on=c.observed_on, resolved_on=c.resolved_on
            )
            for c in patient.clinical_events.all()
        ),
        decisions=tuple(
            DecisionSnapshot(
                id=d.id,
                action=d.action,
                rule=d.rule or None,
                reason=d.reason,
                decided_at=d.decided_at,
                consumed_at=d.consumed_at,
            )
            for d in patient.decisions.all()
        ),
    )


def build_snapshot(patient_id: UUID | str) -> PatientSnapshot:
    """One patient's snapshot; raises Patient.DoesNotExist for an unknown id."""
    return _snapshot(_patients_with_history().get(pk=patient_id))


def build_snapshots(patient_ids: Iterable[UUID | str]) -> dict[str, PatientSnapshot]:
    """Snapshots of many patients (one batch), keyed by patient id as a string."""
    patients = _patients_with_history().filter(pk__in=list(patient_ids))
    return {str(patient.id): _snapshot(patient) for patient in patients}
