"""One result as a sender described it, whatever the channel (HL7 v2, FHIR, CSV)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_LENGTH = 255  # LabResult.source_key and LabInboxEntry.result_key


def sender_key(text: str) -> str:
    """The sender's key as stored: a key too long to store is shortened with its digest,
    so two long keys never become one."""
    if len(text) <= KEY_LENGTH:
        return text
    return f"{text[: KEY_LENGTH - 65]}#{hashlib.sha256(text.encode()).hexdigest()}"


class ResultStatus(StrEnum):
    FINAL = "final"  # also preliminary and partial results: a value to file
    CORRECTED = "corrected"
    CANCELLED = "cancelled"  # cancelled, deleted, entered in error: withdraw it
    PENDING = "pending"  # no value yet: nothing to file


class Outcome(StrEnum):
    FILED = "filed"
    CORRECTED = "corrected"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    QUEUED = "queued"  # waits in the lab inbox
    SKIPPED = "skipped"  # nothing to file (a pending result, a cancel of nothing)


@dataclass(frozen=True)
class IncomingResult:
    result_key: str
    patient_identifiers: tuple[str, ...]
    code: str
    code_system: str
    code_text: str
    value: str
    unit: str
    reference_range: str
    collected_at: datetime | None
    status: ResultStatus
    index: str = ""  # the anti-JCV antibody index sent beside the qualitative result
    test: str | None = None  # the test, when the sender names it rather than coding it

    def describe_identifiers(self) -> str:
        return ", ".join(self.patient_identifiers)

    def fingerprint(self) -> str:
        """Short digest of the values, to tell two versions sent under one key apart."""
        text = "|".join(
            (self.value, self.unit, self.reference_range, str(self.collected_at), self.index)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Tally:
    """How the results of one message (or file) ended."""

    filed: int = 0
    corrected: int = 0
    withdrawn: int = 0
    duplicate: int = 0
    queued: int = 0
    skipped: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def settled(self) -> int:
        """Results now in the record as the sender meant them."""
        return self.filed + self.corrected + self.withdrawn + self.duplicate
