from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.rules import RuleConfig, evaluate, load_config, preparation_expires_at

from .factories import DOCUMENT, LABEL, NOW, at, bag, lab, quiet_patient, with_records


def test_the_default_profile_is_the_document() -> None:
    assert load_config() == DOCUMENT
    assert load_config().name == "document"
    assert load_config("label") == LABEL


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule profile 'smpc'"):
        load_config("smpc")


def test_an_override_changes_one_threshold_and_marks_the_version() -> None:
    config = load_config("document", {"liver_uln_multiple": 2.5})
    changed = {
        key for key, value in config.model_dump().items() if value != DOCUMENT.model_dump()[key]
    }
    assert changed == {"liver_uln_multiple", "version"}
    assert config.liver_uln_multiple == Decimal("2.5")
    assert config.version.startswith(f"{DOCUMENT.version}+local.")
    assert len(config.version) <= 20  # the alert table keeps 20 characters


def test_the_version_is_stable_for_the_same_overrides_and_differs_for_others() -> None:
    first = load_config("label", {"reminder_grace_days": 7})
    assert first.version == load_config("label", {"reminder_grace_days": 7}).version
    assert first.version != load_config("label", {"reminder_grace_days": 8}).version
    assert first.prep_stability_hours_refrigerated == 48  # still the label profile


def test_no_overrides_is_the_profile_itself() -> None:
    assert load_config("label", {}) is load_config("label")


def test_an_unknown_threshold_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown rule threshold.*'grace_days'"):
        load_config("document", {"grace_days": 7})


@pytest.mark.parametrize(
    "overrides",
    [
        {"interval_days": "twenty-eight"},
        {"interval_days": True},
        {"interval_days": 28.5},
        {"interval_days": 0},
        {"thyroid_due_enabled": "yes"},
        {"liver_uln_multiple": "abc"},
        {"liver_uln_multiple": -1},
        {"observation_first_infusions": 0},
        {"mri_pml_surveillance_months": 12},
        {"jcv_index_low": "2.0"},
        {"early_interval_days": 40},
    ],
)
def test_a_bad_value_is_refused_with_a_clear_value_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid rule threshold override") as raised:
        load_config("document", overrides)
    assert not isinstance(raised.value, ValidationError)


def test_name_and_version_belong_to_the_profile() -> None:
    with pytest.raises(ValueError, match="unknown rule threshold"):
        load_config("document", {"name": "label"})


def test_the_configuration_is_immutable() -> None:
    with pytest.raises(ValidationError):
        DOCUMENT.interval_days = 14  # type: ignore[misc]


def test_a_configuration_needs_a_name_and_version() -> None:
    with pytest.raises(ValidationError):
        RuleConfig()  # type: ignore[call-arg]


def test_findings_carry_the_overridden_version() -> None:
    config = load_config("document", {"liver_uln_multiple": "2"})
    patient = with_records(quiet_patient(), lab_results=[lab("ALT", "80")])
    [finding] = evaluate(patient, NOW, config)
    assert (finding.rule, finding.profile, finding.profile_version) == (
        "LIVER-3XULN",
        "document",
        config.version,
    )
    assert "at or above 2 x ULN" in finding.message


def test_preparation_expiry_by_storage_and_profile() -> None:
    room = bag(storage="room", prepared_at=at(hours=-1))
    cold = bag(storage="refrigerated", prepared_at=at(hours=-1))
    taken_out = bag(
        storage="refrigerated", prepared_at=at(hours=-1), room_temperature_since=at(minutes=-5)
    )
    assert preparation_expires_at(room, DOCUMENT) == room.prepared_at + timedelta(hours=8)
    assert preparation_expires_at(cold, DOCUMENT) == cold.prepared_at + timedelta(hours=24)
    assert preparation_expires_at(cold, LABEL) == cold.prepared_at + timedelta(hours=48)
    assert preparation_expires_at(taken_out, LABEL) == taken_out.prepared_at + timedelta(hours=8)
