"""What the laboratory sent, the answer it got, and the results that wait for a person."""

import uuid

from django.conf import settings
from django.db import models

from network.scoping import InboxScopedManager


class Channel(models.TextChoices):
    MLLP = "mllp", "HL7 v2 over MLLP"
    HTTP = "http", "HL7 v2 over HTTP"
    FHIR = "fhir", "FHIR R4 Bundle"
    CSV = "csv", "CSV import"


class AckCode(models.TextChoices):
    ACCEPTED = "AA", "Accepted"
    ERROR = "AE", "Error: read but not filed"
    REJECTED = "AR", "Rejected: not readable"


class InboundMessage(models.Model):
    """One message as received, kept with the acknowledgement it was answered with."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=4, choices=Channel.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The account that posted it (none over MLLP).",
    )
    received_at = models.DateTimeField()
    control_id = models.CharField("message control id (MSH-10)", max_length=200, blank=True)
    content = models.TextField(help_text="The message exactly as received.")
    ack_code = models.CharField(max_length=2, choices=AckCode.choices)
    ack = models.TextField("acknowledgement sent", blank=True)
    explanation = models.TextField(blank=True)
    results_filed = models.PositiveIntegerField(default=0)
    results_queued = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["sender", "received_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.control_id} {self.ack_code}"


class InboxReason(models.TextChoices):
    UNKNOWN_PATIENT = "unknown-patient", "No patient with this MRN"
    AMBIGUOUS_PATIENT = "ambiguous-patient", "The identifiers name more than one patient"
    UNMAPPED_CODE = "unmapped-code", "Code not mapped to a monitored test"
    UNMAPPED_UNIT = "unmapped-unit", "Unit without an exact conversion"
    INCOMPLETE = "incomplete", "Value, range or collection time missing or unreadable"
    INVALID = "invalid", "Refused by validation"
    CONFLICT = "conflict", "Differs from the result already filed under the same key"


class InboxStatus(models.TextChoices):
    WAITING = "waiting"
    FILED = "filed"
    REJECTED = "rejected"


class LabInboxEntry(models.Model):
    """A result that could not be filed by itself: it waits until a person files or rejects it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(
        InboundMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inbox_entries",
    )
    created_at = models.DateTimeField()
    result_key = models.CharField(
        max_length=255, unique=True, help_text="The sender's key of the result."
    )
    reason = models.CharField(max_length=20, choices=InboxReason.choices)
    detail = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=InboxStatus.choices, default=InboxStatus.WAITING
    )
    # The site of the one patient the identifiers name (None: no patient known, everyone's).
    site = models.ForeignKey(
        "network.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The result as the sender described it.
    patient_identifiers = models.CharField(max_length=500, blank=True)
    code = models.CharField(max_length=100, blank=True)
    code_system = models.CharField(max_length=200, blank=True)
    code_text = models.CharField(max_length=500, blank=True)
    value = models.CharField(max_length=200, blank=True)
    unit = models.CharField(max_length=100, blank=True)
    reference_range = models.CharField(max_length=100, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    result_status = models.CharField(max_length=20, blank=True)
    # What a person decided.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    lab_result = models.ForeignKey(
        "labs.LabResult", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    antibody_test = models.ForeignKey(
        "labs.AntibodyTest", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = InboxScopedManager()
    all_sites = models.Manager()  # noqa: DJ012 - the sender's keys are unique network-wide

    class Meta:
        ordering = ["created_at"]
        verbose_name = "lab inbox entry"
        verbose_name_plural = "lab inbox entries"
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.code} {self.value} {self.unit} ({self.reason})"


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed"  # uploaded and shown row by row; nothing filed yet
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CsvImport(models.Model):
    """A CSV file of results a neurologist uploaded, imported in the background."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField()
    file_name = models.CharField(max_length=255)
    content = models.TextField()
    status = models.CharField(
        max_length=9, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_filed = models.PositiveIntegerField(default=0)
    rows_queued = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_refused = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = "CSV import"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"
