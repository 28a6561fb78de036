from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from natalizumab_monitor.backup import PASSPHRASE_VARIABLE, BackupError, backup


class Command(BaseCommand):
    help = (
        "Write an encrypted dump of the database to FILE (OpenPGP, AES-256, passphrase from "
        f"{PASSPHRASE_VARIABLE}). Restore it with restoredb."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            size = backup(file)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Encrypted backup written to {file} ({size} bytes).")
