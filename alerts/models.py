"""Alerts raised from the rules engine's findings, their notifications, and job heartbeats."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from natalizumab_monitor.db import RecordModel
from network.scoping import NotificationScopedManager, SiteScopedManager


class Severity(models.TextChoices):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class Action(models.TextChoices):
    SUSPEND = "suspend"
    BLOCK_INFUSION = "block-infusion"
    DISCONTINUE = "discontinue"
    REMIND = "remind"
    INFORM = "inform"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Alert(RecordModel):
    """One finding of the rules engine, kept until it is resolved.

    A finding has one standing (open or acknowledged) alert at most: the database refuses a
    second one with the same dedup_key.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="alerts")
    rule = models.CharField(max_length=40)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    message = models.TextField()
    evidence = models.JSONField(default=dict)
    source = models.CharField(max_length=200)
    profile = models.CharField(max_length=20)
    profile_version = models.CharField(max_length=20, blank=True)
    dedup_key = models.CharField(max_length=200)
    raised_at = models.DateTimeField()
    # Position in the feed: strictly increasing in commit order (see alerts.services).
    feed_seq = models.BigIntegerField(unique=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["feed_seq"]
        indexes = [
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["rule", "status"]),
            models.Index(fields=["updated_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=~Q(status="resolved"),
                name="alert_one_standing_per_dedup_key",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(status="resolved"),
                name="alert_resolved_at_only_when_resolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.severity} ({self.status})"


class Notification(RecordModel):
    """A critical alert delivered to one user who must act; delivered once per alert."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "recipient"], name="notification_once_per_alert_and_user"
            ),
        ]


class Heartbeat(models.Model):
    """When a piece of background work last finished (the sweep, the timers)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_run_at = models.DateTimeField()
    detail = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class PendingEvaluation(models.Model):
    """A patient whose findings may have changed since their alerts were last evaluated.

    Written in the same transaction as the clinical record that changed, cleared by the
    evaluation that saw it: when the queued task is lost (broker down, worker killed), the
    timers find the mark and evaluate the patient.
    """

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # A new token at every mark: an evaluation clears only the mark it read before it began.
    token = models.UUIDField(default=uuid.uuid4)
    marked_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"evaluate {self.patient_id} (marked {self.marked_at:%Y-%m-%d %H:%M:%S})"


class EvaluationSchedule(models.Model):
    """When a patient's findings can next change by time alone, as of their last evaluation.

    Written by every evaluation (alerts.evaluation) from the rules' own thresholds
    (alerts.rules.next_change): the nightly job evaluates the patients whose moment has come,
    those marked (PendingEvaluation), and those last evaluated under other thresholds.
    """

    patient = models.OneToOneField(
        "patients.Patient",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="evaluation_schedule",
    )
    evaluated_at = models.DateTimeField()
    # Empty: only a new record can change the findings. Also the moment a patient may come
    # onto a day list, when their clearance is not stored (alerts.rules.day_list_from).
    next_change_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The rule profile and version the findings were computed with.
    config_version = models.CharField(max_length=60)
    # The patient's clearance as of the evaluation (the gate with no infusion or bag chosen,
    # GateResult as JSON), for the lists that show many patients' clearance at once. It is
    # the clearance now while the patient has no pending mark, the thresholds and the time
    # zone are the same, and `clearance_until` (empty: a new record) has not come. Empty
    # while the patient cannot be on a day list: the lists compute it then.
    clearance = models.JSONField(null=True, blank=True)
    clearance_until = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            # The timers' look for stored clearances that ended (alerts.timers), every minute.
            models.Index(
                fields=["clearance_until"],
                condition=models.Q(clearance__isnull=False),
                name="alerts_clearance_until_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} next change {self.next_change_at}"


class SweepKind(models.TextChoices):
    FULL = "full"
    NIGHTLY = "nightly"


class SweepRun(models.Model):
    """One run of the full sweep or the nightly job, fanned out as batches of patients."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=SweepKind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    patients = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} sweep of {self.started_at:%Y-%m-%d %H:%M}"


class SweepBatch(models.Model):
    """One batch of a run: done once its task evaluated every patient in it (at least once)."""

    run = models.ForeignKey(SweepRun, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    # Kept with the run: a dispatcher redelivered after a crash publishes the same batches.
    patient_ids = models.JSONField(default=list)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="sweep_batch_once_per_run")
        ]

    def __str__(self) -> str:
        return f"batch {self.number} of {self.run_id}"
