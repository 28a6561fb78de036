"""The database itself refuses rows that break a clinical invariant, whatever path wrote them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from alerts.models import Alert
from labs.models import AntibodyTest, LabResult
from natalizumab_monitor import clock
from patients.models import EdssAssessment, TreatmentDecision
from tests.factories import make_infusion, make_patient, make_preparation

pytestmark = pytest.mark.django_db


def refused(create: callable) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_edss_off_the_half_point_grid_is_refused() -> None:
    patient = make_patient()
    assert refused(
        lambda: EdssAssessment.objects.create(
            patient=patient, score=Decimal("7.3"), assessed_on=date(2026, 1, 5)
        )
    )
    assert refused(
        lambda: EdssAssessment.objects.create(
            patient=patient, score=Decimal("10.5"), assessed_on=date(2026, 1, 5)
        )
    )
    EdssAssessment.objects.create(
        patient=patient, score=Decimal("7.5"), assessed_on=date(2026, 1, 5)
    )
    assert patient.edss.count() == 1


def test_infusion_ending_before_it_started_is_refused() -> None:
    patient = make_patient()
    started = clock.now() - timedelta(hours=2)
    assert refused(
        lambda: make_infusion(patient, started_at=started, ended_at=started - timedelta(minutes=1))
    )
    assert refused(lambda: make_infusion(patient, started_at=started, ended_at=started))
    infusion = make_infusion(patient, started_at=started, ended_at=started + timedelta(minutes=60))
    assert infusion.ended_at - infusion.started_at == timedelta(minutes=60)


def test_discharge_before_the_end_is_refused() -> None:
    patient = make_patient()
    started = clock.now() - timedelta(hours=3)
    ended = started + timedelta(minutes=65)
    assert refused(
        lambda: make_infusion(
            patient, started_at=started, ended_at=ended, discharged_at=ended - timedelta(minutes=5)
        )
    )


def test_a_bag_serves_one_infusion_only() -> None:
    patient = make_patient()
    bag = make_preparation(patient)
    make_infusion(patient, preparation=bag)
    assert refused(lambda: make_infusion(patient, preparation=bag))


def test_iv_push_route_is_refused() -> None:
    patient = make_patient()
    assert refused(lambda: make_infusion(patient, route="iv-push"))


def test_duplicate_mrn_is_refused() -> None:
    make_patient(mrn="MRN-1")
    assert refused(lambda: make_patient(mrn="MRN-1"))


def test_lab_reference_range_must_make_sense() -> None:
    patient = make_patient()

    def lab(**fields: object) -> LabResult:
        values = {
            "patient": patient, "analyte": "ALT", "value": Decimal("20"), "unit": "U/L",
            "reference_low": Decimal("7"), "reference_high": Decimal("40"),
            "collected_at": clock.now(),
        }  # fmt: skip
        values.update(fields)
        return LabResult.objects.create(**values)

    assert refused(lambda: lab(reference_low=Decimal("50")))
    assert refused(lambda: lab(reference_high=Decimal("0")))
    assert refused(lambda: lab(value=Decimal("-1")))
    assert lab().loinc == "1742-6"


def test_jcv_index_only_on_jcv_tests() -> None:
    patient = make_patient()
    assert refused(
        lambda: AntibodyTest.objects.create(
            patient=patient,
            target="natalizumab",
            result="positive",
            index=Decimal("1.2"),
            collected_at=clock.now(),
        )
    )


def test_decision_needs_a_reason_and_override_names_its_rule(django_user_model: type) -> None:
    patient = make_patient()
    doctor = django_user_model.objects.create_user("dr")

    def decide(**fields: object) -> TreatmentDecision:
        values = {"patient": patient, "action": "suspend", "reason": "ALT rising",
                  "decided_by": doctor, "decided_at": clock.now()}  # fmt: skip
        values.update(fields)
        return TreatmentDecision.objects.create(**values)

    assert refused(lambda: decide(reason=""))
    assert refused(lambda: decide(action="override", rule=""))
    assert decide(action="override", rule="LIVER-3XULN").rule == "LIVER-3XULN"


def test_second_standing_alert_with_the_same_dedup_key_is_refused() -> None:
    patient = make_patient()

    def alert(seq: int, status: str = "open") -> Alert:
        return Alert.objects.create(
            patient=patient,
            rule="LIVER-3XULN",
            severity="critical",
            action="suspend",
            status=status,
            message="ALT 128 U/L is 3.2 x ULN",
            source="doc",
            profile="document",
            dedup_key=f"{patient.id}:LIVER-3XULN:lab-1",
            raised_at=clock.now(),
            feed_seq=seq,
            resolved_at=clock.now() if status == "resolved" else None,
        )

    first = alert(1)
    assert refused(lambda: alert(2))
    assert refused(lambda: alert(2, status="acknowledged"))
    first.status, first.resolved_at = "resolved", clock.now()
    first.save()
    # Once resolved, the same cause may raise again.
    assert alert(3).status == "open"
