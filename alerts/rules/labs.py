"""Laboratory monitoring: LIVER-3XULN, THYROID-ABNORMAL, CBC-NEUTROPHILS, CBC-PLATELETS.

Every result carries its own reference range (the limits of the lab that measured it), so a
rule compares a value with its own limits, never with a constant.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from . import sources
from ._common import chronological, clinic_today, is_open, latest, local_date, resumed_after
from .config import RuleConfig
from .findings import Finding, format_decimal, make_finding
from .snapshot import LabResultSnapshot, PatientSnapshot
from .wording import date_text, unit_text

ANALYTE_NAMES: dict[str, str] = {
    "ALT": "ALT",
    "AST": "AST",
    "TSH": "TSH",
    "FT4": "Free T4",
    "NEUT": "Neutrophils",
    "LYMPH": "Lymphocytes",
    "MONO": "Monocytes",
    "PLT": "Platelets",
}


def latest_result(snapshot: PatientSnapshot, analyte: str) -> LabResultSnapshot | None:
    return latest(
        (result for result in snapshot.lab_results if result.analyte == analyte),
        key=lambda result: result.collected_at,
    )


def _result_evidence(snapshot: PatientSnapshot, result: LabResultSnapshot) -> dict[str, object]:
    return {
        "lab_result_id": result.id,
        "analyte": result.analyte,
        "value": result.value,
        "unit": result.unit,
        "reference_low": result.reference_low,
        "reference_high": result.reference_high,
        "collected_at": result.collected_at,
        "collected_on": local_date(snapshot, result.collected_at),
    }


def liver_3xuln(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Every ALT or AST at or above 3 x its own ULN suspends, until a resume decided after it.

    Not only the latest result: a newer normal value does not undo a suspension; the
    neurologist's resume does. Label profile: jaundice or clinical liver injury also suspends.
    """
    findings = []
    liver_results = (result for result in snapshot.lab_results if result.analyte in ("ALT", "AST"))
    for result in chronological(liver_results, key=lambda result: result.collected_at):
        uln = result.reference_high
        if uln is None or uln <= 0:
            continue  # no ULN, no multiple: the lab must send its range
        if result.value < config.liver_uln_multiple * uln:
            continue
        if resumed_after(snapshot, "LIVER-3XULN", result.collected_at) is not None:
            continue
        # Rounded down, so the message never shows a multiple above the true one.
        multiple = (result.value / uln).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        collected_on = date_text(local_date(snapshot, result.collected_at))
        unit = unit_text(result.unit)
        since, later = _since_then(snapshot, result, config)
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="LIVER-3XULN",
                cause=result.id,
                severity="critical",
                action="suspend",
                message=(
                    f"{result.analyte} {format_decimal(result.value)} {unit} on "
                    f"{collected_on} is {format_decimal(multiple)} x ULN "
                    f"({format_decimal(uln)} {unit}): at or above "
                    f"{format_decimal(config.liver_uln_multiple)} x ULN, suspend natalizumab"
                    f"{since}"
                ),
                evidence={
                    **_result_evidence(snapshot, result),
                    "reason": "liver-enzymes",
                    "uln": uln,
                    "uln_multiple": multiple,
                    "limit_uln_multiple": config.liver_uln_multiple,
                    **({"since_then": later} if later else {}),
                },
                source=sources.LABORATORY,
            )
        )
    if config.liver_injury_events_suspend:
        findings.extend(_liver_injury_events(snapshot, now, config))
    return findings


def _since_then(
    snapshot: PatientSnapshot, result: LabResultSnapshot, config: RuleConfig
) -> tuple[str, dict[str, object]]:
    """What the same enzyme did after a result at or above the limit, when it came down.

    A normal value does not lift the suspension (a neurologist's resume does), but the
    neurologist must see that the cause has normalised, and when: the words for the
    message, and the later result for the evidence.
    """
    newest = latest_result(snapshot, result.analyte)
    if newest is None or newest.collected_at <= result.collected_at:
        return "", {}
    uln = newest.reference_high
    if uln is None or uln <= 0 or newest.value >= config.liver_uln_multiple * uln:
        return "", {}  # still at or above the limit: that result has its own finding
    value = f"{format_decimal(newest.value)} {unit_text(newest.unit)}"
    on = date_text(local_date(snapshot, newest.collected_at))
    if newest.value <= uln:
        change = f"back to {value} on {on}, within its range"
    else:
        limit = format_decimal(config.liver_uln_multiple)
        change = f"down to {value} on {on}, below {limit} x ULN"
    evidence = {
        "lab_result_id": newest.id,
        "value": newest.value,
        "unit": newest.unit,
        "reference_high": uln,
        "collected_on": local_date(snapshot, newest.collected_at),
    }
    return f"; {newest.analyte} {change}: suspended until a neurologist resumes", evidence


def _liver_injury_events(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> list[Finding]:
    today = clinic_today(snapshot, now)
    findings = []
    events = (e for e in snapshot.clinical_events if e.kind in ("jaundice", "liver-injury"))
    for event in chronological(events, key=lambda event: event.observed_on):
        if not is_open(event.resolved_on, today):
            continue
        if resumed_after(snapshot, "LIVER-3XULN", event.observed_on) is not None:
            continue
        what = "Jaundice" if event.kind == "jaundice" else "Clinical liver injury"
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="LIVER-3XULN",
                cause=event.id,
                severity="critical",
                action="suspend",
                message=(
                    f"{what} since {date_text(event.observed_on)}: suspend natalizumab "
                    "(the label suspends for jaundice or liver injury whatever the enzymes)"
                ),
                evidence={
                    "reason": event.kind,
                    "clinical_event_id": event.id,
                    "kind": event.kind,
                    "observed_on": event.observed_on,
                    "resolved_on": event.resolved_on,
                },
                source=sources.LABEL,
            )
        )
    return findings


def _outside_range(result: LabResultSnapshot) -> Literal["below", "above"] | None:
    """Strictly outside: a value equal to a limit is within the range."""
    if result.reference_low is not None and result.value < result.reference_low:
        return "below"
    if result.reference_high is not None and result.value > result.reference_high:
        return "above"
    return None


def _range_text(result: LabResultSnapshot) -> str:
    low, high, unit = result.reference_low, result.reference_high, unit_text(result.unit)
    if low is not None and high is not None:
        return f"{format_decimal(low)} to {format_decimal(high)} {unit}"
    if low is not None:
        return f"lower limit {format_decimal(low)} {unit}"
    return f"upper limit {format_decimal(high)} {unit}" if high is not None else "no range"


def _range_finding(
    snapshot: PatientSnapshot,
    config: RuleConfig,
    *,
    rule: str,
    result: LabResultSnapshot,
    direction: str,
    meaning: str,
    source: str,
) -> Finding:
    name = ANALYTE_NAMES[result.analyte]
    collected_on = date_text(local_date(snapshot, result.collected_at))
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule=rule,
        cause=result.id,
        severity="warning",
        action="inform",
        message=(
            f"{name} {format_decimal(result.value)} {unit_text(result.unit)} on {collected_on} "
            f"{direction} the reference range ({_range_text(result)}): {meaning}"
        ),
        evidence={**_result_evidence(snapshot, result), "direction": direction},
        source=source,
    )


def thyroid_abnormal(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The latest TSH and the latest free T4, each against its own range (document only)."""
    if not config.thyroid_abnormal_enabled:
        return []
    findings = []
    for analyte in ("TSH", "FT4"):
        result = latest_result(snapshot, analyte)
        direction = _outside_range(result) if result else None
        if result is None or direction is None:
            continue
        findings.append(
            _range_finding(
                snapshot,
                config,
                rule="THYROID-ABNORMAL",
                result=result,
                direction=f"is {direction}",
                meaning="possible thyroiditis; review thyroid function",
                source=sources.LABORATORY,
            )
        )
    return findings


def cbc_neutrophils(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The latest neutrophil count outside its range: possible infection.

    Lymphocytes and monocytes rise as the expected drug effect and raise nothing.
    """
    result = latest_result(snapshot, "NEUT")
    direction = _outside_range(result) if result else None
    if result is None or direction is None:
        return []
    return [
        _range_finding(
            snapshot,
            config,
            rule="CBC-NEUTROPHILS",
            result=result,
            direction=f"are {direction}",
            meaning="possible infection",
            source=sources.LABORATORY,
        )
    ]


def cbc_platelets(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The latest platelet count below its range: thrombocytopenia."""
    result = latest_result(snapshot, "PLT")
    if result is None or _outside_range(result) != "below":
        return []
    return [
        _range_finding(
            snapshot,
            config,
            rule="CBC-PLATELETS",
            result=result,
            direction="are below",
            meaning="thrombocytopenia",
            source=sources.LABEL,
        )
    ]
