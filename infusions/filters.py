"""Query filters of the preparation and infusion endpoints."""

import django_filters

from patients.filters import PatientRecordFilter

from .models import DosePreparation, Infusion, InfusionStatus, PreparationStatus
from .selectors import EXPIRED

PREPARATION_STATUSES = [(EXPIRED, "Expired"), *PreparationStatus.choices]


class PreparationFilter(PatientRecordFilter):
    status = django_filters.ChoiceFilter(
        field_name="current_status",
        choices=PREPARATION_STATUSES,
        help_text="expired: ready but past its stability limit.",
    )

    class Meta:
        model = DosePreparation
        fields = ["patient", "status"]


class InfusionFilter(PatientRecordFilter):
    status = django_filters.ChoiceFilter(choices=InfusionStatus.choices)

    class Meta:
        model = Infusion
        fields = ["patient", "status"]
