"""Patients, their treatment course, and the clinical records that belong to them."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from natalizumab_monitor.db import RecordModel
from network.scoping import PatientScopedManager, SiteScopedManager

EDSS_STEPS = [Decimal(n) / 2 for n in range(21)]  # 0.0, 0.5, ... 10.0


class Sex(models.TextChoices):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Indication(models.TextChoices):
    MS = "ms", "Relapsing multiple sclerosis"
    CROHNS = "crohns", "Crohn's disease"


class TreatmentStatus(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DISCONTINUED = "discontinued"


class Patient(RecordModel):
    site = models.ForeignKey("network.Site", on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=32, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices)
    indication = models.CharField(max_length=8, choices=Indication.choices)
    treatment_start = models.DateField(null=True, blank=True, db_index=True)
    schedule_weeks = models.PositiveSmallIntegerField(default=4, choices=[(4, "4"), (6, "6")])
    treatment_status = models.CharField(
        max_length=12, choices=TreatmentStatus.choices, default=TreatmentStatus.ACTIVE
    )
    pregnant = models.BooleanField(default=False)
    breastfeeding = models.BooleanField(default=False)
    prior_immunosuppressants = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)  # optimistic concurrency

    objects = PatientScopedManager()  # the caller's sites only (network/scoping.py)
    all_sites = models.Manager()  # the whole network: uniqueness, background work

    class Meta:
        ordering = ["family_name", "given_name", "mrn"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule_weeks__in=[4, 6]), name="patient_schedule_4_or_6_weeks"
            ),
            models.CheckConstraint(
                condition=Q(treatment_status__in=TreatmentStatus.values),
                name="patient_treatment_status_valid",
            ),
            models.CheckConstraint(condition=~Q(mrn=""), name="patient_mrn_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.site_id is None:  # the one site of a one-site installation
            from network.services import site_for_new_record

            self.site = site_for_new_record()
        super().save(*args, **kwargs)


class MedicationCategory(models.TextChoices):
    IMMUNOSUPPRESSANT = "immunosuppressant"
    ANTINEOPLASTIC = "antineoplastic"
    TNF_INHIBITOR = "tnf-inhibitor", "TNF inhibitor"
    CORTICOSTEROID = "corticosteroid"
    OTHER = "other"


class Medication(RecordModel):
    """A concomitant medication; stopped_on is empty while it is taken."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=MedicationCategory.choices)
    started_on = models.DateField()
    stopped_on = models.DateField(null=True, blank=True)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["-started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True) | Q(stopped_on__gte=F("started_on")),
                name="medication_stops_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.category})"


class Infection(RecordModel):
    """An infection; resolved_on is empty while it is active (INF-ACTIVE-INFECTION)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="infections")
    description = models.CharField(max_length=500)
    onset_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["-onset_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset_on")),
                name="infection_resolves_after_onset",
            ),
        ]


class ClinicalEventKind(models.TextChoices):
    PML_SIGNS = "pml-signs", "New or worsening neurological signs suggestive of PML"
    JAUNDICE = "jaundice", "Jaundice"
    LIVER_INJURY = "liver-injury", "Clinical liver injury"


class ClinicalEvent(RecordModel):
    """A clinical sign the rules act on that is not a lab or imaging result."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_events")
    kind = models.CharField(max_length=20, choices=ClinicalEventKind.choices)
    observed_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["-observed_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("observed_on")),
                name="clinical_event_resolves_after_observed",
            ),
        ]


class EdssAssessment(RecordModel):
    """Expanded Disability Status Scale: 0 to 10 in steps of 0.5."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="edss")
    score = models.DecimalField(max_digits=3, decimal_places=1)
    assessed_on = models.DateField()

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["assessed_on"]
        verbose_name = "EDSS assessment"
        constraints = [
            models.CheckConstraint(
                condition=Q(score__in=EDSS_STEPS), name="edss_score_on_half_point_grid"
            ),
        ]


class Relapse(RecordModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="relapses")
    onset_on = models.DateField()

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["-onset_on"]


class DecisionAction(models.TextChoices):
    SUSPEND = "suspend"
    RESUME = "resume"
    DISCONTINUE = "discontinue"
    OVERRIDE = "override", "Override one rule for one infusion"
    CONFIRM = "confirm", "Confirm treatment continues (pregnancy, breastfeeding)"
    REAUTHORIZE = "reauthorize", "Six-monthly reauthorization"


class TreatmentDecision(RecordModel):
    """A neurologist's decision, with its written reason; append-only."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(max_length=12, choices=DecisionAction.choices)
    reason = models.TextField()
    rule = models.CharField(max_length=40, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    decided_at = models.DateTimeField()
    # An override covers one infusion: the start of that infusion consumes it.
    consumed_at = models.DateTimeField(null=True, blank=True)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["decided_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="decision_reason_required"),
            models.CheckConstraint(
                condition=~Q(action__in=["override", "confirm"]) | ~Q(rule=""),
                name="decision_override_names_rule",
            ),
            models.CheckConstraint(
                condition=Q(consumed_at__isnull=True) | Q(action="override"),
                name="decision_only_overrides_are_consumed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.rule}".strip()
