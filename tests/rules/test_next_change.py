"""next_change: the moment a patient's findings can next change by time alone.

The property: the findings at any moment before the returned one are the findings at `now`
(never late). The unit tests pin the moments of the main rules (not needlessly early either).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.rules import (
    PatientSnapshot,
    RuleConfig,
    check_infusion,
    clearance_change,
    evaluate,
    findings_and_clearance,
    next_change,
    preparation_expires_at,
)

from .factories import (
    DOCUMENT,
    NOW,
    TODAY,
    at,
    bag,
    given_infusion,
    medication,
    on,
    quiet_patient,
    relapse,
    with_records,
)
from .strategies import configs, patients


def midnight(day_offset: int, zone: str = "UTC") -> datetime:
    """The start of the clinic day TODAY + day_offset, in UTC."""
    day = TODAY + timedelta(days=day_offset)
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def probes(now: datetime, until: datetime | None, extra: list[int]) -> list[datetime]:
    """Moments in [now, until): just before the end, each midnight on the way, a few others."""
    end = until or now + timedelta(days=900)
    moments = [end - timedelta(microseconds=1)]
    day = now
    for _ in range(60):
        day = datetime.combine(day.date() + timedelta(days=1), time(), tzinfo=UTC)
        for shift in (-14, -10, -5, 0, 1, 12):  # the clinic's midnight in any zone used
            moments.append(day + timedelta(hours=shift))
    moments += [now + timedelta(minutes=minutes) for minutes in extra]
    return sorted({moment for moment in moments if now <= moment < end})


def over_random_moments(test: Callable[..., None]) -> Callable[..., None]:
    """A patient, thresholds, a `now` up to 500 days back and extra probes up to 400 days on."""
    explore = settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    return explore(
        given(
            snapshot=patients(),
            config=configs,
            back=st.integers(0, 500 * 24 * 60),
            extra=st.lists(st.integers(0, 400 * 24 * 60), max_size=8),
        )(test)
    )


@over_random_moments
def test_findings_stand_until_the_next_change(
    snapshot: PatientSnapshot, config: RuleConfig, back: int, extra: list[int]
) -> None:
    now = NOW - timedelta(minutes=back)  # records dated after now become evidence later
    moment = next_change(snapshot, now, config)
    assert moment is None or moment > now
    findings = evaluate(snapshot, now, config)
    for probe in probes(now, moment, extra):
        assert evaluate(snapshot, probe, config) == findings, (now, probe, moment)


@over_random_moments
def test_a_clearance_stands_until_its_change(
    snapshot: PatientSnapshot, config: RuleConfig, back: int, extra: list[int]
) -> None:
    # The nurse's and pharmacist's lists show the clearance stored at the last evaluation
    # until this moment: the gate must give the same answer at every moment before it.
    now = NOW - timedelta(minutes=back)
    moment = clearance_change(snapshot, now, config)
    assert moment is None or moment > now
    findings_change = next_change(snapshot, now, config)
    assert moment is None or findings_change is None or moment <= findings_change
    clearance = check_infusion(snapshot, now, config)
    # What an evaluation stores: the same findings and clearance, read at once.
    assert findings_and_clearance(snapshot, now, config) == (
        evaluate(snapshot, now, config),
        clearance,
    )
    for probe in probes(now, moment, extra):
        assert check_infusion(snapshot, probe, config) == clearance, (now, probe, moment)


def test_an_early_dose_warning_changes_each_midnight_until_the_dose_is_not_early() -> None:
    patient = with_records(quiet_patient(), infusions=[given_infusion(at(-3))])
    warning = check_infusion(patient, NOW, DOCUMENT).warnings
    assert [finding.rule for finding in warning] == ["INF-INTERVAL"]
    assert clearance_change(patient, NOW, DOCUMENT) == midnight(1)
    assert check_infusion(patient, midnight(1), DOCUMENT).warnings != warning
    late = quiet_patient(infusions=(quiet_patient().infusions[0],))  # 48 days ago
    assert clearance_change(late, NOW, DOCUMENT) == next_change(late, NOW, DOCUMENT)


def test_a_quiet_patient_changes_next_on_a_due_day_not_tomorrow() -> None:
    moment = next_change(quiet_patient(), NOW, DOCUMENT)
    assert moment is not None and moment > NOW + timedelta(days=1)
    assert evaluate(quiet_patient(), moment - timedelta(seconds=1), DOCUMENT) == []


def test_the_next_dose_falls_overdue_the_day_after_the_allowed_delay() -> None:
    # The last dose was 20 days ago: due in 8 days, overdue after 7 more.
    patient = quiet_patient()
    moment = next_change(patient, NOW, DOCUMENT)
    assert moment is not None and moment <= midnight(-20 + 28 + 7 + 1)
    overdue_from = midnight(-20 + 28 + 7 + 1)
    rules = [finding.rule for finding in evaluate(patient, overdue_from, DOCUMENT)]
    assert "INF-INTERVAL" in rules


def test_an_overdue_dose_is_not_evaluated_again_each_day() -> None:
    patient = quiet_patient(
        infusions=(quiet_patient().infusions[0],)  # the last dose 48 days ago
    )
    assert [f.rule for f in evaluate(patient, NOW, DOCUMENT)].count("INF-INTERVAL") == 1
    moment = next_change(patient, NOW, DOCUMENT)
    assert moment is None or moment > midnight(7)


def test_a_bag_changes_when_its_warning_begins_then_at_its_expiry() -> None:
    ready = bag(prepared_at=at(hours=-2), storage="room")  # expires in 6 h
    patient = with_records(quiet_patient(), preparations=[ready])
    expires_at = preparation_expires_at(ready, DOCUMENT)
    assert next_change(patient, NOW, DOCUMENT) == expires_at - timedelta(minutes=60)
    in_window = expires_at - timedelta(minutes=30, seconds=20)
    assert next_change(patient, in_window, DOCUMENT) == expires_at + timedelta(microseconds=1)
    warned = evaluate(patient, expires_at - timedelta(minutes=60), DOCUMENT)
    assert evaluate(patient, expires_at, DOCUMENT) == warned  # the same warning to the end


def test_a_medication_stops_counting_the_day_after_it_stopped() -> None:
    patient = quiet_patient(
        medications=(medication("immunosuppressant", started_on=on(-10), stopped_on=on(2)),)
    )
    assert next_change(patient, NOW, DOCUMENT) == midnight(3)


def test_a_relapse_leaves_the_window_a_year_after_its_onset() -> None:
    patient = quiet_patient(relapses=(relapse(on(-364)), relapse(on(-30))))
    assert next_change(patient, NOW, DOCUMENT) == midnight(1)


def test_the_clinic_day_begins_at_midnight_in_the_clinic_zone() -> None:
    zone = "Pacific/Auckland"
    patient = quiet_patient(
        clinic_time_zone=zone,
        medications=(medication("immunosuppressant", started_on=on(-10), stopped_on=on(2)),),
    )
    now = datetime.combine(TODAY, time(12), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert next_change(patient, now, DOCUMENT) == midnight(3, zone)


def test_a_birthday_that_changes_the_population_is_a_moment() -> None:
    turning = NOW.date().replace(year=NOW.year - 18) + timedelta(days=5)
    patient = quiet_patient(birth_date=turning)
    assert next_change(patient, NOW, DOCUMENT) == midnight(5)
    assert [f.rule for f in evaluate(patient, midnight(5) - timedelta(seconds=1), DOCUMENT)] == [
        "POP-PEDIATRIC"
    ]
    assert evaluate(patient, midnight(5), DOCUMENT) == []


def test_a_result_dated_later_becomes_evidence_at_its_time() -> None:
    patient = quiet_patient()
    later = patient.lab_results[0].model_copy(update={"collected_at": at(hours=3), "id": "later"})
    assert next_change(with_records(patient, lab_results=[later]), NOW, DOCUMENT) == at(hours=3)


def test_a_birthday_that_changes_no_population_rule_is_no_moment() -> None:
    forty_in_five_days = NOW.date().replace(year=NOW.year - 40) + timedelta(days=5)
    moment = next_change(quiet_patient(birth_date=forty_in_five_days), NOW, DOCUMENT)
    assert moment is None or moment > midnight(6)


def test_an_elderly_patient_is_a_year_older_in_the_message_on_the_birthday() -> None:
    seventy_in_five_days = NOW.date().replace(year=NOW.year - 70) + timedelta(days=5)
    patient = quiet_patient(birth_date=seventy_in_five_days)
    assert next_change(patient, NOW, DOCUMENT) == midnight(5)
    before, after = evaluate(patient, NOW, DOCUMENT), evaluate(patient, midnight(5), DOCUMENT)
    assert [f.message for f in before] != [f.message for f in after]


def test_the_elderly_rule_begins_the_day_after_the_birthday() -> None:
    sixty_five_in_five_days = NOW.date().replace(year=NOW.year - 65) + timedelta(days=5)
    patient = quiet_patient(birth_date=sixty_five_in_five_days)
    assert next_change(patient, NOW, DOCUMENT) == midnight(6)
    assert [f.rule for f in evaluate(patient, midnight(6), DOCUMENT)] == ["POP-ELDERLY"]


def test_the_elderly_rule_years_away_is_a_moment() -> None:
    sixty_three = NOW.date().replace(year=NOW.year - 63) + timedelta(days=30)
    patient = quiet_patient(birth_date=sixty_three, treatment_start=None, infusions=())
    moment = next_change(patient, NOW, DOCUMENT)
    assert moment is not None
    before = evaluate(patient, moment - timedelta(seconds=1), DOCUMENT)
    assert "POP-ELDERLY" not in [f.rule for f in before]
    assert "POP-ELDERLY" in [f.rule for f in evaluate(patient, moment, DOCUMENT)]
