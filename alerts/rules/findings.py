"""What the engine says: one finding per rule and cause."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from .config import RuleConfig

Severity = Literal["critical", "warning", "info"]
Action = Literal["suspend", "block-infusion", "discontinue", "remind", "inform"]

BLOCKING_ACTIONS: frozenset[str] = frozenset({"suspend", "block-infusion", "discontinue"})
SEVERITY_RANK: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


def format_decimal(value: Decimal) -> str:
    """A Decimal as the clinic writes it: never in exponent form, precision kept."""
    return format(value, "f")


def format_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the API shows times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_json_value(value: Any) -> Any:
    """Evidence as plain JSON values; Decimals and times become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("evidence keys must be strings")
        return {key: to_json_value(item) for key, item in value.items()}
    raise ValueError(f"evidence value of type {type(value).__name__} is not JSON-serialisable")


def dedup_key(patient_id: str, rule: str, cause: str) -> str:
    """Stable identity of a finding: the patient, the rule and the record (or due date)."""
    return f"{patient_id}:{rule}:{cause}"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    severity: Severity
    action: Action
    message: str
    evidence: dict[str, Any]
    source: str
    profile: str
    profile_version: str
    dedup_key: str
    # Not part of the API shape: a treatment status or a "never re-treat" cannot be overridden.
    overridable: bool = True

    @field_validator("evidence", mode="before")
    @classmethod
    def _json_evidence(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("evidence must be a dict")
        return to_json_value(value)

    @property
    def blocks_infusion(self) -> bool:
        return self.action in BLOCKING_ACTIONS

    def as_dict(self) -> dict[str, Any]:
        """The API finding shape (API.md) plus `profile_version`."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "action": self.action,
            "message": self.message,
            "evidence": copy.deepcopy(self.evidence),
            "source": self.source,
            "profile": self.profile,
            "profile_version": self.profile_version,
            "dedup_key": self.dedup_key,
        }


def make_finding(
    *,
    patient_id: str,
    config: RuleConfig,
    rule: str,
    cause: str,
    severity: Severity,
    action: Action,
    message: str,
    evidence: dict[str, Any],
    source: str,
    overridable: bool = True,
) -> Finding:
    """A finding stamped with the profile that raised it and its dedup key."""
    return Finding(
        rule=rule,
        severity=severity,
        action=action,
        message=message,
        evidence=evidence,
        source=source,
        profile=config.name,
        profile_version=config.version,
        dedup_key=dedup_key(patient_id, rule, cause),
        overridable=overridable,
    )
