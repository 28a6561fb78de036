"""The four roles of API.md, as Django groups, and the model permissions each one holds."""

from collections.abc import Iterable

NURSE = "nurse"
PHARMACIST = "pharmacist"
NEUROLOGIST = "neurologist"
API_CLIENT = "api-client"
INTERFACE = "interface"  # the laboratory system's account
AUDITOR = "auditor"  # the privacy officer: the audit only, no clinical record
ROLES = (NURSE, PHARMACIST, NEUROLOGIST, API_CLIENT, INTERFACE, AUDITOR)

_CLINICAL_RECORDS = (
    "patients.patient",
    "patients.medication",
    "patients.infection",
    "patients.clinicalevent",
    "patients.edssassessment",
    "patients.relapse",
    "patients.treatmentdecision",
    "labs.labresult",
    "labs.antibodytest",
    "labs.mristudy",
    "infusions.dosepreparation",
    "infusions.preinfusionchecklist",
    "infusions.infusion",
    "infusions.infusionreaction",
    "alerts.alert",
)


def _perms(action: str, models: Iterable[str]) -> set[str]:
    return {f"{label.split('.')[0]}.{action}_{label.split('.')[1]}" for label in models}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    NURSE: _perms("view", _CLINICAL_RECORDS)
    | _perms(
        "add",
        ("infusions.preinfusionchecklist", "infusions.infusion", "infusions.infusionreaction"),
    )
    | _perms("change", ("infusions.infusion", "alerts.alert")),
    PHARMACIST: _perms("view", _CLINICAL_RECORDS)
    | _perms("add", ("infusions.dosepreparation",))
    | _perms("change", ("infusions.dosepreparation", "alerts.alert")),
    NEUROLOGIST: _perms("view", _CLINICAL_RECORDS)
    | _perms(
        "add",
        (
            "patients.patient",
            "patients.medication",
            "patients.infection",
            "patients.clinicalevent",
            "patients.edssassessment",
            "patients.relapse",
            "patients.treatmentdecision",
            "labs.labresult",
            "labs.antibodytest",
            "labs.mristudy",
        ),
    )
    | _perms(
        "change",
        (
            "patients.patient",
            "patients.medication",
            "patients.infection",
            "patients.clinicalevent",
            "infusions.preinfusionchecklist",
            "alerts.alert",
        ),
    ),
    API_CLIENT: _perms("view", ("patients.patient", "alerts.alert")),
    INTERFACE: _perms("add", ("interop.inboundmessage",))
    | _perms("view", ("interop.inboundmessage",)),
    # No model permission: the audit's pages and API admit this role by name (audit/access.py),
    # and every clinical page and endpoint refuses it.
    AUDITOR: set(),
}
ROLE_PERMISSIONS[NEUROLOGIST] |= (
    _perms("view", ("interop.labinboxentry", "interop.csvimport"))
    | _perms("change", ("interop.labinboxentry",))
    | _perms("add", ("interop.csvimport",))
)


def sync_role_groups(group_model: type, permission_model: type) -> None:
    """Create the role groups and give each exactly its permissions (idempotent).

    A permission of an app whose migrations have not run yet is left out: that app's own
    migration calls this again once its permissions exist.
    """
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        perms = []
        for dotted in sorted(codenames):
            app_label, codename = dotted.split(".")
            found = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is not None:
                perms.append(found)
        group.permissions.set(perms)


_ROLE = "_role_of"  # the user object's own memo: a request loads its user afresh


def role_of(user: object) -> str | None:
    """The user's role: the first role group they belong to (a user holds one role).

    Read once per user object (a request asks it several times); a change of the user's
    groups forgets it (`forget_role`)."""
    if not getattr(user, "is_authenticated", False):
        return None
    known = user.__dict__
    if _ROLE not in known:
        names = {g.name for g in user.groups.all()}  # type: ignore[attr-defined]
        known[_ROLE] = next((role for role in ROLES if role in names), None)
    return known[_ROLE]


def forget_role(instance: object, **kwargs: object) -> None:
    """m2m_changed receiver of the users' groups: the user's memo of their role goes."""
    instance.__dict__.pop(_ROLE, None)
