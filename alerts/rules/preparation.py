"""Dose preparation (pharmacist): PREP-DILUENT, PREP-DOSE, PREP-STABILITY, PREP-HANDLING.

Only bags still `ready` are checked: a used or discarded bag can no longer be infused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from . import sources
from ._common import local_time_text
from .config import RuleConfig, preparation_expires_at, stability_limit_hours
from .findings import Finding, format_decimal, make_finding
from .snapshot import PatientSnapshot, PreparationSnapshot

# A bad bag is replaced, never overridden.
bag_finding = partial(make_finding, overridable=False)


def _ready_bags(snapshot: PatientSnapshot) -> list[PreparationSnapshot]:
    return sorted(
        (prep for prep in snapshot.preparations if prep.status == "ready"),
        key=lambda prep: (prep.prepared_at, prep.id),
    )


def _normalised(name: str) -> str:
    # "0.9 % nacl" and "0.9% NaCl" are the same diluent; anything else is not.
    return "".join(name.split()).casefold()


def _bag_evidence(snapshot: PatientSnapshot, prep: PreparationSnapshot) -> dict[str, object]:
    return {
        "preparation_id": prep.id,
        "prepared_at": prep.prepared_at,
        "prepared_at_local": local_time_text(snapshot, prep.prepared_at),
    }


def prep_diluent(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    accepted = {_normalised(name) for name in config.prep_accepted_diluents}
    findings = []
    for prep in _ready_bags(snapshot):
        if _normalised(prep.diluent) in accepted:
            continue
        findings.append(
            bag_finding(
                patient_id=snapshot.id,
                config=config,
                rule="PREP-DILUENT",
                cause=prep.id,
                severity="critical",
                action="block-infusion",
                message=(
                    f"Bag prepared {local_time_text(snapshot, prep.prepared_at)} is diluted in "
                    f"'{prep.diluent}': only {' or '.join(config.prep_accepted_diluents)} "
                    "is accepted; do not infuse"
                ),
                evidence={
                    **_bag_evidence(snapshot, prep),
                    "diluent": prep.diluent,
                    "accepted_diluents": list(config.prep_accepted_diluents),
                },
                source=sources.PREPARATION,
            )
        )
    return findings


def prep_dose(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    findings = []
    for prep in _ready_bags(snapshot):
        if (
            prep.dose_mg == config.prep_dose_mg
            and prep.diluent_volume_ml == config.prep_diluent_volume_ml
        ):
            continue
        findings.append(
            bag_finding(
                patient_id=snapshot.id,
                config=config,
                rule="PREP-DOSE",
                cause=prep.id,
                severity="critical",
                action="block-infusion",
                message=(
                    f"Bag prepared {local_time_text(snapshot, prep.prepared_at)} holds "
                    f"{format_decimal(prep.dose_mg)} mg in "
                    f"{format_decimal(prep.diluent_volume_ml)} mL: the dose is "
                    f"{format_decimal(config.prep_dose_mg)} mg in "
                    f"{format_decimal(config.prep_diluent_volume_ml)} mL; do not infuse"
                ),
                evidence={
                    **_bag_evidence(snapshot, prep),
                    "dose_mg": prep.dose_mg,
                    "diluent_volume_ml": prep.diluent_volume_ml,
                    "required_dose_mg": config.prep_dose_mg,
                    "required_volume_ml": config.prep_diluent_volume_ml,
                },
                source=sources.PREPARATION,
            )
        )
    return findings


def prep_stability(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Expired once `now` is past the limit (8 h 00 min is still usable); warn shortly before."""
    findings = []
    warning_window = timedelta(minutes=config.prep_expiry_warning_minutes)
    for prep in _ready_bags(snapshot):
        expires_at = preparation_expires_at(prep, config)
        expired = now > expires_at
        if not expired and now < expires_at - warning_window:
            continue
        limit_hours = stability_limit_hours(prep, config)
        where = "at room temperature" if prep.storage == "room" else "refrigerated"
        evidence: dict[str, object] = {
            **_bag_evidence(snapshot, prep),
            "storage": prep.storage,
            "room_temperature_since": prep.room_temperature_since,
            "limit_hours": limit_hours,
            "expires_at": expires_at,
            "expires_at_local": local_time_text(snapshot, expires_at),
            "expired": expired,
        }
        if prep.room_temperature_since is not None and prep.storage == "refrigerated":
            since = local_time_text(snapshot, prep.room_temperature_since)
            evidence["room_temperature_since_local"] = since
            where = f"refrigerated, at room temperature since {since}"
        head = f"Bag prepared {local_time_text(snapshot, prep.prepared_at)} ({where})"
        limit = f"limit {limit_hours} h from dilution"
        if expired:
            message = (
                f"{head} expired at {local_time_text(snapshot, expires_at)} ({limit}): "
                "do not infuse; discard it"
            )
        else:
            # The time, not the minutes left: the finding stands through the warning window
            # (an alert raised at its start says the same at its end), and the pages count
            # the minutes down live.
            message = (
                f"{head} expires at {local_time_text(snapshot, expires_at)} ({limit}): "
                "start the infusion before then"
            )
        findings.append(
            bag_finding(
                patient_id=snapshot.id,
                config=config,
                rule="PREP-STABILITY",
                cause=prep.id,
                severity="critical" if expired else "warning",
                action="block-infusion" if expired else "inform",
                message=message,
                evidence=evidence,
                source=sources.by_profile(
                    config.name,
                    sources.PREPARATION,
                    sources.both(sources.PREPARATION, sources.LABEL),
                ),
            )
        )
    return findings


def prep_handling(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    findings = []
    for prep in _ready_bags(snapshot):
        faults = [
            fault
            for fault, present in (("frozen", prep.frozen), ("shaken", prep.shaken))
            if present
        ]
        if not faults:
            continue
        findings.append(
            bag_finding(
                patient_id=snapshot.id,
                config=config,
                rule="PREP-HANDLING",
                cause=prep.id,
                severity="critical",
                action="block-infusion",
                message=(
                    f"Bag prepared {local_time_text(snapshot, prep.prepared_at)} was "
                    f"{' and '.join(faults)}: discard it; do not infuse"
                ),
                evidence={
                    **_bag_evidence(snapshot, prep),
                    "frozen": prep.frozen,
                    "shaken": prep.shaken,
                },
                source=sources.PREPARATION,
            )
        )
    return findings
