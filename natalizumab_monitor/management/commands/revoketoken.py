from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from natalizumab_monitor.tokens import revoke_tokens


class Command(BaseCommand):
    help = "Revoke every API token of a user: each is refused (401) from now on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            count = revoke_tokens(username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        self.stdout.write(f"Revoked {count} token{'s' if count != 1 else ''} of {username}.")
