"""Fixtures of the API suites: a patient's world with a record behind every endpoint."""

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User

from alerts.models import Alert
from alerts.services import save_alert_change
from infusions.models import Infusion
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from patients.models import EdssAssessment, Infection, Medication, Patient, Relapse
from tests.factories import (
    make_checklist,
    make_cleared_patient,
    make_infusion,
    make_patient,
    make_preparation,
)


def make_alert(patient: Patient, **fields: Any) -> Alert:
    n = Alert.objects.count() + 1
    values: dict[str, Any] = {
        "rule": "LIVER-3XULN",
        "severity": "critical",
        "action": "suspend",
        "message": "ALT at 3 x ULN or above.",
        "evidence": {"value": "150", "uln": "40"},
        "source": "seed/natalizumab-precautions.txt",
        "profile": "document",
        "dedup_key": f"LIVER-3XULN:{patient.pk}:{n}",
        "raised_at": clock.now(),
    }
    values.update(fields)
    return save_alert_change(Alert(patient=patient, **values))


def planned_infusion(patient: Patient, nurse: User, **answers: Any) -> Infusion:
    """A planned visit with its checklist; `preparation=` names its bag (None: none yet)."""
    bag = {"preparation": answers.pop("preparation")} if "preparation" in answers else {}
    checklist = make_checklist(patient, nurse, **answers)
    return make_infusion(patient, checklist=checklist, nurse=nurse, **bag)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Users are made for every test; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def patient(db: None) -> Patient:
    return make_patient()


@pytest.fixture
def world(users: dict[str, User]) -> SimpleNamespace:
    """One patient with a record in every state an endpoint acts on."""
    patient = make_cleared_patient()
    nurse = users["nurse"]
    now = clock.now()
    running = planned_infusion(patient, nurse)
    running.status, running.started_at = "running", now - timedelta(minutes=30)
    running.save()
    stopped = planned_infusion(patient, nurse)
    stopped.status = "stopped"
    stopped.started_at, stopped.ended_at = now - timedelta(hours=2), now - timedelta(minutes=61)
    stopped.save()
    other_patient = make_patient()
    return SimpleNamespace(
        patient=patient,
        other_patient=other_patient,
        preparation=make_preparation(patient),
        planned=planned_infusion(patient, nurse),
        # A third patient's visit whose checklist answered "yes": held for a prescriber.
        held=planned_infusion(make_patient(), nurse, current_infection=True),
        running=running,
        stopped=stopped,
        # Another patient's: an active infection would hold every start of this patient's.
        infection=Infection.objects.create(
            patient=other_patient,
            description="Urinary tract infection",
            onset_on=clock.clinic_today(),
        ),
        alert=make_alert(patient),
        medication=Medication.objects.create(
            patient=patient, name="Vitamin D", category="other", started_on="2025-01-01"
        ),
        lab_result=LabResult.objects.create(
            patient=patient,
            analyte="ALT",
            value=30,
            unit="U/L",
            reference_high=40,
            collected_at=now - timedelta(days=1),
        ),
        antibody_test=AntibodyTest.objects.create(
            patient=patient, target="jcv", result="negative", collected_at=now
        ),
        mri_study=MriStudy.objects.create(
            patient=patient,
            performed_on="2025-06-01",
            gd_enhancing_lesions=0,
            new_or_enlarging_t2_lesions=0,
        ),
        edss=EdssAssessment.objects.create(patient=patient, score=2, assessed_on="2025-06-01"),
        relapse=Relapse.objects.create(patient=patient, onset_on="2025-03-01"),
        now=now,
    )


@pytest.fixture
def iso() -> Callable[..., str]:
    """A time relative to now, as a client sends it."""

    def at(**delta: float) -> str:
        return (clock.now() + timedelta(**delta)).isoformat()

    return at
