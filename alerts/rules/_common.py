"""Helpers shared by the rule families: clinic dates, decisions, reminders.

No clock is read here: every function takes `now` (or the clinic's `today`) from its caller.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from .config import RuleConfig
from .findings import Finding, make_finding
from .snapshot import DecisionSnapshot, PatientSnapshot
from .wording import date_text, datetime_text


class _Record(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Record)


def clinic_today(snapshot: PatientSnapshot, now: datetime) -> date:
    """The calendar day at the clinic: day boundaries follow the clinic's time zone."""
    return now.astimezone(snapshot.zone).date()


def local_date(snapshot: PatientSnapshot, moment: datetime) -> date:
    return moment.astimezone(snapshot.zone).date()


def local_time_text(snapshot: PatientSnapshot, moment: datetime) -> str:
    """A time as the clinic reads it, e.g. `2 Mar 2026 14:30`."""
    return datetime_text(moment, snapshot.zone)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth_date: date, day: date) -> int:
    """Completed years; someone born on 29 February turns a year older on 1 March."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def latest(items: Iterable[T], key: Callable[[T], object]) -> T | None:
    """The latest item by `key`, ties broken by id so the order of records never matters."""
    return max(items, key=lambda item: (key(item), item.id), default=None)


def chronological(items: Iterable[T], key: Callable[[T], object]) -> list[T]:
    return sorted(items, key=lambda item: (key(item), item.id))


def is_open(resolved_on: date | None, today: date) -> bool:
    """Unresolved, or resolved only on a future day."""
    return resolved_on is None or resolved_on > today


def course_open(snapshot: PatientSnapshot) -> bool:
    """Reminders run while the course is active or suspended, not once discontinued."""
    return snapshot.treatment_status in ("active", "suspended")


def schedule_running(snapshot: PatientSnapshot, today: date) -> bool:
    """Nothing but baseline needs is due before the start of treatment."""
    return (
        course_open(snapshot)
        and snapshot.treatment_start is not None
        and today >= snapshot.treatment_start
    )


def _decided_at_or_after(
    snapshot: PatientSnapshot, decision: DecisionSnapshot, cause: datetime | date
) -> bool:
    if isinstance(cause, datetime):
        return decision.decided_at >= cause
    # A cause known only by its day: a decision on that clinic day counts as after it.
    return local_date(snapshot, decision.decided_at) >= cause


def decisions_after(
    snapshot: PatientSnapshot,
    rule: str,
    cause: datetime | date,
    actions: Iterable[str],
) -> list[DecisionSnapshot]:
    """Decisions of `actions` about `rule` (or about no rule in particular) after the cause."""
    wanted = set(actions)
    return chronological(
        (
            decision
            for decision in snapshot.decisions
            if decision.action in wanted
            and decision.rule in (None, rule)
            and _decided_at_or_after(snapshot, decision, cause)
        ),
        key=lambda decision: decision.decided_at,
    )


def resumed_after(
    snapshot: PatientSnapshot, rule: str, cause: datetime | date
) -> DecisionSnapshot | None:
    """The first neurologist `resume` decision after the cause of a suspending finding."""
    found = decisions_after(snapshot, rule, cause, ("resume",))
    return found[0] if found else None


def settled_discontinue(
    snapshot: PatientSnapshot,
    rule: str,
    cause: datetime | date,
    *,
    resume_clears: bool,
) -> DecisionSnapshot | None:
    """The decision that settles a `discontinue` finding, if any.

    The latest `discontinue` or `resume` decision after the cause counts: a discontinue
    always settles it; a resume settles it only where the profile allows re-treatment.
    """
    found = decisions_after(snapshot, rule, cause, ("discontinue", "resume"))
    if not found:
        return None
    last = found[-1]
    if last.action == "discontinue" or resume_clears:
        return last
    return None


def reminder(
    snapshot: PatientSnapshot,
    today: date,
    config: RuleConfig,
    *,
    rule: str,
    item: str,
    due_on: date,
    interval_days: int,
    last_on: date | None,
    source: str,
    blocks_when_overdue: bool = False,
    cause: str | None = None,
    extra_evidence: dict[str, object] | None = None,
) -> Finding | None:
    """A reminder: due on `due_on` (info), overdue `reminder_grace_days` later (warning).

    The dedup key is the due date (or `cause`, e.g. `baseline`), so the alert that turns from
    due to overdue is the same alert, updated in place.
    """
    if today < due_on:
        return None
    overdue_on = due_on + timedelta(days=config.reminder_grace_days)
    overdue = today >= overdue_on
    if overdue:
        message = f"{item} overdue since {date_text(overdue_on)}: due {date_text(due_on)}"
    else:
        message = f"{item} due {date_text(due_on)}"
    history = f"last {date_text(last_on)}" if last_on else "none recorded yet"
    message += f" (every {interval_days} days; {history})" if interval_days else f" ({history})"
    blocks = overdue and blocks_when_overdue
    if blocks:
        message += ": no infusion until it is done"
    evidence: dict[str, object] = {
        "item": item,
        "due_on": due_on,
        "overdue_on": overdue_on,
        "overdue": overdue,
        "interval_days": interval_days,
        "grace_days": config.reminder_grace_days,
        "last_on": last_on,
        **(extra_evidence or {}),
    }
    return make_finding(
        patient_id=snapshot.id,
        config=config,
        rule=rule,
        cause=cause or due_on.isoformat(),
        severity="warning" if overdue else "info",
        action="block-infusion" if blocks else "remind",
        message=message,
        evidence=evidence,
        source=source,
    )


def as_of(snapshot: PatientSnapshot, now: datetime) -> PatientSnapshot:
    """The snapshot as known at `now`: records dated after it are not evidence yet."""
    today = clinic_today(snapshot, now)
    return snapshot.model_copy(
        update={
            "lab_results": tuple(r for r in snapshot.lab_results if r.collected_at <= now),
            "antibody_tests": tuple(t for t in snapshot.antibody_tests if t.collected_at <= now),
            "mri_studies": tuple(m for m in snapshot.mri_studies if m.performed_on <= today),
            "edss": tuple(e for e in snapshot.edss if e.assessed_on <= today),
            "relapses": tuple(r for r in snapshot.relapses if r.onset_on <= today),
            "medications": tuple(m for m in snapshot.medications if m.started_on <= today),
            "infections": tuple(i for i in snapshot.infections if i.onset_on <= today),
            "clinical_events": tuple(e for e in snapshot.clinical_events if e.observed_on <= today),
            "decisions": tuple(d for d in snapshot.decisions if d.decided_at <= now),
        }
    )
