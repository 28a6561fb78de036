"""The neurologist's pages of the laboratory interface: the lab inbox and the CSV import."""

from collections import Counter
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from natalizumab_monitor.access import role_required
from natalizumab_monitor.roles import NEUROLOGIST

from . import csv_import, selectors, services
from .forms import CsvUploadForm, FileEntryForm, RejectEntryForm
from .models import CsvImport, ImportStatus, InboxStatus, LabInboxEntry

MAX_CSV_BYTES = 10_000_000


@role_required(NEUROLOGIST)
def inbox(request: HttpRequest) -> HttpResponse:
    waiting = list(selectors.inbox(waiting_only=True))
    decided = list(
        selectors.inbox().exclude(status=InboxStatus.WAITING).order_by("-decided_at")[:20]
    )
    return render(request, "interop/inbox.html", {"waiting": waiting, "decided": decided})


def _entry_page(
    request: HttpRequest,
    entry: LabInboxEntry,
    file_form: FileEntryForm | None = None,
    reject_form: RejectEntryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "interop/inbox_entry.html",
        {
            "entry": entry,
            "file_form": file_form or FileEntryForm(auto_id="file_%s"),
            "reject_form": reject_form or RejectEntryForm(auto_id="reject_%s"),
        },
        status=status,
    )


@role_required(NEUROLOGIST)
def inbox_entry(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = get_object_or_404(selectors.inbox(), pk=entry_id)
    return _entry_page(request, entry)


@role_required(NEUROLOGIST)
def inbox_file(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = get_object_or_404(selectors.inbox(), pk=entry_id)
    if request.method != "POST":
        return redirect("interop:inbox_entry", entry_id=entry.id)
    form = FileEntryForm(request.POST, auto_id="file_%s")
    if form.is_valid():
        try:
            services.file_inbox_entry(
                entry_id=entry.id,
                patient=form.cleaned_data["patient"],
                test=form.cleaned_data["analyte"] or None,
                user=request.user,
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Result filed to the patient's record.")
            return redirect("interop:inbox")
    return _entry_page(request, entry, file_form=form, status=400)


@role_required(NEUROLOGIST)
def inbox_reject(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = get_object_or_404(selectors.inbox(), pk=entry_id)
    if request.method != "POST":
        return redirect("interop:inbox_entry", entry_id=entry.id)
    form = RejectEntryForm(request.POST, auto_id="reject_%s")
    if form.is_valid():
        try:
            services.reject_inbox_entry(
                entry_id=entry.id, reason=form.cleaned_data["reason"], user=request.user
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Result rejected; the reason is kept.")
            return redirect("interop:inbox")
    return _entry_page(request, entry, reject_form=form, status=400)


# --- CSV import ---------------------------------------------------------------------------


@role_required(NEUROLOGIST)
def csv_upload(request: HttpRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read(MAX_CSV_BYTES + 1)
        try:
            if len(raw) > MAX_CSV_BYTES:
                raise ValidationError({"file": [f"Larger than {MAX_CSV_BYTES // 1_000_000} MB."]})
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            saved = services.upload_csv(file_name=upload.name, content=text, user=request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            return redirect("interop:csv_import", import_id=saved.id)
    status = 400 if request.method == "POST" else 200
    return render(request, "interop/csv_upload.html", {"form": form}, status=status)


@role_required(NEUROLOGIST)
def csv_import_page(request: HttpRequest, import_id: UUID) -> HttpResponse:
    upload = get_object_or_404(CsvImport, pk=import_id)
    context: dict[str, object] = {"upload": upload}
    if upload.status == ImportStatus.PREVIEWED:
        rows = csv_import.read_rows(upload.content)
        outcomes = csv_import.preview(rows)
        context["preview"] = outcomes
        context["summary"] = sorted(Counter(o.outcome for o in outcomes).items())
    return render(request, "interop/csv_import.html", context)


@role_required(NEUROLOGIST)
def csv_import_start(request: HttpRequest, import_id: UUID) -> HttpResponse:
    upload = get_object_or_404(CsvImport, pk=import_id)
    if request.method != "POST":
        return redirect("interop:csv_import", import_id=upload.id)
    try:
        services.start_csv_import(import_id=upload.id)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("interop:csv_import", import_id=upload.id)


@role_required(NEUROLOGIST)
def csv_import_progress(request: HttpRequest, import_id: UUID) -> HttpResponse:
    upload = get_object_or_404(CsvImport, pk=import_id)
    return render(request, "interop/_csv_progress.html", {"upload": upload})
