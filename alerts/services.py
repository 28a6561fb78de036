"""Every write to an alert goes through save_alert_change, which places it in the feed.

The feed (GET /api/v1/alerts/) is ordered by Alert.feed_seq, and a client resumes after the
last feed_seq it saw. That is only safe if a change that commits later never gets a lower
feed_seq than one already visible: otherwise a poller that has moved past it misses it.
So the number is taken under a transaction-level advisory lock, held until the writing
transaction commits; the next writer waits, then reads the committed maximum.

A transaction that locks alert rows takes the feed lock first (lock_feed), so that two
writers never wait for each other in opposite orders.
"""

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max

from natalizumab_monitor import clock
from natalizumab_monitor.errors import Conflict
from natalizumab_monitor.services import Problems
from network import changes

from .models import Alert, AlertStatus, Notification

FEED_LOCK_KEY = 0x4E5A_4645  # "NZFE": the one advisory lock that orders the alert feed


def lock_feed() -> None:
    """Hold the feed lock until the current transaction ends (re-entrant).

    PostgreSQL only: SQLite serialises all writers anyway.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("The feed lock is taken inside the transaction that writes.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK_KEY])


def next_feed_seq() -> int:
    """The next position in the feed; call it inside the transaction that writes the alert.

    Under the feed lock, READ COMMITTED gives the MAX below a snapshot taken after every
    earlier feed writer committed.
    """
    lock_feed()
    # Every site's alerts: the feed is one sequence for the whole network (a caller's scoped
    # manager would give the maximum of their sites only, behind another site's changes).
    current = Alert.all_sites.aggregate(last=Max("feed_seq"))["last"]
    return (current or 0) + 1


@transaction.atomic
def save_alert_change(alert: Alert) -> Alert:
    """Save a raised, updated, acknowledged or resolved alert at the end of the feed."""
    alert.feed_seq = next_feed_seq()
    alert.save()
    return alert


@transaction.atomic
def acknowledge_alert(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    """A clinician has seen the alert; acknowledging it again changes nothing."""
    lock_feed()
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict("The alert is already resolved.")
    if alert.status == AlertStatus.ACKNOWLEDGED:
        return alert
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = clock.now()
    return _changed_by_a_person(save_alert_change(alert))


@transaction.atomic
def resolve_alert(*, alert: Alert, note: str, user: AbstractBaseUser) -> Alert:
    """A neurologist closes the alert with a written note."""
    lock_feed()
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    note = note.strip()
    problems = Problems()
    if not note:
        problems.add("note", "Resolving an alert needs a written note.")
    problems.raise_if_any()
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict("The alert is already resolved.")
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by = user
    alert.resolved_at = clock.now()
    alert.resolution_note = note
    return _changed_by_a_person(save_alert_change(alert))


def _changed_by_a_person(alert: Alert) -> Alert:
    """The worklists kept of the patient's site are old once this commits (an evaluation's
    changes are announced by the evaluation: alerts/evaluation.py)."""
    patient_id = alert.patient_id
    transaction.on_commit(lambda: changes.patients_changed([patient_id]), robust=True)
    return alert


def mark_notifications_read(*, user: AbstractBaseUser, notification_id: UUID | None = None) -> int:
    """Mark one of the user's notifications read (or all of them, without an id).

    Returns how many changed; a notification already read keeps its first read time, and
    another user's notification is never touched.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=clock.now(), updated_at=clock.now())
