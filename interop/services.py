"""Filing what a laboratory sends, through the same `labs` services as a typed result.

A result is filed once, by the sender's key (unique in the database, so two connections
racing with the same result file it once); a correction replaces the value and keeps the old
one in the result's history; a cancellation withdraws the result. Whatever cannot be filed
waits in the lab inbox, where a person files it to a patient or rejects it.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labs import services as labs
from labs.models import UCUM_UNITS, Analyte, AntibodyTest, LabResult
from natalizumab_monitor import clock
from natalizumab_monitor.services import Problems
from patients.models import Patient

from . import hl7v2, mapping
from .mapping import MappingProblem
from .models import (
    AckCode,
    CsvImport,
    ImportStatus,
    InboundMessage,
    InboxReason,
    InboxStatus,
    LabInboxEntry,
)
from .results import IncomingResult, Outcome, ResultStatus, Tally, sender_key

logger = logging.getLogger(__name__)

Filed = LabResult | AntibodyTest


@dataclass(frozen=True)
class LabValues:
    analyte: str
    value: Decimal
    unit: str
    reference_low: Decimal | None
    reference_high: Decimal
    collected_at: datetime


@dataclass(frozen=True)
class AntibodyValues:
    target: str
    result: str
    index: Decimal | None
    collected_at: datetime


# --- Mapping a result onto the record ---------------------------------------------------------


def find_patient(identifiers: tuple[str, ...]) -> Patient:
    """The one patient whose MRN is among the identifiers the sender gave."""
    candidates = [i.strip() for i in identifiers if i.strip()]
    if not candidates:
        raise MappingProblem(InboxReason.UNKNOWN_PATIENT, "No patient identifier (MRN) was sent.")
    patients = list(Patient.objects.filter(mrn__in=candidates)[:2])
    if not patients:
        raise MappingProblem(InboxReason.UNKNOWN_PATIENT, "No patient has this MRN.")
    if len(patients) > 1:
        raise MappingProblem(
            InboxReason.AMBIGUOUS_PATIENT, "The identifiers sent name more than one patient."
        )
    return patients[0]


def site_named(identifiers: tuple[str, ...]) -> int | None:
    """The site of the one patient, across the network, these identifiers name (or None):
    an entry waits in that site's inbox, out of other sites' sight."""
    candidates = [i.strip() for i in identifiers if i.strip()]
    sites = list(Patient.all_sites.filter(mrn__in=candidates).values_list("site_id", flat=True))
    return sites[0] if len(sites) == 1 else None


def test_of(incoming: IncomingResult) -> str:
    test = incoming.test or mapping.test_for(incoming.code, incoming.code_system)
    if test is None:
        raise MappingProblem(
            InboxReason.UNMAPPED_CODE,
            f"Code {incoming.code!r} ({incoming.code_system or 'no system'}) is not one of "
            "the monitored tests.",
        )
    return test


def _collected_at(incoming: IncomingResult) -> datetime:
    if incoming.collected_at is None:
        raise MappingProblem(InboxReason.INCOMPLETE, "No collection time was sent.")
    return incoming.collected_at


def values_of(incoming: IncomingResult, test: str) -> LabValues | AntibodyValues:
    """The values to file for `test`, converted where the conversion is exact."""
    if test in Analyte.values:
        value = mapping.decimal_value(incoming.value)
        if value is None:
            raise MappingProblem(
                InboxReason.INCOMPLETE, f"The value {incoming.value!r} is not a plain number."
            )
        unit = mapping.ucum_unit(incoming.unit)
        if unit is None or unit not in UCUM_UNITS[Analyte(test)]:
            raise MappingProblem(
                InboxReason.UNMAPPED_UNIT,
                f"{incoming.unit!r} has no exact conversion to a unit of {test} "
                f"({', '.join(UCUM_UNITS[Analyte(test)])}).",
            )
        limits = mapping.reference_range(incoming.reference_range)
        if limits is None:
            raise MappingProblem(
                InboxReason.INCOMPLETE,
                f"The reference range {incoming.reference_range!r} gives no upper limit.",
            )
        return LabValues(
            analyte=test,
            value=value,
            unit=unit,
            reference_low=limits.low,
            reference_high=limits.high,
            collected_at=_collected_at(incoming),
        )
    if test in mapping.ANTIBODY_TARGET:
        result = mapping.antibody_result(*incoming.value.split("^"))
        if result is None:
            raise MappingProblem(
                InboxReason.INCOMPLETE,
                f"{incoming.value!r} is not positive, negative or indeterminate.",
            )
        index = None
        if incoming.index:
            index = mapping.decimal_value(incoming.index)
            if index is None or test != mapping.ANTI_JCV:
                raise MappingProblem(
                    InboxReason.INCOMPLETE, f"The index {incoming.index!r} cannot be filed."
                )
        return AntibodyValues(
            target=mapping.ANTIBODY_TARGET[test],
            result=result,
            index=index,
            collected_at=_collected_at(incoming),
        )
    raise MappingProblem(
        InboxReason.INCOMPLETE, "An anti-JCV antibody index without its qualitative result."
    )


def _record_new(patient: Patient, values: LabValues | AntibodyValues, key: str) -> Filed:
    if isinstance(values, LabValues):
        return labs.record_lab_result(patient=patient, source_key=key, **values.__dict__)
    return labs.record_antibody_test(patient=patient, source_key=key, **values.__dict__)


def _same(record: Filed, values: LabValues | AntibodyValues) -> bool:
    if isinstance(record, LabResult) and isinstance(values, LabValues):
        return (
            record.analyte == values.analyte
            and record.value == values.value
            and record.unit == values.unit
            and record.reference_low == values.reference_low
            and record.reference_high == values.reference_high
            and record.collected_at == values.collected_at
        )
    if isinstance(record, AntibodyTest) and isinstance(values, AntibodyValues):
        return (
            record.target == values.target
            and record.result == values.result
            and record.index == values.index
            and record.collected_at == values.collected_at
        )
    return False


def _was_once(record: Filed, values: LabValues | AntibodyValues) -> bool:
    """An earlier version of the record held these values (a replay of an old message)."""
    if isinstance(record, LabResult) and isinstance(values, LabValues):
        return record.revisions.filter(
            value=values.value,
            unit=values.unit,
            reference_low=values.reference_low,
            reference_high=values.reference_high,
            collected_at=values.collected_at,
        ).exists()
    if isinstance(record, AntibodyTest) and isinstance(values, AntibodyValues):
        return record.revisions.filter(
            result=values.result, index=values.index, collected_at=values.collected_at
        ).exists()
    return False


def _correct(record: Filed, values: LabValues | AntibodyValues) -> None:
    if isinstance(record, LabResult) and isinstance(values, LabValues):
        labs.correct_lab_result(
            lab_result=record,
            value=values.value,
            unit=values.unit,
            reference_low=values.reference_low,
            reference_high=values.reference_high,
            collected_at=values.collected_at,
        )
    elif isinstance(record, AntibodyTest) and isinstance(values, AntibodyValues):
        labs.correct_antibody_test(
            antibody_test=record,
            result=values.result,
            index=values.index,
            collected_at=values.collected_at,
        )
    else:
        raise MappingProblem(
            InboxReason.CONFLICT, "The correction names another test than the result filed."
        )


def _withdraw(record: Filed) -> None:
    if isinstance(record, LabResult):
        labs.withdraw_lab_result(lab_result=record)
    else:
        labs.withdraw_antibody_test(antibody_test=record)


def filed_under(key: str) -> Filed | None:
    """The result filed under the sender's key, withdrawn or not, locked for this change."""
    for model in (LabResult, AntibodyTest):
        found = model.every_result.select_for_update().filter(source_key=key).first()
        if found is not None:
            return found
    return None


# --- Filing -------------------------------------------------------------------------------


def file_result(incoming: IncomingResult, *, message: InboundMessage | None = None) -> Outcome:
    """File one result from a laboratory, or queue it in the inbox. Never raises for bad data."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _file_result(incoming, message)
        except IntegrityError:
            # Another connection filed the same key between our look and our write:
            # look again, and this time it is a result already filed.
            continue
    raise RuntimeError("A result kept conflicting with concurrent writes of the same key.")


def _file_result(incoming: IncomingResult, message: InboundMessage | None) -> Outcome:
    if incoming.status == ResultStatus.PENDING:
        return Outcome.SKIPPED
    existing = filed_under(incoming.result_key)
    if existing is not None:
        return _update_filed(existing, incoming, message)
    waiting = LabInboxEntry.all_sites.filter(result_key=incoming.result_key).first()
    if waiting is not None:
        return _update_waiting(waiting, incoming)
    if incoming.status == ResultStatus.CANCELLED:
        return Outcome.SKIPPED  # nothing was filed under this key: nothing to withdraw
    try:
        patient = find_patient(incoming.patient_identifiers)
        values = values_of(incoming, test_of(incoming))
    except MappingProblem as problem:
        return queue(incoming, problem.reason, problem.detail, message)
    try:
        with transaction.atomic():
            _record_new(patient, values, incoming.result_key)
    except ValidationError as error:
        return queue(incoming, InboxReason.INVALID, _messages(error), message)
    return Outcome.FILED


def _update_filed(
    record: Filed, incoming: IncomingResult, message: InboundMessage | None
) -> Outcome:
    if incoming.status == ResultStatus.CANCELLED:
        if record.withdrawn_at is not None:
            return Outcome.DUPLICATE
        _withdraw(record)
        return Outcome.WITHDRAWN
    try:
        values = values_of(incoming, test_of(incoming))
    except MappingProblem as problem:
        return _queue_conflict(incoming, problem.detail, message)
    if record.withdrawn_at is not None:
        return _queue_conflict(incoming, "The result filed under this key was withdrawn.", message)
    if _same(record, values):
        return Outcome.DUPLICATE
    if incoming.status == ResultStatus.CORRECTED:
        try:
            with transaction.atomic():
                _correct(record, values)
        except (ValidationError, MappingProblem) as error:
            detail = error.detail if isinstance(error, MappingProblem) else _messages(error)
            return _queue_conflict(incoming, detail, message)
        return Outcome.CORRECTED
    if _was_once(record, values):
        return Outcome.DUPLICATE  # an old version sent again after a correction
    return _queue_conflict(
        incoming, "A final result with other values than the one already filed.", message
    )


def _update_waiting(entry: LabInboxEntry, incoming: IncomingResult) -> Outcome:
    """The result is already in the inbox: a correction or a cancellation updates it there."""
    if entry.status != InboxStatus.WAITING:
        return Outcome.DUPLICATE
    if incoming.status == ResultStatus.CANCELLED:
        entry.status = InboxStatus.REJECTED
        entry.rejection_reason = "Cancelled by the laboratory."
        entry.decided_at = clock.now()
        entry.save()
        return Outcome.WITHDRAWN
    if incoming.status == ResultStatus.CORRECTED:
        _describe(entry, incoming)
        entry.save()
    return Outcome.QUEUED


def _queue_conflict(
    incoming: IncomingResult, detail: str, message: InboundMessage | None
) -> Outcome:
    # One entry per distinct version: the same conflicting message sent twice waits once.
    key = sender_key(f"{incoming.result_key}@{incoming.fingerprint()}")
    conflict = replace(incoming, result_key=key)
    return queue(conflict, InboxReason.CONFLICT, detail, message)


def _describe(entry: LabInboxEntry, incoming: IncomingResult) -> None:
    entry.patient_identifiers = incoming.describe_identifiers()[:500]
    entry.code = incoming.code[:100]
    entry.code_system = incoming.code_system[:200]
    entry.code_text = incoming.code_text[:500]
    entry.value = (
        f"{incoming.value} (index {incoming.index})" if incoming.index else incoming.value
    )[:200]
    entry.unit = incoming.unit[:100]
    entry.reference_range = incoming.reference_range[:100]
    entry.collected_at = incoming.collected_at
    entry.result_status = incoming.status.value


def queue(
    incoming: IncomingResult, reason: str, detail: str, message: InboundMessage | None
) -> Outcome:
    """Put a result in the lab inbox, once per key."""
    entry = LabInboxEntry(
        message=message,
        site_id=site_named(incoming.patient_identifiers),
        created_at=clock.now(),
        result_key=incoming.result_key,
        reason=reason,
        detail=detail,
    )
    _describe(entry, incoming)
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError:
        return Outcome.QUEUED if _still_waiting(incoming.result_key) else Outcome.DUPLICATE
    return Outcome.QUEUED


def _still_waiting(key: str) -> bool:
    return LabInboxEntry.all_sites.filter(result_key=key, status=InboxStatus.WAITING).exists()


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


# --- The inbox: a person decides -------------------------------------------------------------


def _entry_as_result(entry: LabInboxEntry, test: str | None) -> IncomingResult:
    value, index = entry.value, ""
    if " (index " in value and value.endswith(")"):
        value, index = value[:-1].split(" (index ", 1)
    return IncomingResult(
        result_key=entry.result_key.split("@", 1)[0],
        patient_identifiers=(),
        code=entry.code,
        code_system=entry.code_system,
        code_text=entry.code_text,
        value=value,
        unit=entry.unit,
        reference_range=entry.reference_range,
        collected_at=entry.collected_at,
        status=ResultStatus(entry.result_status or ResultStatus.FINAL),
        index=index,
        test=test,
    )


def _waiting_entry(entry_id: object) -> LabInboxEntry:
    entry = LabInboxEntry.objects.select_for_update().get(pk=entry_id)
    if entry.status != InboxStatus.WAITING:
        raise ValidationError(
            {"non_field_errors": [f"This result was already {entry.status}; nothing to do."]}
        )
    return entry


@transaction.atomic
def file_inbox_entry(
    *, entry_id: object, patient: Patient, test: str | None, user: AbstractBaseUser
) -> LabInboxEntry:
    """A person files a waiting result to a patient (and names its test if the code is unmapped).

    The same validation runs as for any result; what still cannot be filed is a 400.
    """
    entry = _waiting_entry(entry_id)
    problems = Problems()
    if test is not None and test not in mapping.TESTS:
        problems.add("analyte", f"Must be one of {', '.join(mapping.TESTS)}.")
    problems.raise_if_any()
    incoming = _entry_as_result(entry, test)
    try:
        values = values_of(incoming, test_of(incoming))
    except MappingProblem as problem:
        field = "analyte" if problem.reason == InboxReason.UNMAPPED_CODE else "non_field_errors"
        raise ValidationError({field: [problem.detail]}) from problem
    existing = filed_under(incoming.result_key)
    if existing is not None:
        if existing.patient_id != patient.pk:
            raise ValidationError(
                {"patient": ["The result under this key was filed to another patient."]}
            )
        _correct(existing, values)
        record = existing
    else:
        record = _record_new(patient, values, incoming.result_key)
    entry.status = InboxStatus.FILED
    entry.decided_by = user
    entry.decided_at = clock.now()
    if isinstance(record, LabResult):
        entry.lab_result = record
    else:
        entry.antibody_test = record
    entry.save()
    return entry


@transaction.atomic
def reject_inbox_entry(*, entry_id: object, reason: str, user: AbstractBaseUser) -> LabInboxEntry:
    """A person decides a waiting result is not to be filed, and says why."""
    problems = Problems()
    if not reason.strip():
        problems.add("reason", "Say why the result is rejected.")
    problems.raise_if_any()
    entry = _waiting_entry(entry_id)
    entry.status = InboxStatus.REJECTED
    entry.rejection_reason = reason.strip()
    entry.decided_by = user
    entry.decided_at = clock.now()
    entry.save()
    return entry


# --- Messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    ack_code: str
    ack: str
    message_id: object


def receive_hl7(text: str, *, channel: str, sender: AbstractBaseUser | None = None) -> Reply:
    """Take one HL7 v2 message: file its results, keep it with its ACK, and return the ACK.

    AA: every result filed, already filed, or waiting in the inbox; AE: read but not filed
    (nothing of it was written, so the sender can send it again); AR: not readable, or not
    an ORU^R01 of a version we take. Never raises for what a sender can send.
    """
    received_at = clock.now()
    text = text.replace("\x00", "")  # a NUL byte is no HL7 character, and PostgreSQL refuses it
    try:
        oru = hl7v2.read(text)
    except hl7v2.Refused as refused:
        reply = hl7v2.ack(text, refused.ack_code, problem=refused.problem)
        return _keep(text, channel, sender, received_at, refused.ack_code, reply, "", None)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                channel=channel,
                sender=sender,
                received_at=received_at,
                control_id=oru.control_id[:200],
                content=text,
                ack_code=AckCode.ACCEPTED,
            )
            tally = Tally()
            for incoming in oru.results:
                tally.add(file_result(incoming, message=message))
            explanation = _summary(tally)
            message.ack = hl7v2.ack(
                text, AckCode.ACCEPTED, parsed=oru.parsed, explanation=explanation
            )
            message.explanation = explanation
            message.results_filed = tally.settled
            message.results_queued = tally.queued
            message.save(update_fields=["ack", "explanation", "results_filed", "results_queued"])
            return Reply(AckCode.ACCEPTED, message.ack, message.pk)
    except Exception:
        # Nothing of the message was written; keep it and tell the sender to send it again.
        logger.exception("HL7 message %s could not be filed", oru.control_id[:40])
        problem = hl7v2.Problem(hl7v2.APPLICATION_ERROR, "The results could not be filed now.")
        reply = hl7v2.ack(text, AckCode.ERROR, problem=problem, parsed=oru.parsed)
        return _keep(text, channel, sender, received_at, AckCode.ERROR, reply, problem.text, oru)


def _keep(
    text: str,
    channel: str,
    sender: AbstractBaseUser | None,
    received_at: datetime,
    code: str,
    reply: str,
    explanation: str,
    oru: "hl7v2.OruMessage | None",
) -> Reply:
    message = InboundMessage.objects.create(
        channel=channel,
        sender=sender,
        received_at=received_at,
        control_id=(oru.control_id if oru else _control_id_of(text))[:200],
        content=text,
        ack_code=code,
        ack=reply,
        explanation=explanation or _msa_text(reply),
    )
    return Reply(code, reply, message.pk)


def _control_id_of(text: str) -> str:
    try:
        return hl7v2.read_control_id(text)
    except Exception:
        return ""


def _msa_text(reply: str) -> str:
    return hl7v2.msa_text(reply)


def _summary(tally: Tally) -> str:
    parts = [
        f"{count} {name}"
        for name, count in (
            ("filed", tally.filed),
            ("corrected", tally.corrected),
            ("withdrawn", tally.withdrawn),
            ("already filed", tally.duplicate),
            ("waiting in the lab inbox", tally.queued),
            ("without a value yet", tally.skipped),
        )
        if count
    ]
    return ", ".join(parts) or "no results"


def patient_known(identifiers: tuple[str, ...]) -> object | None:
    """The id of the one patient these identifiers name, or None."""
    try:
        return find_patient(identifiers).pk
    except MappingProblem:
        return None


def why_queued(incoming: IncomingResult) -> str:
    """In words, why this result would wait in the inbox (for a preview)."""
    entry = LabInboxEntry.all_sites.filter(result_key=incoming.result_key).first()
    if entry is not None:
        return entry.detail or entry.get_reason_display()
    try:
        find_patient(incoming.patient_identifiers)
        values_of(incoming, test_of(incoming))
    except MappingProblem as problem:
        return problem.detail
    return "refused by validation"


# --- CSV imports ----------------------------------------------------------------------------


@transaction.atomic
def upload_csv(*, file_name: str, content: str, user: AbstractBaseUser) -> CsvImport:
    """Keep an uploaded CSV of results for its preview; nothing is filed yet."""
    from .csv_import import CsvRefused, read_rows

    try:
        rows = read_rows(content)
    except CsvRefused as refused:
        raise ValidationError({"file": [str(refused)]}) from refused
    if not rows:
        raise ValidationError({"file": ["The file has no rows of results."]})
    return CsvImport.objects.create(
        uploaded_by=user,
        uploaded_at=clock.now(),
        file_name=file_name[:255],
        content=content,
        rows_total=len(rows),
    )


@transaction.atomic
def start_csv_import(*, import_id: object) -> CsvImport:
    """The neurologist saw the preview and imports the file, in the background."""
    upload = CsvImport.objects.select_for_update().get(pk=import_id)
    # Queued again is allowed: a task the broker lost is sent once more (rows file once).
    if upload.status not in (ImportStatus.PREVIEWED, ImportStatus.QUEUED):
        raise ValidationError({"non_field_errors": [f"This file is already {upload.status}."]})
    upload.status = ImportStatus.QUEUED
    upload.save(update_fields=["status"])
    transaction.on_commit(lambda: _enqueue_import(str(upload.pk)), robust=True)
    return upload


def _enqueue_import(import_id: str) -> None:
    from .tasks import import_csv  # the Celery app loads after the models

    try:
        import_csv.apply_async(args=[import_id])
    except Exception:  # the upload stays queued; the page says so and offers to retry
        logger.warning("CSV import %s not queued", import_id)
