"""Laboratory results, antibody tests and MRI studies."""

import uuid

from django.db import models
from django.db.models import F, Q

from natalizumab_monitor.db import RecordModel
from network.scoping import SiteScopedManager


class Analyte(models.TextChoices):
    ALT = "ALT", "Alanine aminotransferase"
    AST = "AST", "Aspartate aminotransferase"
    TSH = "TSH", "Thyroid-stimulating hormone"
    FT4 = "FT4", "Free thyroxine (free T4)"
    NEUT = "NEUT", "Neutrophils"
    LYMPH = "LYMPH", "Lymphocytes"
    MONO = "MONO", "Monocytes"
    PLT = "PLT", "Platelets"


# LOINC code and the UCUM units each analyte may be reported in.
LOINC = {
    Analyte.ALT: "1742-6",
    Analyte.AST: "1920-8",
    Analyte.TSH: "3016-3",
    Analyte.FT4: "3024-7",
    Analyte.NEUT: "751-8",
    Analyte.LYMPH: "731-0",
    Analyte.MONO: "742-7",
    Analyte.PLT: "777-3",
}
COUNT_UNITS = ("10*9/L", "10*3/uL")
UCUM_UNITS = {
    Analyte.ALT: ("U/L",),
    Analyte.AST: ("U/L",),
    Analyte.TSH: ("m[IU]/L", "u[IU]/mL"),
    Analyte.FT4: ("pmol/L", "ng/dL"),
    Analyte.NEUT: COUNT_UNITS,
    Analyte.LYMPH: COUNT_UNITS,
    Analyte.MONO: COUNT_UNITS,
    Analyte.PLT: COUNT_UNITS,
}


class StandingRecords(SiteScopedManager):
    """Results in force, of the caller's sites: a result the laboratory withdrew is kept,
    but no longer counts."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(withdrawn_at__isnull=True)


class RevisionChange(models.TextChoices):
    CORRECTED = "corrected"
    WITHDRAWN = "withdrawn"


SOURCE_KEY_HELP = (
    "The sender's key of this result (e.g. filler order number and OBX set id): "
    "the same result sent again is recognised by it."
)


class LabResult(RecordModel):
    """One result with the reference range of the lab that produced it (its own ULN)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="lab_results"
    )
    analyte = models.CharField(max_length=8, choices=Analyte.choices)
    value = models.DecimalField(max_digits=12, decimal_places=4)
    unit = models.CharField("unit (UCUM)", max_length=16)
    reference_low = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=12, decimal_places=4)
    collected_at = models.DateTimeField()
    source_key = models.CharField(
        max_length=255, null=True, blank=True, unique=True, help_text=SOURCE_KEY_HELP
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = StandingRecords()
    every_result = models.Manager()  # withdrawn too, every site: the sender's keys

    class Meta:
        ordering = ["collected_at"]
        indexes = [models.Index(fields=["patient", "analyte", "collected_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_value_not_negative"),
            models.CheckConstraint(
                condition=Q(reference_high__gt=0), name="lab_reference_high_positive"
            ),
            models.CheckConstraint(
                condition=Q(reference_low__isnull=True)
                | (Q(reference_low__gte=0) & Q(reference_low__lte=F("reference_high"))),
                name="lab_reference_low_within_range",
            ),
            models.CheckConstraint(
                condition=Q(analyte__in=Analyte.values), name="lab_analyte_known"
            ),
        ]

    @property
    def loinc(self) -> str:
        return LOINC[Analyte(self.analyte)]

    def __str__(self) -> str:
        return f"{self.analyte} {self.value} {self.unit}"


class AntibodyTarget(models.TextChoices):
    NATALIZUMAB = "natalizumab", "Anti-natalizumab antibodies"
    JCV = "jcv", "Anti-JCV antibodies"


class AntibodyResult(models.TextChoices):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    INDETERMINATE = "indeterminate"


class AntibodyTest(RecordModel):
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="antibody_tests"
    )
    target = models.CharField(max_length=12, choices=AntibodyTarget.choices)
    result = models.CharField(max_length=13, choices=AntibodyResult.choices)
    index = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    collected_at = models.DateTimeField()
    source_key = models.CharField(
        max_length=255, null=True, blank=True, unique=True, help_text=SOURCE_KEY_HELP
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = StandingRecords()
    every_result = models.Manager()  # withdrawn too, every site: the sender's keys

    class Meta:
        ordering = ["collected_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(index__isnull=True) | (Q(target="jcv") & Q(index__gte=0)),
                name="antibody_index_only_for_jcv",
            ),
        ]


class LabResultRevision(models.Model):
    """What a lab result said before the laboratory corrected or withdrew it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lab_result = models.ForeignKey(LabResult, on_delete=models.CASCADE, related_name="revisions")
    change = models.CharField(max_length=9, choices=RevisionChange.choices)
    changed_at = models.DateTimeField()
    value = models.DecimalField(max_digits=12, decimal_places=4)
    unit = models.CharField(max_length=16)
    reference_low = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=12, decimal_places=4)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at"]

    def __str__(self) -> str:
        return f"{self.change}: {self.value} {self.unit}"


class AntibodyTestRevision(models.Model):
    """What an antibody test said before the laboratory corrected or withdrew it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    antibody_test = models.ForeignKey(
        AntibodyTest, on_delete=models.CASCADE, related_name="revisions"
    )
    change = models.CharField(max_length=9, choices=RevisionChange.choices)
    changed_at = models.DateTimeField()
    result = models.CharField(max_length=13)
    index = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at"]

    def __str__(self) -> str:
        return f"{self.change}: {self.result}"


class MriStudy(RecordModel):
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="mri_studies"
    )
    performed_on = models.DateField()
    gd_enhancing_lesions = models.PositiveIntegerField("Gd-enhancing (T1) lesions")
    new_or_enlarging_t2_lesions = models.PositiveIntegerField("new or enlarging T2 lesions")
    pml_suspected = models.BooleanField("read as possible PML", default=False)

    objects = SiteScopedManager()
    all_sites = models.Manager()

    class Meta:
        ordering = ["performed_on"]
        verbose_name = "MRI study"
        verbose_name_plural = "MRI studies"
