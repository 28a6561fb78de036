"""The one place that turns findings into alerts.

An evaluation locks the patient row, builds the snapshot, runs the rules engine and writes
the difference between the findings and the standing (open or acknowledged) alerts, all in
one transaction:

- a finding with no standing alert raises one;
- a standing alert whose finding says something else now is updated (and moves to the end
  of the feed); one that says the same is left alone; an acknowledged one whose finding
  grew graver (a warning become critical) is open again;
- a standing alert whose finding is gone is resolved by the system.

A finding whose alert a person resolved stays resolved: the same dedup key is not raised
again (a new record gives a new key). Running an evaluation twice, late, or after a crash
leaves the same alerts; two evaluations of one patient wait for each other.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction

from alerts.models import (
    SEVERITY_RANK,
    Alert,
    AlertStatus,
    EvaluationSchedule,
    PendingEvaluation,
    Severity,
)
from alerts.notifications import deliver_emails, notify_critical
from alerts.profile import active_config
from alerts.rules import (
    Finding,
    GateResult,
    PatientSnapshot,
    RuleConfig,
    day_list_from,
    evaluate,
    findings_and_clearance,
    next_change,
    next_changes,
)
from alerts.services import lock_feed, save_alert_change
from alerts.snapshots import build_snapshots
from natalizumab_monitor import clock
from network import changes
from patients.models import Patient

logger = logging.getLogger(__name__)

STANDING = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
SYSTEM_RESOLUTION_NOTE = "Resolved by the system: the finding is gone"
# The fields of an alert that follow its finding; any difference is an update.
_FINDING_FIELDS = (
    "severity",
    "action",
    "message",
    "evidence",
    "source",
    "profile",
    "profile_version",
)


@dataclass
class EvaluationResult:
    """What one evaluation of one patient changed (alert ids as strings)."""

    patient_id: str
    raised: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    unchanged: int = 0
    notified: int = 0
    found: bool = True  # False: the patient does not exist (any more)

    @property
    def changed(self) -> bool:
        return bool(self.raised or self.updated or self.resolved)


def evaluate_patient(patient_id: UUID | str) -> EvaluationResult:
    """Evaluate one patient now and bring their alerts in line with the findings."""
    return evaluate_patients([patient_id])[0]


def evaluate_patients(patient_ids: Iterable[UUID | str]) -> list[EvaluationResult]:
    """Evaluate a batch of patients in one transaction (the sweep's unit of work).

    The unique constraint on a standing dedup_key is the last line of defence: a clash means
    another writer got there first, and one retry sees its alert.
    """
    ids = sorted({str(patient_id) for patient_id in patient_ids})
    if not ids:
        return []
    try:
        results, notification_ids, marks = _evaluate_in_one_transaction(ids)
    except IntegrityError:
        logger.warning("Alert write clashed for %d patient(s); evaluating again", len(ids))
        results, notification_ids, marks = _evaluate_in_one_transaction(ids)
    # After the commit, not under the patient lock: a write that re-marked the patient
    # meanwhile holds the mark's row, and must never wait for us while we wait for it.
    for patient_id, token in marks.items():
        PendingEvaluation.objects.filter(patient_id=patient_id, token=token).delete()
    # Their clearances are stored and their marks gone: the lists kept of their sites are old.
    transaction.on_commit(lambda: changes.patients_changed(ids), robust=True)
    if notification_ids:
        deliver_emails(notification_ids)
    return [results[patient_id] for patient_id in ids]


def _evaluate_in_one_transaction(
    ids: list[str],
) -> tuple[dict[str, EvaluationResult], list[UUID], dict[UUID, UUID]]:
    with transaction.atomic():
        # Locked in id order (no deadlock between batches); NO KEY UPDATE so that writes of
        # the patient's records (which take KEY SHARE) never wait for an evaluation.
        locked = list(
            Patient.objects.select_for_update(no_key=True)
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        found = {str(pk) for pk in locked}
        # Read before the snapshot: a mark made after this is kept for the next evaluation.
        marks = dict(
            PendingEvaluation.objects.filter(patient_id__in=locked).values_list(
                "patient_id", "token"
            )
        )
        now = clock.now()
        config = active_config()
        snapshots = build_snapshots(locked)
        assessed = {patient_id: _assess(snapshots[patient_id], now, config) for patient_id in found}
        findings = {patient_id: assessment.findings for patient_id, assessment in assessed.items()}
        _schedule_next(assessed, now, config)
        results = {
            patient_id: EvaluationResult(patient_id=patient_id, found=patient_id in found)
            for patient_id in ids
        }
        notification_ids: list[UUID] = []
        plan = _plan(findings, _standing_alerts(found), _human_resolved_keys(found, findings))
        if any(changes for changes in plan.values()):
            # Every alert writer takes the feed lock first; read again under it, since a person
            # may have acknowledged or resolved an alert since the first read.
            lock_feed()
            changed = [patient_id for patient_id, changes in plan.items() if changes]
            fresh = _plan(
                {patient_id: findings[patient_id] for patient_id in changed},
                _standing_alerts(changed),
                _human_resolved_keys(changed, findings),
            )
            for patient_id, changes in fresh.items():
                notification_ids += _apply(changes, results[patient_id], now)
            plan.update(fresh)
        for patient_id, changes in plan.items():
            results[patient_id].unchanged = _count_unchanged(findings[patient_id], changes)
    return results, notification_ids, marks


def config_version(config: RuleConfig) -> str:
    """The thresholds an evaluation used: findings under other thresholds are out of date."""
    return f"{config.name}/{config.version}"


@dataclass
class _Assessment:
    """One patient's findings now, and what an evaluation stores for the day's lists."""

    findings: list[Finding]
    next_change_at: datetime | None  # when to evaluate again if no record changes
    time_zone: str
    clearance: GateResult | None = None  # stored only while a day list may need it
    clearance_until: datetime | None = None


def _assess(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> _Assessment:
    """The findings; the clearance too while the patient may be on a day list, otherwise
    an evaluation again when they may be (`day_list_from`)."""
    on_list_from = day_list_from(snapshot, now, config)
    if on_list_from is not None and on_list_from <= now:
        findings, clearance = findings_and_clearance(snapshot, now, config)
        findings_change, clearance_change = next_changes(snapshot, now, config)
        # Evaluated again when the stored clearance ends, if the patient may be on a list
        # then (or once they may be again).
        listed_again = None
        if clearance_change is not None:
            on_list_again = day_list_from(snapshot, clearance_change, config)
            if on_list_again is not None:
                listed_again = max(on_list_again, clearance_change)
        return _Assessment(
            findings,
            _earliest(findings_change, listed_again),
            snapshot.clinic_time_zone,
            clearance,
            clearance_change,
        )
    return _Assessment(
        evaluate(snapshot, now, config),
        _earliest(next_change(snapshot, now, config), on_list_from),
        snapshot.clinic_time_zone,
    )


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((moment for moment in moments if moment is not None), default=None)


def _schedule_next(assessed: dict[str, _Assessment], now: datetime, config: RuleConfig) -> None:
    """Record when each patient's findings can next change by time alone, and their
    clearance until it may change (one statement)."""
    version = config_version(config)
    schedules = [
        EvaluationSchedule(
            patient_id=patient_id,
            evaluated_at=now,
            next_change_at=assessment.next_change_at,
            config_version=version,
            clearance=assessment.clearance.model_dump(mode="json")
            if assessment.clearance
            else None,
            clearance_until=assessment.clearance_until,
            time_zone=assessment.time_zone,
        )
        for patient_id, assessment in assessed.items()
    ]
    EvaluationSchedule.objects.bulk_create(
        schedules,
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=[
            "evaluated_at",
            "next_change_at",
            "config_version",
            "clearance",
            "clearance_until",
            "time_zone",
        ],
    )


@dataclass
class _Changes:
    raise_: list[Finding] = field(default_factory=list)
    update: list[tuple[Alert, Finding]] = field(default_factory=list)
    resolve: list[Alert] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.raise_ or self.update or self.resolve)


def _standing_alerts(patient_ids: Iterable[str]) -> dict[str, list[Alert]]:
    by_patient: dict[str, list[Alert]] = {}
    for alert in Alert.objects.filter(patient_id__in=list(patient_ids), status__in=STANDING):
        by_patient.setdefault(str(alert.patient_id), []).append(alert)
    return by_patient


def _human_resolved_keys(
    patient_ids: Iterable[str], findings: dict[str, list[Finding]]
) -> set[str]:
    """Dedup keys of current findings whose alert a person resolved: not raised again."""
    keys = {finding.dedup_key for ids in patient_ids for finding in findings[ids]}
    if not keys:
        return set()
    return set(
        Alert.objects.filter(
            patient_id__in=list(patient_ids),
            status=AlertStatus.RESOLVED,
            resolved_by__isnull=False,
            dedup_key__in=keys,
        ).values_list("dedup_key", flat=True)
    )


def _plan(
    findings: dict[str, list[Finding]],
    standing: dict[str, list[Alert]],
    human_resolved: set[str],
) -> dict[str, _Changes]:
    plan: dict[str, _Changes] = {}
    for patient_id, patient_findings in findings.items():
        changes = _Changes()
        alerts = {alert.dedup_key: alert for alert in standing.get(patient_id, [])}
        current = {finding.dedup_key: finding for finding in patient_findings}
        for key, finding in current.items():
            alert = alerts.get(key)
            if alert is None:
                if key not in human_resolved:
                    changes.raise_.append(finding)
            elif _differs(alert, finding):
                changes.update.append((alert, finding))
        changes.resolve = [alert for key, alert in alerts.items() if key not in current]
        plan[patient_id] = changes
    return plan


def _differs(alert: Alert, finding: Finding) -> bool:
    return any(getattr(alert, name) != getattr(finding, name) for name in _FINDING_FIELDS)


def _count_unchanged(findings: Sequence[Finding], changes: _Changes) -> int:
    return len(findings) - len(changes.raise_) - len(changes.update)


def _apply(changes: _Changes, result: EvaluationResult, now: datetime) -> list[UUID]:
    """Write one patient's changes, each at the end of the feed; returns new notifications."""
    notification_ids: list[UUID] = []
    for finding in changes.raise_:
        alert = Alert(
            patient_id=result.patient_id,
            rule=finding.rule,
            dedup_key=finding.dedup_key,
            raised_at=now,
            **{name: getattr(finding, name) for name in _FINDING_FIELDS},
        )
        save_alert_change(alert)
        result.raised.append(str(alert.pk))
        if alert.severity == Severity.CRITICAL:
            notification_ids += notify_critical(alert)
    for alert, finding in changes.update:
        became_critical = (
            alert.severity != Severity.CRITICAL and finding.severity == Severity.CRITICAL
        )
        graver = SEVERITY_RANK[finding.severity] < SEVERITY_RANK[alert.severity]
        if graver and alert.status == AlertStatus.ACKNOWLEDGED:
            # An acknowledgement covers what was seen: a graver finding is open again.
            alert.status = AlertStatus.OPEN
            alert.acknowledged_by = None
            alert.acknowledged_at = None
        for name in _FINDING_FIELDS:
            setattr(alert, name, getattr(finding, name))
        save_alert_change(alert)
        result.updated.append(str(alert.pk))
        if became_critical:
            notification_ids += notify_critical(alert)
    for alert in changes.resolve:
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.resolution_note = SYSTEM_RESOLUTION_NOTE
        save_alert_change(alert)
        result.resolved.append(str(alert.pk))
    result.notified += len(notification_ids)
    return notification_ids
