"""The reads behind the neurologist's pages: a fixed number of queries however long the
history or the list of patients. The API's reads live in selectors.py."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    IntegerField,
    Min,
    Prefetch,
    Q,
    QuerySet,
    When,
    prefetch_related_objects,
)

from alerts.models import Alert, AlertStatus, Severity
from alerts.profile import active_config
from alerts.rules import GateResult, PmlRisk, check_infusion, pml_risk
from alerts.rules.snapshot import (
    AntibodyTestSnapshot,
    EdssSnapshot,
    InfectionSnapshot,
    LabResultSnapshot,
    MedicationSnapshot,
    MriStudySnapshot,
    ReactionSnapshot,
    RelapseSnapshot,
)
from alerts.rules.wording import date_text, datetime_text, unit_text
from alerts.snapshots import build_snapshot
from infusions.models import Infusion, InfusionStatus, PreInfusionChecklist
from labs.models import Analyte
from natalizumab_monitor import clock

from .models import MedicationCategory, Patient, TreatmentDecision

STANDING = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
WORKLIST_PAGE_SIZE = 25
SEVERITY_ORDER = Case(
    When(severity=Severity.CRITICAL, then=0),
    When(severity=Severity.WARNING, then=1),
    default=2,
    output_field=IntegerField(),
)


def _standing_alerts(*, severity: str | None, rule: str | None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(status__in=STANDING)
    if severity:
        alerts = alerts.filter(severity=severity)
    if rule:
        alerts = alerts.filter(rule=rule)
    return alerts


def worklist(*, severity: str | None = None, rule: str | None = None, page: int | str = 1) -> Page:
    """Patients with standing alerts: worst severity first, then the oldest standing alert.

    The filters narrow the alerts that count (and so the patients listed). Each patient on
    the page carries `standing_alerts`, worst and oldest first.
    """
    # The filter comes first, so the join and the aggregates read standing alerts only.
    wanted = Q(alerts__status__in=STANDING)
    if severity:
        wanted &= Q(alerts__severity=severity)
    if rule:
        wanted &= Q(alerts__rule=rule)
    worst = Min(
        Case(
            When(alerts__severity=Severity.CRITICAL, then=0),
            When(alerts__severity=Severity.WARNING, then=1),
            default=2,
            output_field=IntegerField(),
        )
    )
    patients = (
        Patient.objects.filter(wanted)
        .annotate(
            worst_rank=worst,
            oldest_alert_at=Min("alerts__raised_at"),
            standing_count=Count("alerts"),
        )
        .order_by("worst_rank", "oldest_alert_at", "family_name", "given_name", "id")
    )
    result = Paginator(patients, WORKLIST_PAGE_SIZE).get_page(page)
    rows = list(result.object_list)
    prefetch_related_objects(
        rows,
        Prefetch(
            "alerts",
            queryset=_standing_alerts(severity=severity, rule=rule)
            .annotate(rank=SEVERITY_ORDER)
            .order_by("rank", "raised_at"),
            to_attr="standing_alerts",
        ),
    )
    result.object_list = rows
    return result


def worklist_rules() -> list[str]:
    """The rules that have standing alerts: the choices of the worklist's rule filter."""
    return list(
        Alert.objects.filter(status__in=STANDING)
        .order_by("rule")
        .values_list("rule", flat=True)
        .distinct()
    )


@dataclass
class TimelineEntry:
    day: date
    at: datetime | None
    kind: str
    title: str
    detail: str = ""
    flag: str = ""  # "danger" / "warning" / "": how the entry is marked
    # As the page writes them (set by build_timeline): the time, else the day, in the
    # clinic's words; the day for the <time> element.
    when: str = field(default="", init=False)
    iso_day: str = field(default="", init=False)


@dataclass
class HeldVisit:
    """A planned infusion its pre-infusion checklist holds until a prescriber clears it."""

    infusion: Infusion
    checklist: PreInfusionChecklist
    yes_answers: list[str]  # the "yes" answers in plain words
    not_authorized: bool  # clearing does not lift this: resume, reauthorize or override

    @property
    def clearable(self) -> bool:
        return not self.not_authorized


def held_visits(infusions: list[Infusion]) -> list[HeldVisit]:
    """The planned infusions whose checklist answered "yes" and is not cleared yet.

    Reads the infusions as loaded (checklist joined): no query of its own.
    """
    held = []
    for infusion in infusions:
        checklist = infusion.checklist
        if infusion.status != InfusionStatus.PLANNED or checklist is None:
            continue
        if not checklist.needs_clearance or checklist.cleared_at is not None:
            continue
        answers = ["not authorized"] if not checklist.authorized else []
        answers += [
            str(PreInfusionChecklist._meta.get_field(name).verbose_name)
            for name in PreInfusionChecklist.ANSWER_FIELDS
            if getattr(checklist, name)
        ]
        held.append(
            HeldVisit(
                infusion=infusion,
                checklist=checklist,
                yes_answers=answers,
                not_authorized=not checklist.authorized,
            )
        )
    return held


@dataclass
class PatientPage:
    """One patient's page. The clinical records are the engine's snapshot (one read feeds the
    clearance, the PML risk and the history shown); the page reads as models only what the
    snapshot does not carry: the alerts, the visits (reasons, who asked the checklist) and the
    decisions (who decided)."""

    patient: Patient
    standing_alerts: list[Alert]
    infusions: list[Infusion]
    reactions: dict[str, tuple[ReactionSnapshot, ...]]  # by infusion id (text)
    lab_results: list[LabResultSnapshot]
    antibody_tests: list[AntibodyTestSnapshot]
    mri_studies: list[MriStudySnapshot]
    edss: list[EdssSnapshot]
    relapses: list[RelapseSnapshot]
    medications: list[MedicationSnapshot]
    infections: list[InfectionSnapshot]
    decisions: list[TreatmentDecision]
    clearance: GateResult
    pml: PmlRisk
    latest_labs: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)
    held_visits: list[HeldVisit] = field(default_factory=list)


def patient_page(patient_id: UUID | str) -> PatientPage:
    """Everything of one patient the neurologist's page shows; raises Patient.DoesNotExist.

    A fixed number of queries: the patient (scoped to the caller's sites) with its standing
    alerts, visits and decisions, then the engine's snapshot of the patient's records.
    """
    patient = Patient.objects.prefetch_related(
        Prefetch(
            "alerts",
            queryset=Alert.objects.filter(status__in=STANDING)
            .select_related("acknowledged_by")
            .annotate(rank=SEVERITY_ORDER)
            .order_by("rank", "raised_at"),
            to_attr="standing",
        ),
        Prefetch(
            "infusions",
            queryset=Infusion.objects.select_related("checklist__asked_by").order_by("created_at"),
        ),
        Prefetch(
            "decisions",
            queryset=TreatmentDecision.objects.select_related("decided_by").order_by("decided_at"),
        ),
    ).get(pk=patient_id)
    # The engine answers from the same snapshot the page shows: clearance, PML risk and the
    # history never disagree, and the records are read once.
    snapshot = build_snapshot(patient.pk)
    now = clock.now()
    config = active_config()
    page = PatientPage(
        patient=patient,
        standing_alerts=patient.standing,  # type: ignore[attr-defined]
        infusions=list(patient.infusions.all()),
        reactions={infusion.id: infusion.reactions for infusion in snapshot.infusions},
        # A day's results in analyte order: the timeline's entry lists them so.
        lab_results=sorted(snapshot.lab_results, key=lambda lab: (lab.collected_at, lab.analyte)),
        antibody_tests=list(snapshot.antibody_tests),
        mri_studies=list(snapshot.mri_studies),
        edss=list(snapshot.edss),
        relapses=sorted(snapshot.relapses, key=lambda relapse: relapse.onset_on),
        medications=sorted(snapshot.medications, key=lambda medication: medication.started_on),
        infections=sorted(snapshot.infections, key=lambda infection: infection.onset_on),
        decisions=list(patient.decisions.all()),
        clearance=check_infusion(snapshot, now, config),
        pml=pml_risk(snapshot, now, config),
    )
    page.latest_labs = latest_labs(page.lab_results)
    page.held_visits = held_visits(page.infusions)
    page.timeline = build_timeline(page)
    page.charts = build_charts(page, liver_multiple=config.liver_uln_multiple)
    return page


# --- Timeline --------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    return moment.astimezone(clock.clinic_zone())


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def _lab_text(lab: LabResultSnapshot) -> tuple[str, str]:
    limits = _range_text(lab)
    flag = ""
    above = lab.value > lab.reference_high
    below = lab.reference_low is not None and lab.value < lab.reference_low
    # A rise in lymphocytes or monocytes is the drug's expected effect (CBC-NEUTROPHILS).
    if below or (above and lab.analyte not in ("LYMPH", "MONO")):
        flag = "warning"
    if (
        lab.analyte in ("ALT", "AST")
        and lab.value >= lab.reference_high * active_config().liver_uln_multiple
    ):
        flag = "danger"
    return f"{lab.analyte} {_number(lab.value)} {unit_text(lab.unit)} ({limits})", flag


def _range_text(lab: LabResultSnapshot) -> str:
    low, high = _number(lab.reference_low), _number(lab.reference_high)
    return f"{low}–{high}" if low else f"≤ {high}"


def latest_labs(labs: list[LabResultSnapshot]) -> list[dict[str, Any]]:
    """The latest result of each analyte, flagged against its own reference range."""
    latest: dict[str, LabResultSnapshot] = {}
    for lab in labs:  # oldest first, so the last one seen is the latest
        latest[lab.analyte] = lab
    rows = []
    for analyte in ("ALT", "AST", "TSH", "FT4", "NEUT", "LYMPH", "MONO", "PLT"):
        lab = latest.get(analyte)
        if lab is None:
            continue
        _, flag = _lab_text(lab)
        rows.append(
            {
                "result": lab,
                "name": Analyte(analyte).label,
                "value": _number(lab.value),
                "range": _range_text(lab),
                "flag": flag,
            }
        )
    return rows


def build_timeline(page: PatientPage) -> list[TimelineEntry]:
    """Every record of the patient as one list, newest first; a day's labs form one entry."""
    entries: list[TimelineEntry] = []
    for infusion in page.infusions:
        if infusion.status == InfusionStatus.CANCELLED:
            entries.append(
                TimelineEntry(
                    _local(infusion.updated_at).date(),
                    infusion.updated_at,
                    "infusion",
                    "Visit cancelled",
                    infusion.cancel_reason,
                    "warning",
                )
            )
            continue
        if infusion.started_at is None:
            continue
        start = _local(infusion.started_at)
        minutes = (
            int((infusion.ended_at - infusion.started_at).total_seconds() // 60)
            if infusion.ended_at
            else None
        )
        detail = f"{minutes} min" if minutes is not None else "running"
        reactions = page.reactions.get(str(infusion.id), ())
        flag = ""
        if reactions:
            worst = "severe" if any(r.severity == "severe" for r in reactions) else "mild"
            flag = "danger" if worst == "severe" else "warning"
            symptoms = ", ".join(s for r in reactions for s in r.symptoms)
            detail += f"; {worst} reaction: {symptoms}"
        if infusion.stop_reason:
            detail += f"; stopped early: {infusion.stop_reason}"
            flag = flag or "warning"
        if infusion.discharge_reason:
            detail += f"; discharged before the end of observation: {infusion.discharge_reason}"
            flag = flag or "warning"
        entries.append(
            TimelineEntry(start.date(), infusion.started_at, "infusion", "Infusion", detail, flag)
        )
    labs_by_time: dict[datetime, list[LabResultSnapshot]] = {}
    for lab in page.lab_results:
        labs_by_time.setdefault(lab.collected_at, []).append(lab)
    for collected_at, labs in labs_by_time.items():
        texts = [_lab_text(lab) for lab in labs]
        flags = {flag for _, flag in texts}
        flag = "danger" if "danger" in flags else ("warning" if "warning" in flags else "")
        entries.append(
            TimelineEntry(
                _local(collected_at).date(),
                collected_at,
                "lab",
                "Labs",
                "; ".join(text for text, _ in texts),
                flag,
            )
        )
    for test in page.antibody_tests:
        if test.target == "jcv":
            title = "Anti-JCV antibodies"
            detail = test.result + (f", index {_number(test.index)}" if test.index else "")
        else:
            title = "Anti-natalizumab antibodies"
            detail = test.result
        flag = "warning" if test.result == "positive" else ""
        entries.append(
            TimelineEntry(
                _local(test.collected_at).date(),
                test.collected_at,
                "antibody",
                title,
                detail,
                flag,
            )
        )
    for mri in page.mri_studies:
        detail = (
            f"{mri.gd_enhancing_lesions} Gd-enhancing, "
            f"{mri.new_or_enlarging_t2_lesions} new or enlarging T2"
        )
        flag = ""
        if mri.gd_enhancing_lesions or mri.new_or_enlarging_t2_lesions:
            flag = "warning"
        if mri.pml_suspected:
            detail += "; read as possible PML"
            flag = "danger"
        entries.append(TimelineEntry(mri.performed_on, None, "mri", "MRI", detail, flag))
    for assessment in page.edss:
        entries.append(
            TimelineEntry(assessment.assessed_on, None, "edss", "EDSS", _number(assessment.score))
        )
    for relapse in page.relapses:
        entries.append(TimelineEntry(relapse.onset_on, None, "relapse", "Relapse", "", "warning"))
    for medication in page.medications:
        entries.append(
            TimelineEntry(
                medication.started_on,
                None,
                "medication",
                "Medication started",
                f"{medication.name} ({MedicationCategory(medication.category).label})",
                "warning" if medication.category != "other" else "",
            )
        )
        if medication.stopped_on:
            entries.append(
                TimelineEntry(
                    medication.stopped_on,
                    None,
                    "medication",
                    "Medication stopped",
                    medication.name,
                )
            )
    for infection in page.infections:
        entries.append(
            TimelineEntry(
                infection.onset_on, None, "infection", "Infection", infection.description, "warning"
            )
        )
        if infection.resolved_on:
            entries.append(
                TimelineEntry(
                    infection.resolved_on,
                    None,
                    "infection",
                    "Infection resolved",
                    infection.description,
                )
            )
    for decision in page.decisions:
        title = f"Decision: {decision.get_action_display()}"
        if decision.rule:
            title += f" {decision.rule}"
        who = decision.decided_by.get_full_name() or decision.decided_by.get_username()
        entries.append(
            TimelineEntry(
                _local(decision.decided_at).date(),
                decision.decided_at,
                "decision",
                title,
                f"{decision.reason} ({who})",
                "danger" if decision.action in ("suspend", "discontinue") else "",
            )
        )
    # Newest first; on one day, timed entries by time, the day's undated records last.
    entries.sort(
        key=lambda e: (e.day, e.at or datetime.combine(e.day, time.min, tzinfo=UTC)),
        reverse=True,
    )
    # Written here rather than by a filter per entry: a long history is hundreds of entries.
    zone = clock.clinic_zone()
    for entry in entries:
        entry.when = datetime_text(entry.at, zone) if entry.at else date_text(entry.day)
        entry.iso_day = entry.day.isoformat()
    return entries


# --- Charts ----------------------------------------------------------------------------------


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch: the x of a chart point."""
    return int(moment.timestamp() * 1000)


def _day_ms(day: date) -> int:
    return _ms(datetime.combine(day, time(12, 0), tzinfo=clock.clinic_zone()))


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _segments(labs: list[LabResultSnapshot], bound: Any) -> list[dict[str, Any]]:
    """Runs of consecutive results that share a limit: one line or band per run.

    Each result carries its own lab's reference range, so a limit holds only from the first
    result that reported it to the next result that reported another.
    """
    runs: list[dict[str, Any]] = []
    for position, lab in enumerate(labs):
        value = bound(lab)
        if value is None:
            continue
        if runs and runs[-1]["value"] == value:
            runs[-1]["until"] = position
            continue
        runs.append({"value": value, "from": position, "until": position})
    segments = []
    for index, run in enumerate(runs):
        last = index == len(runs) - 1
        end = labs[run["until"]] if last else labs[runs[index + 1]["from"]]
        segments.append(
            {
                "value": run["value"],
                "x_from": None if index == 0 else _ms(labs[run["from"]].collected_at),
                "x_to": None if last else _ms(end.collected_at),
            }
        )
    return segments


def _series(labs: list[LabResultSnapshot]) -> list[dict[str, Any]]:
    return [
        {
            "x": _ms(lab.collected_at),
            "y": float(lab.value),
            "low": _float(lab.reference_low),
            "high": float(lab.reference_high),
        }
        for lab in labs
    ]


def _range_chart(labs: list[LabResultSnapshot], label: str) -> dict[str, Any]:
    """One analyte with its reference band (low to high of each result's own range)."""
    bands = [
        {
            "low": segment["value"][0] or 0.0,
            "high": segment["value"][1],
            "x_from": segment["x_from"],
            "x_to": segment["x_to"],
        }
        for segment in _segments(
            labs, lambda lab: (_float(lab.reference_low), float(lab.reference_high))
        )
    ]
    return {
        "label": label,
        "unit": unit_text(labs[-1].unit) if labs else "",
        "series": [{"label": label, "points": _series(labs)}],
        "bands": bands,
        "lines": [],
    }


def build_charts(page: PatientPage, *, liver_multiple: Decimal) -> dict[str, Any]:
    """Chart data as plain JSON (written with json_script, never as HTML)."""
    by_analyte: dict[str, list[LabResultSnapshot]] = {}
    for lab in page.lab_results:
        by_analyte.setdefault(lab.analyte, []).append(lab)
    multiple = float(liver_multiple)
    liver_lines: list[dict[str, Any]] = []
    for analyte in ("ALT", "AST"):
        for segment in _segments(
            by_analyte.get(analyte, []), lambda lab: float(lab.reference_high)
        ):
            line = {
                "value": round(segment["value"] * multiple, 4),
                "x_from": segment["x_from"],
                "x_to": segment["x_to"],
                "label": f"{_number(liver_multiple)} × ULN",
            }
            same = next(
                (
                    known
                    for known in liver_lines
                    if (known["value"], known["x_from"], known["x_to"])
                    == (line["value"], line["x_from"], line["x_to"])
                ),
                None,
            )
            if same is None:
                line["analytes"] = [analyte]
                liver_lines.append(line)
            else:
                same["analytes"].append(analyte)
    for line in liver_lines:
        line["label"] = f"{line['label']} ({', '.join(line['analytes'])}): {line['value']:g} U/L"
    liver = {
        "label": "ALT and AST",
        "unit": "U/L",
        "series": [
            {"label": analyte, "points": _series(by_analyte.get(analyte, []))}
            for analyte in ("ALT", "AST")
        ],
        "bands": [],
        "lines": liver_lines,
    }
    charts = {
        "liver": liver,
        "tsh": _range_chart(by_analyte.get("TSH", []), "TSH"),
        "ft4": _range_chart(by_analyte.get("FT4", []), "Free T4"),
        "neutrophils": _range_chart(by_analyte.get("NEUT", []), "Neutrophils"),
        "platelets": _range_chart(by_analyte.get("PLT", []), "Platelets"),
        "edss": {
            "label": "EDSS",
            "unit": "",
            "series": [
                {
                    "label": "EDSS",
                    "points": [
                        {"x": _day_ms(e.assessed_on), "y": float(e.score)} for e in page.edss
                    ],
                }
            ],
            "bands": [],
            "lines": [],
        },
        "mri": {
            "label": "MRI lesions",
            "labels": [date_text(mri.performed_on) for mri in page.mri_studies],
            "gd": [mri.gd_enhancing_lesions for mri in page.mri_studies],
            "t2": [mri.new_or_enlarging_t2_lesions for mri in page.mri_studies],
        },
    }
    # The axes write days as the pages do (static/js/charts.js), in the clinic's zone.
    charts["time_zone"] = settings.CLINIC_TIME_ZONE
    return charts
