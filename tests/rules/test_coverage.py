"""Every rule id of CLINICAL_RULES.md exists in the engine and has a case that fires it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alerts.rules import RULE_IDS, evaluate

from .cases import FIRING, QUIET
from .factories import DOCUMENT, LABEL, NOW, quiet_patient

CLINICAL_RULES = Path(__file__).resolve().parents[2].parent / "shared" / "CLINICAL_RULES.md"
RULE_ROW = re.compile(r"^\|\s*([A-Z][A-Z0-9]{2,}(?:-[A-Z0-9]+)*)\s*\|")


def documented_rule_ids() -> list[str]:
    if not CLINICAL_RULES.exists():
        pytest.skip(f"{CLINICAL_RULES} is not present")
    text = CLINICAL_RULES.read_text(encoding="utf-8")
    return [match.group(1) for line in text.splitlines() if (match := RULE_ROW.match(line))]


def test_the_document_lists_the_rules_it_is_known_to_list() -> None:
    ids = documented_rule_ids()
    assert len(ids) == len(set(ids)) == 35
    assert {"LIVER-3XULN", "PREP-STABILITY", "POP-ELDERLY"} <= set(ids)


def test_every_documented_rule_is_registered_and_no_other() -> None:
    documented = documented_rule_ids()
    assert [rule for rule in documented if rule not in RULE_IDS] == []
    assert [rule for rule in RULE_IDS if rule not in documented] == []


def test_every_documented_rule_has_a_firing_and_a_quiet_case() -> None:
    documented = set(documented_rule_ids())
    assert documented - set(FIRING) == set()
    assert documented - set(QUIET) == set()


@pytest.mark.parametrize("rule", sorted(FIRING))
def test_the_firing_case_fires_its_rule(rule: str) -> None:
    snapshot, now, config = FIRING[rule]()
    assert rule in {finding.rule for finding in evaluate(snapshot, now, config)}


@pytest.mark.parametrize("rule", sorted(QUIET))
def test_the_quiet_case_does_not_fire_its_rule(rule: str) -> None:
    snapshot, now, config = QUIET[rule]()
    fired = [f.message for f in evaluate(snapshot, now, config) if f.rule == rule]
    assert fired == []


def test_a_patient_with_everything_in_order_raises_nothing_in_either_profile() -> None:
    assert evaluate(quiet_patient(), NOW, DOCUMENT) == []
    assert evaluate(quiet_patient(), NOW, LABEL) == []
