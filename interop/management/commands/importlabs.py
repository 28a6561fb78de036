"""python manage.py importlabs FILE.csv: file a CSV of lab results, with a progress bar."""

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit.context import Actor, acting
from audit.models import Via
from interop.csv_import import CsvRefused, RowOutcome, import_rows, read_rows


class Command(BaseCommand):
    help = (
        "Import lab results from a CSV file (columns: mrn, loinc or analyte, value, unit, "
        "reference_low, reference_high, collected_at, accession_number). Rows already "
        "imported are not filed twice; rows that cannot be filed wait in the lab inbox."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--quiet-rows", action="store_true", help="Do not list refused rows.")

    def handle(self, *args: Any, file: Path, quiet_rows: bool, **options: Any) -> None:
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        except UnicodeDecodeError:
            text = file.read_bytes().decode("latin-1")
        try:
            rows = read_rows(text)
        except CsvRefused as refused:
            raise CommandError(str(refused)) from refused
        outcomes: list[RowOutcome] = []
        with (
            tqdm(total=len(rows), unit="row", desc=file.name, file=self.stderr._out) as bar,
            acting(Actor(via=Via.IMPORT)),
        ):
            import_rows(rows, lambda outcome: (outcomes.append(outcome), bar.update(1)))
        counts = Counter(o.outcome for o in outcomes)
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
        self.stdout.write(f"{len(rows)} rows: {summary or 'nothing'}.")
        if not quiet_rows:
            for outcome in outcomes:
                if outcome.outcome in ("refused", "queued"):
                    self.stdout.write(
                        f"  row {outcome.number}: {outcome.outcome}: {outcome.detail}"
                    )
