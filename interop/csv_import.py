"""CSV files of results: read, previewed row by row, then filed like any laboratory result.

Columns (a header row, names as below, in any order): mrn, loinc or analyte, value, unit,
reference_low, reference_high, collected_at (ISO 8601; the clinic's zone when none is
given), accession_number. A row is keyed by its accession number and test, so importing
the same file again files nothing twice.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from natalizumab_monitor import clock

from . import mapping, services
from .models import CsvImport, ImportStatus
from .results import IncomingResult, Outcome, ResultStatus, sender_key

REQUIRED = ("mrn", "value", "unit", "reference_high", "collected_at", "accession_number")
MAX_ROWS = 20_000


class CsvRefused(ValueError):
    """The file cannot be read as a CSV of results."""


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    result: IncomingResult | None
    problem: str = ""


@dataclass(frozen=True)
class RowOutcome:
    number: int
    outcome: str  # an Outcome value, or "refused"
    detail: str


def _collected_at(text: str) -> datetime | None:
    try:
        moment = parse_datetime(text.strip())
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.clinic_zone())


def _row(number: int, fields: dict[str, str]) -> Row:
    missing = [name for name in REQUIRED if not fields.get(name)]
    test = fields.get("analyte", "").upper() or None
    code = fields.get("loinc", "")
    if not code and not test:
        missing.append("loinc or analyte")
    if missing:
        return Row(number, None, f"Empty: {', '.join(missing)}.")
    if test is not None and test not in mapping.TESTS:
        return Row(number, None, f"Unknown analyte {test!r}; one of {', '.join(mapping.TESTS)}.")
    collected_at = _collected_at(fields["collected_at"])
    if collected_at is None:
        return Row(number, None, f"collected_at {fields['collected_at']!r} is not ISO 8601.")
    low, high = fields.get("reference_low", ""), fields["reference_high"]
    code = code or mapping.LOINC_BY_TEST.get(test or "", "")
    result = IncomingResult(
        result_key=sender_key(f"csv:{fields['accession_number']}:{code or test}"),
        patient_identifiers=(fields["mrn"],),
        code=code,
        code_system=mapping.LOINC_SYSTEM,
        code_text=fields.get("analyte", ""),
        value=fields["value"],
        unit=fields["unit"],
        reference_range=f"{low}-{high}" if low else f"<{high}",
        collected_at=collected_at,
        status=ResultStatus.FINAL,
        test=test,
    )
    return Row(number, result)


def read_rows(text: str) -> list[Row]:
    """Every data row of the file, read or with what is wrong with it."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    absent = [name for name in REQUIRED if name not in header]
    if "loinc" not in header and "analyte" not in header:
        absent.append("loinc or analyte")
    if absent:
        raise CsvRefused(f"The header row lacks: {', '.join(absent)}.")
    rows = []
    try:
        for number, raw in enumerate(reader, start=2):
            if len(rows) >= MAX_ROWS:
                raise CsvRefused(f"More than {MAX_ROWS} rows: split the file.")
            fields = {
                (k or "").strip().lower(): (v or "").strip()
                for k, v in raw.items()
                if isinstance(v, str)
            }
            if any(fields.values()):
                rows.append(_row(number, fields))
    except csv.Error as error:
        raise CsvRefused(f"Not a readable CSV: {error}") from error
    return rows


_WORDS = {
    Outcome.FILED: "filed",
    Outcome.CORRECTED: "corrects the result already filed",
    Outcome.WITHDRAWN: "withdrawn",
    Outcome.DUPLICATE: "already filed: nothing changes",
    Outcome.QUEUED: "waits in the lab inbox",
    Outcome.SKIPPED: "nothing to file",
}


def preview(rows: list[Row]) -> list[RowOutcome]:
    """What importing each row would do, found by filing it and rolling everything back."""
    outcomes = []
    with transaction.atomic():
        for row in rows:
            outcomes.append(_import_row(row, explain=True))
        transaction.set_rollback(True)
    return outcomes


def _import_row(row: Row, explain: bool = False) -> RowOutcome:
    if row.result is None:
        return RowOutcome(row.number, "refused", row.problem)
    outcome = services.file_result(row.result)
    detail = _WORDS[outcome]
    if explain and outcome == Outcome.QUEUED:
        detail = f"{detail}: {services.why_queued(row.result)}"
    return RowOutcome(row.number, outcome.value, detail)


def import_rows(
    rows: Iterable[Row], progress: Callable[[RowOutcome], None] | None = None
) -> list[RowOutcome]:
    """File each row in its own transaction; `progress` hears of each one."""
    outcomes = []
    for row in rows:
        with transaction.atomic():
            outcome = _import_row(row)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes


def run_import(csv_import: CsvImport, every: int = 25) -> CsvImport:
    """Import an uploaded file, saving the progress as it goes (the page shows it)."""
    rows = read_rows(csv_import.content)
    CsvImport.objects.filter(pk=csv_import.pk).update(
        status=ImportStatus.RUNNING, rows_total=len(rows), rows_done=0
    )
    counts = {"filed": 0, "queued": 0, "duplicate": 0, "refused": 0}

    def saved(outcome: RowOutcome) -> None:
        key = {
            Outcome.FILED.value: "filed",
            Outcome.CORRECTED.value: "filed",
            Outcome.WITHDRAWN.value: "filed",
            Outcome.QUEUED.value: "queued",
            "refused": "refused",
        }.get(outcome.outcome, "duplicate")
        counts[key] += 1
        done = sum(counts.values())
        if done % every == 0 or done == len(rows):
            CsvImport.objects.filter(pk=csv_import.pk).update(
                rows_done=done,
                rows_filed=counts["filed"],
                rows_queued=counts["queued"],
                rows_duplicate=counts["duplicate"],
                rows_refused=counts["refused"],
            )

    import_rows(rows, saved)
    CsvImport.objects.filter(pk=csv_import.pk).update(
        status=ImportStatus.DONE, finished_at=clock.now(), rows_done=len(rows)
    )
    csv_import.refresh_from_db()
    return csv_import
