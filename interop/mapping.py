"""From what a laboratory sends to what the monitor files: LOINC codes, UCUM units, ranges.

One table per question, and nothing guessed: a code not in the table, or a unit without an
exact conversion, sends the result to the lab inbox for a person.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from labs.models import LOINC, Analyte, AntibodyResult, AntibodyTarget

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"

# Tests beyond the lab analytes: the antibody assays (LOINC as the reference labs report them).
ANTI_NATALIZUMAB = "ANTI-NTZ"
ANTI_JCV = "ANTI-JCV"
JCV_INDEX = "JCV-INDEX"
ANTIBODY_TESTS = {
    ANTI_NATALIZUMAB: "58012-6",  # Natalizumab Ab [Presence] in Serum
    ANTI_JCV: "70173-0",  # JC virus Ab [Presence] in Serum or Plasma by Immunoassay
    JCV_INDEX: "100977-8",  # JC virus Ab index in Serum or Plasma by Immunoassay
}
TEST_NAMES = {
    **{analyte.value: analyte.label for analyte in Analyte},
    ANTI_NATALIZUMAB: "Anti-natalizumab antibodies",
    ANTI_JCV: "Anti-JCV antibodies",
    JCV_INDEX: "Anti-JCV antibody index",
}
# Every test the interface files, by its LOINC code.
TEST_BY_LOINC: dict[str, str] = {
    **{code: analyte.value for analyte, code in LOINC.items()},
    **{code: test for test, code in ANTIBODY_TESTS.items()},
}
LOINC_BY_TEST = {test: code for code, test in TEST_BY_LOINC.items()}
TESTS = tuple(TEST_NAMES)
TEST_CHOICES = list(TEST_NAMES.items())
ANTIBODY_TARGET = {ANTI_NATALIZUMAB: AntibodyTarget.NATALIZUMAB, ANTI_JCV: AntibodyTarget.JCV}

# Units as laboratories write them -> the UCUM unit the monitor stores. Every conversion
# here is exact (a factor of 1): 1 IU/L is 1 U/L, 10^3/uL is 10^9/L, uIU/mL is mIU/L.
_COUNT = "10*9/L"
UNIT_SYNONYMS: dict[str, str] = {
    "U/L": "U/L",
    "IU/L": "U/L",
    "[IU]/L": "U/L",
    "U/l": "U/L",
    "IU/l": "U/L",
    "m[IU]/L": "m[IU]/L",
    "mIU/L": "m[IU]/L",
    "mU/L": "m[IU]/L",
    "u[IU]/mL": "m[IU]/L",
    "uIU/mL": "m[IU]/L",
    "µIU/mL": "m[IU]/L",
    "uU/mL": "m[IU]/L",
    "pmol/L": "pmol/L",
    "pmol/l": "pmol/L",
    "ng/dL": "ng/dL",
    "ng/dl": "ng/dL",
    "10*9/L": _COUNT,
    "10^9/L": _COUNT,
    "x10E9/L": _COUNT,
    "G/L": _COUNT,
    "/nL": _COUNT,
    "10*3/uL": _COUNT,
    "10^3/uL": _COUNT,
    "x10E3/uL": _COUNT,
    "K/uL": _COUNT,
    "K/µL": _COUNT,
    "thou/uL": _COUNT,
}

_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*(?:-|–|to)\s*({_NUMBER})\s*$")
_UPPER = re.compile(rf"^\s*(?:<|<=|≤)\s*({_NUMBER})\s*$")

_ANTIBODY_WORDS: dict[str, str] = {
    "positive": AntibodyResult.POSITIVE,
    "pos": AntibodyResult.POSITIVE,
    "detected": AntibodyResult.POSITIVE,
    "reactive": AntibodyResult.POSITIVE,
    "la6576-8": AntibodyResult.POSITIVE,
    "negative": AntibodyResult.NEGATIVE,
    "neg": AntibodyResult.NEGATIVE,
    "not detected": AntibodyResult.NEGATIVE,
    "non-reactive": AntibodyResult.NEGATIVE,
    "nonreactive": AntibodyResult.NEGATIVE,
    "la6577-6": AntibodyResult.NEGATIVE,
    "indeterminate": AntibodyResult.INDETERMINATE,
    "ind": AntibodyResult.INDETERMINATE,
    "equivocal": AntibodyResult.INDETERMINATE,
    "inconclusive": AntibodyResult.INDETERMINATE,
    "la11884-6": AntibodyResult.INDETERMINATE,
}


class MappingProblem(ValueError):
    """Why a result cannot be filed by itself; `reason` is an InboxReason value."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Range:
    low: Decimal | None
    high: Decimal


def test_for(code: str, system: str = LOINC_SYSTEM) -> str | None:
    """The monitored test a code names, or None. Codes of other systems are never guessed."""
    if system and system.upper() not in (LOINC_SYSTEM.upper(), "LN", "LOINC"):
        return None
    return TEST_BY_LOINC.get(code.strip())


def ucum_unit(unit: str) -> str | None:
    """The UCUM unit the monitor stores for what the sender wrote, when the conversion is exact."""
    return UNIT_SYNONYMS.get(unit.strip())


def decimal_value(text: str) -> Decimal | None:
    """A plain number ("12", "0.45"); None for anything else ("<5", "12 H", "").

    A value with a comparator is not a measurement the rules can compare exactly.
    """
    text = text.strip()
    if not re.fullmatch(rf"[+]?(?:{_NUMBER})", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def reference_range(text: str) -> Range | None:
    """ "7-40" -> 7..40, "<4.5" -> ..4.5; None when there is no upper limit to compare with."""
    match = _RANGE.match(text)
    if match:
        return Range(Decimal(match.group(1)), Decimal(match.group(2)))
    match = _UPPER.match(text)
    if match:
        return Range(None, Decimal(match.group(1)))
    return None


def antibody_result(*words: str) -> str | None:
    """positive / negative / indeterminate from the codes or words a laboratory sends."""
    for word in words:
        found = _ANTIBODY_WORDS.get(word.strip().lower())
        if found:
            return found
    return None
