"""The privacy officer's pages: search the audit, one entry's before and after, the CSV of
a selection, and a patient's printable access report."""

import csv
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from patients.models import Patient

from . import selectors, services
from .access import auditor_required
from .forms import AuditSearchForm
from .models import AuditAction, AuditEntry

PAGE_SIZE = 100
CSV_COLUMNS = (
    "id",
    "at",
    "user",
    "role",
    "action",
    "record_type",
    "record_id",
    "patients",
    "changes",
    "via",
    "request_id",
    "remote_addr",
)


@auditor_required
def search(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    entries = form.entries() if form.is_bound and form.is_valid() else None
    if not form.is_bound:
        # Before any search: the last day only, so the page never counts the whole audit.
        entries = selectors.audit_entries().filter(at__gte=timezone.now() - timedelta(days=1))
    page = None
    if entries is not None:
        page = Paginator(entries.order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/search.html",
        {"form": form, "page": page, "query": query.urlencode(), "searched": form.is_bound},
        status=200 if form.is_valid() or not form.is_bound else 400,
    )


def _side_by_side(entry: AuditEntry) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) rows: an update's pairs, or a create's or delete's values;
    None where a side has no value (a created record had no before)."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    rows: list[tuple[str, str | None, str | None]] = []
    for field, value in sorted(changes.items()):
        if entry.action == AuditAction.UPDATE and isinstance(value, list) and len(value) == 2:
            rows.append((field, _shown(value[0]), _shown(value[1])))
        elif entry.action == AuditAction.DELETE:
            rows.append((field, _shown(value), None))
        else:
            rows.append((field, None, _shown(value)))
    return rows


def _shown(value: Any) -> str:
    """A stored value as JSON writes it (true, null, 3.5), text as it is."""
    return value if isinstance(value, str) else services.as_json(value)


@auditor_required
def entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    found = get_object_or_404(selectors.audit_entries(), pk=entry_id)
    return render(request, "audit/entry.html", {"entry": found, "rows": _side_by_side(found)})


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula (a username tried at login is anyone's).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(entries: Any) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for item in entries.iterator(chunk_size=2000):
        yield [_cell(value) for value in _csv_values(item)]


def _csv_values(item: AuditEntry) -> list[str]:
    return [
        str(item.id),
        item.at.isoformat(),
        item.username,
        item.role,
        item.action,
        item.record_type,
        item.record_id,
        " ".join(item.patients or []),
        services.as_json(item.changes),
        item.via,
        item.request_id,
        item.remote_addr,
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


@auditor_required
def export_csv(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/search.html", {"form": form, "page": None}, status=400)
    entries = form.entries() if form.is_bound else selectors.audit_entries()
    # The selection as it stands now: not the entry that records this export, nor later ones.
    entries = entries.filter(id__lte=selectors.latest_id())
    patient = form.cleaned_data.get("patient") if form.is_bound else None
    services.record_export(
        patients=[str(patient)] if patient else [],
        record_type="audit.auditentry",
        count=entries.count(),
        filters={k: v for k, v in request.GET.items() if k in form.fields and v},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _csv_rows(entries)), content_type="text/csv"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@auditor_required
def access_report(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    entries = list(selectors.access_report(patient_id))
    return render(
        request,
        "audit/access_report.html",
        {"patient": patient, "entries": entries, "generated_at": timezone.now()},
    )
