"""The reads behind the preparation and infusion endpoints and pages."""

from django.db.models import Case, CharField, F, QuerySet, Value, When

from natalizumab_monitor import clock

from .models import DosePreparation, Infusion, PreparationStatus

EXPIRED = "expired"


def preparation_list() -> QuerySet[DosePreparation]:
    """Bags with `current_status`: a ready bag past its stability limit reads "expired"."""
    return DosePreparation.objects.select_related("prepared_by").annotate(
        current_status=Case(
            When(status=PreparationStatus.READY, expires_at__lt=clock.now(), then=Value(EXPIRED)),
            default=F("status"),
            output_field=CharField(),
        )
    )


def infusion_list() -> QuerySet[Infusion]:
    return Infusion.objects.select_related("nurse", "checklist").prefetch_related("reactions")
