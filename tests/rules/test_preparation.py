from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from alerts.rules import (
    PatientSnapshot,
    PreparationSnapshot,
    RuleConfig,
    load_config,
    preparation_expires_at,
)

from .factories import DOCUMENT, LABEL, NOW, PATIENT_ID, at, bag, findings_for, only, quiet_patient


def _with_bag(**fields: object) -> tuple[PreparationSnapshot, PatientSnapshot]:
    prep = bag(**fields)
    return prep, quiet_patient(preparations=(prep,))


# PREP-DILUENT ---------------------------------------------------------------------------


def test_a_diluent_other_than_saline_blocks_the_infusion() -> None:
    prep, patient = _with_bag(diluent="5% glucose")
    finding = only("PREP-DILUENT", patient)
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "critical",
        "block-infusion",
        True,
    )
    assert "'5% glucose'" in finding.message and "0.9% NaCl" in finding.message
    assert finding.evidence["diluent"] == "5% glucose"
    assert finding.dedup_key == f"{PATIENT_ID}:PREP-DILUENT:{prep.id}"


@pytest.mark.parametrize("written", ["0.9% NaCl", "0.9 % nacl", " 0.9%  NACL "])
def test_saline_is_accepted_however_it_is_spaced_or_cased(written: str) -> None:
    _, patient = _with_bag(diluent=written)
    assert findings_for("PREP-DILUENT", patient) == []


def test_used_and_discarded_bags_are_not_checked() -> None:
    for status in ("used", "discarded"):
        _, patient = _with_bag(diluent="water", dose_mg=Decimal("1"), shaken=True, status=status)
        assert [f.rule for f in findings_for("PREP-DILUENT", patient)] == []
        assert findings_for("PREP-DOSE", patient) == findings_for("PREP-HANDLING", patient) == []


# PREP-DOSE ------------------------------------------------------------------------------


@pytest.mark.parametrize(("dose", "volume"), [("250", "100"), ("300", "90"), ("600", "100")])
def test_a_dose_or_volume_other_than_300_mg_in_100_ml_blocks(dose: str, volume: str) -> None:
    _, patient = _with_bag(dose_mg=Decimal(dose), diluent_volume_ml=Decimal(volume))
    finding = only("PREP-DOSE", patient)
    assert finding.action == "block-infusion" and finding.severity == "critical"
    assert f"holds {dose} mg in {volume} mL" in finding.message
    assert finding.evidence["dose_mg"] == dose and finding.evidence["required_dose_mg"] == "300"


def test_300_mg_in_100_ml_passes_whatever_the_decimal_places() -> None:
    _, patient = _with_bag(dose_mg=Decimal("300.00"), diluent_volume_ml=Decimal("100.0"))
    assert findings_for("PREP-DOSE", patient) == []


# PREP-STABILITY -------------------------------------------------------------------------


def test_a_room_temperature_bag_at_exactly_8_hours_is_still_usable() -> None:
    prep, patient = _with_bag(prepared_at=at(hours=-8))
    finding = only("PREP-STABILITY", patient)
    assert finding.severity == "warning" and not finding.blocks_infusion
    assert finding.evidence["expired"] is False
    assert preparation_expires_at(prep, DOCUMENT) == NOW


def test_a_room_temperature_bag_at_8_hours_1_minute_is_expired_and_blocks() -> None:
    prep, patient = _with_bag(prepared_at=at(hours=-8, minutes=-1))
    finding = only("PREP-STABILITY", patient)
    assert (finding.severity, finding.action) == ("critical", "block-infusion")
    assert finding.evidence["limit_hours"] == 8
    assert "expired at" in finding.message and "limit 8 h" in finding.message


def test_the_warning_starts_60_minutes_before_expiry() -> None:
    _, warned = _with_bag(prepared_at=at(hours=-7))
    _, quiet = _with_bag(prepared_at=at(hours=-7, minutes=1))
    warning = only("PREP-STABILITY", warned)
    assert warning.evidence["expires_at"] == "2026-03-02T11:00:00Z"  # 60 min after NOW
    assert "expires at" in warning.message and "limit 8 h" in warning.message
    assert findings_for("PREP-STABILITY", quiet) == []


def test_warning_and_expiry_of_one_bag_share_one_dedup_key() -> None:
    prep, patient = _with_bag(prepared_at=at(hours=-7, minutes=-30))
    warning = only("PREP-STABILITY", patient)
    expired = only("PREP-STABILITY", patient, now=NOW + timedelta(hours=1))
    assert (warning.severity, expired.severity) == ("warning", "critical")
    assert warning.dedup_key == expired.dedup_key == f"{PATIENT_ID}:PREP-STABILITY:{prep.id}"


@pytest.mark.parametrize(
    ("config", "hours", "expired"),
    [
        (DOCUMENT, 24, False),
        (DOCUMENT, 24 + 1 / 60, True),
        (LABEL, 24 + 1 / 60, False),
        (LABEL, 48, False),
        (LABEL, 48 + 1 / 60, True),
    ],
)
def test_refrigerated_limit_is_24_hours_in_the_document_and_48_in_the_label(
    config: RuleConfig, hours: float, expired: bool
) -> None:
    _, patient = _with_bag(storage="refrigerated", prepared_at=at(hours=-hours))
    findings = findings_for("PREP-STABILITY", patient, config=config)
    assert [f.blocks_infusion for f in findings if f.evidence["expired"]] == (
        [True] if expired else []
    )


def test_a_refrigerated_bag_that_was_at_room_temperature_keeps_the_8_hour_limit() -> None:
    prep, patient = _with_bag(
        storage="refrigerated", prepared_at=at(hours=-9), room_temperature_since=at(hours=-2)
    )
    for config in (DOCUMENT, LABEL):
        finding = only("PREP-STABILITY", patient, config=config)
        assert finding.blocks_infusion and finding.evidence["limit_hours"] == 8
        assert "at room temperature since" in finding.message
        assert preparation_expires_at(prep, config) == prep.prepared_at + timedelta(hours=8)


def test_the_expiry_is_shown_in_the_clinic_time_zone() -> None:
    prep = bag(prepared_at=at(hours=-8, minutes=-5))
    patient = quiet_patient(preparations=(prep,), clinic_time_zone="Europe/Berlin")
    finding = only("PREP-STABILITY", patient)
    # NOW is 10:00 UTC, 11:00 in Berlin in March; the bag expired at 09:55 UTC.
    assert "expired at 2 Mar 2026 10:55" in finding.message
    assert finding.evidence["expires_at"] == "2026-03-02T09:55:00Z"


def test_a_site_can_shorten_the_room_temperature_limit() -> None:
    config = load_config("document", {"prep_stability_hours_room": 6})
    _, patient = _with_bag(prepared_at=at(hours=-6, minutes=-1))
    assert only("PREP-STABILITY", patient, config=config).blocks_infusion
    assert findings_for("PREP-STABILITY", patient) == []


# PREP-HANDLING --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frozen", "shaken", "words"),
    [(True, False, "was frozen"), (False, True, "was shaken"), (True, True, "frozen and shaken")],
)
def test_a_frozen_or_shaken_bag_blocks(frozen: bool, shaken: bool, words: str) -> None:
    _, patient = _with_bag(frozen=frozen, shaken=shaken)
    finding = only("PREP-HANDLING", patient)
    assert finding.action == "block-infusion" and finding.severity == "critical"
    assert words in finding.message and "discard" in finding.message


def test_a_bag_handled_properly_raises_nothing() -> None:
    _, patient = _with_bag()
    assert [f.rule for f in findings_for("PREP-HANDLING", patient)] == []
