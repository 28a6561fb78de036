"""The one snapshot builder: database records of a patient -> the rules engine's typed input.

A fixed number of queries per call, whatever the length of the patient's history, and the
same fixed number for a batch of patients (one per table). Rows are read as tuples (ids as
text) and the engine's pydantic models are built without validation (`model_construct`, and
`_make` for the records): the database already guarantees what validation would check
(types, choices, NOT NULL, aware datetimes), so only what the engine expects beyond the
column is done here: ids as strings, Decimals without the column's padding, datetimes in
UTC, collections as tuples.
"""

import gc
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.db import connection
from django.db.models import Model, QuerySet, TextField
from django.db.models.functions import Cast
from pydantic import BaseModel

from alerts.rules.snapshot import (
    AntibodyTestSnapshot,
    ChecklistSnapshot,
    ClinicalEventSnapshot,
    DecisionSnapshot,
    EdssSnapshot,
    InfectionSnapshot,
    InfusionSnapshot,
    LabResultSnapshot,
    MedicationSnapshot,
    MriStudySnapshot,
    PatientSnapshot,
    PreparationSnapshot,
    ReactionSnapshot,
    RelapseSnapshot,
)
from infusions.models import DosePreparation, Infusion, InfusionReaction, PreInfusionChecklist
from labs.models import AntibodyTest, LabResult, MriStudy
from patients.models import (
    ClinicalEvent,
    EdssAssessment,
    Infection,
    Medication,
    Patient,
    Relapse,
    TreatmentDecision,
)

Rows = dict[str, list[Any]]
_M = TypeVar("_M", bound=BaseModel)

# Tables whose rows map one to one onto a snapshot's fields: (name, model, fields, order).
_SIMPLE_TABLES: tuple[tuple[str, type[Model], tuple[str, ...], str], ...] = (
    (
        "mri_studies",
        MriStudy,
        ("performed_on", "gd_enhancing_lesions", "new_or_enlarging_t2_lesions", "pml_suspected"),
        "performed_on",
    ),
    ("edss", EdssAssessment, ("score", "assessed_on"), "assessed_on"),
    ("relapses", Relapse, ("onset_on",), "-onset_on"),
    ("medications", Medication, ("name", "category", "started_on", "stopped_on"), "-started_on"),
    ("infections", Infection, ("description", "onset_on", "resolved_on"), "-onset_on"),
    ("clinical_events", ClinicalEvent, ("kind", "observed_on", "resolved_on"), "-observed_on"),
    (
        "decisions",
        TreatmentDecision,
        ("action", "rule", "reason", "decided_at", "consumed_at"),
        "decided_at",
    ),
)
_SIMPLE_SNAPSHOTS: tuple[tuple[str, type[BaseModel], tuple[str, ...]], ...] = tuple(
    (name, snapshot, fields)
    for (name, _model, fields, _order), snapshot in zip(
        _SIMPLE_TABLES,
        (
            MriStudySnapshot,
            EdssSnapshot,
            RelapseSnapshot,
            MedicationSnapshot,
            InfectionSnapshot,
            ClinicalEventSnapshot,
            DecisionSnapshot,
        ),
        strict=True,
    )
)


def build_snapshot(patient_id: UUID | str) -> PatientSnapshot:
    """One patient's snapshot; raises Patient.DoesNotExist for an unknown id."""
    snapshots = build_snapshots([patient_id])
    if not snapshots:
        raise Patient.DoesNotExist(f"no patient {patient_id}")
    return next(iter(snapshots.values()))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (re-entrant).

    A batch makes a few hundred thousand records that all live until its end: the collector,
    run every 700 allocations, would walk them again and again for nothing (a fifth of a
    sweep's time). Plain reference counting still frees everything; the collector runs again
    after the block.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def build_snapshots(patient_ids: Iterable[UUID | str]) -> dict[str, PatientSnapshot]:
    """Snapshots of many patients (one batch), keyed by patient id as a string."""
    with cyclic_gc_paused():
        return _build_snapshots(list(patient_ids))


def _build_snapshots(ids: list[UUID | str]) -> dict[str, PatientSnapshot]:
    queries = row_queries(ids)
    patients = _rows(queries["patients"])
    if not patients:
        return {}
    records = _Records(queries)
    snapshots = {}
    for row in patients:
        key = str(row[0])
        snapshots[key] = PatientSnapshot.model_construct(
            id=key,
            birth_date=row[1],
            sex=row[2],
            indication=row[3],
            treatment_start=row[4],
            schedule_weeks=row[5],
            treatment_status=row[6],
            pregnant=row[7],
            breastfeeding=row[8],
            prior_immunosuppressants=row[9],
            clinic_time_zone=row[10],  # the patient's site's: its days are the site's days
            **records.of(key),
        )
    return snapshots


def _rows(query: QuerySet) -> list[tuple[Any, ...]]:
    """A statement's rows as the driver gives them.

    PostgreSQL: the queryset's own SQL on a cursor, every row at once (the benchmark's floor
    does exactly this); the driver already gives what the columns hold (jsonb excepted: Django
    reads it as text, see _Records._infusions). SQLite: through the queryset, whose converters
    turn its text and integers into UUIDs, Decimals, datetimes and booleans.
    """
    if connection.vendor != "postgresql":
        return list(query)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def row_queries(ids: list[UUID | str]) -> dict[str, QuerySet]:
    """The statements that read a batch's rows: one per table (the benchmark times them raw).

    The patients are read through the site-scoped manager: a caller who may not see a
    patient gets no snapshot of them. Their records are read by those patients' ids through
    the managers of every site (the scoped ones would join every record to its patient only
    to find the site the patient row already settled).
    """
    queries: dict[str, QuerySet] = {
        "patients": Patient.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list(
            *_text("id"),
            "birth_date",
            "sex",
            "indication",
            "treatment_start",
            "schedule_weeks",
            "treatment_status",
            "pregnant",
            "breastfeeding",
            "prior_immunosuppressants",
            "site__time_zone",
        ),
        "checklists": PreInfusionChecklist.all_sites.filter(patient_id__in=ids)
        .order_by("asked_at", "id")
        .values_list(
            *_text("id", "patient_id"),
            "asked_at",
            "authorized",
            "new_neurological_symptoms",
            "immunocompromised",
            "immunosuppressants_last_month",
            "current_infection",
            "cleared_at",
        ),
        "reactions": InfusionReaction.all_sites.filter(infusion__patient_id__in=ids)
        .order_by("onset_at", "id")
        .values_list(*_text("id", "infusion_id"), "severity", "symptoms", "onset_at"),
        "infusions": Infusion.all_sites.filter(patient_id__in=ids)
        .order_by("created_at", "id")
        .values_list(
            *_text("id", "patient_id", "preparation_id", "checklist_id"),
            "route",
            "status",
            "started_at",
            "ended_at",
            "discharged_at",
        ),
        "preparations": DosePreparation.all_sites.filter(patient_id__in=ids)
        .order_by("prepared_at", "id")
        .values_list(
            *_text("id", "patient_id"),
            "dose_mg",
            "diluent",
            "diluent_volume_ml",
            "prepared_at",
            "storage",
            "room_temperature_since",
            "frozen",
            "shaken",
            "status",
        ),
        # A result the laboratory withdrew no longer counts (as the default manager says).
        "lab_results": LabResult.every_result.filter(patient_id__in=ids, withdrawn_at__isnull=True)
        .order_by("collected_at", "id")
        .values_list(
            *_text("id", "patient_id"),
            "analyte",
            "value",
            "unit",
            "reference_low",
            "reference_high",
            "collected_at",
        ),
        "antibody_tests": AntibodyTest.every_result.filter(
            patient_id__in=ids, withdrawn_at__isnull=True
        )
        .order_by("collected_at", "id")
        .values_list(*_text("id", "patient_id"), "target", "result", "index", "collected_at"),
    }
    for name, model, fields, order in _SIMPLE_TABLES:
        queries[name] = (
            model.all_sites.filter(patient_id__in=ids)  # type: ignore[attr-defined]
            .order_by(order, "id")
            .values_list(*_text("id", "patient_id"), *fields)
        )
    return queries


def _text(*names: str) -> tuple[str | Cast, ...]:
    """Id columns as PostgreSQL sends them, as text: no UUID parsed only to be printed again.

    (SQLite keeps UUIDs as bare hex: there they are read as UUIDs and turned into strings.)
    """
    if connection.vendor != "postgresql":
        return names
    return tuple(Cast(name, output_field=TextField()) for name in names)


def _make(cls: type[_M], **values: Any) -> _M:
    """A snapshot record from values the database already vouches for, every field given.

    What pydantic's model_construct does, without looking up defaults for fields not given.
    """
    record = _new(cls)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", _fields_set(cls))
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


_new = object.__new__
_set = object.__setattr__
_FIELDS_SET: dict[type[BaseModel], set[str]] = {}


def _fields_set(cls: type[BaseModel]) -> set[str]:
    """Every field, set: one set per class, shared (a frozen record never adds to it, and
    pydantic copies it before a model_copy changes it)."""
    found = _FIELDS_SET.get(cls)
    if found is None:
        found = _FIELDS_SET[cls] = set(cls.model_fields)
    return found


def _maker(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """`_make` for one class, its constants bound once: the builder's inner loop."""
    fields_set = _fields_set(cls)

    def make(values: dict[str, Any]) -> _M:
        record = _new(cls)
        _set(record, "__dict__", values)
        _set(record, "__pydantic_fields_set__", fields_set)
        _set(record, "__pydantic_extra__", None)
        _set(record, "__pydantic_private__", None)
        return record

    return make


def _utc(value: datetime | None) -> datetime | None:
    """Aware datetimes from the database, in UTC as the engine keeps them."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def _as_written(value: Decimal | None) -> Decimal | None:
    """A stored Decimal without the column's padding: 128.0000 U/L is read as 128 U/L."""
    return None if value is None else value.normalize()


def _id(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


class _Records:
    """Every record of a batch of patients, one query per table, grouped by patient.

    The loops below are the builder's hot path (a sweep builds a few hundred records a
    patient): each row becomes a record with no call it can do without.
    """

    def __init__(self, queries: dict[str, QuerySet]) -> None:
        self.queries = queries
        # table -> patient id (as the row gives it) -> records
        self.tables: dict[str, dict[Any, list[Any]]] = {}
        checklists = self._checklists()
        infusion_of_checklist = self._infusions(checklists)
        by_patient = self._table("checklists")
        make = _maker(ChecklistSnapshot)
        for checklist_id, (patient_id, fields) in checklists.items():
            by_patient[patient_id].append(
                make({**fields, "infusion_id": infusion_of_checklist.get(checklist_id)})
            )
        self._preparations()
        self._lab_results()
        self._antibody_tests()
        self._simple_tables()
        # Rows give patient ids as text on PostgreSQL, as UUIDs on SQLite: keyed as text.
        if connection.vendor != "postgresql":
            for name, table in self.tables.items():
                self.tables[name] = {str(key): items for key, items in table.items()}

    def of(self, patient_id: str) -> dict[str, tuple[Any, ...]]:
        found = {}
        for name, table in self.tables.items():
            items = table.get(patient_id)
            if items:
                found[name] = tuple(items)
        return found

    def _table(self, name: str) -> defaultdict[Any, list[Any]]:
        table: defaultdict[Any, list[Any]] = defaultdict(list)
        self.tables[name] = table
        return table

    def _checklists(self) -> dict[Any, tuple[Any, dict[str, Any]]]:
        return {
            row[0]: (
                row[1],
                {
                    "id": str(row[0]),
                    "asked_at": _utc(row[2]),
                    "authorized": row[3],
                    "new_neurological_symptoms": row[4],
                    "immunocompromised": row[5],
                    "immunosuppressants_last_month": row[6],
                    "current_infection": row[7],
                    "cleared_at": _utc(row[8]),
                },
            )
            for row in _rows(self.queries["checklists"])
        }

    def _infusions(self, checklists: dict[Any, tuple[Any, dict[str, Any]]]) -> dict[Any, str]:
        reactions: dict[Any, list[ReactionSnapshot]] = defaultdict(list)
        make_reaction = _maker(ReactionSnapshot)
        for reaction_id, infusion_id, severity, symptoms, onset_at in _rows(
            self.queries["reactions"]
        ):
            if isinstance(symptoms, str):  # jsonb, as Django has the driver read it
                symptoms = json.loads(symptoms)
            reactions[infusion_id].append(
                make_reaction(
                    {
                        "id": str(reaction_id),
                        "severity": severity,
                        "symptoms": tuple(symptoms or ()),
                        "onset_at": _utc(onset_at),
                    }
                )
            )
        infusion_of_checklist: dict[Any, str] = {}
        by_patient = self._table("infusions")
        make, make_checklist = _maker(InfusionSnapshot), _maker(ChecklistSnapshot)
        for row in _rows(self.queries["infusions"]):
            infusion_id = str(row[0])
            checklist = None
            if row[3] is not None:
                infusion_of_checklist[row[3]] = infusion_id
                checklist = make_checklist({**checklists[row[3]][1], "infusion_id": infusion_id})
            by_patient[row[1]].append(
                make(
                    {
                        "id": infusion_id,
                        "preparation_id": _id(row[2]),
                        "route": row[4],
                        "status": row[5],
                        "started_at": _utc(row[6]),
                        "ended_at": _utc(row[7]),
                        "discharged_at": _utc(row[8]),
                        "checklist": checklist,
                        "reactions": tuple(reactions.get(row[0], ())),
                    }
                )
            )
        return infusion_of_checklist

    def _preparations(self) -> None:
        by_patient = self._table("preparations")
        make = _maker(PreparationSnapshot)
        for row in _rows(self.queries["preparations"]):
            by_patient[row[1]].append(
                make(
                    {
                        "id": str(row[0]),
                        "dose_mg": _as_written(row[2]),
                        "diluent": row[3],
                        "diluent_volume_ml": _as_written(row[4]),
                        "prepared_at": _utc(row[5]),
                        "storage": row[6],
                        "room_temperature_since": _utc(row[7]),
                        "frozen": row[8],
                        "shaken": row[9],
                        "status": row[10],
                    }
                )
            )

    def _lab_results(self) -> None:
        """The largest table: the conversions written out (no call per value)."""
        by_patient = self._table("lab_results")
        make = _maker(LabResultSnapshot)
        for record_id, patient_id, analyte, value, unit, low, high, collected_at in _rows(
            self.queries["lab_results"]
        ):
            by_patient[patient_id].append(
                make(
                    {
                        "id": str(record_id),
                        "analyte": analyte,
                        "value": value.normalize(),  # NOT NULL
                        "unit": unit,
                        "reference_low": None if low is None else low.normalize(),
                        "reference_high": high.normalize(),  # NOT NULL
                        "collected_at": collected_at
                        if collected_at.tzinfo is UTC
                        else collected_at.astimezone(UTC),
                    }
                )
            )

    def _antibody_tests(self) -> None:
        by_patient = self._table("antibody_tests")
        make = _maker(AntibodyTestSnapshot)
        for row in _rows(self.queries["antibody_tests"]):
            by_patient[row[1]].append(
                make(
                    {
                        "id": str(row[0]),
                        "target": row[2],
                        "result": row[3],
                        "index": _as_written(row[4]),
                        "collected_at": _utc(row[5]),
                    }
                )
            )

    def _simple_tables(self) -> None:
        """Tables whose rows map one to one onto a snapshot's fields."""
        for name, snapshot, fields in _SIMPLE_SNAPSHOTS:
            by_patient = self._table(name)
            make = _maker(snapshot)
            for row in _rows(self.queries[name]):
                values = {"id": str(row[0]), **dict(zip(fields, row[2:], strict=True))}
                by_patient[row[1]].append(make(_clean(values)))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """The few conversions of the simple tables: aware datetimes in UTC, no empty rule."""
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = _utc(value)
    if "rule" in values:
        values["rule"] = values["rule"] or None  # a decision about no rule in particular
    return values
