"""Imaging and clinical course: MRI-ACTIVITY, EDSS-PROGRESSION, RELAPSE."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import sources
from ._common import chronological, clinic_today, latest
from .config import RuleConfig
from .findings import Finding, format_decimal, make_finding
from .snapshot import PatientSnapshot
from .wording import date_text


def mri_activity(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Any gadolinium-enhancing or new/enlarging T2 lesion on the latest MRI."""
    mri = latest(snapshot.mri_studies, key=lambda mri: mri.performed_on)
    if mri is None or (mri.gd_enhancing_lesions == 0 and mri.new_or_enlarging_t2_lesions == 0):
        return []
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="MRI-ACTIVITY",
            cause=mri.id,
            severity="warning",
            action="inform",
            message=(
                f"MRI of {date_text(mri.performed_on)} shows disease activity: "
                f"{mri.gd_enhancing_lesions} gadolinium-enhancing (T1) lesion(s), "
                f"{mri.new_or_enlarging_t2_lesions} new or enlarging T2 lesion(s)"
            ),
            evidence={
                "mri_study_id": mri.id,
                "performed_on": mri.performed_on,
                "gd_enhancing_lesions": mri.gd_enhancing_lesions,
                "new_or_enlarging_t2_lesions": mri.new_or_enlarging_t2_lesions,
                "sequences": ["T1 gadolinium-enhancing", "T2 new or enlarging"],
            },
            source=sources.IMAGING,
        )
    ]


def edss_progression(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """The latest EDSS against the earliest recorded one (the baseline).

    Progression: up by >= 1.0 from a baseline <= 5.5, or by >= 0.5 from a baseline > 5.5.
    """
    scores = chronological(snapshot.edss, key=lambda edss: edss.assessed_on)
    if len(scores) < 2:
        return []
    baseline, current = scores[0], scores[-1]
    increase = current.score - baseline.score
    low_baseline = baseline.score <= config.edss_baseline_cutoff
    step = config.edss_step_at_or_below_cutoff if low_baseline else config.edss_step_above_cutoff
    if increase < step:
        return []
    relation = "at or below" if low_baseline else "above"
    return [
        make_finding(
            patient_id=snapshot.id,
            config=config,
            rule="EDSS-PROGRESSION",
            cause=current.id,
            severity="warning",
            action="inform",
            message=(
                f"EDSS {format_decimal(current.score)} on {date_text(current.assessed_on)}, up "
                f"{format_decimal(increase)} from baseline {format_decimal(baseline.score)} "
                f"({date_text(baseline.assessed_on)}): progression is an increase of "
                f"{format_decimal(step)} or more from a baseline {relation} "
                f"{format_decimal(config.edss_baseline_cutoff)}"
            ),
            evidence={
                "edss_id": current.id,
                "baseline_edss_id": baseline.id,
                "score": current.score,
                "assessed_on": current.assessed_on,
                "baseline_score": baseline.score,
                "baseline_assessed_on": baseline.assessed_on,
                "increase": increase,
                "threshold": step,
                "baseline_cutoff": config.edss_baseline_cutoff,
            },
            source=sources.IMAGING,
        )
    ]


def relapse(snapshot: PatientSnapshot, now: datetime, config: RuleConfig) -> list[Finding]:
    """Each relapse on treatment informs; two or more within 12 months make the latest a warning."""
    today = clinic_today(snapshot, now)
    start = snapshot.treatment_start
    relapses = chronological(snapshot.relapses, key=lambda relapse: relapse.onset_on)
    window_start = today - timedelta(days=config.relapse_window_days)
    recent = [relapse for relapse in relapses if window_start < relapse.onset_on <= today]
    frequent = len(recent) >= config.relapse_warning_count
    findings = []
    for item in relapses:
        is_latest_recent = frequent and item is recent[-1]
        on_treatment = start is not None and item.onset_on >= start
        if not (on_treatment or is_latest_recent):
            continue
        evidence: dict[str, object] = {
            "relapse_id": item.id,
            "onset_on": item.onset_on,
            "treatment_start": start,
            "on_treatment": on_treatment,
        }
        message = f"Relapse on {date_text(item.onset_on)}"
        if start is not None and on_treatment:
            message += f" while on natalizumab (since {date_text(start)})"
        if is_latest_recent:
            dates = [relapse.onset_on for relapse in recent]
            message += (
                f": {len(recent)} relapses within {config.relapse_window_days} days "
                f"({', '.join(date_text(day) for day in dates)}); review treatment response"
            )
            evidence.update(
                {
                    "recent_relapse_ids": [relapse.id for relapse in recent],
                    "recent_onsets": dates,
                    "recent_count": len(recent),
                    "window_days": config.relapse_window_days,
                    "warning_count": config.relapse_warning_count,
                }
            )
        findings.append(
            make_finding(
                patient_id=snapshot.id,
                config=config,
                rule="RELAPSE",
                cause=item.id,
                severity="warning" if is_latest_recent else "info",
                action="inform",
                message=message,
                evidence=evidence,
                source=sources.IMAGING,
            )
        )
    return findings
