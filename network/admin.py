"""Sites in the admin: who works where. Opening a site goes through `createsite`, which keeps
the staff of a one-site installation on its site when the second one opens."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "time_zone")
    search_fields = ("code", "name")
    filter_horizontal = ("staff",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # patients belong to it
