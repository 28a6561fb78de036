import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from natalizumab_monitor.roles import ROLES
from network.selectors import several_sites
from network.services import add_staff


class Command(BaseCommand):
    help = "Create a user with one role. The password comes from $PASSWORD, or is prompted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--site",
            action="append",
            default=[],
            dest="sites",
            metavar="CODE",
            help="a site the user works at (repeatable); required when there are several",
        )

    @transaction.atomic
    def handle(
        self, *args: Any, username: str, role: str, email: str, sites: list[str], **options: Any
    ) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        if not sites and several_sites():
            raise CommandError("This installation has several sites: name the user's with --site.")
        password = os.environ.get("PASSWORD") or self._prompt_password()
        try:  # the validators of AUTH_PASSWORD_VALIDATORS, as the admin and the pages use them
            validate_password(password, user=user_model(username=username, email=email))
        except ValidationError as weak:
            raise CommandError("Password refused: " + " ".join(weak.messages)) from weak
        user = user_model.objects.create_user(username=username, email=email, password=password)
        user.groups.add(Group.objects.get(name=role))
        try:
            placed = add_staff(user, *sites)
        except ValidationError as unknown:
            raise CommandError(" ".join(unknown.messages)) from unknown
        at = f" at {', '.join(site.code for site in placed)}" if placed else ""
        self.stdout.write(f"Created {username} ({role}){at}.")

    def _prompt_password(self) -> str:
        first = getpass.getpass("Password: ")
        if not first or first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords were empty or did not match.")
        return first
