"""The finding shape, the snapshot's input checks, and the engine's purity."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from pydantic import ValidationError

from alerts.rules import RULE_IDS, Finding, LabResultSnapshot, PatientSnapshot, evaluate

from .factories import DOCUMENT, NOW, at, bag, lab, medication, quiet_patient, with_records

RULES_PACKAGE = Path(__file__).resolve().parents[2] / "alerts" / "rules"


def _finding(**fields: object) -> Finding:
    values: dict[str, object] = {
        "rule": "LIVER-3XULN",
        "severity": "critical",
        "action": "suspend",
        "message": "ALT 126 U/L",
        "evidence": {"value": Decimal("126")},
        "source": "Source document: Laboratory Indicators",
        "profile": "document",
        "profile_version": "1.0",
        "dedup_key": "p:LIVER-3XULN:lab",
    }
    return Finding(**(values | fields))


def test_as_dict_is_the_api_finding_shape_plus_the_profile_version() -> None:
    assert set(_finding().as_dict()) == {
        "rule",
        "severity",
        "action",
        "message",
        "evidence",
        "source",
        "profile",
        "profile_version",
        "dedup_key",
    }


def test_evidence_is_plain_json_decimals_and_times_as_strings() -> None:
    moment = datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    finding = _finding(
        evidence={
            "value": Decimal("126.0"),
            "at": moment,
            "on": moment.date(),
            "list": (Decimal("1E+2"),),
        }
    )
    assert finding.evidence == {
        "value": "126.0",
        "at": "2026-03-02T09:30:00Z",
        "on": "2026-03-02",
        "list": ["100"],
    }
    assert json.loads(json.dumps(finding.as_dict())) == finding.as_dict()


def test_evidence_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValidationError):
        _finding(evidence={"bad": object()})


def test_as_dict_cannot_change_the_finding() -> None:
    finding = _finding(evidence={"items": [1]})
    finding.as_dict()["evidence"]["items"].append(2)
    assert finding.evidence == {"items": [1]}


@pytest.mark.parametrize(
    ("action", "blocks"),
    [
        ("suspend", True),
        ("block-infusion", True),
        ("discontinue", True),
        ("remind", False),
        ("inform", False),
    ],
)
def test_blocks_infusion_follows_the_action(action: str, blocks: bool) -> None:
    assert _finding(action=action).blocks_infusion is blocks


def test_findings_are_sorted_most_severe_first_then_in_document_order() -> None:
    patient = with_records(
        quiet_patient(pregnant=True),
        lab_results=[lab("PLT", "100", collected_at=at(-1)), lab("ALT", "500")],
        medications=[medication("corticosteroid"), medication("tnf-inhibitor")],
        preparations=[bag(shaken=True)],
    )
    findings = evaluate(patient, NOW, DOCUMENT)
    ranks = [
        ({"critical": 0, "warning": 1, "info": 2}[f.severity], RULE_IDS.index(f.rule))
        for f in findings
    ]
    assert ranks == sorted(ranks)
    assert [f.rule for f in findings][:3] == [
        "PREP-HANDLING",
        "MED-IMMUNOSUPPRESSANT",
        "LIVER-3XULN",
    ]


# The snapshot ---------------------------------------------------------------------------


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError):
        lab("ALT", collected_at=datetime(2026, 3, 1, 9, 0))


def test_aware_datetimes_are_kept_in_utc() -> None:
    result = lab(
        "ALT", collected_at=datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    )
    assert result.collected_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert result.collected_at.utcoffset() == timedelta(0)


def test_uuid_ids_become_strings() -> None:
    uuid = UUID("12345678-1234-5678-1234-567812345678")
    assert lab("ALT", id=uuid).id == str(uuid)


@pytest.mark.parametrize(
    "fields",
    [
        {"clinic_time_zone": "Mars/Olympus"},
        {"schedule_weeks": 5},
        {"treatment_status": "paused"},
        {"extra": 1},
    ],
)
def test_a_snapshot_refuses_what_the_model_does_not_allow(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        quiet_patient(**fields)


def test_a_snapshot_is_immutable() -> None:
    patient = quiet_patient()
    with pytest.raises(ValidationError):
        patient.pregnant = True  # type: ignore[misc]
    assert isinstance(patient.lab_results, tuple)
    with pytest.raises(ValidationError):
        LabResultSnapshot.model_validate({**patient.lab_results[0].model_dump(), "analyte": "HB"})


def test_evaluation_never_changes_its_input() -> None:
    patient = with_records(quiet_patient(), lab_results=[lab("ALT", "500")])
    before = patient.model_dump()
    evaluate(patient, NOW, DOCUMENT)
    assert patient.model_dump() == before
    assert isinstance(patient, PatientSnapshot)


# Purity: no Django, no clock, no database -----------------------------------------------

CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}


@pytest.mark.parametrize("module", sorted(path.name for path in RULES_PACKAGE.glob("*.py")))
def test_the_engine_imports_no_django_and_reads_no_clock(module: str) -> None:
    tree = ast.parse((RULES_PACKAGE / module).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {
        "__future__",
        "calendar",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "functools",
        "hashlib",
        "json",
        "pydantic",
        "types",
        "typing",
        "uuid",
        "zoneinfo",
    }
    clock_calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    ]
    assert clock_calls == []
