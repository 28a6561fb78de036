"""The nurse's pages (today's list, checklist, infusion) and the pharmacist's (bags)."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from alerts.profile import active_config
from alerts.rules import GateResult
from natalizumab_monitor import clock
from natalizumab_monitor.access import is_htmx, role_required
from natalizumab_monitor.errors import Conflict, GateRefused
from natalizumab_monitor.roles import NURSE, PHARMACIST
from network import kept
from network.models import Site
from network.selectors import current_site
from patients.models import Patient

from . import page_selectors, services
from .forms import (
    ChecklistForm,
    DiscardForm,
    PreparationForm,
    ReactionForm,
    ReasonForm,
    VersionForm,
)
from .models import DosePreparation, Infusion, PreparationStatus, ReactionSeverity


def finding_messages(blocking: Any) -> list[dict[str, str]]:
    """Blocking findings as plain words, whether the gate gave models or API dicts."""
    shown = []
    for finding in blocking or ():
        if isinstance(finding, dict):
            shown.append({"rule": finding.get("rule", ""), "message": finding.get("message", "")})
        else:
            shown.append({"rule": finding.rule, "message": finding.message})
    return shown


def _rows(request: HttpRequest, template: str, context: dict[str, Any]) -> SafeString:
    """A list's rows, rendered by the Jinja2 engine (templates/jinja2: a hundred rows and
    more a page) for a Django page. Jinja2 escapes every value (the backend's autoescape)."""
    html = render_to_string(template, context, request=request, using="jinja2")
    return mark_safe(html)  # noqa: S308 - escaped by Jinja2 as it rendered


# --- Nurse -----------------------------------------------------------------------------------


@role_required(NURSE)
def today(request: HttpRequest) -> HttpResponse:
    site = current_site(request)
    rows = kept.kept(
        "today",
        lambda: _ids(site),
        lambda: page_selectors.lasting_todays_infusion_list(site=site),
        shown=lambda rows: [row.patient for row in rows],
    )
    context = {"rows": rows, "today": clock.clinic_today()}
    rows_html = _rows(request, "infusions/today_rows.html", context)
    return render(request, "infusions/today.html", {**context, "rows_html": rows_html})


@role_required(NURSE)
def checklist(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    try:
        patient = page_selectors.checklist_page(patient_id)
    except Patient.DoesNotExist as missing:
        raise Http404 from missing
    bags = patient.unassigned_bags  # type: ignore[attr-defined]
    form = ChecklistForm(request.POST or None, bags=bags)
    if request.method == "POST" and form.is_valid():
        try:
            infusion = services.create_infusion(
                patient=patient, preparation=form.bag(), checklist=form.answers(), user=request.user
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            _checklist_message(request, infusion)
            return redirect("infusions:infusion", infusion_id=infusion.id)
    return render(
        request,
        "infusions/checklist.html",
        {"patient": patient, "form": form, "bags": bags},
        status=200 if form.is_bound is False or form.is_valid() else 400,
    )


def _checklist_message(request: HttpRequest, infusion: Infusion) -> None:
    """What the checklist led to, in the colour of what happens next (never a green 'planned'
    above a red block)."""
    if infusion.checklist and infusion.checklist.needs_clearance:
        messages.warning(
            request,
            "Checklist recorded. The infusion is on hold: an answer needs a prescriber's "
            "clearance before it may start. Contact the prescribing neurologist.",
        )
        return
    _, gate = page_selectors.infusion_page(infusion.id)
    if gate is not None and not gate.cleared:
        messages.warning(request, "Checklist recorded. The patient is not cleared: see why below.")
    elif infusion.preparation_id is None:
        messages.info(request, "Checklist recorded and cleared: the pharmacy is asked for the bag.")
    else:
        messages.success(request, "Checklist recorded: the infusion is planned.")


def _infusion_or_404(infusion_id: UUID) -> tuple[Infusion, GateResult | None]:
    try:
        return page_selectors.infusion_page(infusion_id)
    except Infusion.DoesNotExist as missing:
        raise Http404 from missing


def _infusion_context(
    infusion: Infusion,
    clearance: GateResult | None,
    **extra: Any,
) -> dict[str, Any]:
    config = active_config()
    context: dict[str, Any] = {
        "infusion": infusion,
        "patient": infusion.patient,
        "clearance": clearance,
        "reactions": list(infusion.reactions.all()),
        "reaction_form": extra.pop("reaction_form", None) or ReactionForm(),
        "min_minutes": config.infusion_min_minutes,
        "observation_minutes": config.observation_minutes,
        "now": clock.now(),
    }
    if infusion.started_at:
        context["earliest_stop"] = infusion.started_at + timedelta(
            minutes=config.infusion_min_minutes
        )
        context["early_stop"] = services.is_early_stop(infusion, context["now"])
    if infusion.ended_at:
        context["observation_ends"] = infusion.ended_at + timedelta(
            minutes=config.observation_minutes
        )
        context["early_discharge"] = services.is_early_discharge(infusion, context["now"])
    context["severe_reaction"] = any(
        r.severity == ReactionSeverity.SEVERE for r in context["reactions"]
    )
    context.update(extra)
    return context


def _infusion_response(
    request: HttpRequest, infusion_id: UUID, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The whole page, or only its action panel for htmx (which swaps 200 answers only)."""
    infusion, clearance = _infusion_or_404(infusion_id)
    context = _infusion_context(infusion, clearance, **extra)
    if is_htmx(request):
        return render(request, "infusions/_infusion_panel.html", {**context, "fragment": True})
    return render(request, "infusions/infusion.html", context, status=status)


PROBLEM_KEY = "infusion-problem"


@role_required(NURSE)
def infusion(request: HttpRequest, infusion_id: UUID) -> HttpResponse:
    # A refused action redirected here (so the address bar can be reloaded): show why, once.
    problem = request.session.pop(PROBLEM_KEY, None)
    if problem and problem.get("infusion") == str(infusion_id):
        return _infusion_response(request, infusion_id, status=problem["status"], problem=problem)
    return _infusion_response(request, infusion_id)


def _after_action(request: HttpRequest, infusion_id: UUID, done: str) -> HttpResponse:
    messages.success(request, done)
    if is_htmx(request):
        return _infusion_response(request, infusion_id)
    return redirect("infusions:infusion", infusion_id=infusion_id)


def _problem(
    request: HttpRequest,
    infusion_id: UUID,
    detail: str,
    blocking: Any = None,
    status: int = 409,
    ask_reason: str = "",
) -> HttpResponse:
    """Why an action was refused: in the panel (htmx), or on the reloadable page after a
    redirect. `ask_reason` names the action whose reason the panel asks for."""
    problem = {
        "infusion": str(infusion_id),
        "detail": detail,
        "blocking": finding_messages(blocking),
        "status": status,
        "ask_reason": ask_reason,
    }
    if is_htmx(request):
        return _infusion_response(request, infusion_id, status=status, problem=problem)
    request.session[PROBLEM_KEY] = problem
    return redirect("infusions:infusion", infusion_id=infusion_id)


def _version(request: HttpRequest) -> int | None:
    form = VersionForm(request.POST)
    return form.cleaned_data.get("version") if form.is_valid() else None


def _run_action(
    request: HttpRequest, infusion_id: UUID, action: Any, done: str, **kwargs: Any
) -> HttpResponse:
    target = get_object_or_404(Infusion, pk=infusion_id)
    try:
        action(infusion=target, version=_version(request), **kwargs)
    except GateRefused as refused:
        return _problem(request, infusion_id, refused.detail, refused.blocking)
    except Conflict as conflict:
        return _problem(request, infusion_id, conflict.detail)
    except ValidationError as error:
        return _problem(request, infusion_id, " ".join(error.messages), status=400)
    return _after_action(request, infusion_id, done)


def infusion_action(view: Any) -> Any:
    """A button of the infusion page: the nurse's, by POST only."""
    return require_POST(role_required(NURSE)(view))


def _confirmed_reason(request: HttpRequest) -> str | None:
    """The reason the nurse gave and confirmed, or None when either is missing."""
    form = ReasonForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["confirmed"]:
        return None
    return form.reason_given() or None


@infusion_action
def start(request: HttpRequest, infusion_id: UUID) -> HttpResponse:
    now = clock.now()
    _, gate = _infusion_or_404(infusion_id)
    if gate is not None and gate.may_start and gate.warnings and not request.POST.get("seen"):
        return _problem(
            request,
            infusion_id,
            "Read the warnings and tick that you have seen them before starting.",
            gate.warnings,
            status=400,
        )
    return _run_action(
        request,
        infusion_id,
        services.start_infusion,
        "Infusion started.",
        started_at=now,
        user=request.user,
    )


@infusion_action
def stop(request: HttpRequest, infusion_id: UUID) -> HttpResponse:
    now = clock.now()
    target = get_object_or_404(Infusion, pk=infusion_id)
    reason = ""
    if services.is_early_stop(target, now):
        reason = _confirmed_reason(request) or ""
        if not reason:
            minutes = active_config().infusion_min_minutes
            return _problem(
                request,
                infusion_id,
                f"The infusion has run less than {minutes} min. To stop it now, give the "
                "reason and confirm.",
                status=400,
                ask_reason="stop",
            )
    return _run_action(
        request,
        infusion_id,
        services.stop_infusion,
        "Infusion stopped: the observation period has begun.",
        ended_at=now,
        reason=reason,
    )


@infusion_action
def discharge(request: HttpRequest, infusion_id: UUID) -> HttpResponse:
    now = clock.now()
    target = get_object_or_404(Infusion, pk=infusion_id)
    reason = ""
    if services.is_early_discharge(target, now):
        reason = _confirmed_reason(request) or ""
        if not reason:
            return _problem(
                request,
                infusion_id,
                "The observation period is not over. To discharge the patient now, give the "
                "reason and confirm.",
                status=400,
                ask_reason="discharge",
            )
    return _run_action(
        request,
        infusion_id,
        services.discharge_infusion,
        "Patient discharged.",
        discharged_at=now,
        reason=reason,
    )


@infusion_action
def cancel(request: HttpRequest, infusion_id: UUID) -> HttpResponse:
    target = get_object_or_404(Infusion, pk=infusion_id)
    reason = _confirmed_reason(request)
    if reason is None:
        return _problem(
            request,
            infusion_id,
            "Cancelling discards the bag. Give the reason and confirm to cancel the visit.",
            status=400,
            ask_reason="cancel",
        )
    try:
        cancelled = services.cancel_infusion(infusion=target, user=request.user, reason=reason)
    except Conflict as conflict:
        return _problem(request, infusion_id, conflict.detail)
    except ValidationError as error:
        return _problem(request, infusion_id, " ".join(error.messages), status=400)
    if cancelled.preparation_id:
        messages.success(request, "Visit cancelled; its bag is marked discarded.")
    else:
        messages.success(request, "Visit cancelled.")
    return redirect("infusions:today")


@infusion_action
def reaction(request: HttpRequest, infusion_id: UUID) -> HttpResponse:
    target = get_object_or_404(Infusion, pk=infusion_id)
    form = ReactionForm(request.POST)
    if form.is_valid():
        try:
            recorded = services.record_reaction(
                infusion=target,
                severity=form.cleaned_data["severity"],
                symptoms=form.cleaned_data["all_symptoms"],
                onset_at=form.cleaned_data["onset_at"],
                user=request.user,
            )
        except Conflict as conflict:
            form.add_error(None, conflict.detail)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if recorded.severity == ReactionSeverity.SEVERE:
                done = "Severe reaction recorded: the infusion is stopped."
            else:
                done = "Reaction recorded."
            return _after_action(request, infusion_id, done)
    return _infusion_response(request, infusion_id, status=400, reaction_form=form)


# --- Pharmacist ------------------------------------------------------------------------------


@role_required(PHARMACIST)
def bags(request: HttpRequest) -> HttpResponse:
    config = active_config()
    site = current_site(request)
    rows, needed = kept.kept(
        "bags",
        lambda: _ids(site),
        lambda: _bag_board(site),
        shown=lambda board: [row.bag for row in board[0]] + list(board[1]),
    )
    row_context = {"warn_seconds": config.prep_expiry_warning_minutes * 60, "now": clock.now()}
    return render(
        request,
        "infusions/bags.html",
        {
            "rows": rows,
            "rows_html": _rows(request, "infusions/bag_rows.html", {"rows": rows, **row_context}),
            "bags_needed": needed,
            "warn_minutes": config.prep_expiry_warning_minutes,
            "room_hours": config.prep_stability_hours_room,
            "fridge_hours": config.prep_stability_hours_refrigerated,
            **row_context,
        },
    )


def _ids(site: Site | None) -> list[int] | None:
    return None if site is None else [site.pk]


def _bag_board(
    site: Site | None,
) -> tuple[tuple[list[page_selectors.BagRow], list[Infusion]], datetime | None]:
    """The board's bags and the visits that wait for one, and when either may next change
    by time alone."""
    rows, rows_until = page_selectors.lasting_bag_board(site=site)
    needed, needed_until = page_selectors.lasting_bags_needed(site=site)
    ends = [until for until in (rows_until, needed_until) if until is not None]
    return (rows, needed), min(ends, default=None)


@role_required(PHARMACIST)
def prepare(request: HttpRequest) -> HttpResponse:
    patients = page_selectors.preparation_patients(site=current_site(request))
    initial = {}
    if request.GET.get("patient"):
        initial["patient"] = request.GET["patient"]
    form = PreparationForm(request.POST or None, patients=patients, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bag = services.create_preparation(
                patient=data["patient"],
                dose_mg=data["dose_mg"],
                diluent=data["diluent"],
                diluent_volume_ml=data["diluent_volume_ml"],
                prepared_at=data["prepared_at"],
                storage=data["storage"],
                frozen=data["frozen"],
                shaken=data["shaken"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if bag.status == PreparationStatus.DISCARDED:
                messages.warning(
                    request, f"Bag recorded as discarded, not ready: {bag.discarded_reason}."
                )
            else:
                messages.success(request, "Bag recorded; its stability countdown is on the board.")
            return redirect("infusions:bags")
    return render(
        request,
        "infusions/prepare.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


def _bag_row(request: HttpRequest, bag_id: UUID, **extra: Any) -> HttpResponse:
    rows = page_selectors.bag_rows(DosePreparation.objects.filter(pk=bag_id))
    if not rows:
        raise Http404
    config = active_config()
    context = {
        "row": rows[0],
        "warn_seconds": config.prep_expiry_warning_minutes * 60,
        "now": clock.now(),
        **extra,
    }
    return HttpResponse(_rows(request, "infusions/bag_row.html", context))


def _bag_action(
    request: HttpRequest, bag_id: UUID, action: Any, done: str, **kwargs: Any
) -> HttpResponse:
    bag = get_object_or_404(DosePreparation, pk=bag_id)
    try:
        action(preparation=bag, user=request.user, **kwargs)
    except Conflict as conflict:
        problem = conflict.detail
    except ValidationError as error:
        problem = " ".join(error.messages)
    else:
        if is_htmx(request):
            return _bag_row(request, bag_id, notice=done)
        messages.success(request, done)
        return redirect("infusions:bags")
    if is_htmx(request):
        return _bag_row(request, bag_id, problem=problem)
    messages.error(request, problem)
    return redirect("infusions:bags")


@require_POST
@role_required(PHARMACIST)
def bag_used(request: HttpRequest, bag_id: UUID) -> HttpResponse:
    return _bag_action(request, bag_id, services.mark_preparation_used, "Bag marked used.")


@require_POST
@role_required(PHARMACIST)
def bag_discard(request: HttpRequest, bag_id: UUID) -> HttpResponse:
    form = DiscardForm(request.POST)
    reason = form.data.get("reason", "")
    return _bag_action(
        request, bag_id, services.discard_preparation, "Bag discarded.", reason=reason
    )
