"""The patient page costs the same queries however long the patient's history: every kind of
record it shows, each row by another member of staff, 3 or 30 of each."""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Alert, AlertStatus
from infusions.models import (
    DosePreparation,
    Infusion,
    InfusionReaction,
    InfusionStatus,
    PreInfusionChecklist,
    PreparationStatus,
)
from labs.models import Analyte, AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE
from patients.models import (
    ClinicalEvent,
    EdssAssessment,
    Infection,
    Medication,
    MedicationCategory,
    Patient,
    Relapse,
    TreatmentDecision,
)
from tests.factories import make_patient

from .conftest import build_alert

pytestmark = pytest.mark.django_db


def _bags(patient: Patient, at: list[datetime], status: str) -> list[DosePreparation]:
    return DosePreparation.objects.bulk_create(
        DosePreparation(
            patient=patient,
            dose_mg=Decimal(300),
            diluent="0.9% NaCl",
            diluent_volume_ml=Decimal(100),
            prepared_at=moment,
            expires_at=moment + timedelta(hours=8),
            storage="room",
            status=status,
        )
        for moment in at
    )


def _checklists(
    patient: Patient, staff: list[User], at: list[datetime], **answers: bool
) -> list[PreInfusionChecklist]:
    return PreInfusionChecklist.objects.bulk_create(
        PreInfusionChecklist(
            patient=patient,
            asked_by=staff[i % len(staff)],
            asked_at=moment,
            authorized=True,
            new_neurological_symptoms=False,
            immunocompromised=False,
            immunosuppressants_last_month=False,
            current_infection=answers.get("current_infection", False),
        )
        for i, moment in enumerate(at)
    )


def history(patient: Patient, n: int, staff: list[User]) -> None:
    """n records of every kind the patient page shows, the staff taking turns."""
    now = clock.now()
    today = clock.clinic_today()
    given_at = [now - timedelta(days=28 * i + 1) for i in range(n)]
    bags = _bags(patient, [at - timedelta(hours=1) for at in given_at], PreparationStatus.USED)
    checklists = _checklists(patient, staff, [at - timedelta(minutes=30) for at in given_at])
    given = Infusion.objects.bulk_create(
        Infusion(
            patient=patient,
            preparation=bag,
            checklist=checklist,
            status=InfusionStatus.DISCHARGED,
            started_at=at,
            ended_at=at + timedelta(minutes=61),
            discharged_at=at + timedelta(minutes=125),
            stop_reason="Flushing" if i % 2 else "",
        )
        for i, (bag, checklist, at) in enumerate(zip(bags, checklists, given_at, strict=True))
    )
    InfusionReaction.objects.bulk_create(
        InfusionReaction(
            infusion=infusion,
            severity="severe" if i % 3 == 0 else "mild",
            symptoms=["rash", "itching"],
            onset_at=infusion.started_at + timedelta(minutes=10),
        )
        for i, infusion in enumerate(given)
    )
    Infusion.objects.bulk_create(
        Infusion(patient=patient, status=InfusionStatus.CANCELLED, cancel_reason=f"Unwell {i}")
        for i in range(n)
    )
    # Planned visits the checklist holds: each names who asked it.
    held_at = [now - timedelta(minutes=10 + i) for i in range(n)]
    held = _checklists(patient, staff, held_at, current_infection=True)
    Infusion.objects.bulk_create(
        Infusion(patient=patient, preparation=bag, checklist=checklist)
        for bag, checklist in zip(
            _bags(patient, held_at, PreparationStatus.READY), held, strict=True
        )
    )
    LabResult.objects.bulk_create(
        LabResult(
            patient=patient,
            analyte=analyte,
            value=Decimal(20 + i % 7),
            unit="U/L",
            reference_low=Decimal(1),
            reference_high=Decimal(40 + i % 2),
            collected_at=now - timedelta(days=7 * i + 2),
        )
        for i in range(n)
        for analyte in Analyte.values
    )
    AntibodyTest.objects.bulk_create(
        AntibodyTest(
            patient=patient,
            target="jcv" if i % 2 else "natalizumab",
            result="positive" if i % 4 == 1 else "negative",
            index=Decimal("0.4") if i % 2 else None,
            collected_at=now - timedelta(days=30 * i + 3),
        )
        for i in range(n)
    )
    MriStudy.objects.bulk_create(
        MriStudy(
            patient=patient,
            performed_on=today - timedelta(days=90 * i),
            gd_enhancing_lesions=i % 3,
            new_or_enlarging_t2_lesions=i % 2,
        )
        for i in range(n)
    )
    EdssAssessment.objects.bulk_create(
        EdssAssessment(patient=patient, score=Decimal("2.5"), assessed_on=today - timedelta(i * 60))
        for i in range(n)
    )
    Relapse.objects.bulk_create(
        Relapse(patient=patient, onset_on=today - timedelta(days=100 * i)) for i in range(n)
    )
    categories = MedicationCategory.values
    Medication.objects.bulk_create(
        Medication(
            patient=patient,
            name=f"Medicine {i}",
            category=categories[i % len(categories)],
            started_on=today - timedelta(days=50 * i + 10),
            stopped_on=today - timedelta(days=50 * i),
        )
        for i in range(n)
    )
    Infection.objects.bulk_create(
        Infection(
            patient=patient,
            description=f"Cold {i}",
            onset_on=today - timedelta(days=40 * i + 5),
            resolved_on=None if i % 2 else today - timedelta(days=40 * i),
        )
        for i in range(n)
    )
    ClinicalEvent.objects.bulk_create(
        ClinicalEvent(
            patient=patient, kind="liver-injury", observed_on=today - timedelta(days=70 * i)
        )
        for i in range(n)
    )
    TreatmentDecision.objects.bulk_create(
        TreatmentDecision(
            patient=patient,
            action="reauthorize",
            reason=f"Reauthorized {i}",
            decided_by=staff[i % len(staff)],
            decided_at=now - timedelta(days=182 * i),
        )
        for i in range(n)
    )
    Alert.objects.bulk_create(
        build_alert(
            patient,
            rule=f"RULE-{i}",
            **(
                {
                    "status": AlertStatus.ACKNOWLEDGED,
                    "acknowledged_by": staff[i % len(staff)],
                    "acknowledged_at": now - timedelta(minutes=i),
                }
                if i % 2
                else {}
            ),
        )
        for i in range(n)
    )


def queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_patient_page_costs_the_same_for_3_and_30_records_of_every_kind(
    client_as: Callable[[str | None], Client], make_user: Callable[..., User]
) -> None:
    client = client_as(NEUROLOGIST)
    staff = [make_user(NURSE, username=f"staff-{i:02d}") for i in range(30)]
    short, long = make_patient(), make_patient()
    history(short, 3, staff)
    history(long, 30, staff)

    few, _ = queries(client, reverse("patients:detail", args=[short.id]))
    many, page = queries(client, reverse("patients:detail", args=[long.id]))

    assert few == many
    # All of the long history is on the page, each row with the member of staff it names.
    timeline = page.split('id="timeline"', 1)[1]
    assert timeline.count('<span class="tl-title">Relapse</span>') == 30
    assert timeline.count('<span class="tl-title">Visit cancelled</span>') == 30
    assert page.count('class="held-visit"') == 30
    assert page.count('class="alert-item') == 30
    for member in staff:
        assert f"({member.username})</span>" in timeline  # who decided
        assert f"by {member.username}." in page  # who asked a held visit's checklist
    for member in staff[1::2]:
        assert f"Acknowledged by {member.username} " in page
