"""What a service raises when a write cannot happen, other than bad input.

Bad input is a django.core.exceptions.ValidationError naming the field. These exceptions
carry no HTTP: the API's exception handler turns them into 409 and 412 responses.
"""

from typing import Any


class Conflict(Exception):
    """The write conflicts with the current state of the record (HTTP 409)."""

    def __init__(self, detail: str, *, blocking: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.blocking = blocking or []


class GateRefused(Conflict):
    """An infusion may not start: the findings in `blocking` stand in the way."""


class StaleVersion(Conflict):
    """The `version` the client sent is not the record's current version."""

    def __init__(self, *, current_version: int) -> None:
        super().__init__(
            f"The record has changed since you read it (now version {current_version}); "
            "reload it and apply your change again."
        )
        self.current_version = current_version


class PreconditionFailed(Exception):
    """The If-Match header does not name the record's current version (HTTP 412)."""

    def __init__(self, *, current_version: int) -> None:
        super().__init__("If-Match does not match the current version of the record.")
        self.detail = str(self)
        self.current_version = current_version


class PreconditionRequired(Exception):
    """A change names no version (no If-Match, no `version`): a blind write (HTTP 428)."""

    def __init__(self) -> None:
        super().__init__(
            "Say which version you are changing: send If-Match with the ETag you read, or "
            "`version` in the body. A blind write could overwrite a colleague's change."
        )
        self.detail = str(self)
