"""The engine's input: one patient, typed and immutable.

These models mirror the Django models; the Django-side snapshot builder fills them. Every
datetime is timezone-aware and normalised to UTC, every id is a string, every collection a
tuple, so a snapshot can be compared, hashed into tests and never changed by a rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _id_to_str(value: Any) -> Any:
    # The Django builder hands over UUID primary keys; the engine only ever needs strings.
    return str(value) if isinstance(value, UUID) else value


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
RecordId = Annotated[str, BeforeValidator(_id_to_str)]

Analyte = Literal["ALT", "AST", "TSH", "FT4", "NEUT", "LYMPH", "MONO", "PLT"]
InfusionStatus = Literal["planned", "running", "stopped", "discharged", "cancelled"]
TreatmentStatus = Literal["active", "suspended", "discontinued"]
DecisionAction = Literal["suspend", "resume", "discontinue", "override", "confirm", "reauthorize"]


class _Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistSnapshot(_Snapshot):
    """The pre-infusion checklist of one visit (TOUCH program), infused or not."""

    id: RecordId
    asked_at: UtcDateTime
    authorized: bool
    new_neurological_symptoms: bool
    immunocompromised: bool
    immunosuppressants_last_month: bool
    current_infection: bool
    cleared_at: UtcDateTime | None = None  # the prescriber's clearance of a "yes" answer
    infusion_id: RecordId | None = None

    @property
    def yes_answers(self) -> tuple[str, ...]:
        """The questions 2 to 5 answered "yes", in checklist order."""
        answers = (
            ("new_neurological_symptoms", self.new_neurological_symptoms),
            ("immunocompromised", self.immunocompromised),
            ("immunosuppressants_last_month", self.immunosuppressants_last_month),
            ("current_infection", self.current_infection),
        )
        return tuple(name for name, answer in answers if answer)


class ReactionSnapshot(_Snapshot):
    id: RecordId
    severity: Literal["mild", "severe"]
    symptoms: tuple[str, ...] = ()
    onset_at: UtcDateTime


class InfusionSnapshot(_Snapshot):
    id: RecordId
    preparation_id: RecordId | None = None
    route: str
    status: InfusionStatus
    started_at: UtcDateTime | None = None
    ended_at: UtcDateTime | None = None
    discharged_at: UtcDateTime | None = None
    checklist: ChecklistSnapshot | None = None
    reactions: tuple[ReactionSnapshot, ...] = ()


class PreparationSnapshot(_Snapshot):
    """One diluted bag (the pharmacist's dose preparation)."""

    id: RecordId
    dose_mg: Decimal
    diluent: str
    diluent_volume_ml: Decimal
    prepared_at: UtcDateTime  # the time of dilution: stability counts from here
    storage: Literal["room", "refrigerated"]
    room_temperature_since: UtcDateTime | None = None  # a refrigerated bag taken out
    frozen: bool = False
    shaken: bool = False
    status: Literal["ready", "used", "discarded"]


class LabResultSnapshot(_Snapshot):
    id: RecordId
    analyte: Analyte
    value: Decimal
    unit: str
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    collected_at: UtcDateTime


class AntibodyTestSnapshot(_Snapshot):
    id: RecordId
    target: Literal["natalizumab", "jcv"]
    result: Literal["positive", "negative", "indeterminate"]
    index: Decimal | None = None
    collected_at: UtcDateTime


class MriStudySnapshot(_Snapshot):
    id: RecordId
    performed_on: date
    gd_enhancing_lesions: int = 0
    new_or_enlarging_t2_lesions: int = 0
    pml_suspected: bool = False


class EdssSnapshot(_Snapshot):
    id: RecordId
    score: Decimal
    assessed_on: date


class RelapseSnapshot(_Snapshot):
    id: RecordId
    onset_on: date


class MedicationSnapshot(_Snapshot):
    id: RecordId
    name: str
    category: Literal[
        "immunosuppressant", "antineoplastic", "tnf-inhibitor", "corticosteroid", "other"
    ]
    started_on: date
    stopped_on: date | None = None


class InfectionSnapshot(_Snapshot):
    id: RecordId
    description: str
    onset_on: date
    resolved_on: date | None = None


class ClinicalEventSnapshot(_Snapshot):
    """New or worsening neurological signs suggestive of PML; jaundice or liver injury."""

    id: RecordId
    kind: Literal["pml-signs", "jaundice", "liver-injury"]
    observed_on: date
    resolved_on: date | None = None


class DecisionSnapshot(_Snapshot):
    """A neurologist's decision, with its written reason.

    `override` lets ONE infusion start despite ONE blocking rule and is consumed when that
    infusion starts; `confirm` is the standing confirmation for POP-PREGNANCY or
    POP-LACTATION; `reauthorize` is the six-monthly REMS (TOUCH) reauthorization.
    """

    id: RecordId
    action: DecisionAction
    rule: str | None = None
    reason: str
    decided_at: UtcDateTime
    consumed_at: UtcDateTime | None = None


def _known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {name!r}") from error
    return name


class PatientSnapshot(_Snapshot):
    id: RecordId
    birth_date: date
    sex: Literal["female", "male", "other", "unknown"]
    indication: Literal["ms", "crohns"]
    treatment_start: date | None = None
    schedule_weeks: Literal[4, 6] = 4
    treatment_status: TreatmentStatus = "active"
    pregnant: bool = False
    breastfeeding: bool = False
    prior_immunosuppressants: bool = False
    clinic_time_zone: Annotated[str, AfterValidator(_known_time_zone)] = "UTC"
    infusions: tuple[InfusionSnapshot, ...] = ()
    preparations: tuple[PreparationSnapshot, ...] = ()
    checklists: tuple[ChecklistSnapshot, ...] = ()  # every visit, infused or not
    lab_results: tuple[LabResultSnapshot, ...] = ()
    antibody_tests: tuple[AntibodyTestSnapshot, ...] = ()
    mri_studies: tuple[MriStudySnapshot, ...] = ()
    edss: tuple[EdssSnapshot, ...] = ()
    relapses: tuple[RelapseSnapshot, ...] = ()
    medications: tuple[MedicationSnapshot, ...] = ()
    infections: tuple[InfectionSnapshot, ...] = ()
    clinical_events: tuple[ClinicalEventSnapshot, ...] = ()
    decisions: tuple[DecisionSnapshot, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_time_zone)


__all__ = [
    "AntibodyTestSnapshot",
    "ChecklistSnapshot",
    "ClinicalEventSnapshot",
    "DecisionSnapshot",
    "EdssSnapshot",
    "InfectionSnapshot",
    "InfusionSnapshot",
    "LabResultSnapshot",
    "MedicationSnapshot",
    "MriStudySnapshot",
    "PatientSnapshot",
    "PreparationSnapshot",
    "ReactionSnapshot",
    "RelapseSnapshot",
]
