"""Small builders for records in tests: valid by default, any field overridable."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from infusions.models import ACCEPTED_DILUENT, DosePreparation, Infusion, PreInfusionChecklist
from labs.models import LabResult
from natalizumab_monitor import clock
from network.models import Site
from network.services import site_for_new_record
from patients.models import Patient


def make_patient(**fields: Any) -> Patient:
    n = Patient.objects.count() + 1
    values: dict[str, Any] = {
        "mrn": f"T-{n:05d}",
        "given_name": "Test",
        "family_name": f"Patient {n}",
        "birth_date": date(1985, 5, 17),
        "sex": "female",
        "indication": "ms",
        "treatment_start": clock.clinic_today() - timedelta(days=200),
        "schedule_weeks": 4,
    }
    values.update(fields)
    if "site" not in values:  # the first site (the demo's first, when it is loaded)
        values["site"] = Site.objects.order_by("pk").first() or site_for_new_record()
    return Patient.objects.create(**values)


def make_preparation(patient: Patient, **fields: Any) -> DosePreparation:
    prepared_at = fields.pop("prepared_at", clock.now() - timedelta(minutes=30))
    values: dict[str, Any] = {
        "dose_mg": Decimal("300"),
        "diluent": ACCEPTED_DILUENT,
        "diluent_volume_ml": Decimal("100"),
        "storage": "room",
        "prepared_at": prepared_at,
        "expires_at": prepared_at + timedelta(hours=8),
    }
    values.update(fields)
    return DosePreparation.objects.create(patient=patient, **values)


def make_checklist(patient: Patient, asked_by: Any, **answers: Any) -> PreInfusionChecklist:
    values: dict[str, Any] = {
        "asked_at": clock.now(),
        "authorized": True,
        "new_neurological_symptoms": False,
        "immunocompromised": False,
        "immunosuppressants_last_month": False,
        "current_infection": False,
    }
    values.update(answers)
    return PreInfusionChecklist.objects.create(patient=patient, asked_by=asked_by, **values)


def make_infusion(patient: Patient, **fields: Any) -> Infusion:
    """A planned infusion; a new ready bag unless `preparation=` names one (or None)."""
    preparation = (
        fields.pop("preparation") if "preparation" in fields else make_preparation(patient)
    )
    return Infusion.objects.create(patient=patient, preparation=preparation, **fields)


def make_given_infusion(patient: Patient, days_ago: float) -> Infusion:
    """An infusion given `days_ago` (61 min, then the hour of observation), its bag used."""
    started = clock.now() - timedelta(days=days_ago)
    bag = make_preparation(patient, prepared_at=started - timedelta(hours=1), status="used")
    return make_infusion(
        patient,
        preparation=bag,
        status="discharged",
        started_at=started,
        ended_at=started + timedelta(minutes=61),
        discharged_at=started + timedelta(minutes=125),
    )


def make_cleared_patient(**fields: Any) -> Patient:
    """A patient the rules clear for an infusion: three days into treatment, liver baseline done."""
    fields.setdefault("treatment_start", clock.clinic_today() - timedelta(days=3))
    patient = make_patient(**fields)
    for analyte in ("ALT", "AST"):
        LabResult.objects.create(
            patient=patient,
            analyte=analyte,
            value=Decimal(20),
            unit="U/L",
            reference_low=Decimal(7),
            reference_high=Decimal(40),
            collected_at=clock.now() - timedelta(days=5),
        )
    return patient
