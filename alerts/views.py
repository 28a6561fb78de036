"""Acknowledging and resolving an alert from the neurologist's patient page."""

from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from natalizumab_monitor.access import is_htmx, role_required
from natalizumab_monitor.errors import Conflict
from natalizumab_monitor.roles import NEUROLOGIST

from . import services
from .models import Alert


class ResolveForm(forms.Form):
    note = forms.CharField(required=False, max_length=4000)


def _answer(
    request: HttpRequest, alert_id: UUID, *, done: str = "", problem: str = ""
) -> HttpResponse:
    """The alert's row again for htmx, else back to the patient's page."""
    alert = get_object_or_404(
        Alert.objects.select_related("acknowledged_by", "resolved_by"), pk=alert_id
    )
    if is_htmx(request):
        return render(
            request, "alerts/_alert_item.html", {"alert": alert, "notice": done, "problem": problem}
        )
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, done)
    return redirect("patients:detail", patient_id=alert.patient_id)


@require_POST
@role_required(NEUROLOGIST)
def acknowledge(request: HttpRequest, alert_id: UUID) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id)
    try:
        services.acknowledge_alert(alert=alert, user=request.user)
    except Conflict as conflict:
        return _answer(request, alert_id, problem=conflict.detail)
    return _answer(request, alert_id, done="Acknowledged.")


@require_POST
@role_required(NEUROLOGIST)
def resolve(request: HttpRequest, alert_id: UUID) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id)
    form = ResolveForm(request.POST)
    note = form.data.get("note", "")
    try:
        services.resolve_alert(alert=alert, note=note, user=request.user)
    except ValidationError as error:
        return _answer(request, alert_id, problem=" ".join(error.messages))
    except Conflict as conflict:
        return _answer(request, alert_id, problem=conflict.detail)
    return _answer(request, alert_id, done="Resolved.")
