"""Query filters of the alert feed (API.md: patient, rule, severity, status, updated_after)."""

import django_filters

from natalizumab_monitor.filters import ZonedDateTimeFilter

from .models import Alert, AlertStatus, Severity


class AlertFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id", help_text="A patient's id.")
    rule = django_filters.CharFilter(help_text="A rule id, e.g. LIVER-3XULN.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    updated_after = ZonedDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text="Changed after this time."
    )

    class Meta:
        model = Alert
        fields = ["patient", "rule", "severity", "status", "updated_after"]
