"""Properties of the engine over random patients (hypothesis)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.rules import (
    AntibodyTestSnapshot,
    InfectionSnapshot,
    LabResultSnapshot,
    MedicationSnapshot,
    PatientSnapshot,
    RuleConfig,
    check_infusion,
    evaluate,
)
from alerts.rules.engine import run_rules

from .factories import NORMAL_RANGES
from .strategies import configs, nows, patients

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _reversed(snapshot: PatientSnapshot) -> PatientSnapshot:
    """The same patient with every list of records in the opposite order."""
    update = {name: tuple(reversed(value)) for name, value in snapshot if isinstance(value, tuple)}
    return snapshot.model_copy(update=update)


@PROPERTY_SETTINGS
@given(patient=patients(), now=nows, config=configs)
def test_evaluation_is_deterministic_and_ignores_record_order(
    patient: PatientSnapshot, now: datetime, config: RuleConfig
) -> None:
    first = evaluate(patient, now, config)
    assert evaluate(patient, now, config) == first
    assert evaluate(_reversed(patient), now, config) == first


@PROPERTY_SETTINGS
@given(patient=patients(), now=nows, config=configs)
def test_dedup_keys_of_one_evaluation_are_unique_and_name_patient_and_rule(
    patient: PatientSnapshot, now: datetime, config: RuleConfig
) -> None:
    findings = run_rules(patient, now, config)
    keys = [finding.dedup_key for finding in findings]
    assert len(keys) == len(set(keys))
    for finding in findings:
        assert finding.dedup_key.startswith(f"{patient.id}:{finding.rule}:")


def _older_unrelated_records(patient: PatientSnapshot, now: datetime) -> dict[str, tuple[Any, ...]]:
    """Records older than anything of their kind: a normal lab, a negative antibody test,
    a resolved infection and a medication stopped long ago."""
    earliest = min(
        [
            now,
            *(r.collected_at for r in patient.lab_results),
            *(t.collected_at for t in patient.antibody_tests),
        ]
    ) - timedelta(days=30)
    first_day = earliest.date() - timedelta(days=30)
    normal, _, _, unit = NORMAL_RANGES["ALT"]
    return {
        "lab_results": (
            LabResultSnapshot(
                id="older-lab",
                analyte="ALT",
                value=Decimal(normal),
                unit=unit,
                reference_low=None,
                reference_high=Decimal("40"),
                collected_at=earliest,
            ),
        ),
        "antibody_tests": (
            AntibodyTestSnapshot(
                id="older-ab", target="natalizumab", result="negative", collected_at=earliest
            ),
        ),
        "infections": (
            InfectionSnapshot(
                id="older-infection", description="cold", onset_on=first_day, resolved_on=first_day
            ),
        ),
        "medications": (
            MedicationSnapshot(
                id="older-med",
                name="Vitamin D",
                category="other",
                started_on=first_day,
                stopped_on=first_day,
            ),
        ),
    }


@PROPERTY_SETTINGS
@given(
    patient=patients(),
    now=nows,
    config=configs,
    kinds=st.sets(
        st.sampled_from(["lab_results", "antibody_tests", "infections", "medications"]), min_size=1
    ),
)
def test_an_unrelated_older_record_never_removes_a_critical_finding(
    patient: PatientSnapshot, now: datetime, config: RuleConfig, kinds: set[str]
) -> None:
    older = _older_unrelated_records(patient, now)
    more = patient.model_copy(
        update={kind: (*older[kind], *getattr(patient, kind)) for kind in kinds}
    )
    critical = {f.dedup_key for f in evaluate(patient, now, config) if f.severity == "critical"}
    after = {f.dedup_key for f in evaluate(more, now, config) if f.severity == "critical"}
    assert critical <= after


def _numbers(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_numbers(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_numbers(item) for item in value)) if value else set()
    return _found(str(value))


def _found(text: str) -> set[str]:
    """The numbers in a text; a whole number without its leading zeros, so the day of
    "2 Mar 2026" in a message is the "02" of "2026-03-02" in the evidence."""
    return {n if "." in n else str(int(n)) for n in NUMBER.findall(text)}


@PROPERTY_SETTINGS
@given(patient=patients(), now=nows, config=configs)
def test_every_number_a_message_names_is_in_its_evidence(
    patient: PatientSnapshot, now: datetime, config: RuleConfig
) -> None:
    for finding in evaluate(patient, now, config):
        missing = _found(finding.message) - _numbers(finding.evidence)
        assert not missing, (finding.rule, finding.message, finding.evidence)


@PROPERTY_SETTINGS
@given(patient=patients(), now=nows, config=configs)
def test_findings_are_json_and_blocking_findings_are_never_mere_information(
    patient: PatientSnapshot, now: datetime, config: RuleConfig
) -> None:
    for finding in evaluate(patient, now, config):
        as_dict = finding.as_dict()
        assert json.loads(json.dumps(as_dict)) == as_dict
        assert (finding.profile, finding.profile_version) == (config.name, config.version)
        if finding.blocks_infusion:
            assert finding.severity in ("critical", "warning")


@PROPERTY_SETTINGS
@given(patient=patients(), now=nows, config=configs)
def test_the_gate_never_ignores_a_blocking_alert(
    patient: PatientSnapshot, now: datetime, config: RuleConfig
) -> None:
    result = check_infusion(patient, now, config)
    gate_keys = {f.dedup_key for f in (*result.refusals, *result.overridden)}
    alert_keys = {f.dedup_key for f in evaluate(patient, now, config) if f.blocks_infusion}
    assert alert_keys <= gate_keys
    assert result.cleared is (not result.blocking)
    assert result.may_start is (not result.blocking and not result.visit_steps)
    assert all(f.overridable for f in result.overridden)
    assert {f.rule for f in result.overridden}.isdisjoint(
        {f.rule for f in result.blocking if f.overridable}
    )
