"""PML: the risk estimate (boxed warning of the label), PML-RISK and PML-SUSPECTED.

The published table is data, not configuration: its month bands and its index cut-off are
those of the publication. Configuration decides only what counts as high risk.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from . import sources
from ._common import (
    add_months,
    chronological,
    clinic_today,
    is_open,
    latest,
    local_date,
    resumed_after,
)
from .config import RuleConfig
from .findings import Finding, format_decimal, make_finding
from .snapshot import AntibodyTestSnapshot, PatientSnapshot
from .wording import date_text

Column = Literal[
    "anti-jcv-negative",
    "no_prior_immunosuppressants",
    "index_at_or_below_1_5",
    "index_above_1_5",
    "prior_immunosuppressants",
]


class PmlRiskRow(BaseModel):
    """Estimated PML cases per 1000 anti-JCV-positive patients in one band of exposure."""

    model_config = ConfigDict(frozen=True)

    months_from: int
    months_to: int
    no_prior_immunosuppressants: Decimal  # index not known
    index_at_or_below_1_5: Decimal  # no prior immunosuppressants
    index_above_1_5: Decimal  # no prior immunosuppressants
    prior_immunosuppressants: Decimal

    @property
    def months_band(self) -> str:
        return f"{self.months_from}-{self.months_to}"


class PmlRiskTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: tuple[PmlRiskRow, ...]
    jcv_negative: str  # the estimate for anti-JCV-negative patients, any exposure
    index_cutoff: Decimal  # the index that splits the two index columns
    unit: str
    source: str

    def row_for(self, months: int) -> PmlRiskRow:
        """The band holding `months`; beyond the last band, the last band (data end there)."""
        for row in self.rows:
            if row.months_from <= months <= row.months_to:
                return row
        return self.rows[-1]

    def as_evidence(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "jcv_negative": self.jcv_negative,
            "index_cutoff": format_decimal(self.index_cutoff),
            "rows": [
                {
                    "months": row.months_band,
                    "no_prior_immunosuppressants": format_decimal(row.no_prior_immunosuppressants),
                    "index_at_or_below_1_5": format_decimal(row.index_at_or_below_1_5),
                    "index_above_1_5": format_decimal(row.index_above_1_5),
                    "prior_immunosuppressants": format_decimal(row.prior_immunosuppressants),
                }
                for row in self.rows
            ],
            "source": self.source,
        }


def _row(months_from: int, months_to: int, *values: str) -> PmlRiskRow:
    no_prior, low_index, high_index, prior = (Decimal(value) for value in values)
    return PmlRiskRow(
        months_from=months_from,
        months_to=months_to,
        no_prior_immunosuppressants=no_prior,
        index_at_or_below_1_5=low_index,
        index_above_1_5=high_index,
        prior_immunosuppressants=prior,
    )


# CLINICAL_RULES.md, "PML risk": the published estimates, exactly as given there.
PML_RISK_TABLE = PmlRiskTable(
    rows=(
        _row(1, 24, "1", "0.2", "1.2", "6"),
        _row(25, 48, "3", "1.1", "8.8", "12"),
        _row(49, 72, "6", "1.4", "10.1", "13"),
    ),
    jcv_negative="under 0.07",
    index_cutoff=Decimal("1.5"),
    unit="PML cases per 1000 anti-JCV antibody positive patients",
    source=sources.PML_TABLE,
)


class PmlRisk(BaseModel):
    """A patient's PML risk stratum, with the table and source it was read from."""

    model_config = ConfigDict(frozen=True)

    jcv_status: Literal["negative", "positive", "unknown"]
    jcv_test_id: str | None
    jcv_tested_on: date | None
    index: Decimal | None
    index_band: str | None
    months_on_treatment: int  # months since treatment_start, counted as months of exposure
    months_band: str | None
    beyond_table: bool
    prior_immunosuppressants: bool
    stratum: str
    estimate_per_1000: str | None
    estimate_column: Column | None
    high_risk: bool
    table: PmlRiskTable
    source: str


def months_on_treatment(start: date | None, today: date) -> int:
    """Months of exposure, counted from treatment_start, rounded up: day one is month 1.

    Exactly 24 months after the start is month 24; the next day is month 25 ("more than 24").
    """
    if start is None or today < start:
        return 0
    full = (today.year - start.year) * 12 + today.month - start.month
    if add_months(start, full) > today:
        full -= 1
    return max(1, full if add_months(start, full) == today else full + 1)


def latest_jcv_test(snapshot: PatientSnapshot) -> AntibodyTestSnapshot | None:
    """The latest conclusive anti-JCV result; an indeterminate one changes no status."""
    return latest(
        (
            test
            for test in snapshot.antibody_tests
            if test.target == "jcv" and test.result in ("positive", "negative")
        ),
        key=lambda test: test.collected_at,
    )


def _index_band(index: Decimal | None, config: RuleConfig) -> str | None:
    if index is None:
        return None
    if index <= config.jcv_index_low:
        return f"index <= {format_decimal(config.jcv_index_low)}"
    if index <= config.jcv_index_high:
        return (
            f"index > {format_decimal(config.jcv_index_low)} to "
            f"{format_decimal(config.jcv_index_high)}"
        )
    return f"index > {format_decimal(config.jcv_index_high)}"


def pml_risk(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> PmlRisk:
    """The stratum and the published estimate; never a number without its table and source."""
    today = clinic_today(snapshot, now)
    test = latest_jcv_test(snapshot)
    months = months_on_treatment(snapshot.treatment_start, today)
    prior = snapshot.prior_immunosuppressants
    table = PML_RISK_TABLE
    row = table.row_for(months) if months else None
    index = test.index if test is not None and test.result == "positive" else None
    estimate: str | None = None
    column: Column | None = None
    if test is None:
        status: Literal["negative", "positive", "unknown"] = "unknown"
        stratum = "anti-JCV status unknown: no conclusive anti-JCV antibody result"
    elif test.result == "negative":
        status = "negative"
        stratum = "anti-JCV antibody negative"
        estimate, column = table.jcv_negative, "anti-jcv-negative"
    else:
        status = "positive"
        parts = ["anti-JCV antibody positive"]
        band = _index_band(index, config)
        if band:
            parts.append(band)
        parts.append("prior immunosuppressants" if prior else "no prior immunosuppressants")
        if row is None:
            parts.append("treatment not started")
        else:
            parts.append(f"{row.months_band} months of treatment")
            if prior:
                column = "prior_immunosuppressants"
            elif index is None:
                column = "no_prior_immunosuppressants"
            elif index <= table.index_cutoff:
                column = "index_at_or_below_1_5"
            else:
                column = "index_above_1_5"
            estimate = format_decimal(getattr(row, column))
        stratum = ", ".join(parts)
    high_risk = (
        status == "positive"
        and months > config.pml_high_risk_after_months
        and (prior or (index is not None and index > config.jcv_index_high))
    )
    return PmlRisk(
        jcv_status=status,
        jcv_test_id=test.id if test else None,
        jcv_tested_on=local_date(snapshot, test.collected_at) if test else None,
        index=index,
        index_band=_index_band(index, config),
        months_on_treatment=months,
        months_band=row.months_band if row else None,
        beyond_table=months > table.rows[-1].months_to,
        prior_immunosuppressants=prior,
        stratum=stratum,
        estimate_per_1000=estimate,
        estimate_column=column,
        high_risk=high_risk,
        table=table,
        source=table.source,
    )


def pml_risk_finding(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """High risk: anti-JCV positive, over 24 months, and index > 1.5 or prior immunosuppressants."""
    risk = pml_risk(snapshot, now, config)
    if not risk.high_risk or risk.jcv_test_id is None:
        return []
    if risk.prior_immunosuppressants or risk.index is None:
        why = "prior immunosuppressants"
    else:
        why = f"index {format_decimal(risk.index)}"
    beyond = (
        f"; the table ends at {risk.table.rows[-1].months_to} months" if risk.beyond_table else ""
    )
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="PML-RISK",
            cause=risk.jcv_test_id,
            severity="warning",
            action="inform",
            message=(
                f"High PML risk: anti-JCV positive ({why}), {risk.months_on_treatment} months of "
                f"treatment (more than {config.pml_high_risk_after_months}): estimated "
                f"{risk.estimate_per_1000} PML cases per 1000 patients in the stratum "
                f"'{risk.stratum}'{beyond}"
            ),
            evidence={
                "jcv_test_id": risk.jcv_test_id,
                "jcv_tested_on": risk.jcv_tested_on,
                "index": risk.index,
                "index_band": risk.index_band,
                "months_on_treatment": risk.months_on_treatment,
                "months_band": risk.months_band,
                "high_risk_after_months": config.pml_high_risk_after_months,
                "prior_immunosuppressants": risk.prior_immunosuppressants,
                "stratum": risk.stratum,
                "estimate_per_1000": risk.estimate_per_1000,
                "estimate_column": risk.estimate_column,
                "beyond_table": risk.beyond_table,
                "table": risk.table.as_evidence(),
            },
            source=risk.source,
        )
    ]


def pml_suspected(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """An MRI read as possible PML, or open neurological signs suggestive of PML: withhold now.

    Stands until a neurologist resumes after it (for signs, also once they are resolved).
    """
    today = clinic_today(snapshot, now)
    findings = []
    workup = "withhold natalizumab now; work up with gadolinium MRI and CSF JCV DNA"
    for mri in chronological(snapshot.mri_studies, key=lambda mri: mri.performed_on):
        if not mri.pml_suspected or resumed_after(snapshot, "PML-SUSPECTED", mri.performed_on):
            continue
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="PML-SUSPECTED",
                cause=mri.id,
                severity="critical",
                action="suspend",
                message=f"MRI of {date_text(mri.performed_on)} read as possible PML: {workup}",
                evidence={
                    "mri_study_id": mri.id,
                    "performed_on": mri.performed_on,
                    "reason": "mri",
                },
                source=sources.BOXED_WARNING,
            )
        )
    signs = (event for event in snapshot.clinical_events if event.kind == "pml-signs")
    for event in chronological(signs, key=lambda event: event.observed_on):
        if not is_open(event.resolved_on, today):
            continue
        if resumed_after(snapshot, "PML-SUSPECTED", event.observed_on):
            continue
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="PML-SUSPECTED",
                cause=event.id,
                severity="critical",
                action="suspend",
                message=(
                    "New or worsening neurological signs suggestive of PML since "
                    f"{date_text(event.observed_on)}: {workup}"
                ),
                evidence={
                    "clinical_event_id": event.id,
                    "observed_on": event.observed_on,
                    "resolved_on": event.resolved_on,
                    "reason": "neurological-signs",
                },
                source=sources.BOXED_WARNING,
            )
        )
    return findings
