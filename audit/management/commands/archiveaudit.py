from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from audit import services


class Command(BaseCommand):
    help = (
        "Archive audit entries older than AUDIT_RETENTION_DAYS to a gzip JSON-lines file, "
        "then (and only then) remove them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            default=str(settings.AUDIT_ARCHIVE_DIR),
            help="The folder for the archive (default: AUDIT_ARCHIVE_DIR).",
        )

    def handle(self, *args: Any, to: str, **options: Any) -> None:
        before = services.retention_cutoff()
        count, path = services.archive_and_purge(before=before, folder=Path(to))
        if path is None:
            self.stdout.write(f"No entry before {before:%Y-%m-%d}.")
        else:
            self.stdout.write(
                f"Archived and removed {count} entries before {before:%Y-%m-%d}: {path}"
            )
