"""What a caller may be shown: a patient's identity, and what findings and alerts reveal.

Least privilege (API.md): the `api-client` role reads patients as ids with their
non-identifying status, never a name, MRN, birth date, pregnancy or breastfeeding flag; and a
finding (of /findings/, /clearance/, a refused start) or an alert carries its message and
evidence only to a caller who may read every kind of record behind it. Everyone else gets the
rule, severity, action and keys, with the message withheld and no evidence.

Every finding, alert and patient the API gives goes through this module; nothing else
decides what is withheld.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from .roles import API_CLIENT, role_of

# Not a model permission: reading who a patient is and their own record's fields (name, MRN,
# birth date, sex, pregnancy, breastfeeding, prior treatment, start of treatment), and what
# clinicians write in free text about them. Every role that may view patients holds it, but
# those in PSEUDONYMOUS_ROLES.
PATIENT_DETAILS = "patients.view_patient_details"
PSEUDONYMOUS_ROLES = frozenset({API_CLIENT})

# What a pseudonymous caller sees of a patient: ids and status, nothing that names them.
PSEUDONYMOUS_PATIENT_FIELDS = (
    "id",
    "site",  # which centre: where a pager routes the alert
    "indication",
    "schedule_weeks",
    "treatment_status",
    "infusion_count",
    "version",
)

_VIEW_INFUSION = "infusions.view_infusion"
_VIEW_PREPARATION = "infusions.view_dosepreparation"
_VIEW_LABS = "labs.view_labresult"
_VIEW_ANTIBODIES = "labs.view_antibodytest"
_VIEW_MRI = "labs.view_mristudy"

# The records each rule's message and evidence are made of (alerts/rules/): a caller needs
# every one of them. A rule missing here is withheld from everyone but superusers.
RULE_RECORDS: dict[str, tuple[str, ...]] = {
    "PREP-DILUENT": (_VIEW_PREPARATION,),  # the diluent as typed
    "PREP-DOSE": (_VIEW_PREPARATION, _VIEW_INFUSION),
    "PREP-STABILITY": (_VIEW_PREPARATION,),
    "PREP-HANDLING": (_VIEW_PREPARATION,),
    "INF-ROUTE": (_VIEW_INFUSION,),
    "INF-DURATION": (_VIEW_INFUSION,),
    "INF-OBSERVATION": (_VIEW_INFUSION,),
    "INF-HYPERSENSITIVITY": (_VIEW_INFUSION, "infusions.view_infusionreaction"),  # symptoms
    "INF-INTERVAL": (_VIEW_INFUSION,),
    "INF-CHECKLIST": (
        _VIEW_INFUSION,
        "infusions.view_preinfusionchecklist",  # the answers
        "patients.view_treatmentdecision",
    ),
    "MED-IMMUNOSUPPRESSANT": ("patients.view_medication",),  # the medication's name
    "INF-ACTIVE-INFECTION": ("patients.view_infection",),  # the infection's description
    "PML-SUSPECTED": (_VIEW_MRI, "patients.view_clinicalevent"),
    "LIVER-3XULN": (_VIEW_LABS, "patients.view_clinicalevent"),
    "LIVER-DUE": (_VIEW_LABS,),
    "THYROID-DUE": (_VIEW_LABS,),
    "THYROID-ABNORMAL": (_VIEW_LABS,),
    "CBC-NEUTROPHILS": (_VIEW_LABS,),
    "CBC-PLATELETS": (_VIEW_LABS,),
    "ADA-DUE": (_VIEW_ANTIBODIES,),
    "ADA-POSITIVE": (_VIEW_ANTIBODIES,),
    "ADA-PERSISTENT": (_VIEW_ANTIBODIES,),
    "JCV-DUE": (_VIEW_ANTIBODIES,),
    "PML-RISK": (_VIEW_ANTIBODIES, _VIEW_INFUSION, PATIENT_DETAILS),  # prior treatment
    "MRI-PML-SURVEILLANCE": (_VIEW_MRI, _VIEW_ANTIBODIES),
    "MRI-DUE": (_VIEW_MRI,),
    "MRI-ACTIVITY": (_VIEW_MRI,),
    "EDSS-DUE": ("patients.view_edssassessment",),
    "EDSS-PROGRESSION": ("patients.view_edssassessment",),
    "RELAPSE": ("patients.view_relapse",),
    "REMS-REAUTH": ("patients.view_treatmentdecision",),
    "POP-PREGNANCY": (PATIENT_DETAILS, "patients.view_treatmentdecision"),
    "POP-LACTATION": (PATIENT_DETAILS, "patients.view_treatmentdecision"),
    "POP-PEDIATRIC": (PATIENT_DETAILS,),  # age and birth date
    "POP-ELDERLY": (PATIENT_DETAILS,),
}
_UNKNOWN_RULE = ("a record type no role holds",)

WITHHELD = (
    "Details withheld: this finding is drawn from records your role may not read. "
    "The rule, severity and action stand."
)
_FINDING_LISTS = ("blocking", "visit_steps", "warnings", "overridden")


def may_read(user: Any, permission: str) -> bool:
    """A model permission, or PATIENT_DETAILS; remembered on the user for the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if permission != PATIENT_DETAILS:
        return bool(user.has_perm(permission))
    cached = getattr(user, "_reads_patient_details", None)
    if cached is None:
        cached = user.is_superuser or (
            user.has_perm("patients.view_patient") and role_of(user) not in PSEUDONYMOUS_ROLES
        )
        user._reads_patient_details = cached
    return cached


def patient_for(user: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """A patient's API representation as this caller may see it."""
    if may_read(user, PATIENT_DETAILS):
        return dict(data)
    return {field: data[field] for field in PSEUDONYMOUS_PATIENT_FIELDS if field in data}


def finding_for(user: Any, finding: Mapping[str, Any]) -> dict[str, Any]:
    """A finding or an alert (the API shape, `rule` set) as this caller may see it."""
    needed = RULE_RECORDS.get(str(finding.get("rule")), _UNKNOWN_RULE)
    if all(may_read(user, permission) for permission in needed):
        shown = dict(finding)
    else:
        shown = {**finding, "message": WITHHELD, "evidence": {}}
    if shown.get("resolution_note") and not may_read(user, PATIENT_DETAILS):
        shown["resolution_note"] = ""  # an alert's note is a clinician's free text
    return shown


def findings_for(user: Any, findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [finding_for(user, finding) for finding in findings]


def clearance_for(user: Any, clearance: Mapping[str, Any]) -> dict[str, Any]:
    """A clearance (gate) answer with each of its findings as this caller may see them."""
    shown = dict(clearance)
    for key in _FINDING_LISTS:
        if key in shown:
            shown[key] = findings_for(user, shown[key])
    return shown


def caller(context: Mapping[str, Any]) -> Any:
    """The user of a serializer's or exception handler's context (None: shown the least)."""
    request = context.get("request")
    return getattr(request, "user", None)
