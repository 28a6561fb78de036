"""Hypothesis strategies: random but plausible patient snapshots around NOW."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from alerts.rules import (
    RULE_IDS,
    AntibodyTestSnapshot,
    ChecklistSnapshot,
    ClinicalEventSnapshot,
    DecisionSnapshot,
    EdssSnapshot,
    InfectionSnapshot,
    InfusionSnapshot,
    LabResultSnapshot,
    MedicationSnapshot,
    MriStudySnapshot,
    PatientSnapshot,
    PreparationSnapshot,
    ReactionSnapshot,
    RelapseSnapshot,
    RuleConfig,
)

from .factories import DOCUMENT, LABEL, NORMAL_RANGES, NOW, TODAY

MINUTES_BACK = st.integers(min_value=0, max_value=900 * 24 * 60)
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland"])


def moments(max_days: int = 900) -> st.SearchStrategy[datetime]:
    return st.integers(min_value=0, max_value=max_days * 24 * 60).map(
        lambda minutes: NOW - timedelta(minutes=minutes)
    )


def days(low: int = -900, high: int = 0) -> st.SearchStrategy[date]:
    return st.integers(min_value=low, max_value=high).map(lambda n: TODAY + timedelta(days=n))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def decimals(low: str, high: str, places: int = 1) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


@st.composite
def lab_results(draw: st.DrawFn, record_id: str) -> LabResultSnapshot:
    analyte = draw(st.sampled_from(sorted(NORMAL_RANGES)))
    _, low, high, unit = NORMAL_RANGES[analyte]
    return LabResultSnapshot(
        id=record_id,
        analyte=analyte,
        value=draw(decimals("0", "600")),
        unit=unit,
        reference_low=Decimal(low) if low else None,
        reference_high=Decimal(high) if high else None,
        collected_at=draw(moments()),
    )


@st.composite
def antibody_tests(draw: st.DrawFn, record_id: str) -> AntibodyTestSnapshot:
    return AntibodyTestSnapshot(
        id=record_id,
        target=draw(st.sampled_from(["natalizumab", "jcv"])),
        result=draw(st.sampled_from(["positive", "negative", "indeterminate"])),
        index=draw(maybe(decimals("0", "4"))),
        collected_at=draw(moments(400)),
    )


@st.composite
def reactions(draw: st.DrawFn, record_id: str, start: datetime) -> ReactionSnapshot:
    return ReactionSnapshot(
        id=record_id,
        severity=draw(st.sampled_from(["mild", "severe"])),
        symptoms=tuple(
            draw(
                st.lists(
                    st.sampled_from(["urticaria", "dyspnea", "headache", "nausea"]), max_size=2
                )
            )
        ),
        onset_at=start + timedelta(minutes=draw(st.integers(0, 180))),
    )


@st.composite
def checklists(
    draw: st.DrawFn, record_id: str, asked_at: datetime, infusion_id: str | None
) -> ChecklistSnapshot:
    # Mostly "no": a "yes" needs two heads in a row.
    answers = [draw(st.booleans()) and draw(st.booleans()) for _ in range(4)]
    return ChecklistSnapshot(
        id=record_id,
        asked_at=asked_at,
        authorized=draw(st.booleans()) or draw(st.booleans()),
        new_neurological_symptoms=answers[0],
        immunocompromised=answers[1],
        immunosuppressants_last_month=answers[2],
        current_infection=answers[3],
        cleared_at=draw(maybe(st.just(asked_at + timedelta(minutes=10)))),
        infusion_id=infusion_id,
    )


@st.composite
def infusions(draw: st.DrawFn, record_id: str) -> InfusionSnapshot:
    status = draw(
        st.sampled_from(["planned", "running", "stopped", "discharged", "discharged", "cancelled"])
    )
    start = draw(moments(400))
    started = status in ("running", "stopped", "discharged")
    ended = (
        start + timedelta(minutes=draw(st.integers(40, 90)))
        if status in ("stopped", "discharged")
        else None
    )
    discharged = (
        ended + timedelta(minutes=draw(st.integers(30, 90)))
        if ended and status == "discharged"
        else None
    )
    return InfusionSnapshot(
        id=record_id,
        preparation_id=draw(maybe(st.sampled_from(["bag-0", "bag-1", "bag-9"]))),
        route=draw(st.sampled_from(["iv-infusion"] * 9 + ["iv-push"])),
        status=status,
        started_at=start if started else None,
        ended_at=ended,
        discharged_at=discharged,
        checklist=draw(
            maybe(checklists(f"{record_id}-checklist", start - timedelta(minutes=30), record_id))
        ),
        reactions=tuple(
            draw(reactions(f"{record_id}-reaction-{n}", start))
            for n in range(draw(st.integers(0, 1)))
        )
        if started
        else (),
    )


@st.composite
def preparations(draw: st.DrawFn, record_id: str) -> PreparationSnapshot:
    storage = draw(st.sampled_from(["room", "refrigerated"]))
    prepared = NOW - timedelta(minutes=draw(st.integers(0, 60 * 60)))
    return PreparationSnapshot(
        id=record_id,
        dose_mg=draw(st.sampled_from([Decimal("300"), Decimal("300.0"), Decimal("250")])),
        diluent=draw(st.sampled_from(["0.9% NaCl", "0.9% NaCl", "5% glucose"])),
        diluent_volume_ml=draw(st.sampled_from([Decimal("100"), Decimal("90")])),
        prepared_at=prepared,
        storage=storage,
        room_temperature_since=draw(maybe(st.just(prepared + timedelta(hours=1))))
        if storage == "refrigerated"
        else None,
        frozen=draw(st.booleans()) and draw(st.booleans()),
        shaken=draw(st.booleans()) and draw(st.booleans()),
        status=draw(st.sampled_from(["ready", "ready", "used", "discarded"])),
    )


@st.composite
def decisions(draw: st.DrawFn, record_id: str) -> DecisionSnapshot:
    return DecisionSnapshot(
        id=record_id,
        action=draw(
            st.sampled_from(
                ["suspend", "resume", "discontinue", "override", "confirm", "reauthorize"]
            )
        ),
        rule=draw(maybe(st.sampled_from(RULE_IDS))),
        reason="reason",
        decided_at=draw(moments(400)),
        consumed_at=draw(maybe(st.just(NOW - timedelta(days=1)))),
    )


def numbered(kind: str, make: Any, max_size: int) -> st.SearchStrategy[tuple[Any, ...]]:
    """A tuple of records with unique ids `kind-0`, `kind-1`, ..."""
    return st.integers(0, max_size).flatmap(
        lambda count: st.tuples(*(make(f"{kind}-{n}") for n in range(count)))
    )


@st.composite
def patients(draw: st.DrawFn) -> PatientSnapshot:
    return PatientSnapshot(
        id="patient-p",
        birth_date=draw(days(-90 * 365, -10 * 365)),
        sex=draw(st.sampled_from(["female", "male", "other", "unknown"])),
        indication=draw(st.sampled_from(["ms", "crohns"])),
        treatment_start=draw(maybe(days(-2500, 30))),
        schedule_weeks=draw(st.sampled_from([4, 6])),
        treatment_status=draw(st.sampled_from(["active", "active", "suspended", "discontinued"])),
        pregnant=draw(st.booleans()),
        breastfeeding=draw(st.booleans()),
        prior_immunosuppressants=draw(st.booleans()),
        clinic_time_zone=draw(ZONES),
        infusions=draw(numbered("infusion", infusions, 5)),
        preparations=draw(numbered("bag", preparations, 3)),
        checklists=draw(
            numbered("visit", lambda i: checklists(i, NOW - timedelta(hours=2), None), 1)
        ),
        lab_results=draw(numbered("lab", lab_results, 10)),
        antibody_tests=draw(numbered("ab", antibody_tests, 5)),
        mri_studies=draw(
            numbered(
                "mri",
                lambda i: st.builds(
                    MriStudySnapshot,
                    id=st.just(i),
                    performed_on=days(-800),
                    gd_enhancing_lesions=st.integers(0, 3),
                    new_or_enlarging_t2_lesions=st.integers(0, 3),
                    pml_suspected=st.booleans(),
                ),
                3,
            )
        ),
        edss=draw(
            numbered(
                "edss",
                lambda i: st.builds(
                    EdssSnapshot,
                    id=st.just(i),
                    score=st.integers(0, 20).map(lambda n: Decimal(n) / 2),
                    assessed_on=days(-800),
                ),
                3,
            )
        ),
        relapses=draw(
            numbered(
                "relapse",
                lambda i: st.builds(RelapseSnapshot, id=st.just(i), onset_on=days(-800)),
                3,
            )
        ),
        medications=draw(
            numbered(
                "med",
                lambda i: st.builds(
                    MedicationSnapshot,
                    id=st.just(i),
                    name=st.sampled_from(["Azathioprine", "Prednisolone", "Vitamin D"]),
                    category=st.sampled_from(
                        [
                            "immunosuppressant",
                            "antineoplastic",
                            "tnf-inhibitor",
                            "corticosteroid",
                            "other",
                        ]
                    ),
                    started_on=days(-400),
                    stopped_on=maybe(days(-100, 30)),
                ),
                2,
            )
        ),
        infections=draw(
            numbered(
                "infection",
                lambda i: st.builds(
                    InfectionSnapshot,
                    id=st.just(i),
                    description=st.sampled_from(["urinary tract infection", "COVID-19"]),
                    onset_on=days(-60),
                    resolved_on=maybe(days(-30, 5)),
                ),
                2,
            )
        ),
        clinical_events=draw(
            numbered(
                "event",
                lambda i: st.builds(
                    ClinicalEventSnapshot,
                    id=st.just(i),
                    kind=st.sampled_from(["pml-signs", "jaundice", "liver-injury"]),
                    observed_on=days(-60),
                    resolved_on=maybe(days(-30, 5)),
                ),
                2,
            )
        ),
        decisions=draw(numbered("decision", decisions, 4)),
    )


configs: st.SearchStrategy[RuleConfig] = st.sampled_from([DOCUMENT, LABEL])
nows: st.SearchStrategy[datetime] = st.integers(-3000, 3000).map(
    lambda m: NOW + timedelta(minutes=m)
)
