from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from alerts.rules import (
    GateResult,
    PatientSnapshot,
    PreparationSnapshot,
    RuleConfig,
    check_infusion,
    evaluate,
)

from .factories import (
    DOCUMENT,
    LABEL,
    NOW,
    antibody,
    at,
    bag,
    checklist,
    decision,
    given_infusion,
    lab,
    medication,
    planned_infusion,
    quiet_patient,
    reaction,
    with_records,
)

VISIT = "visit"
BAG = "bag-ready"


def _ready(**fields: object) -> PatientSnapshot:
    """A quiet patient with a planned infusion (clean checklist) and a fresh bag for it."""
    values: dict[str, object] = {
        "infusions": (
            *quiet_patient().infusions,
            planned_infusion(id=VISIT, preparation_id=BAG),
        ),
        "preparations": (bag(id=BAG),),
    }
    return quiet_patient(**(values | fields))


def _gate(
    patient: PatientSnapshot, config: RuleConfig = DOCUMENT, **chosen: str | None
) -> GateResult:
    return check_infusion(patient, NOW, config, infusion_id=VISIT, **chosen)


def _blocking_rules(result: GateResult) -> list[str]:
    """What a start refuses on: the patient's blocks and the visit's missing steps."""
    return [finding.rule for finding in result.refusals]


def test_a_patient_in_order_with_a_fresh_bag_is_cleared() -> None:
    result = _gate(_ready())
    assert (result.cleared, result.blocking, result.overridden) == (True, (), ())
    assert result.may_start and result.visit_steps == ()
    shape = result.as_dict()
    # The last dose was 20 days ago: the nurse sees the early dose before starting.
    assert [w["rule"] for w in shape.pop("warnings")] == ["INF-INTERVAL"]
    assert shape == {
        "cleared": True,
        "blocking": [],
        "visit_steps": [],
        "overridden": [],
        "overrides_used": [],
        "profile": "document",
        "profile_version": DOCUMENT.version,
    }


def _persistent_antibodies() -> PatientSnapshot:
    positives = (
        antibody(result="positive", collected_at=at(-60)),
        antibody(result="positive", collected_at=at(-1)),
    )
    return _ready(antibody_tests=(antibody("jcv"), *positives))


@pytest.mark.parametrize(
    ("patient", "rule", "action"),
    [
        (lambda: with_records(_ready(), lab_results=[lab("AST", "150")]), "LIVER-3XULN", "suspend"),
        (
            lambda: with_records(_ready(), medications=[medication("immunosuppressant")]),
            "MED-IMMUNOSUPPRESSANT",
            "block-infusion",
        ),
        (_persistent_antibodies, "ADA-PERSISTENT", "discontinue"),
    ],
)
def test_each_blocking_action_blocks(
    patient: Callable[[], PatientSnapshot], rule: str, action: str
) -> None:
    result = _gate(patient())
    assert not result.may_start
    assert [(f.rule, f.action) for f in result.refusals] == [(rule, action)]


def test_warnings_and_information_never_block() -> None:
    patient = with_records(
        _ready(), medications=[medication("corticosteroid")], lab_results=[lab("PLT", "100")]
    )
    assert {f.rule for f in evaluate(patient, NOW, DOCUMENT)} == {
        "MED-IMMUNOSUPPRESSANT",
        "CBC-PLATELETS",
    }
    assert _gate(patient).may_start


def test_the_gate_and_the_alerts_agree() -> None:
    patient = with_records(
        _ready(), lab_results=[lab("ALT", "150")], medications=[medication("tnf-inhibitor")]
    )
    alerts = {f.dedup_key for f in evaluate(patient, NOW, DOCUMENT) if f.blocks_infusion}
    assert {f.dedup_key for f in _gate(patient).refusals} == alerts


# Overrides ------------------------------------------------------------------------------


def test_an_override_covers_its_rule_for_one_infusion() -> None:
    override = decision("override", "MED-IMMUNOSUPPRESSANT")
    patient = with_records(
        _ready(), medications=[medication("immunosuppressant")], decisions=[override]
    )
    result = _gate(patient)
    assert result.may_start
    assert [f.rule for f in result.overridden] == ["MED-IMMUNOSUPPRESSANT"]
    assert result.overrides_used == (override.id,)


def test_an_override_covers_exactly_one_rule() -> None:
    patient = with_records(
        _ready(),
        medications=[medication("immunosuppressant")],
        lab_results=[lab("ALT", "150")],
        decisions=[decision("override", "MED-IMMUNOSUPPRESSANT")],
    )
    result = _gate(patient)
    assert _blocking_rules(result) == ["LIVER-3XULN"]
    assert [f.rule for f in result.overridden] == ["MED-IMMUNOSUPPRESSANT"]


def test_a_consumed_override_no_longer_covers() -> None:
    used = decision("override", "MED-IMMUNOSUPPRESSANT", consumed_at=at(-1))
    patient = with_records(
        _ready(), medications=[medication("immunosuppressant")], decisions=[used]
    )
    result = _gate(patient)
    assert _blocking_rules(result) == ["MED-IMMUNOSUPPRESSANT"] and result.overrides_used == ()


def test_of_two_open_overrides_for_one_rule_the_oldest_is_used() -> None:
    older = decision("override", "MED-IMMUNOSUPPRESSANT", decided_at=at(-2))
    newer = decision("override", "MED-IMMUNOSUPPRESSANT", decided_at=at(-1))
    patient = with_records(
        _ready(), medications=[medication("immunosuppressant")], decisions=[newer, older]
    )
    assert _gate(patient).overrides_used == (older.id,)


@pytest.mark.parametrize("status", ["suspended", "discontinued"])
def test_a_suspended_or_discontinued_course_cannot_be_overridden(status: str) -> None:
    patient = with_records(
        _ready(treatment_status=status), decisions=[decision("override", "INF-CHECKLIST")]
    )
    result = _gate(patient)
    assert _blocking_rules(result) == ["INF-CHECKLIST"]
    assert result.refusals[0].evidence["reason"] == f"treatment-{status}"
    assert result.overrides_used == ()


def test_an_override_of_a_checklist_answer_is_possible() -> None:
    visit = planned_infusion(
        id=VISIT, preparation_id=BAG, checklist=checklist(infusion_id=VISIT, current_infection=True)
    )
    patient = _ready(
        infusions=(*quiet_patient().infusions, visit),
        decisions=(*quiet_patient().decisions, decision("override", "INF-CHECKLIST")),
    )
    assert _gate(patient).may_start


def test_never_re_treat_cannot_be_overridden_in_the_label_profile() -> None:
    reacted = given_infusion(at(-20), reactions=(reaction(onset_at=at(-20, minutes=10)),))
    patient = _ready(
        infusions=(reacted, planned_infusion(id=VISIT, preparation_id=BAG)),
        decisions=(*quiet_patient().decisions, decision("override", "INF-HYPERSENSITIVITY")),
    )
    assert _gate(patient, DOCUMENT).may_start
    assert _blocking_rules(_gate(patient, LABEL)) == ["INF-HYPERSENSITIVITY"]


# The chosen bag -------------------------------------------------------------------------


def test_an_expired_bag_blocks() -> None:
    patient = _ready(preparations=(bag(id=BAG, prepared_at=at(hours=-8, minutes=-1)),))
    result = _gate(patient)
    assert _blocking_rules(result) == ["PREP-STABILITY"]
    assert result.refusals[0].severity == "critical"


@pytest.mark.parametrize(
    ("problem", "rule"),
    [
        ({"prepared_at": at(hours=-8, minutes=-1)}, "PREP-STABILITY"),
        ({"shaken": True}, "PREP-HANDLING"),
        ({"diluent": "5% glucose"}, "PREP-DILUENT"),
        ({"dose_mg": Decimal("150")}, "PREP-DOSE"),
    ],
)
def test_a_bad_bag_cannot_be_overridden(problem: dict[str, object], rule: str) -> None:
    patient = with_records(
        _ready(preparations=(bag(id=BAG, **problem),)), decisions=[decision("override", rule)]
    )
    result = _gate(patient)
    assert _blocking_rules(result) == [rule]
    assert result.overrides_used == ()


def test_a_bag_at_exactly_its_limit_is_cleared() -> None:
    assert _gate(_ready(preparations=(bag(id=BAG, prepared_at=at(hours=-8)),))).may_start


def test_only_the_chosen_bag_counts() -> None:
    patient = _ready(
        preparations=(bag(id=BAG), bag(id="old", prepared_at=at(hours=-20), shaken=True))
    )
    assert _gate(patient).may_start
    assert sorted(_blocking_rules(_gate(patient, preparation_id="old"))) == [
        "PREP-HANDLING",
        "PREP-STABILITY",
    ]
    # Without a chosen bag, any ready bag that must not be used holds the patient.
    assert not check_infusion(patient, NOW, DOCUMENT).may_start


@pytest.mark.parametrize(
    ("preparation_id", "bags", "reason"),
    [
        ("nowhere", (bag(id=BAG),), "unknown-preparation"),
        (BAG, (bag(id=BAG, status="used"),), "preparation-used"),
        (BAG, (bag(id=BAG, status="discarded"),), "preparation-discarded"),
    ],
)
def test_a_missing_or_unusable_bag_blocks_under_prep_dose(
    preparation_id: str, bags: tuple[PreparationSnapshot, ...], reason: str
) -> None:
    result = _gate(_ready(preparations=bags), preparation_id=preparation_id)
    assert _blocking_rules(result) == ["PREP-DOSE"]
    assert result.refusals[0].evidence["reasons"] == [reason]


def test_a_missing_bag_cannot_be_overridden() -> None:
    patient = with_records(_ready(), decisions=[decision("override", "PREP-DOSE")])
    result = _gate(patient, preparation_id="nowhere")
    assert _blocking_rules(result) == ["PREP-DOSE"] and result.overrides_used == ()


def test_an_infusion_without_a_bag_blocks() -> None:
    patient = _ready(infusions=(*quiet_patient().infusions, planned_infusion(id=VISIT)))
    result = _gate(patient)
    assert _blocking_rules(result) == ["PREP-DOSE"]
    assert result.refusals[0].evidence["reasons"] == ["no-preparation"]


# The chosen infusion --------------------------------------------------------------------


def test_the_chosen_infusion_checklist_decides() -> None:
    other = planned_infusion(id="other", checklist=None)
    patient = _ready(infusions=(*_ready().infusions, other))
    assert _gate(patient).may_start
    assert _blocking_rules(
        check_infusion(patient, NOW, DOCUMENT, infusion_id="other", preparation_id=BAG)
    ) == ["INF-CHECKLIST"]


@pytest.mark.parametrize(
    ("infusion_id", "reason"), [("nowhere", "unknown-infusion"), ("given", "infusion-not-planned")]
)
def test_only_a_planned_infusion_of_this_patient_can_start(infusion_id: str, reason: str) -> None:
    patient = _ready(infusions=(given_infusion(at(-20), id="given"), planned_infusion(id=VISIT)))
    result = check_infusion(patient, NOW, DOCUMENT, infusion_id=infusion_id, preparation_id=BAG)
    assert result.refusals[0].evidence["reasons"] == [reason]


def test_a_clearance_check_without_a_visit_asks_for_the_checklist() -> None:
    result = check_infusion(quiet_patient(), NOW, DOCUMENT)
    # The patient is cleared; the visit still needs its checklist and its bag.
    assert result.cleared and result.blocking == ()
    steps = {f.rule: f.evidence["reasons"] for f in result.visit_steps}
    assert steps == {"INF-CHECKLIST": ["missing"], "PREP-DOSE": ["no-preparation"]}
    assert result.needs_checklist and result.needs_bag and not result.may_start
    visited = with_records(
        quiet_patient(), checklists=[checklist(asked_at=at(hours=-1))], preparations=[bag()]
    )
    assert check_infusion(visited, NOW, DOCUMENT).may_start


def test_the_gate_reads_no_clock_a_later_now_expires_the_bag() -> None:
    patient = _ready()
    later = NOW.replace(hour=NOW.hour + 8)
    assert _gate(patient).may_start
    assert _blocking_rules(check_infusion(patient, later, DOCUMENT, infusion_id=VISIT)) == [
        "PREP-STABILITY"
    ]


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_infusion(_ready(), NOW.replace(tzinfo=None), DOCUMENT)
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(_ready(), NOW.replace(tzinfo=None), DOCUMENT)
