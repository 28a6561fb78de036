from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from natalizumab_monitor.backup import PASSPHRASE_VARIABLE, BackupError, restore


class Command(BaseCommand):
    help = (
        "Replace the database's content with an encrypted backup made by backupdb (the "
        f"passphrase from {PASSPHRASE_VARIABLE}). A wrong passphrase or a damaged file is "
        "refused before the database is touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            restore(file)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Database restored from {file}.")
