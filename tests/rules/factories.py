"""Snapshot factories for the rules engine tests.

`quiet_patient()` is a patient on natalizumab for whom nothing is due and nothing is wrong at
NOW: every test changes one thing and looks at what that one change raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from alerts.rules import (
    AntibodyTestSnapshot,
    ChecklistSnapshot,
    ClinicalEventSnapshot,
    DecisionSnapshot,
    EdssSnapshot,
    Finding,
    InfectionSnapshot,
    InfusionSnapshot,
    LabResultSnapshot,
    MedicationSnapshot,
    MriStudySnapshot,
    PatientSnapshot,
    PreparationSnapshot,
    ReactionSnapshot,
    RelapseSnapshot,
    RuleConfig,
    evaluate,
    load_config,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
DOCUMENT = load_config("document")
LABEL = load_config("label")
PATIENT_ID = "patient-1"

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def at(days: float = 0, *, hours: float = 0, minutes: float = 0) -> datetime:
    """A moment relative to NOW (negative: in the past)."""
    return NOW + timedelta(days=days, hours=hours, minutes=minutes)


def on(days: int = 0) -> date:
    """A clinic day relative to TODAY."""
    return TODAY + timedelta(days=days)


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (test dates avoid month ends)."""
    month_index = day.month - 1 - months
    return date(day.year + month_index // 12, month_index % 12 + 1, day.day)


def checklist(**fields: Any) -> ChecklistSnapshot:
    values: dict[str, Any] = {
        "id": new_id("checklist"),
        "asked_at": at(hours=-1),
        "authorized": True,
        "new_neurological_symptoms": False,
        "immunocompromised": False,
        "immunosuppressants_last_month": False,
        "current_infection": False,
    }
    return ChecklistSnapshot(**(values | fields))


def reaction(**fields: Any) -> ReactionSnapshot:
    values: dict[str, Any] = {
        "id": new_id("reaction"),
        "severity": "severe",
        "symptoms": ("urticaria", "dyspnea"),
        "onset_at": at(-20, minutes=30),
    }
    return ReactionSnapshot(**(values | fields))


def given_infusion(start: datetime, **fields: Any) -> InfusionSnapshot:
    """A discharged infusion: 70 min long, 65 min observation, a clean checklist."""
    infusion_id = fields.pop("id", new_id("infusion"))
    values: dict[str, Any] = {
        "id": infusion_id,
        "route": "iv-infusion",
        "status": "discharged",
        "started_at": start,
        "ended_at": start + timedelta(minutes=70),
        "discharged_at": start + timedelta(minutes=135),
        "checklist": checklist(asked_at=start - timedelta(minutes=30), infusion_id=infusion_id),
    }
    return InfusionSnapshot(**(values | fields))


def planned_infusion(**fields: Any) -> InfusionSnapshot:
    infusion_id = fields.pop("id", new_id("infusion"))
    values: dict[str, Any] = {
        "id": infusion_id,
        "route": "iv-infusion",
        "status": "planned",
        "checklist": checklist(infusion_id=infusion_id),
    }
    return InfusionSnapshot(**(values | fields))


def bag(**fields: Any) -> PreparationSnapshot:
    values: dict[str, Any] = {
        "id": new_id("bag"),
        "dose_mg": Decimal("300"),
        "diluent": "0.9% NaCl",
        "diluent_volume_ml": Decimal("100"),
        "prepared_at": at(hours=-1),
        "storage": "room",
        "status": "ready",
    }
    return PreparationSnapshot(**(values | fields))


NORMAL_RANGES: dict[str, tuple[str, str | None, str | None, str]] = {
    # analyte: (normal value, low, high, unit)
    "ALT": ("25", None, "40", "U/L"),
    "AST": ("22", None, "40", "U/L"),
    "TSH": ("2.1", "0.4", "4.0", "mIU/L"),
    "FT4": ("15", "12", "22", "pmol/L"),
    "NEUT": ("4.2", "1.8", "7.5", "10*9/L"),
    "LYMPH": ("2.5", "1.0", "4.0", "10*9/L"),
    "MONO": ("0.5", "0.2", "1.0", "10*9/L"),
    "PLT": ("250", "150", "400", "10*9/L"),
}


def lab(analyte: str, value: str | Decimal | None = None, **fields: Any) -> LabResultSnapshot:
    normal, low, high, unit = NORMAL_RANGES[analyte]
    values: dict[str, Any] = {
        "id": new_id(f"lab-{analyte.lower()}"),
        "analyte": analyte,
        "value": Decimal(str(value if value is not None else normal)),
        "unit": unit,
        "reference_low": Decimal(low) if low else None,
        "reference_high": Decimal(high) if high else None,
        "collected_at": at(-10),
    }
    return LabResultSnapshot(**(values | fields))


def antibody(
    target: str = "natalizumab", result: str = "negative", **fields: Any
) -> AntibodyTestSnapshot:
    values: dict[str, Any] = {
        "id": new_id(f"ab-{target}"),
        "target": target,
        "result": result,
        "collected_at": at(-10),
    }
    return AntibodyTestSnapshot(**(values | fields))


def mri(**fields: Any) -> MriStudySnapshot:
    values: dict[str, Any] = {"id": new_id("mri"), "performed_on": on(-30)}
    return MriStudySnapshot(**(values | fields))


def edss(score: str, assessed_on: date, **fields: Any) -> EdssSnapshot:
    return EdssSnapshot(
        **({"id": new_id("edss"), "score": Decimal(score), "assessed_on": assessed_on} | fields)
    )


def relapse(onset_on: date, **fields: Any) -> RelapseSnapshot:
    return RelapseSnapshot(**({"id": new_id("relapse"), "onset_on": onset_on} | fields))


def medication(category: str, name: str = "Azathioprine", **fields: Any) -> MedicationSnapshot:
    values: dict[str, Any] = {
        "id": new_id("med"),
        "name": name,
        "category": category,
        "started_on": on(-5),
    }
    return MedicationSnapshot(**(values | fields))


def infection(**fields: Any) -> InfectionSnapshot:
    values: dict[str, Any] = {
        "id": new_id("infection"),
        "description": "urinary tract infection",
        "onset_on": on(-2),
    }
    return InfectionSnapshot(**(values | fields))


def clinical_event(kind: str, **fields: Any) -> ClinicalEventSnapshot:
    values: dict[str, Any] = {"id": new_id("event"), "kind": kind, "observed_on": on(-1)}
    return ClinicalEventSnapshot(**(values | fields))


def decision(action: str, rule: str | None = None, **fields: Any) -> DecisionSnapshot:
    values: dict[str, Any] = {
        "id": new_id(f"decision-{action}"),
        "action": action,
        "rule": rule,
        "reason": "written reason",
        "decided_at": at(hours=-0.5),
    }
    return DecisionSnapshot(**(values | fields))


TREATMENT_START = on(-400)


def quiet_patient(**fields: Any) -> PatientSnapshot:
    """On treatment for 400 days, everything recent and normal: evaluate() finds nothing."""
    values: dict[str, Any] = {
        "id": PATIENT_ID,
        "birth_date": date(1985, 5, 10),
        "sex": "female",
        "indication": "ms",
        "treatment_start": TREATMENT_START,
        "schedule_weeks": 4,
        "treatment_status": "active",
        "infusions": (
            given_infusion(at(-48), id="infusion-a"),
            given_infusion(at(-20), id="infusion-b"),
        ),
        "lab_results": tuple(lab(analyte) for analyte in NORMAL_RANGES),
        "antibody_tests": (antibody("natalizumab"), antibody("jcv")),
        "mri_studies": (mri(),),
        "edss": (edss("2.0", on(-30)),),
        "decisions": (decision("reauthorize", decided_at=at(-30)),),
    }
    return PatientSnapshot(**(values | fields))


def with_records(snapshot: PatientSnapshot, **records: Iterable[Any]) -> PatientSnapshot:
    """The snapshot with records appended to its tuples, e.g. lab_results=[lab("ALT", "130")]."""
    update = {name: (*getattr(snapshot, name), *items) for name, items in records.items()}
    return snapshot.model_copy(update=update)


def findings_for(
    rule: str,
    snapshot: PatientSnapshot,
    now: datetime = NOW,
    config: RuleConfig = DOCUMENT,
) -> list[Finding]:
    return [finding for finding in evaluate(snapshot, now, config) if finding.rule == rule]


def only(
    rule: str, snapshot: PatientSnapshot, now: datetime = NOW, config: RuleConfig = DOCUMENT
) -> Finding:
    found = findings_for(rule, snapshot, now, config)
    assert len(found) == 1, [finding.message for finding in found]
    return found[0]
