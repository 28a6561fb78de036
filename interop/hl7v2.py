"""HL7 v2 ORU^R01 in, ACK out, with python-hl7 doing the parsing.

Reads versions 2.3 to 2.5.1: a PID, then one or more OBR groups each with its OBX results.
Each OBX becomes an IncomingResult keyed by the filler order number (OBR-3, with its
namespace or else the sending facility) and the OBX set id; an anti-JCV index OBX joins the
qualitative result of its order. Nothing here touches the database.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import hl7
from django.conf import settings

from natalizumab_monitor import clock

from . import mapping
from .results import IncomingResult, ResultStatus, sender_key

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")

# HL7 table 0357, message error condition codes.
REQUIRED_FIELD_MISSING = ("101", "Required field missing")
DATA_TYPE_ERROR = ("102", "Data type error")
UNSUPPORTED_MESSAGE_TYPE = ("200", "Unsupported message type")
UNSUPPORTED_EVENT = ("201", "Unsupported event code")
UNSUPPORTED_VERSION = ("203", "Unsupported version id")
SEGMENT_SEQUENCE_ERROR = ("100", "Segment sequence error")
APPLICATION_ERROR = ("207", "Application internal error")

# OBX-11 (HL7 table 0085) -> what the monitor does with the result.
_STATUS = {
    "F": ResultStatus.FINAL,
    "P": ResultStatus.FINAL,
    "R": ResultStatus.FINAL,
    "S": ResultStatus.FINAL,
    "C": ResultStatus.CORRECTED,
    "X": ResultStatus.CANCELLED,
    "D": ResultStatus.CANCELLED,
    "W": ResultStatus.CANCELLED,
    "I": ResultStatus.PENDING,
    "O": ResultStatus.PENDING,
}
_TS = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d{1,4})?(?:([+-])(\d{2})(\d{2}))?$"
)


@dataclass(frozen=True)
class Problem:
    """Why a message is refused: an HL7 error code, where, and words for a person."""

    code: tuple[str, str]
    text: str
    segment: str = ""
    sequence: int = 1
    field_number: int = 0


class Refused(Exception):  # noqa: N818 - it is the answer, not a failure of ours
    """The message cannot be taken: AR when it cannot be read, AE when it cannot be filed."""

    def __init__(self, ack_code: str, problem: Problem) -> None:
        super().__init__(problem.text)
        self.ack_code = ack_code
        self.problem = problem


@dataclass
class OruMessage:
    parsed: hl7.Message
    control_id: str
    results: list[IncomingResult] = field(default_factory=list)


def normalise(text: str) -> str:
    """Segments end in CR; senders also use CRLF or LF."""
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r \t\x00")


def _get(segment: hl7.Segment, field_number: int, repeat: int = 1, component: int = 1) -> str:
    """One component of a segment's field, unescaped; '' where the sender left it out."""
    try:
        value = segment.extract_field(1, field_number, repeat, component, 1)
    except (IndexError, KeyError, TypeError, ValueError):
        return ""
    return str(value or "").strip()


def _repetitions(segment: hl7.Segment, field_number: int) -> int:
    try:
        field_value = segment[field_number]
    except IndexError:
        return 0
    if isinstance(field_value, hl7.Repetition) or (
        isinstance(field_value, hl7.Field) and field_value and isinstance(field_value[0], list)
    ):
        return len(field_value)
    return 1 if str(field_value) else 0


def parse_time(text: str, zone: ZoneInfo) -> datetime | None:
    """HL7 TS to minute precision at least; a time without an offset is in `zone`."""
    match = _TS.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            return naive.replace(tzinfo=timezone(offset if sign == "+" else -offset))
    except ValueError:
        return None
    return naive.replace(tzinfo=zone)


def read(text: str) -> OruMessage:
    """Parse and check an ORU^R01; raises Refused with the ACK code the message deserves."""
    text = normalise(text)
    if not text.startswith("MSH"):
        raise Refused("AR", Problem(REQUIRED_FIELD_MISSING, "The message does not start with MSH."))
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception as exc:  # python-hl7 raises several kinds for unreadable text
        raise Refused("AR", Problem(DATA_TYPE_ERROR, f"Unreadable HL7: {exc}")) from exc
    control_id = _get(msh, 10)
    if not control_id:
        raise Refused(
            "AR",
            Problem(REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is empty.", "MSH", 1, 10),
        )
    kind, event = _get(msh, 9, 1, 1), _get(msh, 9, 1, 2)
    if kind != "ORU":
        raise Refused(
            "AR",
            Problem(UNSUPPORTED_MESSAGE_TYPE, f"Only ORU^R01 is taken, not {kind!r}.", "MSH", 1, 9),
        )
    if event != "R01":
        raise Refused(
            "AR",
            Problem(UNSUPPORTED_EVENT, f"Only ORU^R01 is taken, not ORU^{event}.", "MSH", 1, 9),
        )
    version = _get(msh, 12)
    if version not in SUPPORTED_VERSIONS:
        raise Refused(
            "AR",
            Problem(
                UNSUPPORTED_VERSION,
                f"HL7 version {version!r} is not one of {', '.join(SUPPORTED_VERSIONS)}.",
                "MSH",
                1,
                12,
            ),
        )
    oru = OruMessage(parsed=message, control_id=control_id)
    oru.results = _results(message, facility=_get(msh, 4) or _get(msh, 3))
    return oru


def _mrn_candidates(pid: hl7.Segment) -> tuple[str, ...]:
    """PID-3 repetitions that are medical record numbers (type MR, or untyped)."""
    wanted_authority = settings.HL7_MRN_ASSIGNING_AUTHORITY
    found = []
    for repeat in range(1, max(_repetitions(pid, 3), 1) + 1):
        number = _get(pid, 3, repeat, 1)
        kind = _get(pid, 3, repeat, 5)
        authority = _get(pid, 3, repeat, 4)
        if not number or kind not in ("", "MR"):
            continue
        if wanted_authority and authority != wanted_authority:
            continue
        found.append(number)
    return tuple(found)


def _results(message: hl7.Message, facility: str) -> list[IncomingResult]:
    zone = clock.clinic_zone()
    pid = None
    identifiers: tuple[str, ...] = ()
    obr = None
    order_key = ""
    collected_at: datetime | None = None
    results: list[tuple[str, IncomingResult]] = []  # with the order each belongs to
    obr_count = 0
    for index, segment in enumerate(message):
        name = str(segment[0]).strip()
        if name == "PID":
            pid = segment
            identifiers = _mrn_candidates(segment)
        elif name == "OBR":
            if pid is None:
                raise Refused("AE", Problem(SEGMENT_SEQUENCE_ERROR, "OBR before PID.", "OBR", 1))
            obr = segment
            obr_count += 1
            filler = _get(segment, 3, 1, 1) or _get(segment, 2, 1, 1)
            if not filler:
                raise Refused(
                    "AE",
                    Problem(
                        REQUIRED_FIELD_MISSING,
                        "OBR-3 (filler order number) is empty: the results cannot be keyed.",
                        "OBR",
                        obr_count,
                        3,
                    ),
                )
            namespace = _get(segment, 3, 1, 2) or _get(segment, 2, 1, 2) or facility
            order_key = f"hl7v2:{namespace}:{filler}"
            collected_at = parse_time(_get(segment, 7), zone)
        elif name == "OBX":
            if obr is None:
                raise Refused(
                    "AE", Problem(SEGMENT_SEQUENCE_ERROR, "OBX before OBR.", "OBX", index)
                )
            results.append(
                (order_key, _result(segment, order_key, identifiers, collected_at, zone))
            )
    if pid is None or not results:
        raise Refused(
            "AE",
            Problem(
                REQUIRED_FIELD_MISSING,
                "An ORU^R01 needs a PID and at least one OBR with OBX results.",
                "PID" if pid is None else "OBX",
            ),
        )
    return _join_jcv_index(results)


def _result(
    obx: hl7.Segment,
    order_key: str,
    identifiers: tuple[str, ...],
    collected_at: datetime | None,
    zone: ZoneInfo,
) -> IncomingResult:
    set_id = _get(obx, 1) or _get(obx, 3, 1, 1)
    value_type = _get(obx, 2)
    if value_type == "SN":  # structured numeric: comparator^number
        comparator, number = _get(obx, 5, 1, 1), _get(obx, 5, 1, 2)
        value = number if comparator in ("", "=") else f"{comparator}{number}"
    elif value_type in ("CE", "CWE", "CNE"):
        value = "^".join(filter(None, (_get(obx, 5, 1, 1), _get(obx, 5, 1, 2))))
    else:
        value = _get(obx, 5)
    system = _get(obx, 3, 1, 3)
    return IncomingResult(
        result_key=sender_key(f"{order_key}:{set_id}"),
        patient_identifiers=identifiers,
        code=_get(obx, 3, 1, 1),
        code_system=mapping.LOINC_SYSTEM if system.upper() in ("LN", "LOINC") else system,
        code_text=_get(obx, 3, 1, 2),
        value=value,
        unit=_get(obx, 6, 1, 1),
        reference_range=_get(obx, 7),
        collected_at=collected_at or parse_time(_get(obx, 14), zone),
        status=_STATUS.get(_get(obx, 11).upper(), ResultStatus.FINAL),
    )


def _join_jcv_index(results: list[tuple[str, IncomingResult]]) -> list[IncomingResult]:
    """An anti-JCV index reported beside the qualitative result of its order joins it."""
    index_code = mapping.ANTIBODY_TESTS[mapping.JCV_INDEX]
    qualitative_code = mapping.ANTIBODY_TESTS[mapping.ANTI_JCV]
    with_qualitative = {order for order, r in results if r.code == qualitative_code}
    index_of = {order: r.value for order, r in results if r.code == index_code}
    joined = []
    for order, result in results:
        if result.code == index_code and order in with_qualitative:
            continue
        if result.code == qualitative_code and order in index_of:
            result = replace(result, index=index_of[order])
        joined.append(result)
    return joined


# --- Acknowledgements -------------------------------------------------------------------------

_BLANK = hl7.parse("MSH|^~\\&|||||||ACK||P|2.5.1")


def _header(text: str, parsed: hl7.Message | None) -> hl7.Segment | None:
    if parsed is not None:
        return parsed.segment("MSH")
    try:
        return hl7.parse(normalise(text)).segment("MSH")
    except Exception:  # an unreadable message: answer with what we know
        return None


def ack(
    text: str,
    code: str,
    *,
    problem: Problem | None = None,
    explanation: str = "",
    parsed: hl7.Message | None = None,
) -> str:
    """The ACK for a message: MSA-1 the code, MSA-2 its control id, ERR saying why.

    Built as ER7 with the standard delimiters, every value escaped, and read back by
    python-hl7 so that what is sent is a message it can parse.
    """
    msh = _header(text, parsed)

    def source(field_number: int, component: int = 1) -> str:
        return _get(msh, field_number, 1, component) if msh is not None else ""

    def esc(value: str) -> str:
        return str(_BLANK.escape(value[:400]))

    version = source(12) if source(12) in SUPPORTED_VERSIONS else "2.5.1"
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                esc(source(5)),
                esc(source(6)),
                esc(source(3)),
                esc(source(4)),
                clock.now().strftime("%Y%m%d%H%M%S+0000"),
                "",
                f"ACK^{esc(source(9, 2))}^ACK",
                _control_id(),
                esc(source(11)) or "P",
                version,
            ]
        ),
        "|".join(
            ["MSA", code, esc(source(10)), esc(explanation or (problem.text if problem else ""))]
        ),
    ]
    if problem is not None:
        location = [problem.segment, str(problem.sequence), str(problem.field_number or "")]
        error_code = f"{problem.code[0]}^{problem.code[1]}^HL70357"
        segments.append(
            "|".join(
                [
                    "ERR",
                    # ERR-1 (v2.3, v2.4): location and code; ERR-2/3/4/8 (v2.5): the same, split.
                    "^".join(location + [error_code.replace("^", "&")]),
                    "^".join(location),
                    error_code,
                    "E",
                    "",
                    "",
                    "",
                    esc(problem.text),
                ]
            )
        )
    reply = "\r".join(segments) + "\r"
    hl7.parse(reply)  # what we send must be readable
    return reply


def _control_id() -> str:
    return clock.now().strftime("%Y%m%d%H%M%S%f")


def read_control_id(text: str) -> str:
    """MSH-10 of a message that may be otherwise unreadable."""
    return _get(hl7.parse(normalise(text)).segment("MSH"), 10)


def msa_text(reply: str) -> str:
    """MSA-3 (and ERR-8) of an ACK: what it told the sender."""
    parsed = hl7.parse(reply)
    try:
        err = _get(parsed.segment("ERR"), 8)
    except KeyError:
        err = ""
    return err or _get(parsed.segment("MSA"), 3)
