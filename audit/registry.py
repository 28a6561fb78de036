"""The one list of audited tables: every write to them leaves an audit entry.

A model another app adds is audited by adding one line here (tests/audit fails for a model
that names a patient and is in neither list). On PostgreSQL the row triggers follow this
list after every migrate; on SQLite the same list drives model signals.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Model


@dataclass(frozen=True)
class Audited:
    label: str  # app_label.model_name
    patient: str = "patient_id"  # the column naming the patient ("" when none)
    patient_via: str = ""  # the model whose patient_id the column points at, if indirect
    masked: tuple[str, ...] = ()  # columns whose change is recorded, never their value
    ignored: tuple[str, ...] = ()  # columns whose change is no event of its own
    record_id: str = "id"  # the column that names the record in the entry


AUDITED: tuple[Audited, ...] = (
    Audited("patients.patient", patient="id"),
    Audited("patients.medication"),
    Audited("patients.infection"),
    Audited("patients.clinicalevent"),
    Audited("patients.edssassessment"),
    Audited("patients.relapse"),
    Audited("patients.treatmentdecision"),
    Audited("labs.labresult"),
    Audited("labs.antibodytest"),
    Audited("labs.mristudy"),
    Audited("infusions.dosepreparation"),
    Audited("infusions.preinfusionchecklist"),
    Audited("infusions.infusion"),
    Audited("infusions.infusionreaction", patient="infusion_id", patient_via="infusions.infusion"),
    Audited("alerts.alert"),
    Audited("auth.user", patient="", masked=("password",), ignored=("last_login",)),
    Audited("auth.group", patient=""),
    Audited("auth.user_groups", patient=""),  # role memberships (the m2m table)
    Audited("knox.authtoken", patient="", masked=("digest",), record_id="token_key"),
    # The laboratory interface: what arrived is kept in its own table, not copied here.
    Audited("interop.inboundmessage", patient="", masked=("content", "ack")),
    Audited("interop.labinboxentry", patient="lab_result_id", patient_via="labs.labresult"),
    Audited("interop.csvimport", patient="", masked=("content",)),
)

# Models that name a patient but hold no clinical data of their own (bookkeeping).
NOT_AUDITED: frozenset[str] = frozenset(
    {"alerts.pendingevaluation", "alerts.evaluationschedule", "alerts.notification"}
)


def audited_models() -> list[tuple[Audited, type[Model]]]:
    """The entries whose model is installed, with the model (auto-created m2m tables too)."""
    found = []
    for entry in AUDITED:
        model = _model(entry.label)
        if model is not None:
            found.append((entry, model))
    return found


def _model(label: str) -> type[Model] | None:
    app_label, name = label.split(".")
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None
