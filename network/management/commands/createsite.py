from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from network.services import create_site


class Command(BaseCommand):
    help = "Open a site (infusion centre): its code, its name and its time zone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="A short code, e.g. LDN")
        parser.add_argument("--name", required=True)
        parser.add_argument("--time-zone", required=True, help="e.g. Europe/London")

    def handle(self, *args: Any, code: str, name: str, time_zone: str, **options: Any) -> None:
        try:
            site = create_site(code=code, name=name, time_zone=time_zone)
        except ValidationError as refused:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in refused.message_dict.items()
            )
            raise CommandError(f"Site refused: {problems}") from refused
        self.stdout.write(f"Created site {site.code} ({site.name}, {site.time_zone}).")
