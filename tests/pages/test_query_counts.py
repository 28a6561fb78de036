"""Every page reads through selectors with a fixed number of queries: 5 or 200 patients or
records cost the same."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.evaluation import evaluate_patients
from alerts.models import Alert
from infusions.models import (
    DosePreparation,
    Infusion,
    InfusionReaction,
    InfusionStatus,
    PreInfusionChecklist,
    PreparationStatus,
)
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from network.services import site_for_new_record
from patients.models import (
    EdssAssessment,
    Infection,
    Medication,
    Patient,
    Relapse,
    TreatmentDecision,
)

from .conftest import build_alert

pytestmark = pytest.mark.django_db


def patients(n: int, offset: int = 0, **fields: Any) -> list[Patient]:
    return Patient.objects.bulk_create(
        Patient(
            site=site_for_new_record(),
            mrn=f"Q-{offset + i:05d}",
            given_name="Q",
            family_name=f"Patient {offset + i:05d}",
            birth_date=date(1980, 1, 1),
            sex="female",
            indication="ms",
            treatment_start=clock.clinic_today() - timedelta(days=400),
            **fields,
        )
        for i in range(n)
    )


def first_requests_made(*clients: Client) -> tuple[Client, ...]:
    """Sessions past their first request, which also looks up whether the user has a second
    factor (a session then remembers it for minutes)."""
    for client in clients:
        assert client.get(reverse("home")).status_code in (200, 302)
    return clients


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def with_alerts(group: list[Patient]) -> None:
    Alert.objects.bulk_create(
        build_alert(p, severity=("critical", "warning", "info")[i % 3]) for i, p in enumerate(group)
    )
    Alert.objects.bulk_create(build_alert(p, rule="MRI-DUE", severity="warning") for p in group)


def test_the_worklist_costs_the_same_for_5_and_200_patients(
    client_as: Callable[[str | None], Client],
) -> None:
    client = client_as(NEUROLOGIST)
    with_alerts(patients(5))
    few = queries(client, reverse("patients:worklist"))
    with_alerts(patients(195, offset=5))
    many = queries(client, reverse("patients:worklist"))
    filtered = queries(client, reverse("patients:worklist") + "?severity=warning&page=3")
    assert few == many == filtered


def history(patient: Patient, n: int, nurse: User) -> None:
    """n records of every kind the patient page shows."""
    now = clock.now()
    today = clock.clinic_today()
    bags = DosePreparation.objects.bulk_create(
        DosePreparation(
            patient=patient,
            dose_mg=Decimal(300),
            diluent="0.9% NaCl",
            diluent_volume_ml=Decimal(100),
            prepared_at=now - timedelta(days=28 * i + 1),
            expires_at=now - timedelta(days=28 * i + 1) + timedelta(hours=8),
            storage="room",
            status=PreparationStatus.USED,
        )
        for i in range(n)
    )
    checklists = PreInfusionChecklist.objects.bulk_create(
        PreInfusionChecklist(
            patient=patient,
            asked_by=nurse,
            asked_at=bag.prepared_at,
            authorized=True,
            new_neurological_symptoms=False,
            immunocompromised=False,
            immunosuppressants_last_month=False,
            current_infection=False,
        )
        for bag in bags
    )
    infusions = Infusion.objects.bulk_create(
        Infusion(
            patient=patient,
            preparation=bag,
            checklist=checklist,
            status=InfusionStatus.DISCHARGED,
            started_at=bag.prepared_at + timedelta(hours=1),
            ended_at=bag.prepared_at + timedelta(hours=2),
            discharged_at=bag.prepared_at + timedelta(hours=3),
        )
        for bag, checklist in zip(bags, checklists, strict=True)
    )
    InfusionReaction.objects.bulk_create(
        InfusionReaction(
            infusion=infusion,
            severity="mild",
            symptoms=["rash"],
            onset_at=infusion.started_at + timedelta(minutes=10),
        )
        for infusion in infusions
    )
    LabResult.objects.bulk_create(
        LabResult(
            patient=patient,
            analyte=analyte,
            value=Decimal(20 + i % 7),
            unit="U/L" if analyte in ("ALT", "AST") else "10*9/L",
            reference_low=Decimal(1),
            reference_high=Decimal(40 + i % 2),
            collected_at=now - timedelta(days=7 * i + 2),
        )
        for i in range(n)
        for analyte in ("ALT", "AST", "PLT")
    )
    AntibodyTest.objects.bulk_create(
        AntibodyTest(
            patient=patient,
            target="jcv" if i % 2 else "natalizumab",
            result="negative",
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
    Medication.objects.bulk_create(
        Medication(
            patient=patient,
            name=f"Vitamin D {i}",
            category="other",
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
            resolved_on=today - timedelta(days=40 * i),
        )
        for i in range(n)
    )
    TreatmentDecision.objects.bulk_create(
        TreatmentDecision(
            patient=patient,
            action="reauthorize",
            reason=f"Reauthorized {i}",
            decided_by=nurse,
            decided_at=now - timedelta(days=182 * i),
        )
        for i in range(n)
    )
    Alert.objects.bulk_create(build_alert(patient, rule=f"RULE-{i}") for i in range(n))


def test_the_patient_page_costs_the_same_for_5_and_200_records(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    client = client_as(NEUROLOGIST)
    small, large = patients(2)
    history(small, 5, users[NURSE])
    history(large, 200, users[NURSE])
    few = queries(client, reverse("patients:detail", args=[small.id]))
    many = queries(client, reverse("patients:detail", args=[large.id]))
    assert few == many


def held_visits(patient: Patient, n: int, nurse: User) -> None:
    """n planned infusions whose checklist answered "yes", one in three "not authorized"."""
    now = clock.now()
    bags = DosePreparation.objects.bulk_create(
        DosePreparation(
            patient=patient,
            dose_mg=Decimal(300),
            diluent="0.9% NaCl",
            diluent_volume_ml=Decimal(100),
            prepared_at=now - timedelta(minutes=20),
            expires_at=now + timedelta(hours=7),
            storage="room",
        )
        for _ in range(n)
    )
    checklists = PreInfusionChecklist.objects.bulk_create(
        PreInfusionChecklist(
            patient=patient,
            asked_by=nurse,
            asked_at=now - timedelta(minutes=10),
            authorized=i % 3 != 0,
            new_neurological_symptoms=False,
            immunocompromised=i % 2 == 0,
            immunosuppressants_last_month=False,
            current_infection=True,
        )
        for i in range(n)
    )
    Infusion.objects.bulk_create(
        Infusion(patient=patient, preparation=bag, checklist=checklist)
        for bag, checklist in zip(bags, checklists, strict=True)
    )


def test_the_patient_page_costs_the_same_for_5_and_200_held_visits(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    client = client_as(NEUROLOGIST)
    small, large = patients(2)
    held_visits(small, 5, users[NURSE])
    held_visits(large, 200, users[NURSE])
    few = client.get(reverse("patients:detail", args=[small.id])).content.decode()
    assert few.count('class="held-visit"') == 5
    few_queries = queries(client, reverse("patients:detail", args=[small.id]))
    many = queries(client, reverse("patients:detail", args=[large.id]))
    assert few_queries == many


def due_today(group: list[Patient], nurse: User) -> None:
    """Each patient: last infusion 28 days ago, a ready bag and a planned infusion today."""
    for patient in group:
        history(patient, 1, nurse)
    now = clock.now()
    bags = DosePreparation.objects.bulk_create(
        DosePreparation(
            patient=patient,
            dose_mg=Decimal(300),
            diluent="0.9% NaCl",
            diluent_volume_ml=Decimal(100),
            prepared_at=now - timedelta(minutes=20),
            expires_at=now + timedelta(hours=7),
            storage="room",
        )
        for patient in group
        for _ in range(2)
    )
    Infusion.objects.bulk_create(
        Infusion(patient=bag.patient, preparation=bag) for bag in bags[::2]
    )


def test_todays_list_and_the_bag_board_cost_the_same_for_5_and_40_patients(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    nurse, pharmacist = first_requests_made(client_as(NURSE), client_as(PHARMACIST))
    due_today(patients(5), users[NURSE])
    few = (
        queries(nurse, reverse("infusions:today")),
        queries(pharmacist, reverse("infusions:bags")),
    )
    due_today(patients(35, offset=5), users[NURSE])
    many = (
        queries(nurse, reverse("infusions:today")),
        queries(pharmacist, reverse("infusions:bags")),
    )
    assert few == many


def not_due_today(group: list[Patient]) -> None:
    """History that today's pages must not read: for each patient, a dose given 10 days ago
    (its bag used) and a bag left `ready` weeks ago, long expired; for every tenth, a dose
    last given months ago (long overdue: the neurologist's worklist, not the nurse's list)."""
    now = clock.now()
    given_at = [now - timedelta(days=90 if i % 10 == 0 else 10) for i in range(len(group))]
    used = DosePreparation.objects.bulk_create(
        DosePreparation(
            patient=patient, dose_mg=Decimal(300), diluent="0.9% NaCl",
            diluent_volume_ml=Decimal(100), prepared_at=at - timedelta(hours=1),
            expires_at=at + timedelta(hours=7), storage="room", status=PreparationStatus.USED,
        )
        for patient, at in zip(group, given_at, strict=True)
    )  # fmt: skip
    Infusion.objects.bulk_create(
        Infusion(
            patient=bag.patient, preparation=bag, status=InfusionStatus.DISCHARGED,
            started_at=at, ended_at=at + timedelta(minutes=65),
            discharged_at=at + timedelta(minutes=130),
        )
        for bag, at in zip(used, given_at, strict=True)
    )  # fmt: skip
    DosePreparation.objects.bulk_create(
        DosePreparation(
            patient=patient, dose_mg=Decimal(300), diluent="0.9% NaCl",
            diluent_volume_ml=Decimal(100), prepared_at=now - timedelta(days=21),
            expires_at=now - timedelta(days=21) + timedelta(hours=8), storage="room",
        )
        for patient in group
    )  # fmt: skip


def test_todays_list_and_the_bag_board_cost_the_same_with_10_or_1000_patients_in_the_database(
    client_as: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    """The same day's work (10 patients due, their bags) in a database of 10 or of 1,000
    patients: the same queries, the same rows on the pages."""
    nurse, pharmacist = first_requests_made(client_as(NURSE), client_as(PHARMACIST))
    due_today(patients(10), users[NURSE])
    today, bags = reverse("infusions:today"), reverse("infusions:bags")
    few = (queries(nurse, today), queries(pharmacist, bags))
    pages = (nurse.get(today).content.decode(), pharmacist.get(bags).content.decode())
    # Once evaluated, the pages read the clearances the evaluations stored.
    evaluate_patients(Patient.objects.values_list("pk", flat=True))
    few_stored = (queries(nurse, today), queries(pharmacist, bags))
    assert few_stored < few

    not_due_today(patients(990, offset=10))
    assert Patient.objects.count() == 1000

    assert (queries(nurse, today), queries(pharmacist, bags)) == few_stored
    for page, before in zip((nurse.get(today), pharmacist.get(bags)), pages, strict=True):
        shown = [f"Patient {i:05d}" for i in range(1000) if f"Patient {i:05d}" in before]
        assert shown, "the day's patients are on the page"
        text = page.content.decode()
        assert [f"Patient {i:05d}" for i in range(1000) if f"Patient {i:05d}" in text] == shown
