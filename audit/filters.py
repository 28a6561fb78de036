"""Query filters of the audit (API.md: patient, user, action, since, until)."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from natalizumab_monitor.filters import ZonedDateTimeFilter

from . import selectors
from .models import AuditAction, AuditEntry


class AuditFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(
        method="filter_patient", help_text="A patient's id: entries that concern this patient."
    )
    user = django_filters.CharFilter(
        field_name="username",
        max_length=150,
        help_text="A username (for a failed login, the one tried).",
    )
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    since = ZonedDateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="At or after this time."
    )
    until = ZonedDateTimeFilter(field_name="at", lookup_expr="lt", help_text="Before this time.")

    class Meta:
        model = AuditEntry
        fields = ["patient", "user", "action", "since", "until"]

    def filter_patient(
        self, queryset: QuerySet[AuditEntry], name: str, value: Any
    ) -> QuerySet[AuditEntry]:
        return selectors.concerning(queryset, value)
