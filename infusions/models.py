"""Dose preparations (pharmacist), pre-infusion checklists and infusions (nurse), reactions."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from natalizumab_monitor.db import RecordModel
from network.scoping import ReactionScopedManager, SiteScopedManager

ACCEPTED_DILUENT = "0.9% NaCl"


class Storage(models.TextChoices):
    ROOM = "room", "Room temperature"
    REFRIGERATED = "refrigerated", "Refrigerated (2-8 °C)"


class PreparationStatus(models.TextChoices):
    READY = "ready"
    USED = "used"
    DISCARDED = "discarded"


def _whole(amount: Decimal) -> str:
    return str(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class DosePreparation(RecordModel):
    """One bag: 300 mg natalizumab diluted in 100 mL 0.9% NaCl, with its stability limit."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="preparations"
    )
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1)
    diluent = models.CharField(max_length=40)
    diluent_volume_ml = models.DecimalField(max_digits=6, decimal_places=1)
    prepared_at = models.DateTimeField("time of dilution")
    storage = models.CharField(max_length=12, choices=Storage.choices)
    # When a refrigerated bag was taken out: from then on it keeps the room-temperature limit.
    room_temperature_since = models.DateTimeField(null=True, blank=True)
    frozen = models.BooleanField(default=False)
    shaken = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=PreparationStatus.choices, default=PreparationStatus.READY
    )
    # Derived from prepared_at, storage and the rule profile (PREP-STABILITY); stored so the
    # timers can find bags reaching their limit with one indexed query.
    expires_at = models.DateTimeField(db_index=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="preparations",
        null=True,
        blank=True,
    )
    discarded_reason = models.CharField(max_length=200, blank=True)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["prepared_at"]
        indexes = [
            # The bag board: today's bags, and the bags still ready by their expiry; the
            # nurse's list: a patient's ready bags. None reads a bag history.
            models.Index(fields=["prepared_at", "patient"]),
            models.Index(
                fields=["expires_at", "patient"],
                condition=Q(status="ready"),
                name="preparation_ready_by_expiry",
            ),
            models.Index(fields=["patient"], condition=Q(status="ready"), name="preparation_ready"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(dose_mg__gt=0), name="preparation_dose_positive"),
            models.CheckConstraint(
                condition=Q(diluent_volume_ml__gt=0), name="preparation_volume_positive"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("prepared_at")),
                name="preparation_expires_after_dilution",
            ),
            models.CheckConstraint(
                condition=Q(room_temperature_since__isnull=True)
                | Q(room_temperature_since__gte=F("prepared_at")),
                name="preparation_out_of_fridge_after_dilution",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dose_mg} mg in {self.diluent_volume_ml} mL {self.diluent}"

    @property
    def contents(self) -> str:
        """What the bag holds, as the pharmacy writes it: "300 mg in 100 mL 0.9% NaCl"."""
        return f"{_whole(self.dose_mg)} mg in {_whole(self.diluent_volume_ml)} mL {self.diluent}"

    @property
    def stability_window(self) -> timedelta:
        return self.expires_at - self.prepared_at


class PreInfusionChecklist(RecordModel):
    """The TOUCH pre-infusion checklist, recorded for every visit, infused or not."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="checklists"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checklists_asked"
    )
    asked_at = models.DateTimeField()
    authorized = models.BooleanField("treatment is authorized")
    new_neurological_symptoms = models.BooleanField(
        "new or worsening medical problem in the past month"
    )
    immunocompromised = models.BooleanField("condition that weakens the immune system")
    immunosuppressants_last_month = models.BooleanField(
        "medicine for cancer or MS, or other immunosuppressant, in the past month"
    )
    current_infection = models.BooleanField("current infection")
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="checklists_cleared",
        null=True,
        blank=True,
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    clearance_note = models.TextField(blank=True)

    ANSWER_FIELDS = (
        "new_neurological_symptoms",
        "immunocompromised",
        "immunosuppressants_last_month",
        "current_infection",
    )

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["asked_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True) | Q(cleared_by__isnull=False),
                name="checklist_clearance_names_prescriber",
            ),
        ]

    @property
    def needs_clearance(self) -> bool:
        return not self.authorized or any(getattr(self, f) for f in self.ANSWER_FIELDS)


class Route(models.TextChoices):
    IV_INFUSION = "iv-infusion", "Intravenous infusion"


class InfusionStatus(models.TextChoices):
    PLANNED = "planned"
    RUNNING = "running"
    STOPPED = "stopped", "Stopped, in observation"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"


class Infusion(RecordModel):
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="infusions"
    )
    # One bag, one infusion: a second infusion on the same bag is refused by the database.
    # Empty while the visit waits for its bag: the pharmacy prepares it once the checklist clears.
    preparation = models.OneToOneField(
        DosePreparation, on_delete=models.PROTECT, related_name="infusion", null=True, blank=True
    )
    checklist = models.OneToOneField(
        PreInfusionChecklist,
        on_delete=models.PROTECT,
        related_name="infusion",
        null=True,
        blank=True,
    )
    route = models.CharField(max_length=16, choices=Route.choices, default=Route.IV_INFUSION)
    status = models.CharField(
        max_length=10, choices=InfusionStatus.choices, default=InfusionStatus.PLANNED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="infusions",
        null=True,
        blank=True,
    )
    version = models.PositiveIntegerField(default=1)  # optimistic concurrency
    # Why a costly or irreversible step was taken early, as the nurse confirmed it.
    stop_reason = models.TextField("reason for stopping before the minimum duration", blank=True)
    discharge_reason = models.TextField("reason for discharge before the observation", blank=True)
    cancel_reason = models.TextField("reason for cancelling the visit", blank=True)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["patient", "started_at"]),
            # The nurse's list finds the day's patients by the start of their last dose, and
            # the visits under way, without reading every patient.
            models.Index(fields=["started_at", "patient"]),
            models.Index(
                fields=["status", "patient"],
                condition=Q(status__in=["planned", "running", "stopped"]),
                name="infusion_in_progress",
            ),
            # The every-minute timers look for observation windows ending and discharges.
            models.Index(fields=["ended_at"]),
            models.Index(fields=["discharged_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(route="iv-infusion"), name="infusion_route_iv_only"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True)
                | (Q(started_at__isnull=False) & Q(ended_at__gt=F("started_at"))),
                name="infusion_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True)
                | (Q(ended_at__isnull=False) & Q(discharged_at__gte=F("ended_at"))),
                name="infusion_discharge_after_end",
            ),
        ]

    def __str__(self) -> str:
        return f"Infusion {self.id} ({self.status})"


class ReactionSeverity(models.TextChoices):
    MILD = "mild"
    SEVERE = "severe", "Severe systemic"


class InfusionReaction(RecordModel):
    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="reactions")
    severity = models.CharField(max_length=8, choices=ReactionSeverity.choices)
    symptoms = models.JSONField(default=list)
    onset_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reactions_recorded",
        null=True,
        blank=True,
    )

    objects = ReactionScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["onset_at"]
