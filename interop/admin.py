"""The laboratory interface in the admin: what was received and what waits, to look at.

Filing and rejecting go through the lab inbox page, where the same services run.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import CsvImport, InboundMessage, LabInboxEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "channel", "control_id", "ack_code", "results_filed")
    list_filter = ("channel", "ack_code")
    search_fields = ("control_id",)
    date_hierarchy = "received_at"


@admin.register(LabInboxEntry)
class LabInboxEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "status", "reason", "code", "value", "unit")
    list_filter = ("status", "reason")


@admin.register(CsvImport)
class CsvImportAdmin(ReadOnlyAdmin):
    list_display = ("uploaded_at", "file_name", "status", "rows_total", "rows_filed")
    list_filter = ("status",)
