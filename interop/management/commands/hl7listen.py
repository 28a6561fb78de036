"""python manage.py hl7listen: receive HL7 v2 results over MLLP until stopped."""

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from interop.mllp import Listener


class Command(BaseCommand):
    help = "Listen for HL7 v2 ORU^R01 messages over MLLP (port HL7_MLLP_PORT) and ACK each one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="0.0.0.0", help="Address to listen on.")  # noqa: S104
        parser.add_argument("--port", type=int, default=None, help="Default: HL7_MLLP_PORT.")
        parser.add_argument(
            "--workers", type=int, default=4, help="Messages filed at the same time."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] if options["port"] is not None else settings.HL7_MLLP_PORT
        listener = Listener(options["host"], port, max(1, options["workers"]))
        asyncio.run(listener.run())
