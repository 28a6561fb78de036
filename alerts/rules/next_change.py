"""When a patient's findings can next change by time alone.

`next_change(snapshot, now, config)` returns the first moment after `now` at which
`evaluate(snapshot, moment, config)` may differ from `evaluate(snapshot, now, config)` with
no new record, or None when nothing but a new record can change them. Until that moment the
findings stand, so a nightly job need only evaluate the patients whose moment has come (and
those whose records changed).

Each moment is built from the thresholds the rules use. A moment may come early (the
findings turn out unchanged and the next one is computed then), never late: the property
tests evaluate the engine across the interval to prove it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from ._common import add_months, as_of, clinic_today, course_open, latest, local_date
from .config import RuleConfig, preparation_expires_at
from .engine import utc_now_argument
from .infusion import last_given_infusion
from .pml import latest_jcv_test, months_on_treatment
from .snapshot import LabResultSnapshot, PatientSnapshot

# A rule that compares with `now > limit` changes just after the limit.
_JUST_AFTER = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)


def next_change(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> datetime | None:
    """The first moment after `now` at which the findings may change by time alone (UTC)."""
    now = utc_now_argument(now)
    known = as_of(snapshot, now)
    today = clinic_today(snapshot, now)
    days = [
        *_records_becoming_evidence_on(snapshot, today),
        *_birthdays(known, today, config),
        *_course_days(known, today, config),
        *_episode_ends(known),
        *_relapse_window_ends(known, config),
        *_pml_exposure_months(known, today, config),
    ]
    moments = [
        *_records_becoming_evidence_at(snapshot, now),
        *_bag_moments(known, now, config),
    ]
    next_day = min((day for day in days if day > today), default=None)
    if next_day is not None:
        moments.append(_start_of(next_day, snapshot))
    return min((moment for moment in moments if moment > now), default=None)


def clearance_change(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> datetime | None:
    """The first moment after `now` at which the patient's clearance (the gate with no
    infusion or bag chosen: `check_infusion(snapshot, now, config)`) may change by time alone
    (UTC; None as above)."""
    return next_changes(snapshot, now, config)[1]


def next_changes(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> tuple[datetime | None, datetime | None]:
    """When the findings, and when the clearance, may next change by time alone.

    The clearance changes with the findings, and also at the next midnight while a dose
    today would be early: the gate's early-dose warning names the day and counts the days.
    """
    now = utc_now_argument(now)
    findings_change = next_change(snapshot, now, config)
    last = last_given_infusion(snapshot)  # infusions are evidence at once (see `as_of`)
    if last is None or last.started_at is None:
        return findings_change, findings_change
    today = clinic_today(snapshot, now)
    if (today - local_date(snapshot, last.started_at)).days >= config.early_interval_days:
        return findings_change, findings_change
    tomorrow = _start_of(today + _ONE_DAY, snapshot)
    if findings_change is None:
        return None, tomorrow
    return findings_change, min(findings_change, tomorrow)


# How long before their due day a patient's clearance is stored (see `day_list_from`).
DAY_LIST_LEAD = timedelta(days=2)
_UNDER_WAY = ("planned", "running", "stopped")


def day_list_from(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> datetime | None:
    """From when the patient may be on a day list (the nurse's today list, the bag board,
    the bags needed): at or before `now` while they may be on one now, a later moment once
    only time can bring them there, None when only a new record can.

    An evaluation stores the clearance of these patients only, and evaluates the others
    again at this moment: the lists compute a clearance not stored on the spot, so this
    decides what the lists cost, never what they show. It errs early: a visit under way, a
    ready bag not expired before today, a dose given or a visit ended today, or a course
    within `DAY_LIST_LEAD` of its due day (the list's due day: the last dose's day + the
    schedule's weeks, or the start).
    """
    now = utc_now_argument(now)
    today = clinic_today(snapshot, now)
    if any(infusion.status in _UNDER_WAY for infusion in snapshot.infusions) or any(
        prep.status == "ready"
        and local_date(snapshot, preparation_expires_at(prep, config)) >= today
        for prep in snapshot.preparations
    ):
        return now  # a visit under way, or a bag on today's board
    if any(
        infusion.discharged_at is not None and local_date(snapshot, infusion.discharged_at) == today
        for infusion in snapshot.infusions
    ):
        return now  # done today: the list shows it
    last = last_given_infusion(snapshot)
    if last is not None and last.started_at is not None:
        last_day = local_date(snapshot, last.started_at)
        if last_day == today:
            return now
        due_on: date | None = last_day + timedelta(weeks=snapshot.schedule_weeks)
    else:
        due_on = snapshot.treatment_start
    if due_on is None or snapshot.treatment_status == "discontinued":
        return None
    return _start_of(due_on - DAY_LIST_LEAD, snapshot)


def _start_of(day: date, snapshot: PatientSnapshot) -> datetime:
    """The instant the clinic's calendar turns to `day` (midnight in its time zone), in UTC."""
    return datetime.combine(day, time(), tzinfo=snapshot.zone).astimezone(UTC)


def _records_becoming_evidence_at(snapshot: PatientSnapshot, now: datetime) -> Iterator[datetime]:
    """Records dated after `now` become evidence at their time (see `as_of`)."""
    for record in (*snapshot.lab_results, *snapshot.antibody_tests):
        if record.collected_at > now:
            yield record.collected_at
    for decision in snapshot.decisions:
        if decision.decided_at > now:
            yield decision.decided_at


def _records_becoming_evidence_on(snapshot: PatientSnapshot, today: date) -> Iterator[date]:
    """Records dated after today become evidence on their day."""
    yield from (mri.performed_on for mri in snapshot.mri_studies)
    yield from (edss.assessed_on for edss in snapshot.edss)
    yield from (relapse.onset_on for relapse in snapshot.relapses)
    yield from (medication.started_on for medication in snapshot.medications)
    yield from (infection.onset_on for infection in snapshot.infections)
    yield from (event.observed_on for event in snapshot.clinical_events)


def _birthday(birth_date: date, year: int) -> date:
    # age_on compares (month, day): born on 29 February, a year older on 1 March.
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def _birthdays(snapshot: PatientSnapshot, today: date, config: RuleConfig) -> Iterator[date]:
    """The birthdays that change a population rule (the others change nothing).

    POP-PEDIATRIC names the age until the adult birthday, which ends it; POP-ELDERLY begins
    the day after the elderly birthday and names the age on every birthday after it.
    """
    born = snapshot.birth_date
    for year in (today.year, today.year + 1):
        birthday = _birthday(born, year)
        age = year - born.year  # the age reached on that birthday
        if age <= config.adult_age or age > config.elderly_age:
            yield birthday
    # Those two whatever the year (years away for most: a past one is dropped by the caller).
    yield _birthday(born, born.year + config.adult_age)
    yield _birthday(born, born.year + config.elderly_age) + _ONE_DAY


def _course_days(snapshot: PatientSnapshot, today: date, config: RuleConfig) -> Iterator[date]:
    """The start of treatment, the reminders' due and overdue days, the dose's overdue days."""
    start = snapshot.treatment_start
    if start is None or not course_open(snapshot):
        return
    grace = timedelta(days=config.reminder_grace_days)
    # Baselines and the first dose count from the start; nothing periodic is due before it.
    yield from (start, start + grace)
    for last_on, interval in _periodic_anchors(snapshot, start, config):
        for due_on in (max(last_on, start) + interval, max(last_on + interval, start)):
            yield from (due_on, due_on + grace)
    if snapshot.treatment_status == "active":
        yield _dose_overdue_day(snapshot, config)


def _periodic_anchors(
    snapshot: PatientSnapshot, start: date, config: RuleConfig
) -> Iterator[tuple[date, timedelta]]:
    """(latest record's day, or the start when there is none; interval) of every periodic
    reminder (see reminders.py: a reminder with no record is due an interval after the start)."""

    # The latest result of each analyte (as labs.latest_result finds it), in one pass.
    latest_by_analyte: dict[str, LabResultSnapshot] = {}
    for result in snapshot.lab_results:
        found = latest_by_analyte.get(result.analyte)
        if found is None or (result.collected_at, result.id) > (found.collected_at, found.id):
            latest_by_analyte[result.analyte] = result

    def both_analytes(first: str, second: str) -> date:
        results = [latest_by_analyte.get(first), latest_by_analyte.get(second)]
        if not all(results):
            return start
        return min(local_date(snapshot, result.collected_at) for result in results if result)

    def days(count: int) -> timedelta:
        return timedelta(days=count)

    # LIVER-DUE without both analytes is a baseline: due at the start (see _course_days).
    yield both_analytes("ALT", "AST"), days(config.liver_interval_days)
    if config.thyroid_due_enabled:
        yield both_analytes("TSH", "FT4"), days(config.thyroid_interval_days)
    ada = latest(
        (test for test in snapshot.antibody_tests if test.target == "natalizumab"),
        key=lambda test: test.collected_at,
    )
    if config.ada_due_enabled:
        yield (
            local_date(snapshot, ada.collected_at) if ada else start,
            days(config.ada_interval_days),
        )
    jcv = latest_jcv_test(snapshot)
    # JCV-DUE: a baseline while there is no result; stops once positive with a high index.
    if jcv and not (jcv.result == "positive" and _high_index(jcv.index, config)):
        yield local_date(snapshot, jcv.collected_at), days(config.jcv_interval_days)
    mri = latest(snapshot.mri_studies, key=lambda mri: mri.performed_on)
    mri_on = mri.performed_on if mri else start
    yield mri_on, days(config.mri_interval_days)
    # MRI-PML-SURVEILLANCE only at high PML risk (which, once reachable, has its moments).
    if _pml_risk_can_be_high(snapshot, config):
        yield mri_on, days(config.mri_pml_surveillance_days)
    edss = latest(snapshot.edss, key=lambda edss: edss.assessed_on)
    yield edss.assessed_on if edss else start, days(config.edss_interval_days)
    reauthorized = latest(
        (d for d in snapshot.decisions if d.action == "reauthorize"),
        key=lambda d: d.decided_at,
    )
    reauthorized_on = local_date(snapshot, reauthorized.decided_at) if reauthorized else start
    yield reauthorized_on, days(config.rems_interval_days)


def _dose_overdue_day(snapshot: PatientSnapshot, config: RuleConfig) -> date:
    """INF-INTERVAL: overdue the day after the allowed delay (then unchanged: it names dates)."""
    start = snapshot.treatment_start
    assert start is not None
    last = last_given_infusion(snapshot)
    interval = timedelta(days=config.dosing_interval_days(snapshot.schedule_weeks))
    if last is not None and last.started_at is not None:
        due_on = local_date(snapshot, last.started_at) + interval
    else:
        due_on = start
    return due_on + timedelta(days=config.interval_overdue_after_days + 1)


def _episode_ends(snapshot: PatientSnapshot) -> Iterator[date]:
    """A medication stops counting the day after it stops; an episode ends when resolved."""
    for medication in snapshot.medications:
        if medication.stopped_on is not None:
            yield medication.stopped_on + _ONE_DAY
    for episode in (*snapshot.infections, *snapshot.clinical_events):
        if episode.resolved_on is not None:
            yield episode.resolved_on


def _relapse_window_ends(snapshot: PatientSnapshot, config: RuleConfig) -> Iterator[date]:
    window = timedelta(days=config.relapse_window_days)
    return (relapse.onset_on + window for relapse in snapshot.relapses)


def _high_index(index: Decimal | None, config: RuleConfig) -> bool:
    return index is not None and index > config.jcv_index_high


def _pml_risk_can_be_high(snapshot: PatientSnapshot, config: RuleConfig) -> bool:
    """Anti-JCV positive with prior immunosuppressants or a high index: high risk after the
    months of treatment the rule names (see pml.pml_risk); otherwise never, however long."""
    jcv = latest_jcv_test(snapshot)
    return (
        jcv is not None
        and jcv.result == "positive"
        and (snapshot.prior_immunosuppressants or _high_index(jcv.index, config))
    )


def _pml_exposure_months(
    snapshot: PatientSnapshot, today: date, config: RuleConfig
) -> Iterable[date]:
    """The months of treatment count in a PML risk that is or can become high (PML-RISK
    names them; MRI-PML-SURVEILLANCE names the stratum); in no other finding."""
    start = snapshot.treatment_start
    if start is None or not _pml_risk_can_be_high(snapshot, config):
        return ()
    # Month k+1 begins the day after k whole months from the start.
    months = months_on_treatment(start, today)
    return [add_months(start, month) + _ONE_DAY for month in range(max(0, months - 1), months + 2)]


def _bag_moments(
    snapshot: PatientSnapshot, now: datetime, config: RuleConfig
) -> Iterator[datetime]:
    """PREP-STABILITY: the start of the warning, and the expiry."""
    warning = timedelta(minutes=config.prep_expiry_warning_minutes)
    for prep in snapshot.preparations:
        if prep.status != "ready":
            continue
        expires_at = preparation_expires_at(prep, config)
        if now < expires_at - warning:
            yield expires_at - warning
        elif now <= expires_at:
            yield expires_at + _JUST_AFTER
