"""The snapshot built from rows equals the snapshot built the old way, through model
instances and pydantic validation of every field: on the demo data and on generated
three-year histories (loadscale), patient by patient."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from alerts.profile import active_config
from alerts.rules import PatientSnapshot, evaluate
from alerts.snapshots import build_snapshot, build_snapshots
from natalizumab_monitor import clock
from natalizumab_monitor.management.commands.loadscale import LABS, SITE_ZONES
from patients.models import Patient
from tests.factories import make_patient

from .old_snapshot_builder import build_snapshot as old_build_snapshot
from .old_snapshot_builder import build_snapshots as old_build_snapshots

pytestmark = pytest.mark.django_db


def by_id(snapshot: PatientSnapshot) -> PatientSnapshot:
    """Records in id order: where records tie on the time they are ordered by (ALT and AST
    drawn together, rows written in one statement), the old builder left their order to the
    database."""
    update: dict[str, Any] = {
        name: tuple(sorted(value, key=lambda record: record.id))
        for name, value in snapshot
        if isinstance(value, tuple)
    }
    return snapshot.model_copy(update=update)


def differences(new: PatientSnapshot, old: PatientSnapshot) -> list[str]:
    """The fields in which two snapshots differ, with both values."""
    found = []
    for name, value in new:
        before = getattr(old, name)
        if value == before:
            continue
        if isinstance(value, tuple) and len(value) == len(before):
            pairs = [(a, b) for a, b in zip(value, before, strict=True) if a != b]
            found.append(f"{name}: {pairs[0][0]!r} != {pairs[0][1]!r}")
        else:
            found.append(f"{name}: {value!r} != {before!r}")
    return found


def in_time_order(snapshot: PatientSnapshot) -> None:
    """Records come in the order the old builder gave them (the models' own ordering)."""
    for name, key in (
        ("lab_results", lambda r: r.collected_at),
        ("antibody_tests", lambda r: r.collected_at),
        ("preparations", lambda r: r.prepared_at),
        ("checklists", lambda r: r.asked_at),
        ("mri_studies", lambda r: r.performed_on),
        ("edss", lambda r: r.assessed_on),
        ("decisions", lambda r: r.decided_at),
    ):
        times = [key(record) for record in getattr(snapshot, name)]
        assert times == sorted(times), name


def test_the_demo_patients_are_built_exactly_as_before() -> None:
    call_command("loaddemo", verbosity=0)
    ids = list(Patient.objects.values_list("pk", flat=True))
    assert len(ids) >= 5
    new, old = build_snapshots(ids), old_build_snapshots(ids)
    assert set(new) == set(old) == {str(pk) for pk in ids}
    for key in map(str, ids):
        assert by_id(new[key]) == by_id(old[key]), differences(by_id(new[key]), by_id(old[key]))
        assert by_id(build_snapshot(key)) == by_id(old_build_snapshot(key))
        in_time_order(new[key])


def test_generated_histories_are_built_as_before_and_raise_the_same_findings() -> None:
    call_command("loadscale", patients=60, sites=4, seed=7, no_progress=True, stdout=None)
    ids = list(Patient.objects.values_list("pk", flat=True))
    new, old = build_snapshots(ids), old_build_snapshots(ids)
    # Each patient's days are those of their site's zone.
    zones = {snapshot.clinic_time_zone for snapshot in new.values()}
    assert zones == set(SITE_ZONES)
    assert sum(len(snapshot.lab_results) for snapshot in new.values()) > 60 * 50
    now, config = clock.now(), active_config()
    for key in map(str, ids):
        assert by_id(new[key]) == by_id(old[key]), differences(by_id(new[key]), by_id(old[key]))
        assert evaluate(new[key], now, config) == evaluate(old[key], now, config)


def test_types_are_those_the_engine_expects() -> None:
    call_command("loadscale", patients=3, seed=8, no_progress=True, stdout=None)
    for snapshot in build_snapshots(Patient.objects.values_list("pk", flat=True)).values():
        lab = snapshot.lab_results[0]
        assert isinstance(lab.id, str)
        assert lab.collected_at.utcoffset().total_seconds() == 0
        assert isinstance(lab.value, Decimal) and isinstance(lab.reference_high, Decimal)
        assert lab.reference_high == Decimal(LABS[lab.analyte][2])
        assert isinstance(snapshot.infusions, tuple)
        assert isinstance(snapshot.infusions[0].checklist.infusion_id, str)


def test_an_unknown_patient_is_not_found() -> None:
    patient = make_patient()
    patient_id = patient.pk
    patient.delete()
    with pytest.raises(Patient.DoesNotExist):
        build_snapshot(patient_id)
    assert build_snapshots([patient_id]) == {}
