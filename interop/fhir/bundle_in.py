"""A FHIR R4 batch or transaction Bundle of Observations in; the response Bundle out.

Each Observation becomes an IncomingResult and is filed like an HL7 v2 result: keyed by its
identifier, the patient found by the MRN the subject names (an identifier on the reference,
or a Patient of the Bundle), LOINC and UCUM mapped, the rest waiting in the lab inbox. A
transaction is all or nothing: one entry that cannot be read refuses the whole Bundle.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError as PydanticValidationError

from natalizumab_monitor import clock

from .. import mapping, services
from ..models import AckCode, Channel, InboundMessage
from ..results import IncomingResult, Outcome, ResultStatus, sender_key
from .resources import operation_outcome

_STATUS = {
    "final": ResultStatus.FINAL,
    "preliminary": ResultStatus.FINAL,
    "amended": ResultStatus.CORRECTED,
    "corrected": ResultStatus.CORRECTED,
    "cancelled": ResultStatus.CANCELLED,
    "entered-in-error": ResultStatus.CANCELLED,
    "registered": ResultStatus.PENDING,
    "unknown": ResultStatus.PENDING,
}
_ENTRY_STATUS = {
    Outcome.FILED: ("201 Created", "information", "Filed."),
    Outcome.CORRECTED: ("200 OK", "information", "The filed result was corrected."),
    Outcome.WITHDRAWN: ("200 OK", "information", "The filed result was withdrawn."),
    Outcome.DUPLICATE: ("200 OK", "information", "Already filed: nothing changed."),
    Outcome.QUEUED: ("202 Accepted", "warning", "Not filed yet: waits in the lab inbox."),
    Outcome.SKIPPED: ("200 OK", "information", "Nothing to file."),
}


class EntryRefused(ValueError):
    """An entry that cannot be read as a result of ours."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Bundle | OperationOutcome


def _mrns(patient: FhirPatient) -> tuple[str, ...]:
    found = []
    for identifier in patient.identifier or []:
        kinds = {c.code for c in (identifier.type.coding or [])} if identifier.type else set()
        if identifier.value and (not kinds or "MR" in kinds):
            found.append(identifier.value)
    return tuple(found)


def _patients_of(bundle: Bundle) -> dict[str, tuple[str, ...]]:
    """The MRNs of each Patient in the Bundle, by every name a reference may give it."""
    named: dict[str, tuple[str, ...]] = {}
    for entry in bundle.entry or []:
        resource = entry.resource
        if isinstance(resource, FhirPatient):
            mrns = _mrns(resource)
            if entry.fullUrl:
                named[str(entry.fullUrl)] = mrns
            if resource.id:
                named[f"Patient/{resource.id}"] = mrns
    return named


def _subject_mrns(
    observation: Observation, patients: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    subject = observation.subject
    if subject is None:
        raise EntryRefused("The Observation names no subject.")
    if subject.identifier is not None and subject.identifier.value:
        return (subject.identifier.value,)
    if subject.reference and subject.reference in patients:
        return patients[subject.reference]
    raise EntryRefused(
        "The subject must carry the patient's MRN as an identifier, or reference a Patient "
        "of this Bundle that does."
    )


def _code(observation: Observation) -> tuple[str, str, str]:
    codings = observation.code.coding or []
    loinc = next((c for c in codings if c.system == mapping.LOINC_SYSTEM), None)
    chosen = loinc or (codings[0] if codings else None)
    text = observation.code.text or (chosen.display if chosen else "") or ""
    if chosen is None:
        return "", "", text
    return chosen.code or "", chosen.system or "", text


def _number(value: Decimal | float | int | None) -> str:
    return "" if value is None else format(Decimal(str(value)), "f")


def _value(observation: Observation) -> tuple[str, str]:
    if observation.valueQuantity is not None:
        quantity = observation.valueQuantity
        if quantity.comparator:
            return f"{quantity.comparator}{_number(quantity.value)}", quantity.code or ""
        return _number(quantity.value), quantity.code or quantity.unit or ""
    if observation.valueCodeableConcept is not None:
        concept = observation.valueCodeableConcept
        words = [w for c in concept.coding or [] for w in (c.code, c.display) if w]
        return "^".join([*words, concept.text or ""]).strip("^"), ""
    if observation.valueString is not None:
        return observation.valueString, ""
    return "", ""


def _range(observation: Observation) -> str:
    if not observation.referenceRange:
        return ""
    limits = observation.referenceRange[0]
    low = _number(limits.low.value) if limits.low is not None else ""
    high = _number(limits.high.value) if limits.high is not None else ""
    if low and high:
        return f"{low}-{high}"
    return f"<{high}" if high else (limits.text or "")


def _collected(observation: Observation) -> datetime | None:
    moment = observation.effectiveDateTime or observation.effectiveInstant
    if moment is None and observation.effectivePeriod is not None:
        moment = observation.effectivePeriod.start
    if isinstance(moment, datetime):
        # FHIR requires a zone on a time; a sender that leaves it out means the clinic's.
        return moment if moment.tzinfo else moment.replace(tzinfo=clock.clinic_zone())
    return None  # a date alone says too little for the rules


def _index(observation: Observation) -> str:
    index_code = mapping.ANTIBODY_TESTS[mapping.JCV_INDEX]
    for component in observation.component or []:
        codes = {c.code for c in component.code.coding or []}
        if index_code in codes and component.valueQuantity is not None:
            return _number(component.valueQuantity.value)
    return ""


def incoming(observation: Observation, patients: dict[str, tuple[str, ...]]) -> IncomingResult:
    identifier = next((i for i in observation.identifier or [] if i.value), None)
    if identifier is None:
        raise EntryRefused(
            "The Observation needs an identifier (system and value): the same result sent "
            "again is recognised by it."
        )
    status = _STATUS.get(str(observation.status))
    if status is None:
        raise EntryRefused(f"Observation.status {observation.status!r} is not an R4 status.")
    code, system, text = _code(observation)
    value, unit = _value(observation)
    return IncomingResult(
        result_key=sender_key(f"fhir:{identifier.system or ''}|{identifier.value}"),
        patient_identifiers=_subject_mrns(observation, patients),
        code=code,
        code_system=system,
        code_text=text,
        value=value,
        unit=unit,
        reference_range=_range(observation),
        collected_at=_collected(observation),
        status=status,
        index=_index(observation),
    )


def _without_nul(data: Any) -> Any:
    """JSON allows \\u0000 in a string; PostgreSQL text does not, and no result needs it."""
    if isinstance(data, str):
        return data.replace("\x00", "")
    if isinstance(data, dict):
        return {_without_nul(k): _without_nul(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_without_nul(item) for item in data]
    return data


def _refusal(text: str) -> Answer:
    return Answer(400, operation_outcome("error", "invalid", text))


def read_bundle(data: Any) -> Bundle:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise EntryRefused("Send a FHIR Bundle (resourceType Bundle).")
    try:
        bundle = Bundle.model_validate(data)
    except PydanticValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:10]
        )
        raise EntryRefused(f"Not a valid FHIR R4 Bundle: {problems}") from error
    if bundle.type not in ("batch", "transaction"):
        raise EntryRefused("Bundle.type must be batch or transaction.")
    return bundle


def receive_bundle(data: Any, *, sender: AbstractBaseUser | None) -> Answer:
    """File the Observations of a batch or transaction Bundle; the response Bundle."""
    data = _without_nul(data)
    try:
        bundle = read_bundle(data)
    except EntryRefused as refused:
        answer = _refusal(str(refused))
        _keep(data, sender, AckCode.REJECTED, answer)
        return answer
    patients = _patients_of(bundle)
    parsed: list[IncomingResult | FhirPatient | EntryRefused] = []
    for position, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if isinstance(resource, FhirPatient):
            parsed.append(resource)
        elif isinstance(resource, Observation):
            try:
                parsed.append(incoming(resource, patients))
            except EntryRefused as refused:
                parsed.append(EntryRefused(f"entry {position}: {refused}"))
        else:
            kind = resource.get_resource_type() if resource is not None else "nothing"
            parsed.append(EntryRefused(f"entry {position}: {kind} is not taken here."))
    refusals = [p for p in parsed if isinstance(p, EntryRefused)]
    if bundle.type == "transaction" and refusals:
        answer = _refusal(
            "The transaction is refused, nothing was written: " + " ".join(map(str, refusals))
        )
        _keep(data, sender, AckCode.ERROR, answer)
        return answer
    with transaction.atomic():
        message = _keep(data, sender, AckCode.ACCEPTED, None)
        entries = [_entry_response(item, message) for item in parsed]
        kind = "transaction-response" if bundle.type == "transaction" else "batch-response"
        response = Bundle(type=kind, entry=entries or None)
        message.ack = response.model_dump_json(exclude_none=True)
        message.results_filed = sum(
            1 for e in entries if e["response"]["status"][:3] in ("200", "201")
        )
        message.results_queued = sum(
            1 for e in entries if e["response"]["status"].startswith("202")
        )
        message.save(update_fields=["ack", "results_filed", "results_queued"])
    return Answer(200, response)


def _entry_response(
    item: IncomingResult | FhirPatient | EntryRefused, message: InboundMessage
) -> dict[str, Any]:
    if isinstance(item, EntryRefused):
        return _response("400 Bad Request", "error", str(item))
    if isinstance(item, FhirPatient):
        known = services.patient_known(_mrns(item))
        if known:
            return {"response": {"status": "200 OK", "location": f"Patient/{known}"}}
        return _response(
            "404 Not Found",
            "warning",
            "No patient has this MRN; results naming it wait in the lab inbox.",
        )
    outcome = services.file_result(item, message=message)
    status, severity, text = _ENTRY_STATUS[outcome]
    return _response(status, severity, text)


_ISSUE_CODE = {"information": "informational", "warning": "processing", "error": "invalid"}


def _response(status: str, severity: str, text: str) -> dict[str, Any]:
    outcome = operation_outcome(severity, _ISSUE_CODE[severity], text)
    return {"response": {"status": status, "outcome": outcome}}


def _keep(
    data: Any, sender: AbstractBaseUser | None, code: str, answer: Answer | None
) -> InboundMessage:
    content = json.dumps(data, default=str)[:5_000_000] if not isinstance(data, str) else data
    return InboundMessage.objects.create(
        channel=Channel.FHIR,
        sender=sender,
        received_at=clock.now(),
        control_id=str(data.get("id", ""))[:200] if isinstance(data, dict) else "",
        content=content,
        ack_code=code,
        ack=answer.body.model_dump_json(exclude_none=True) if answer is not None else "",
    )
