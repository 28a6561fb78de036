"""Critical alerts delivered to the people who must act: in the app, and by e-mail once.

Who must act on a critical alert:
- the neurologists, always;
- the nurses, when it blocks or stops treatment (block-infusion, suspend, discontinue);
- the pharmacists, for the dose preparation rules (PREP-*).

The in-app Notification row is written in the transaction that raises the alert (one per
alert and user, enforced by the database). The e-mail goes after the commit: each
notification is claimed by setting emailed_at before sending, so no e-mail goes twice; one
that fails to send is released for the timers to try again.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q

from alerts.models import Action, Alert, Notification
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from network.selectors import works_at

logger = logging.getLogger(__name__)

NURSE_ACTIONS = frozenset({Action.BLOCK_INFUSION, Action.SUSPEND, Action.DISCONTINUE})
# E-mails older than this are not sent any more: the in-app notification has long been there.
EMAIL_RETRY_WINDOW = timedelta(days=1)


def roles_that_must_act(alert: Alert) -> set[str]:
    roles = {NEUROLOGIST}
    if alert.action in NURSE_ACTIONS:
        roles.add(NURSE)
    if alert.rule.startswith("PREP-"):
        roles.add(PHARMACIST)
    return roles


def notify_critical(alert: Alert) -> list[UUID]:
    """Write one notification per user who must act; returns the ids of the new ones."""
    recipients = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles_that_must_act(alert))
        .filter(works_at(alert.patient.site_id))  # the staff of the patient's site only
        .distinct()
    )
    already = set(Notification.objects.filter(alert=alert).values_list("recipient_id", flat=True))
    new = [
        Notification(alert=alert, recipient=user) for user in recipients if user.pk not in already
    ]
    # ignore_conflicts: the unique (alert, recipient) constraint settles any race.
    Notification.objects.bulk_create(new, ignore_conflicts=True)
    return list(
        Notification.objects.filter(
            alert=alert, recipient_id__in=[n.recipient_id for n in new]
        ).values_list("pk", flat=True)
    )


def deliver_emails(notification_ids: Iterable[UUID] | None = None) -> int:
    """Send the e-mail of each notification not yet e-mailed; returns how many were sent.

    Without ids: every notification of the last day still waiting (the timers' catch-up).
    """
    waiting = Notification.objects.filter(emailed_at__isnull=True).exclude(
        Q(recipient__email="") | Q(recipient__email__isnull=True)
    )
    if notification_ids is None:
        waiting = waiting.filter(created_at__gte=clock.now() - EMAIL_RETRY_WINDOW)
    else:
        waiting = waiting.filter(pk__in=list(notification_ids))
    sent = 0
    connection = None
    for notification in waiting.select_related("alert", "recipient"):
        claimed_at = clock.now()
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=claimed_at
        )
        if not claimed:
            continue  # another worker sends this one
        try:
            connection = connection or get_connection()
            _message(notification, connection).send()
        except Exception:
            # Released for the next timers run; ids only in the log.
            Notification.objects.filter(pk=notification.pk, emailed_at=claimed_at).update(
                emailed_at=None
            )
            logger.exception("E-mail of notification %s failed", notification.pk)
            continue
        sent += 1
    return sent


def _message(notification: Notification, connection: object) -> EmailMessage:
    alert = notification.alert
    # No patient identity in e-mail: the link leads to the record behind a login.
    subject = f"[Natalizumab monitor] Critical alert {alert.rule}: {alert.action}"
    body = (
        f"A critical alert needs your action.\n\n"
        f"Rule: {alert.rule}\nAction: {alert.action}\nRaised at: "
        f"{alert.raised_at:%Y-%m-%d %H:%M} UTC\n\n"
        f"Open the monitor to see the patient and the finding (alert {alert.pk}).\n"
    )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        connection=connection,
    )
