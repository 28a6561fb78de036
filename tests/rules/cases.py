"""One case that fires and one that stays quiet for every rule id, at the rule's boundary.

test_coverage.py runs them all against the ids of CLINICAL_RULES.md; the family tests hold
the details.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from alerts.rules import PatientSnapshot, RuleConfig

from .factories import (
    DOCUMENT,
    NOW,
    TODAY,
    TREATMENT_START,
    antibody,
    at,
    bag,
    decision,
    edss,
    given_infusion,
    infection,
    lab,
    medication,
    months_before,
    mri,
    on,
    planned_infusion,
    quiet_patient,
    reaction,
    relapse,
    with_records,
)

Case = tuple[PatientSnapshot, datetime, RuleConfig]


def _case(snapshot: PatientSnapshot) -> Case:
    return snapshot, NOW, DOCUMENT


def _labs_at(days: int, *analytes: str) -> PatientSnapshot:
    patient = quiet_patient()
    others = tuple(r for r in patient.lab_results if r.analyte not in analytes)
    moved = tuple(lab(analyte, collected_at=at(-days)) for analyte in analytes)
    return quiet_patient(lab_results=others + moved)


def _antibody_at(target: str, days: int) -> PatientSnapshot:
    patient = quiet_patient()
    others = tuple(t for t in patient.antibody_tests if t.target != target)
    return quiet_patient(antibody_tests=(*others, antibody(target, collected_at=at(-days))))


def _persistent(days_apart: int) -> PatientSnapshot:
    return quiet_patient(
        antibody_tests=(
            antibody("jcv"),
            antibody(result="positive", collected_at=at(-days_apart - 1)),
            antibody(result="positive", collected_at=at(-1)),
        )
    )


def high_risk_patient(index: str = "1.6", months: int = 25, **fields: object) -> PatientSnapshot:
    """Anti-JCV positive with `index`, on treatment for `months` months and one day."""
    patient = quiet_patient()
    tests = tuple(t for t in patient.antibody_tests if t.target != "jcv")
    values: dict[str, object] = {
        "treatment_start": months_before(TODAY, months) - timedelta(days=1),
        "antibody_tests": (*tests, antibody("jcv", "positive", index=Decimal(index))),
        "decisions": (decision("reauthorize", decided_at=at(-10)),),
    }
    return quiet_patient(**(values | fields))


def _mri_at(days: int, **fields: object) -> PatientSnapshot:
    return quiet_patient(mri_studies=(mri(performed_on=on(-days)),), **fields)


def _edss_at(days: int) -> PatientSnapshot:
    return quiet_patient(edss=(edss("2.0", on(-days)),))


def _started(days: int) -> PatientSnapshot:
    return quiet_patient(treatment_start=on(-days), decisions=())


def _aged(years: int, days: int = 0) -> PatientSnapshot:
    """A patient whose `years`th birthday was `days` days ago (0: it is today)."""
    birthday = on(-days)
    return quiet_patient(birth_date=birthday.replace(year=birthday.year - years))


def _interval(days: int) -> PatientSnapshot:
    return quiet_patient(
        infusions=(given_infusion(at(-20 - days), id="first"), given_infusion(at(-20), id="second"))
    )


FIRING: dict[str, Callable[[], Case]] = {
    "PREP-DILUENT": lambda: _case(quiet_patient(preparations=(bag(diluent="5% glucose"),))),
    "PREP-DOSE": lambda: _case(quiet_patient(preparations=(bag(dose_mg=Decimal("250")),))),
    "PREP-STABILITY": lambda: _case(
        quiet_patient(preparations=(bag(prepared_at=at(hours=-8, minutes=-1)),))
    ),
    "PREP-HANDLING": lambda: _case(quiet_patient(preparations=(bag(shaken=True),))),
    "INF-ROUTE": lambda: _case(quiet_patient(infusions=(planned_infusion(route="iv-push"),))),
    "INF-DURATION": lambda: _case(
        with_records(
            quiet_patient(),
            infusions=[given_infusion(at(-1), ended_at=at(-1, minutes=59))],
        )
    ),
    "INF-OBSERVATION": lambda: _case(
        with_records(
            quiet_patient(),
            infusions=[given_infusion(at(-1), discharged_at=at(-1, minutes=70 + 59))],
        )
    ),
    "INF-HYPERSENSITIVITY": lambda: _case(
        quiet_patient(infusions=(given_infusion(at(-20), reactions=(reaction(),)),))
    ),
    "INF-INTERVAL": lambda: _case(_interval(20)),
    "INF-CHECKLIST": lambda: _case(quiet_patient(infusions=(planned_infusion(checklist=None),))),
    "MED-IMMUNOSUPPRESSANT": lambda: _case(
        quiet_patient(medications=(medication("immunosuppressant", stopped_on=on(0)),))
    ),
    "INF-ACTIVE-INFECTION": lambda: _case(quiet_patient(infections=(infection(),))),
    "PML-SUSPECTED": lambda: _case(quiet_patient(mri_studies=(mri(pml_suspected=True),))),
    "LIVER-3XULN": lambda: _case(with_records(quiet_patient(), lab_results=[lab("ALT", "120")])),
    "LIVER-DUE": lambda: _case(_labs_at(91, "ALT", "AST")),
    "THYROID-DUE": lambda: _case(_labs_at(182, "TSH", "FT4")),
    "THYROID-ABNORMAL": lambda: _case(
        with_records(quiet_patient(), lab_results=[lab("TSH", "4.1", collected_at=at(-1))])
    ),
    "CBC-NEUTROPHILS": lambda: _case(
        with_records(quiet_patient(), lab_results=[lab("NEUT", "1.7", collected_at=at(-1))])
    ),
    "CBC-PLATELETS": lambda: _case(
        with_records(quiet_patient(), lab_results=[lab("PLT", "149", collected_at=at(-1))])
    ),
    "ADA-DUE": lambda: _case(_antibody_at("natalizumab", 84)),
    "ADA-POSITIVE": lambda: _case(
        with_records(
            quiet_patient(), antibody_tests=[antibody(result="positive", collected_at=at(-1))]
        )
    ),
    "ADA-PERSISTENT": lambda: _case(_persistent(42)),
    "JCV-DUE": lambda: _case(_antibody_at("jcv", 182)),
    "PML-RISK": lambda: _case(high_risk_patient("1.6")),
    "MRI-PML-SURVEILLANCE": lambda: _case(
        high_risk_patient("1.6", mri_studies=(mri(performed_on=on(-182)),))
    ),
    "MRI-DUE": lambda: _case(_mri_at(365)),
    "MRI-ACTIVITY": lambda: _case(quiet_patient(mri_studies=(mri(gd_enhancing_lesions=1),))),
    "EDSS-DUE": lambda: _case(_edss_at(182)),
    "EDSS-PROGRESSION": lambda: _case(
        quiet_patient(edss=(edss("2.0", on(-300)), edss("3.0", on(-30))))
    ),
    "RELAPSE": lambda: _case(quiet_patient(relapses=(relapse(TREATMENT_START),))),
    "REMS-REAUTH": lambda: _case(_started(182)),
    "POP-PREGNANCY": lambda: _case(quiet_patient(pregnant=True)),
    "POP-LACTATION": lambda: _case(quiet_patient(breastfeeding=True)),
    "POP-PEDIATRIC": lambda: _case(_aged(18, days=-1)),
    "POP-ELDERLY": lambda: _case(_aged(65, days=1)),
}

QUIET: dict[str, Callable[[], Case]] = {
    "PREP-DILUENT": lambda: _case(quiet_patient(preparations=(bag(diluent=" 0.9 % nacl "),))),
    "PREP-DOSE": lambda: _case(quiet_patient(preparations=(bag(dose_mg=Decimal("300.0")),))),
    "PREP-STABILITY": lambda: _case(
        quiet_patient(preparations=(bag(prepared_at=at(hours=-6, minutes=-59)),))
    ),
    "PREP-HANDLING": lambda: _case(quiet_patient(preparations=(bag(),))),
    "INF-ROUTE": lambda: _case(quiet_patient(infusions=(planned_infusion(),))),
    "INF-DURATION": lambda: _case(
        with_records(
            quiet_patient(), infusions=[given_infusion(at(-1), ended_at=at(-1, minutes=60))]
        )
    ),
    "INF-OBSERVATION": lambda: _case(
        with_records(
            quiet_patient(),
            infusions=[given_infusion(at(-1), discharged_at=at(-1, minutes=70 + 60))],
        )
    ),
    "INF-HYPERSENSITIVITY": lambda: _case(
        quiet_patient(
            infusions=(
                given_infusion(
                    at(-20), reactions=(reaction(severity="mild", symptoms=("headache",)),)
                ),
            )
        )
    ),
    "INF-INTERVAL": lambda: _case(_interval(21)),
    "INF-CHECKLIST": lambda: _case(quiet_patient(infusions=(planned_infusion(),))),
    "MED-IMMUNOSUPPRESSANT": lambda: _case(
        quiet_patient(medications=(medication("immunosuppressant", stopped_on=on(-1)),))
    ),
    "INF-ACTIVE-INFECTION": lambda: _case(
        quiet_patient(infections=(infection(resolved_on=on(0)),))
    ),
    "PML-SUSPECTED": lambda: _case(quiet_patient(mri_studies=(mri(pml_suspected=False),))),
    "LIVER-3XULN": lambda: _case(with_records(quiet_patient(), lab_results=[lab("ALT", "119.6")])),
    "LIVER-DUE": lambda: _case(_labs_at(90, "ALT", "AST")),
    "THYROID-DUE": lambda: _case(_labs_at(181, "TSH", "FT4")),
    "THYROID-ABNORMAL": lambda: _case(
        with_records(quiet_patient(), lab_results=[lab("TSH", "4.0", collected_at=at(-1))])
    ),
    "CBC-NEUTROPHILS": lambda: _case(
        with_records(quiet_patient(), lab_results=[lab("NEUT", "1.8", collected_at=at(-1))])
    ),
    "CBC-PLATELETS": lambda: _case(
        with_records(quiet_patient(), lab_results=[lab("PLT", "150", collected_at=at(-1))])
    ),
    "ADA-DUE": lambda: _case(_antibody_at("natalizumab", 83)),
    "ADA-POSITIVE": lambda: _case(quiet_patient()),
    "ADA-PERSISTENT": lambda: _case(_persistent(41)),
    "JCV-DUE": lambda: _case(_antibody_at("jcv", 181)),
    "PML-RISK": lambda: _case(high_risk_patient("1.5")),
    "MRI-PML-SURVEILLANCE": lambda: _case(
        high_risk_patient("1.6", mri_studies=(mri(performed_on=on(-181)),))
    ),
    "MRI-DUE": lambda: _case(_mri_at(364)),
    "MRI-ACTIVITY": lambda: _case(quiet_patient(mri_studies=(mri(),))),
    "EDSS-DUE": lambda: _case(_edss_at(181)),
    "EDSS-PROGRESSION": lambda: _case(
        quiet_patient(edss=(edss("2.0", on(-300)), edss("2.5", on(-30))))
    ),
    "RELAPSE": lambda: _case(
        quiet_patient(relapses=(relapse(TREATMENT_START - timedelta(days=1)),))
    ),
    "REMS-REAUTH": lambda: _case(_started(181)),
    "POP-PREGNANCY": lambda: _case(quiet_patient(pregnant=False)),
    "POP-LACTATION": lambda: _case(quiet_patient(breastfeeding=False)),
    "POP-PEDIATRIC": lambda: _case(_aged(18)),
    "POP-ELDERLY": lambda: _case(_aged(65)),
}
