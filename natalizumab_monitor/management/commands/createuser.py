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


class Command(BaseCommand):
    help = "Create a user with one role. The password comes from $PASSWORD, or is prompted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")

    @transaction.atomic
    def handle(self, *args: Any, username: str, role: str, email: str, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        password = os.environ.get("PASSWORD") or self._prompt_password()
        try:  # the validators of AUTH_PASSWORD_VALIDATORS, as the admin and the pages use them
            validate_password(password, user=user_model(username=username, email=email))
        except ValidationError as weak:
            raise CommandError("Password refused: " + " ".join(weak.messages)) from weak
        user = user_model.objects.create_user(username=username, email=email, password=password)
        user.groups.add(Group.objects.get(name=role))
        self.stdout.write(f"Created {username} ({role}).")

    def _prompt_password(self) -> str:
        first = getpass.getpass("Password: ")
        if not first or first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords were empty or did not match.")
        return first
