"""Every threshold of the rules, in one typed, immutable configuration.

Two profiles ship (CLINICAL_RULES.md, "Rule profiles"): `document`, the numbers of the
source document as written, and `label`, the current prescribing information where it
differs. A site changes a single threshold through `load_config(overrides=...)`, never by
editing code; the overridden configuration gets a version suffix so that an alert always
records exactly which thresholds raised it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .snapshot import PreparationSnapshot

# Strict: a bool or a string is not silently taken for a number of days.
Days = Annotated[int, Field(strict=True, gt=0)]
Hours = Annotated[int, Field(strict=True, gt=0)]
Minutes = Annotated[int, Field(strict=True, ge=0)]
Count = Annotated[int, Field(strict=True, gt=0)]
Switch = Annotated[bool, Field(strict=True)]
Amount = Annotated[Decimal, Field(gt=0)]


class RuleConfig(BaseModel):
    """Thresholds of every rule; defaults are the `document` profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str

    # Dose preparation
    prep_dose_mg: Amount = Decimal("300")
    prep_diluent_volume_ml: Amount = Decimal("100")
    prep_accepted_diluents: tuple[str, ...] = ("0.9% NaCl",)
    prep_stability_hours_room: Hours = 8
    prep_stability_hours_refrigerated: Hours = 24
    prep_expiry_warning_minutes: Minutes = 60

    # Infusion
    infusion_route: str = "iv-infusion"
    infusion_min_minutes: Minutes = 60
    observation_minutes: Minutes = 60
    observation_first_infusions: Count | None = None  # None: observe after every infusion
    hypersensitivity_symptoms: tuple[str, ...] = (
        "urticaria",
        "hypotension",
        "dyspnea",
        "anaphylaxis",
    )
    hypersensitivity_never_retreat: Switch = False
    interval_days: Days = 28
    extended_interval_allowed: Switch = False  # honour a course's schedule_weeks == 6
    extended_interval_days: Days = 42
    early_interval_days: Days = 21
    interval_overdue_after_days: Annotated[int, Field(strict=True, ge=0)] = 7

    # Laboratory monitoring
    liver_uln_multiple: Amount = Decimal("3.0")
    liver_injury_events_suspend: Switch = False
    liver_interval_days: Days = 91
    thyroid_due_enabled: Switch = True
    thyroid_abnormal_enabled: Switch = True
    thyroid_interval_days: Days = 182
    ada_due_enabled: Switch = True
    ada_interval_days: Days = 84
    ada_persistence_days: Days = 42

    # PML risk
    jcv_interval_days: Days = 182
    jcv_index_low: Amount = Decimal("0.9")
    jcv_index_high: Amount = Decimal("1.5")
    pml_high_risk_after_months: Count = 24
    mri_pml_surveillance_months: Annotated[int, Field(strict=True, ge=3, le=6)] = 6

    # Imaging and clinical course
    mri_interval_days: Days = 365
    edss_interval_days: Days = 182
    edss_baseline_cutoff: Amount = Decimal("5.5")
    edss_step_at_or_below_cutoff: Amount = Decimal("1.0")
    edss_step_above_cutoff: Amount = Decimal("0.5")
    relapse_window_days: Days = 365
    relapse_warning_count: Count = 2
    rems_interval_days: Days = 182

    # Reminders and populations
    reminder_grace_days: Annotated[int, Field(strict=True, ge=0)] = 14
    adult_age: Count = 18
    elderly_age: Count = 65

    @model_validator(mode="after")
    def _consistent(self) -> RuleConfig:
        if self.jcv_index_low >= self.jcv_index_high:
            raise ValueError("jcv_index_low must be below jcv_index_high")
        if self.early_interval_days >= self.interval_days:
            raise ValueError("early_interval_days must be below interval_days")
        if not self.prep_accepted_diluents:
            raise ValueError("prep_accepted_diluents needs at least one diluent")
        return self

    @property
    def mri_pml_surveillance_days(self) -> int:
        # The timing conventions: 3 months are 91 days, 6 months 182.
        return round(self.mri_pml_surveillance_months * 91 / 3)

    def dosing_interval_days(self, schedule_weeks: int) -> int:
        """Days from one dose to the next for a course on `schedule_weeks`."""
        if schedule_weeks == 6 and self.extended_interval_allowed:
            return self.extended_interval_days
        return self.interval_days


DOCUMENT = RuleConfig(name="document", version="1.0")

LABEL = RuleConfig(
    name="label",
    version="1.0",
    prep_stability_hours_refrigerated=48,
    observation_first_infusions=12,
    hypersensitivity_never_retreat=True,
    extended_interval_allowed=True,
    liver_injury_events_suspend=True,
    thyroid_due_enabled=False,
    thyroid_abnormal_enabled=False,
    ada_due_enabled=False,
)

PROFILES: Mapping[str, RuleConfig] = MappingProxyType({"document": DOCUMENT, "label": LABEL})

_FIXED_BY_PROFILE = frozenset({"name", "version"})


def load_config(
    profile: str = "document", overrides: Mapping[str, Any] | None = None
) -> RuleConfig:
    """The named profile, with single thresholds replaced by `overrides`.

    Raises ValueError for an unknown profile, an unknown threshold, or a value of the wrong
    type or range.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown rule profile {profile!r}; choose one of {sorted(PROFILES)}")
    base = PROFILES[profile]
    if not overrides:
        return base
    known = set(RuleConfig.model_fields) - _FIXED_BY_PROFILE
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"unknown rule threshold(s) {unknown}; known thresholds are {sorted(known)}"
        )
    values = {field: getattr(base, field) for field in RuleConfig.model_fields}
    values.update(overrides)
    values["version"] = f"{base.version}+local.{_fingerprint(overrides)}"
    try:
        return RuleConfig(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'config'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ValueError(f"invalid rule threshold override: {problems}") from None


def _fingerprint(overrides: Mapping[str, Any]) -> str:
    text = json.dumps(dict(sorted(overrides.items())), default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def stability_limit_hours(prep: PreparationSnapshot, config: RuleConfig) -> int:
    """Hours from dilution a bag stays usable.

    A refrigerated bag that ever spent time at room temperature keeps the room limit.
    """
    if prep.storage == "room" or prep.room_temperature_since is not None:
        return config.prep_stability_hours_room
    return config.prep_stability_hours_refrigerated


def preparation_expires_at(prep: PreparationSnapshot, config: RuleConfig) -> datetime:
    """The last moment the bag may be used (inclusive: at exactly 8 h 00 min it still is)."""
    return prep.prepared_at + timedelta(hours=stability_limit_hours(prep, config))
