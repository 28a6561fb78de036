"""The label profile differs from the document exactly where CLINICAL_RULES.md says so."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from alerts.rules import (
    PROFILES,
    Finding,
    InfusionSnapshot,
    LabResultSnapshot,
    PatientSnapshot,
    evaluate,
)

from .factories import (
    DOCUMENT,
    LABEL,
    NOW,
    antibody,
    at,
    bag,
    clinical_event,
    decision,
    findings_for,
    given_infusion,
    lab,
    quiet_patient,
    reaction,
)

LABEL_DIFFERENCES = {
    "prep_stability_hours_refrigerated": (24, 48),
    "observation_first_infusions": (None, 12),
    "hypersensitivity_never_retreat": (False, True),
    "extended_interval_allowed": (False, True),
    "liver_injury_events_suspend": (False, True),
    "thyroid_due_enabled": (True, False),
    "thyroid_abnormal_enabled": (True, False),
    "ada_due_enabled": (True, False),
}
RULES_THAT_DIFFER = {
    "PREP-STABILITY",
    "INF-OBSERVATION",
    "INF-HYPERSENSITIVITY",
    "INF-INTERVAL",
    "LIVER-3XULN",
    "THYROID-DUE",
    "THYROID-ABNORMAL",
    "ADA-DUE",
}


def test_two_named_and_versioned_profiles_ship() -> None:
    assert set(PROFILES) == {"document", "label"}
    assert (DOCUMENT.name, LABEL.name) == ("document", "label")
    assert DOCUMENT.version and LABEL.version


def test_the_profiles_differ_in_exactly_the_label_column() -> None:
    document, label = DOCUMENT.model_dump(), LABEL.model_dump()
    differing = {key for key in document if document[key] != label[key]} - {"name"}
    assert differing == set(LABEL_DIFFERENCES)
    for key, (in_document, in_label) in LABEL_DIFFERENCES.items():
        assert (document[key], label[key]) == (in_document, in_label)


def _thirteen_infusions(**last: object) -> tuple[InfusionSnapshot, ...]:
    """13 infusions 28 days apart, the last one 10 days ago with `last` fields."""
    starts = [at(-10 - 28 * (13 - number)) for number in range(1, 14)]
    infusions = [given_infusion(start, id=f"infusion-{n}") for n, start in enumerate(starts, 1)]
    infusions[-1] = given_infusion(starts[-1], id="infusion-13", **last)
    return tuple(infusions)


def _early_discharge() -> PatientSnapshot:
    return quiet_patient(infusions=_thirteen_infusions(discharged_at=at(-10, minutes=70 + 30)))


def _resumed_after_reaction() -> PatientSnapshot:
    infusion = given_infusion(at(-20), reactions=(reaction(onset_at=at(-20, minutes=15)),))
    return quiet_patient(infusions=(infusion,), decisions=(decision("resume", decided_at=at(-19)),))


def _rest(patient: PatientSnapshot, *analytes: str) -> tuple[LabResultSnapshot, ...]:
    return tuple(r for r in patient.lab_results if r.analyte not in analytes)


# One scenario per label difference: the rule answers differently, and nothing else does.
SCENARIOS: dict[str, Callable[[], PatientSnapshot]] = {
    "PREP-STABILITY": lambda: quiet_patient(
        preparations=(bag(storage="refrigerated", prepared_at=at(hours=-30)),)
    ),
    "INF-OBSERVATION": _early_discharge,
    "INF-HYPERSENSITIVITY": _resumed_after_reaction,
    "INF-INTERVAL": lambda: quiet_patient(schedule_weeks=6, infusions=(given_infusion(at(-40)),)),
    "LIVER-3XULN": lambda: quiet_patient(clinical_events=(clinical_event("liver-injury"),)),
    "THYROID-DUE": lambda: quiet_patient(
        lab_results=(
            *_rest(quiet_patient(), "TSH", "FT4"),
            lab("TSH", collected_at=at(-200)),
            lab("FT4", collected_at=at(-200)),
        )
    ),
    "THYROID-ABNORMAL": lambda: quiet_patient(
        lab_results=(*quiet_patient().lab_results, lab("FT4", "30", collected_at=at(-1)))
    ),
    "ADA-DUE": lambda: quiet_patient(
        antibody_tests=(antibody("jcv"), antibody(collected_at=at(-90)))
    ),
}


def _shape(findings: list[Finding]) -> set[tuple[str, str, str, str]]:
    return {(f.rule, f.dedup_key, f.severity, f.action) for f in findings}


def test_every_rule_with_a_label_column_has_a_scenario() -> None:
    assert set(SCENARIOS) == RULES_THAT_DIFFER


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_the_scenario_changes_only_its_own_rule(rule: str) -> None:
    patient = SCENARIOS[rule]()
    document, label = evaluate(patient, NOW, DOCUMENT), evaluate(patient, NOW, LABEL)
    assert {shape[0] for shape in _shape(document) ^ _shape(label)} == {rule}


def _everything() -> PatientSnapshot:
    return quiet_patient(
        pregnant=True,
        infusions=(*_early_discharge().infusions, *_resumed_after_reaction().infusions),
        preparations=(bag(storage="refrigerated", prepared_at=at(hours=-30)), bag(shaken=True)),
        clinical_events=(clinical_event("jaundice"), clinical_event("pml-signs")),
        lab_results=(
            *quiet_patient().lab_results,
            lab("ALT", "500"),
            lab("TSH", "9", collected_at=at(-1)),
        ),
        antibody_tests=(
            antibody("jcv", "positive", index=Decimal("3")),
            antibody(result="positive"),
        ),
        decisions=_resumed_after_reaction().decisions,
    )


def test_a_patient_with_everything_differs_only_in_rules_with_a_label_column() -> None:
    patient = _everything()
    document, label = evaluate(patient, NOW, DOCUMENT), evaluate(patient, NOW, LABEL)
    assert {shape[0] for shape in _shape(document) ^ _shape(label)} <= RULES_THAT_DIFFER
    assert {f.rule for f in document} & {
        "PREP-HANDLING",
        "PML-SUSPECTED",
        "ADA-POSITIVE",
        "POP-PREGNANCY",
    }


def test_each_finding_records_the_profile_that_raised_it() -> None:
    patient = _everything()
    assert {(f.profile, f.profile_version) for f in evaluate(patient, NOW, LABEL)} == {
        ("label", LABEL.version)
    }
    assert {f.profile for f in evaluate(patient, NOW, DOCUMENT)} == {"document"}


def test_refrigerated_bag_of_30_hours_expired_in_document_usable_in_label() -> None:
    patient = quiet_patient(preparations=(bag(storage="refrigerated", prepared_at=at(hours=-30)),))
    assert findings_for("PREP-STABILITY", patient)[0].blocks_infusion
    assert findings_for("PREP-STABILITY", patient, config=LABEL) == []


def test_jaundice_suspends_only_in_the_label_profile() -> None:
    patient = quiet_patient(clinical_events=(clinical_event("jaundice"),))
    assert findings_for("LIVER-3XULN", patient) == []
    assert findings_for("LIVER-3XULN", patient, config=LABEL)[0].action == "suspend"


def test_the_label_keeps_every_other_threshold_of_the_document() -> None:
    assert LABEL.liver_uln_multiple == DOCUMENT.liver_uln_multiple == Decimal("3.0")
    assert LABEL.prep_stability_hours_room == DOCUMENT.prep_stability_hours_room == 8
    assert LABEL.infusion_min_minutes == DOCUMENT.infusion_min_minutes == 60
