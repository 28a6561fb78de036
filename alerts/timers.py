"""Which patients time has made due for evaluation: the due times live in the database.

Each query returns patient ids only; the timers task evaluates them. Every window overlaps
the previous run a little, so a late or repeated run misses nothing (an evaluation that
finds nothing new writes nothing).
"""

from datetime import datetime, timedelta

from django.db.models import F, Q

from alerts.models import EvaluationSchedule, PendingEvaluation
from alerts.rules import RuleConfig
from infusions.models import DosePreparation, Infusion, PreparationStatus


def bags_reaching_their_limit(now: datetime, config: RuleConfig) -> dict[str, list[str]]:
    """Ready bags entering the warning window or past their limit, not yet seen there.

    expiry_warned_at records when the timers last evaluated the bag: empty (never), at or
    before expires_at (warned), after it (its expiry has been raised). Keyed by patient id,
    the bag ids to stamp once the patient has been evaluated.
    """
    warning = timedelta(minutes=config.prep_expiry_warning_minutes)
    bags = DosePreparation.objects.filter(
        Q(expiry_warned_at__isnull=True)
        | Q(expires_at__lt=now, expiry_warned_at__lte=F("expires_at")),
        status=PreparationStatus.READY,
        expires_at__lte=now + warning,
    ).values_list("patient_id", "id")
    due: dict[str, list[str]] = {}
    for patient_id, bag_id in bags:
        due.setdefault(str(patient_id), []).append(str(bag_id))
    return due


def stamp_bags(bag_ids: list[str], now: datetime) -> None:
    # update(), not save(): the stamp is no clinical change and must not queue an evaluation.
    DosePreparation.objects.filter(pk__in=bag_ids).update(expiry_warned_at=now)


def observation_events(since: datetime, now: datetime, config: RuleConfig) -> set[str]:
    """Patients whose observation window ended, or who were discharged, since `since`."""
    observation = timedelta(minutes=config.observation_minutes)
    window_ended = Q(ended_at__gt=since - observation, ended_at__lte=now - observation)
    discharged = Q(discharged_at__gt=since, discharged_at__lte=now)
    infusions = Infusion.objects.filter(
        window_ended | discharged, started_at__gte=since - timedelta(days=1)
    )
    return {str(pk) for pk in infusions.values_list("patient_id", flat=True).distinct()}


def patients_left_pending(now: datetime, grace: timedelta, limit: int) -> list[str]:
    """Patients marked for evaluation longer than `grace` ago: their task was lost or late."""
    marks = PendingEvaluation.objects.filter(marked_at__lte=now - grace).order_by("marked_at")
    return [str(pk) for pk in marks.values_list("patient_id", flat=True)[:limit]]


def clearances_lapsed(now: datetime, limit: int) -> list[str]:
    """Patients whose stored clearance has ended (by time alone) and is not yet replaced.

    Its moment is also the patient's next change, so the nightly job would evaluate them;
    the day's lists, though, compute such a patient's clearance at every request until then
    (network/kept.py keeps no list with one). An evaluation that stored a clearance ending
    before it committed (one that raced the bag timer above) would leave one too.
    """
    lapsed = EvaluationSchedule.objects.filter(
        clearance__isnull=False, clearance_until__lte=now
    ).order_by("clearance_until")
    return [str(pk) for pk in lapsed.values_list("patient_id", flat=True)[:limit]]
