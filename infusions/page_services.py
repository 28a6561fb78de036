"""Writes the clinic pages need that the REST API has no endpoint for (yet).

Kept apart from services.py, which the API owns; each is one transaction, like the others.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from natalizumab_monitor import clock
from natalizumab_monitor.errors import Conflict
from natalizumab_monitor.services import Problems

from .models import DosePreparation, Infusion, InfusionStatus, PreparationStatus

DISCARD_REASON_MAX = 200


def _lock_bag(preparation: DosePreparation) -> DosePreparation:
    return DosePreparation.objects.select_for_update().get(pk=preparation.pk)


def _assigned_infusion(bag: DosePreparation) -> Infusion | None:
    return Infusion.objects.filter(preparation=bag).first()


@transaction.atomic
def discard_preparation(
    *, preparation: DosePreparation, reason: str, user: AbstractBaseUser
) -> DosePreparation:
    """The pharmacist throws a bag away (expired, damaged, not needed), with the reason."""
    bag = _lock_bag(preparation)
    reason = reason.strip()
    problems = Problems()
    if not reason:
        problems.add("reason", "Say why the bag is discarded.")
    elif len(reason) > DISCARD_REASON_MAX:
        problems.add("reason", f"At most {DISCARD_REASON_MAX} characters.")
    problems.raise_if_any()
    if bag.status != PreparationStatus.READY:
        raise Conflict(f"The bag is already {bag.status}.")
    infusion = _assigned_infusion(bag)
    if infusion is not None and infusion.status != InfusionStatus.PLANNED:
        raise Conflict(f"The bag's infusion is {infusion.status}; it cannot be discarded now.")
    bag.status = PreparationStatus.DISCARDED
    bag.discarded_reason = reason
    bag.save(update_fields=["status", "discarded_reason", "updated_at"])
    return bag


@transaction.atomic
def mark_preparation_used(
    *, preparation: DosePreparation, user: AbstractBaseUser
) -> DosePreparation:
    """A bag given outside this record (no infusion here to start); an infusion's start marks
    its own bag used."""
    bag = _lock_bag(preparation)
    if bag.status != PreparationStatus.READY:
        raise Conflict(f"The bag is already {bag.status}.")
    if _assigned_infusion(bag) is not None:
        raise Conflict("The bag belongs to a planned infusion: starting it marks the bag used.")
    if bag.expires_at <= clock.now():
        raise Conflict("The bag is past its stability limit: discard it.")
    bag.status = PreparationStatus.USED
    bag.save(update_fields=["status", "updated_at"])
    return bag


@transaction.atomic
def cancel_infusion(*, infusion: Infusion, user: AbstractBaseUser) -> Infusion:
    """A planned infusion that will not happen (bag expired, patient not cleared, went home).

    Its checklist stays on record. Its bag is discarded: one bag belongs to one infusion, so
    no later infusion can use it.
    """
    infusion = Infusion.objects.select_for_update().get(pk=infusion.pk)
    if infusion.status != InfusionStatus.PLANNED:
        raise Conflict(f"The infusion is {infusion.status}; only a planned infusion is cancelled.")
    bag = _lock_bag(infusion.preparation)
    if bag.status == PreparationStatus.READY:
        bag.status = PreparationStatus.DISCARDED
        bag.discarded_reason = "Infusion cancelled"
        bag.save(update_fields=["status", "discarded_reason", "updated_at"])
    infusion.status = InfusionStatus.CANCELLED
    infusion.version += 1
    infusion.save(update_fields=["status", "version", "updated_at"])
    return infusion
