"""Acknowledging and resolving an alert from the neurologist's patient page; each user's
notifications (the critical alerts they must act on), read and marked read."""

from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from natalizumab_monitor.access import is_htmx, role_required
from natalizumab_monitor.errors import Conflict
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST

from . import selectors, services
from .models import Alert, Notification

NOTIFICATIONS_PAGE_SIZE = 50
# Where each role sees a notification's patient: the neurologist's page of the patient and
# alert, the nurse's infusion list, the pharmacist's bag board.
PATIENT_PAGE = {
    NEUROLOGIST: "patients:detail",
    NURSE: "infusions:today",
    PHARMACIST: "infusions:bags",
}


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


def _patient_link(role: str, notification: Notification) -> str:
    alert = notification.alert
    if role == NEUROLOGIST:
        return reverse(PATIENT_PAGE[role], args=[alert.patient_id]) + f"#alert-{alert.pk}"
    bag_id = alert.evidence.get("preparation_id") if isinstance(alert.evidence, dict) else None
    if role == PHARMACIST and bag_id:
        return reverse(PATIENT_PAGE[role]) + f"#bag-{bag_id}"  # the bag's row on the board
    return reverse(PATIENT_PAGE[role])


@role_required(NEUROLOGIST, NURSE, PHARMACIST)
def notifications(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first, unread ones marked."""
    page = Paginator(selectors.notifications_of(request.user), NOTIFICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page", 1)
    )
    role = request.role  # type: ignore[attr-defined]
    rows = [{"notification": n, "link": _patient_link(role, n)} for n in page.object_list]
    return render(
        request,
        "alerts/notifications.html",
        {"page": page, "rows": rows},
    )


@require_POST
@role_required(NEUROLOGIST, NURSE, PHARMACIST)
def notification_read(request: HttpRequest, notification_id: UUID) -> HttpResponse:
    if not Notification.objects.filter(pk=notification_id, recipient=request.user).exists():
        raise Http404
    services.mark_notifications_read(user=request.user, notification_id=notification_id)
    messages.success(request, "Notification marked read.")
    return redirect("alerts:notifications")


@require_POST
@role_required(NEUROLOGIST, NURSE, PHARMACIST)
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    changed = services.mark_notifications_read(user=request.user)
    messages.success(request, f"{changed} notification{pluralize(changed)} marked read.")
    return redirect("alerts:notifications")
