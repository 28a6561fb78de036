"""The neurologist's pages: the worklist, one patient's page, decisions and records."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alerts.health import background_status
from alerts.models import Severity
from alerts.profile import active_config
from alerts.rules import RULE_IDS
from infusions import services as infusion_services
from infusions.models import Infusion
from natalizumab_monitor import clock
from natalizumab_monitor.access import is_htmx, role_required
from natalizumab_monitor.errors import Conflict
from natalizumab_monitor.record_pages import record_page
from natalizumab_monitor.roles import NEUROLOGIST
from network.kept import kept
from network.selectors import seen_site_ids

from . import page_selectors, services
from .forms import (
    DecisionForm,
    EdssForm,
    InfectionForm,
    InfectionResolvedForm,
    MedicationForm,
    RelapseForm,
)
from .models import Infection, Patient


@role_required(NEUROLOGIST)
def worklist(request: HttpRequest) -> HttpResponse:
    severity = request.GET.get("severity") or None
    rule = request.GET.get("rule") or None
    # An unknown filter value is ignored rather than matching nothing.
    if severity not in Severity.values:
        severity = None
    if rule not in RULE_IDS:
        rule = None
    number = request.GET.get("page", "1")
    number = number if number.isdigit() and len(number) <= 6 else "1"  # the paginator's page 1
    page, rules = kept(
        f"worklist:{severity or ''}:{rule or ''}:{number}",
        lambda: seen_site_ids(request),
        lambda: (_worklist(severity, rule, number), None),
        shown=lambda listing: listing[0].object_list,
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "severity": severity or "",
        "rule": rule or "",
        "severities": Severity.choices,
        "rules": rules,
        "query": query.urlencode(),
        "now": clock.now(),
    }
    template = "patients/_worklist_results.html" if is_htmx(request) else "patients/worklist.html"
    return render(request, template, context)


def _worklist(severity: str | None, rule: str | None, number: str) -> tuple[Page, list[str]]:
    """A page of the worklist and the rules its filter offers; the page keeps its counts
    but not its query (so that it can be kept: network/kept.py)."""
    page = page_selectors.worklist(severity=severity, rule=rule, page=number)
    page.paginator.object_list = []
    return page, page_selectors.worklist_rules()


def _detail_context(patient_id: UUID, **forms: Any) -> dict[str, Any]:
    try:
        page = page_selectors.patient_page(patient_id)
    except Patient.DoesNotExist as missing:
        raise Http404 from missing
    today = clock.clinic_today()
    born = page.patient.birth_date
    return {
        "page": page,
        "age": today.year - born.year - ((today.month, today.day) < (born.month, born.day)),
        "infusions_given": sum(1 for i in page.infusions if i.started_at is not None),
        "latest_labs": page.latest_labs,
        # The visit's checklist is the nurse's next step, not a reason to hold treatment.
        "clearance": page.clearance,
        "liver_multiple": format(active_config().liver_uln_multiple.normalize(), "f"),
        "patient": page.patient,
        "decision_form": forms.get("decision_form")
        or DecisionForm(options=services.decision_options(page.patient, page.clearance)),
        "background": background_status(),
        "now": clock.now(),
        "active_infections": [i for i in page.infections if i.resolved_on is None],
        "resolve_problem": forms.get("resolve_problem"),
        # A held visit's note and error, when clearing it was refused: {"id", "note", "text"}.
        "clear_problem": forms.get("clear_problem"),
    }


@role_required(NEUROLOGIST)
def detail(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return render(request, "patients/detail.html", _detail_context(patient_id))


@require_POST
@role_required(NEUROLOGIST)
def decide(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    form = DecisionForm(request.POST, options=services.decision_options(patient))
    if form.is_valid():
        try:
            decision = form.write(patient=patient, user=request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, f"Decision recorded: {decision.get_action_display().lower()}."
            )
            return redirect("patients:detail", patient_id=patient.id)
    context = _detail_context(patient_id, decision_form=form)
    return render(request, "patients/detail.html", context, status=400)


@require_POST
@role_required(NEUROLOGIST)
def infection_resolved(request: HttpRequest, patient_id: UUID, infection_id: UUID) -> HttpResponse:
    infection = get_object_or_404(Infection, pk=infection_id, patient_id=patient_id)
    form = InfectionResolvedForm(request.POST)
    problem = None
    if form.is_valid():
        try:
            services.update_infection(infection=infection, **form.cleaned_data)
        except ValidationError as error:
            problem = " ".join(error.messages)
        except Conflict as conflict:
            problem = conflict.detail
        else:
            messages.success(request, "Infection recorded as resolved.")
            return redirect("patients:detail", patient_id=patient_id)
    else:
        problem = "Give the date the infection resolved."
    # The page's infections carry their ids as text (the engine's snapshot).
    problem_at = {"id": str(infection.id), "text": problem}
    context = _detail_context(patient_id, resolve_problem=problem_at)
    return render(request, "patients/detail.html", context, status=400)


@require_POST
@role_required(NEUROLOGIST)
def clear_checklist(request: HttpRequest, patient_id: UUID, infusion_id: UUID) -> HttpResponse:
    """A prescriber clears a planned visit its pre-infusion checklist holds, with a note."""
    infusion = get_object_or_404(Infusion, pk=infusion_id, patient_id=patient_id)
    note = request.POST.get("note", "")
    try:
        infusion_services.clear_checklist(infusion=infusion, user=request.user, note=note)
    except ValidationError as error:
        text = " ".join(
            error.message_dict.get("note", error.messages)
            if hasattr(error, "error_dict")
            else error.messages
        )
        problem = {"id": infusion.id, "note": note, "text": text}
        context = _detail_context(patient_id, clear_problem=problem)
        return render(request, "patients/detail.html", context, status=400)
    except Conflict as conflict:
        messages.error(request, f"Not cleared: {conflict.detail}")
    else:
        messages.success(request, "Checklist cleared: the visit is no longer held by it.")
    return redirect("patients:detail", patient_id=patient_id)


@role_required(NEUROLOGIST)
def edss_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, EdssForm)


@role_required(NEUROLOGIST)
def relapse_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, RelapseForm)


@role_required(NEUROLOGIST)
def medication_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, MedicationForm)


@role_required(NEUROLOGIST)
def infection_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, InfectionForm)
