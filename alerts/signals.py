"""Every write that can change a patient's findings queues an evaluation of that patient.

Signals, not calls in each service, so that the API, the pages, the admin and any import
all take the same path. Inside the writing transaction the patient is marked for evaluation
(alerts.PendingEvaluation: durable, rolled back with the write); after the commit one task
per patient is queued, however many records the transaction wrote. If the queue is
unreachable the mark stays and the timers evaluate the patient.
"""

import logging
import uuid
from typing import Any
from uuid import UUID

from django.db import connections, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from infusions.models import (
    DosePreparation,
    Infusion,
    InfusionReaction,
    PreInfusionChecklist,
)
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from network import changes
from network.models import Site
from patients.models import (
    ClinicalEvent,
    EdssAssessment,
    Infection,
    Medication,
    Patient,
    Relapse,
    TreatmentDecision,
)

logger = logging.getLogger(__name__)

CLINICAL_RECORDS: tuple[type[Model], ...] = (
    Patient,
    Medication,
    Infection,
    ClinicalEvent,
    EdssAssessment,
    Relapse,
    TreatmentDecision,
    LabResult,
    AntibodyTest,
    MriStudy,
    DosePreparation,
    PreInfusionChecklist,
    Infusion,
    InfusionReaction,
)


class EvaluateOnCommit:
    """The on-commit callback for one patient; recognisable, so a transaction queues it once."""

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id

    def __call__(self) -> None:
        from alerts.tasks import enqueue_evaluation  # the Celery app loads after the models

        changes.patients_changed([self.patient_id])  # the lists kept of the patient's site
        enqueue_evaluation(self.patient_id)

    def __repr__(self) -> str:
        return f"EvaluateOnCommit({self.patient_id})"


def patient_id_of(instance: Model) -> UUID | None:
    if isinstance(instance, Patient):
        return instance.pk
    if isinstance(instance, InfusionReaction):
        return (
            Infusion.objects.filter(pk=instance.infusion_id)
            .values_list("patient_id", flat=True)
            .first()
        )
    return getattr(instance, "patient_id", None)


def mark_for_evaluation(patient_id: UUID | str, using: str = "default") -> None:
    """Mark the patient in the current transaction and queue one evaluation after commit."""
    from alerts.models import PendingEvaluation

    # Upsert: a new token tells an evaluation already running that there is more to see.
    PendingEvaluation.objects.using(using).bulk_create(
        [PendingEvaluation(patient_id=patient_id, token=uuid.uuid4(), marked_at=clock.now())],
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=["token", "marked_at"],
    )
    key = str(patient_id)
    connection = connections[using]
    if connection.in_atomic_block:
        # A callback discarded by a rolled-back savepoint is gone from this list too.
        for _savepoints, callback, _robust in connection.run_on_commit:
            if isinstance(callback, EvaluateOnCommit) and callback.patient_id == key:
                return
    transaction.on_commit(EvaluateOnCommit(key), using=using, robust=True)


def _network_changed_on_commit(using: str) -> None:
    """A patient's own row (its site may be another) or a site: every list kept is old."""
    connection = connections[using]
    if connection.in_atomic_block:
        for _savepoints, callback, _robust in connection.run_on_commit:
            if callback is changes.network_changed:
                return
    transaction.on_commit(changes.network_changed, using=using, robust=True)


def _record_saved(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    if isinstance(instance, Patient):
        _network_changed_on_commit(using)
    patient_id = patient_id_of(instance)
    if patient_id is not None:
        mark_for_evaluation(patient_id, using)


def _record_deleted(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    if isinstance(instance, Patient):
        _network_changed_on_commit(using)
        return  # nothing left to evaluate (and nothing to mark)
    patient_id = patient_id_of(instance)
    if patient_id is not None and Patient.objects.using(using).filter(pk=patient_id).exists():
        mark_for_evaluation(patient_id, using)


def _site_saved(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    _network_changed_on_commit(using)


def connect() -> None:
    post_save.connect(_site_saved, sender=Site, dispatch_uid="network-changed-site-save")
    for model in CLINICAL_RECORDS:
        uid = f"alerts-evaluate-{model._meta.label_lower}"
        post_save.connect(_record_saved, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_record_deleted, sender=model, dispatch_uid=f"{uid}-delete")
