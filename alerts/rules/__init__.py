"""The clinical rules engine: pure Python, no Django, no clock, no database.

`evaluate(snapshot, now, config)` turns one patient's snapshot into findings;
`check_infusion(...)` asks the same findings whether an infusion may start.
"""

from .config import PROFILES, RuleConfig, load_config, preparation_expires_at
from .engine import RULE_IDS, evaluate
from .findings import Finding
from .gate import GateResult, check_infusion, findings_and_clearance, is_visit_step
from .next_change import clearance_change, day_list_from, next_change, next_changes
from .pml import PML_RISK_TABLE, PmlRisk, pml_risk
from .snapshot import (
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

__all__ = [
    "PML_RISK_TABLE",
    "PROFILES",
    "RULE_IDS",
    "AntibodyTestSnapshot",
    "ChecklistSnapshot",
    "ClinicalEventSnapshot",
    "DecisionSnapshot",
    "EdssSnapshot",
    "Finding",
    "GateResult",
    "is_visit_step",
    "InfectionSnapshot",
    "InfusionSnapshot",
    "LabResultSnapshot",
    "MedicationSnapshot",
    "MriStudySnapshot",
    "PatientSnapshot",
    "PmlRisk",
    "PreparationSnapshot",
    "ReactionSnapshot",
    "RelapseSnapshot",
    "RuleConfig",
    "check_infusion",
    "clearance_change",
    "day_list_from",
    "evaluate",
    "findings_and_clearance",
    "load_config",
    "next_change",
    "next_changes",
    "pml_risk",
    "preparation_expires_at",
]
