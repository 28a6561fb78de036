from __future__ import annotations

from datetime import date, timedelta

import pytest

from alerts.rules import PatientSnapshot

from .factories import NOW, PATIENT_ID, TODAY, at, decision, findings_for, on, only, quiet_patient


def _born(years_ago: int, days: int = 0) -> PatientSnapshot:
    """Whose `years_ago`th birthday is `days` days from today (negative: already past)."""
    birthday = on(days)
    return quiet_patient(birth_date=birthday.replace(year=birthday.year - years_ago))


# POP-PREGNANCY and POP-LACTATION --------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ("POP-PREGNANCY", "pregnant", "CBC for the newborn"),
        ("POP-LACTATION", "breastfeeding", "stop breastfeeding"),
    ],
)
def test_pregnancy_or_lactation_blocks_until_a_neurologist_confirms(
    rule: str, field: str, words: str
) -> None:
    patient = quiet_patient(**{field: True})
    finding = only(rule, patient)
    assert (finding.severity, finding.action, finding.blocks_infusion) == (
        "warning",
        "block-infusion",
        True,
    )
    assert words in finding.message
    confirmed = quiet_patient(
        **{field: True}, decisions=(*patient.decisions, decision("confirm", rule))
    )
    after = only(rule, confirmed)
    assert (after.severity, after.action, after.blocks_infusion) == ("warning", "inform", False)
    assert after.dedup_key == finding.dedup_key == f"{PATIENT_ID}:{rule}:{field}"


def test_a_confirmation_covers_only_its_own_rule() -> None:
    patient = quiet_patient(
        pregnant=True, breastfeeding=True, decisions=(decision("confirm", "POP-LACTATION"),)
    )
    assert only("POP-PREGNANCY", patient).blocks_infusion
    assert not only("POP-LACTATION", patient).blocks_infusion


def test_a_confirmation_decided_after_now_is_not_known_yet() -> None:
    patient = quiet_patient(
        pregnant=True, decisions=(decision("confirm", "POP-PREGNANCY", decided_at=at(1)),)
    )
    assert only("POP-PREGNANCY", patient).blocks_infusion


# POP-PEDIATRIC and POP-ELDERLY ----------------------------------------------------------


def test_under_18_is_a_warning_the_18th_birthday_ends_it() -> None:
    finding = only("POP-PEDIATRIC", _born(18, days=1))
    assert (finding.severity, finding.action) == ("warning", "inform")
    assert finding.evidence["age"] == 17 and "Age 17" in finding.message
    assert findings_for("POP-PEDIATRIC", _born(18)) == []


def test_over_65_is_information_from_the_day_after_the_65th_birthday() -> None:
    assert findings_for("POP-ELDERLY", _born(65)) == []
    finding = only("POP-ELDERLY", _born(65, days=-1))
    assert (finding.severity, finding.action, finding.evidence["age"]) == ("info", "inform", 65)


def test_adults_between_raise_nothing() -> None:
    assert findings_for("POP-PEDIATRIC", _born(40)) == findings_for("POP-ELDERLY", _born(40)) == []


def test_age_is_counted_on_the_clinic_day() -> None:
    # 23:30 UTC on the eve of the 18th birthday is already the birthday in Berlin (UTC+1).
    late_evening = NOW.replace(hour=23, minute=30)
    birth = (TODAY + timedelta(days=1)).replace(year=TODAY.year - 18)
    in_utc = quiet_patient(birth_date=birth)
    in_berlin = quiet_patient(birth_date=birth, clinic_time_zone="Europe/Berlin")
    assert only("POP-PEDIATRIC", in_utc, now=late_evening)
    assert findings_for("POP-PEDIATRIC", in_berlin, now=late_evening) == []


def test_a_leap_day_birthday_turns_a_year_older_on_1_march() -> None:
    patient = quiet_patient(birth_date=date(2008, 2, 29))
    assert only("POP-PEDIATRIC", patient, now=NOW.replace(month=2, day=28))
    assert findings_for("POP-PEDIATRIC", patient, now=NOW.replace(month=3, day=1)) == []
