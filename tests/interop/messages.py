"""ORU^R01 messages as laboratory systems send them (HL7 v2.5.1 chapter 7, and a v2.3 one).

Each builder takes the patient's MRN and the times, so a test sends a message about its own
patient with a collection time that is recent.
"""

from datetime import datetime

CR = "\r"


def ts(moment: datetime) -> str:
    """HL7 TS with its offset, e.g. 20260301083000+0100."""
    return moment.strftime("%Y%m%d%H%M%S%z")


def liver_panel(
    mrn: str,
    collected: datetime,
    *,
    control_id: str = "LIS-0001",
    order: str = "ORD-1001",
    alt: str = "128",
    ast: str = "35",
    status: str = "F",
    separator: str = CR,
) -> str:
    """v2.5.1: a liver panel (ALT, AST) and a full blood count in two OBR groups.

    The patient has two identifiers (a national number and the hospital MRN) and a name with
    escaped delimiters; units as labs write them (IU/L, 10^3/uL with its caret escaped, K/uL).
    """
    segments = [
        f"MSH|^~\\&|LIS|CENTRAL LAB^2.16.840.1.113883.3.72^ISO|NATMON|INFUSION CENTRE|"
        f"{ts(collected)}||ORU^R01^ORU_R01|{control_id}|P|2.5.1|||AL|NE|||||",
        f"PID|1||9434765919^^^NHS^NH~{mrn}^^^HOSP^MR||O\\S\\Brien\\T\\Smith^Mary^Ann||19800101|F",
        "PV1|1|O|INFUSION^^^INFUSION CENTRE",
        f"ORC|RE|PL-{order}|{order}^LIS",
        f"OBR|1|PL-{order}|{order}^LIS|24325-3^Hepatic function panel^LN|||{ts(collected)}"
        f"|||||||||||||||{ts(collected)}||CH|F",
        f"OBX|1|NM|1742-6^Alanine aminotransferase^LN||{alt}|IU/L^IU/L^UCUM|7-40|H|||{status}"
        f"|||{ts(collected)}",
        f"OBX|2|NM|1920-8^Aspartate aminotransferase^LN||{ast}|U/L^U/L^UCUM|10-40|N|||{status}"
        f"|||{ts(collected)}",
        "NTE|1|L|Haemolysed sample \\F\\ result may be affected \\E\\ see report",
        f"OBR|2|PL-{order}-CBC|{order}-CBC^LIS|58410-2^CBC panel^LN|||{ts(collected)}"
        f"|||||||||||||||{ts(collected)}||HM|F",
        f"OBX|1|NM|751-8^Neutrophils^LN||4.1|10\\S\\3/uL|1.8-7.5|N|||{status}",
        f"OBX|2|NM|777-3^Platelets^LN||250|K/uL|150-400|N|||{status}",
        f"OBX|3|NM|731-0^Lymphocytes^LN||2.0|10*9/L|1.0-4.0|N|||{status}",
    ]
    return separator.join(segments) + separator


def thyroid_v23(mrn: str, collected: datetime, *, control_id: str = "LIS-23-1") -> str:
    """v2.3: TSH in uIU/mL and free T4, the time without a zone (the clinic's), CRLF ends."""
    local = collected.strftime("%Y%m%d%H%M")
    segments = [
        f"MSH|^~\\&|OLDLIS|LAB|NATMON|CLINIC|{local}||ORU^R01|{control_id}|P|2.3",
        f"PID|1||{mrn}||Jones^Pat",
        f"OBR|1||TH-77^OLDLIS|TFT^Thyroid function^L|||{local}",
        "OBX|1|NM|3016-3^TSH^LN||2.1|uIU/mL|0.4-4.0|N|||F",
        "OBX|2|NM|3024-7^Free T4^LN||15|pmol/L|12-22|N|||F",
    ]
    return "\r\n".join(segments) + "\r\n"


def antibodies(mrn: str, collected: datetime, *, control_id: str = "LIS-AB-1") -> str:
    """v2.5: anti-JCV antibodies with their index, and anti-natalizumab antibodies (CWE)."""
    segments = [
        f"MSH|^~\\&|LIS|LAB|NATMON|CLINIC|{ts(collected)}||ORU^R01^ORU_R01|{control_id}|P|2.5",
        f"PID|1||{mrn}^^^HOSP^MR",
        f"OBR|1||AB-55^LIS|JCV^Stratify JCV^L|||{ts(collected)}",
        "OBX|1|CWE|70173-0^JC virus Ab^LN||POS^Positive^L||Negative||||F",
        "OBX|2|NM|100977-8^JC virus Ab index^LN||1.62||<0.20|H|||F",
        f"OBR|2||AB-56^LIS|NTZ^Natalizumab antibodies^L|||{ts(collected)}",
        "OBX|1|ST|58012-6^Natalizumab Ab^LN||Negative||Negative||||F",
    ]
    return CR.join(segments) + CR


def single(
    mrn: str,
    collected: datetime,
    *,
    control_id: str,
    order: str,
    code: str = "1742-6^ALT^LN",
    value: str = "30",
    unit: str = "U/L",
    reference_range: str = "7-40",
    status: str = "F",
    set_id: str = "1",
) -> str:
    """One OBR with one OBX: the building block of the burst and of the odd cases."""
    segments = [
        f"MSH|^~\\&|LIS|LAB|NATMON|CLINIC|{ts(collected)}||ORU^R01^ORU_R01|{control_id}|P|2.5.1",
        f"PID|1||{mrn}^^^HOSP^MR",
        f"OBR|1||{order}^LIS|24325-3^Hepatic function panel^LN|||{ts(collected)}",
        f"OBX|{set_id}|NM|{code}||{value}|{unit}|{reference_range}||||{status}",
    ]
    return CR.join(segments) + CR


MALFORMED = "this is not HL7\rPID|1||X\r"
WRONG_TYPE = (
    "MSH|^~\\&|ADT|HOSP|NATMON|CLINIC|20260301093000||ADT^A01^ADT_A01|ADT-1|P|2.5.1\r"
    "PID|1||MRN-1^^^HOSP^MR\r"
)
NO_RESULTS = "MSH|^~\\&|LIS|LAB|NATMON|CLINIC|20260301093000||ORU^R01|EMPTY-1|P|2.5.1\rPID|1||X\r"
