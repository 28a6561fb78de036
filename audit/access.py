"""The audit is the privacy officer's alone, and the privacy officer sees nothing else."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from natalizumab_monitor.access import role_required
from natalizumab_monitor.roles import AUDITOR, role_of

auditor_required = role_required(AUDITOR)


class IsAuditor(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return role_of(request.user) == AUDITOR
