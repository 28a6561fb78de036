"""The evaluation service: findings in, alerts raised, updated, resolved, never doubled."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction

from alerts import evaluation
from alerts.evaluation import SYSTEM_RESOLUTION_NOTE, evaluate_patient
from alerts.models import Alert, AlertStatus, Notification, PendingEvaluation
from alerts.services import resolve_alert
from alerts.signals import EvaluateOnCommit
from natalizumab_monitor import clock
from network.services import site_for_new_record
from patients.models import Patient, TreatmentDecision
from tests.factories import make_patient

from .conftest import high_alt, standing

pytestmark = pytest.mark.django_db

PATIENT_FIELDS = {
    "given_name": "Test",
    "family_name": "Savepoint",
    "birth_date": date(1985, 5, 17),
    "sex": "female",
    "indication": "ms",
}


def test_a_high_alt_raises_one_critical_alert_and_a_second_run_changes_nothing(
    users: dict[str, User],
) -> None:
    patient = make_patient()
    lab = high_alt(patient)

    first = evaluate_patient(patient.pk)
    second = evaluate_patient(patient.pk)

    [alert] = standing(patient, "LIVER-3XULN")
    assert alert.severity == "critical" and alert.action == "suspend"
    assert alert.status == AlertStatus.OPEN
    assert alert.dedup_key.endswith(str(lab.pk))
    assert str(alert.pk) in first.raised
    assert not second.changed
    # Untouched by the second run: same place in the feed, same update time.
    alert_after = Alert.objects.get(pk=alert.pk)
    assert (alert_after.feed_seq, alert_after.updated_at) == (alert.feed_seq, alert.updated_at)
    assert Alert.objects.filter(patient=patient).count() == len(first.raised)


def test_a_resume_decision_resolves_the_alert_by_the_system(users: dict[str, User]) -> None:
    patient = make_patient()
    high_alt(patient, collected_at=clock.now() - timedelta(hours=1))
    evaluate_patient(patient.pk)
    [alert] = standing(patient, "LIVER-3XULN")

    TreatmentDecision.objects.create(
        patient=patient,
        action="resume",
        reason="Repeat ALT normal; hepatology agrees",
        decided_by=users["neurologist"],
        decided_at=clock.now(),
    )
    result = evaluate_patient(patient.pk)

    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolution_note == SYSTEM_RESOLUTION_NOTE
    assert alert.resolved_at is not None and alert.resolved_by is None
    assert str(alert.pk) in result.resolved
    assert not standing(patient, "LIVER-3XULN")


def test_a_changed_finding_updates_its_alert_and_moves_it_to_the_end_of_the_feed() -> None:
    patient = make_patient()
    lab = high_alt(patient, multiple="3.2")
    evaluate_patient(patient.pk)
    [alert] = standing(patient, "LIVER-3XULN")
    other = make_patient()  # another patient's alert in between
    high_alt(other)
    evaluate_patient(other.pk)

    lab.value = Decimal("200")  # corrected by the lab: 5 x ULN
    lab.save()
    result = evaluate_patient(patient.pk)

    updated = Alert.objects.get(pk=alert.pk)
    assert str(alert.pk) in result.updated
    assert "200" in updated.message and updated.message != alert.message
    assert updated.feed_seq > alert.feed_seq
    assert updated.feed_seq == max(Alert.objects.values_list("feed_seq", flat=True))
    assert updated.updated_at > alert.updated_at
    assert updated.raised_at == alert.raised_at


def test_an_alert_a_person_resolved_is_not_raised_again_for_the_same_finding(
    users: dict[str, User],
) -> None:
    patient = make_patient()
    high_alt(patient)
    evaluate_patient(patient.pk)
    [alert] = standing(patient, "LIVER-3XULN")
    resolve_alert(alert=alert, note="Haemolysed sample", user=users["neurologist"])

    result = evaluate_patient(patient.pk)

    assert not standing(patient, "LIVER-3XULN")
    assert not result.raised
    # A new high result is a new finding, and raises a new alert.
    high_alt(patient, multiple="4")
    evaluate_patient(patient.pk)
    assert len(standing(patient, "LIVER-3XULN")) == 1


def test_critical_alert_notifies_each_user_who_must_act_once_in_app_and_by_email(
    make_user: Callable[..., User],
) -> None:
    neurologist = make_user("neurologist", username="dr-n")
    neurologist.email = "dr-n@example.org"
    neurologist.save()
    nurse = make_user("nurse", username="nurse-a")  # no e-mail address: in-app only
    pharmacist = make_user("pharmacist", username="pharm-a")
    patient = make_patient()
    high_alt(patient)  # LIVER-3XULN: critical, suspend

    with transaction.atomic():
        evaluate_patient(patient.pk)
    evaluate_patient(patient.pk)

    [alert] = standing(patient, "LIVER-3XULN")
    recipients = set(
        Notification.objects.filter(alert=alert).values_list("recipient__username", flat=True)
    )
    assert recipients == {neurologist.username, nurse.username}
    assert pharmacist.username not in recipients  # not a preparation rule
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dr-n@example.org"]
    assert "LIVER-3XULN" in mail.outbox[0].subject
    assert patient.family_name not in mail.outbox[0].body + mail.outbox[0].subject
    assert Notification.objects.get(alert=alert, recipient=neurologist).emailed_at is not None
    assert Notification.objects.get(alert=alert, recipient=nurse).emailed_at is None


def test_a_write_marks_the_patient_and_one_transaction_queues_one_evaluation(
    django_capture_on_commit_callbacks: Callable,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        patient = make_patient()
        high_alt(patient)
        high_alt(patient, multiple="1")
        other = make_patient()

    queued = [c.patient_id for c in callbacks if isinstance(c, EvaluateOnCommit)]
    assert sorted(queued) == sorted([str(patient.pk), str(other.pk)])
    assert PendingEvaluation.objects.filter(patient=patient).exists()

    evaluate_patient(patient.pk)
    assert not PendingEvaluation.objects.filter(patient=patient).exists()
    assert PendingEvaluation.objects.filter(patient=other).exists()


def test_a_rolled_back_savepoint_does_not_swallow_the_next_writes_evaluation(
    django_capture_on_commit_callbacks: Callable,
) -> None:
    # bulk_create sends no signal: no evaluation is queued yet in the test's transaction.
    [patient] = Patient.objects.bulk_create(
        [Patient(site=site_for_new_record(), mrn="SP-1", **PATIENT_FIELDS)]
    )
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                high_alt(patient)
                raise RuntimeError("the form was invalid")
        except RuntimeError:
            pass
        high_alt(patient, multiple="1")

    assert [c.patient_id for c in callbacks if isinstance(c, EvaluateOnCommit)] == [str(patient.pk)]


def test_a_clash_on_the_standing_dedup_key_is_retried_once_and_leaves_one_alert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patient = make_patient()
    high_alt(patient)
    evaluate_patient(patient.pk)
    [alert] = standing(patient, "LIVER-3XULN")
    Alert.objects.filter(pk=alert.pk).update(message="stale wording")
    real = evaluation._standing_alerts
    calls = []

    def blind_at_first(patient_ids: Any) -> dict[str, list[Alert]]:
        # As if another writer's alerts were not visible: the first insert hits the constraint.
        calls.append(1)
        return {} if len(calls) <= 2 else real(patient_ids)

    monkeypatch.setattr(evaluation, "_standing_alerts", blind_at_first)
    result = evaluate_patient(patient.pk)

    assert len(calls) == 4  # the first transaction failed and the whole evaluation ran again
    assert standing(patient, "LIVER-3XULN") == [alert]
    assert Alert.objects.get(pk=alert.pk).message != "stale wording"
    assert str(alert.pk) in result.updated
