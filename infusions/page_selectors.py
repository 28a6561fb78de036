"""The reads behind the nurse's and the pharmacist's pages: a fixed number of queries each.

The API's reads live in selectors.py; these shape rows for the clinic pages.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)

from alerts.clearance import Clearances, clearance_for, lasting_clearances
from alerts.profile import active_config
from alerts.rules import Finding, GateResult
from natalizumab_monitor import clock
from network.models import Site
from patients.models import Patient, TreatmentStatus

from .models import (
    DosePreparation,
    Infusion,
    InfusionReaction,
    InfusionStatus,
    PreparationStatus,
    ReactionSeverity,
)

# An infusion the nurse is still busy with: waiting to start, running, or in observation.
IN_PROGRESS = (InfusionStatus.PLANNED, InfusionStatus.RUNNING, InfusionStatus.STOPPED)
STARTED = (InfusionStatus.RUNNING, InfusionStatus.STOPPED, InfusionStatus.DISCHARGED)
_ROW_ORDER = {
    InfusionStatus.RUNNING: 0,
    InfusionStatus.STOPPED: 1,
    InfusionStatus.PLANNED: 2,
    None: 3,
    InfusionStatus.DISCHARGED: 4,
}


def start_of_day(day: date) -> datetime:
    """Midnight of a clinic day, as an aware time."""
    return datetime.combine(day, time.min, tzinfo=clock.clinic_zone())


@dataclass
class TodayRow:
    patient: Patient
    due_on: date | None
    days_overdue: int
    visit: Infusion | None
    bags: list[DosePreparation]
    clearance: GateResult | None

    @property
    def status(self) -> str | None:
        return self.visit.status if self.visit else None

    @property
    def started(self) -> bool:
        """The visit's infusion has started (running, in observation or discharged)."""
        return self.status in STARTED

    @property
    def severe_reactions(self) -> list[InfusionReaction]:
        """Today's severe reactions of the visit, to show in red with their words."""
        if self.visit is None:
            return []
        reactions = self.visit.reaction_list  # type: ignore[attr-defined]
        return [r for r in reactions if r.severity == ReactionSeverity.SEVERE]


def _due_on(
    last_started_at: datetime | None, schedule_weeks: int, treatment_start: date | None
) -> date | None:
    """The next dose's day: the last start + the schedule (the course's start before any)."""
    if last_started_at is None:
        return treatment_start
    local_day = last_started_at.astimezone(clock.clinic_zone()).date()
    return local_day + timedelta(weeks=schedule_weeks)


def _days_overdue(due_on: date | None, today: date) -> int:
    return max(0, (today - due_on).days) if due_on else 0


def _at(site: Site | None, path: str = "site") -> Q:
    """The one site a nurse's or pharmacist's page is about (None: a database of no site)."""
    return Q() if site is None else Q(**{path: site})


def _patients_of(infusions: QuerySet[Infusion]) -> QuerySet[Infusion]:
    return infusions.values("patient_id")


def _last_start() -> Subquery:
    """The start of the patient's last infusion (of a patient the scoped query has already
    found: every site's manager, so that the subquery reads only the patient's own rows)."""
    return Subquery(
        Infusion.all_sites.filter(patient=OuterRef("pk"), started_at__isnull=False)
        .order_by("-started_at")
        .values("started_at")[:1]
    )


def todays_infusion_list(*, site: Site | None, today: date | None = None) -> list[TodayRow]:
    return lasting_todays_infusion_list(site=site, today=today)[0]


def lasting_todays_infusion_list(
    *, site: Site | None, today: date | None = None
) -> tuple[list[TodayRow], datetime | None]:
    """The site's patients due today or overdue by at most the overdue window, or with an
    infusion under way or done today.

    Due = the last infusion's start + schedule_weeks x 7 days (the treatment start before
    the first infusion). Discontinued courses are not due; suspended ones show, not cleared.
    Longer overdue than the window, the patient is on the neurologist's worklist instead.
    With the rows, the first moment they may change by time alone (`Clearances.until`).
    """
    today = today or clock.clinic_today()
    midnight = start_of_day(today)
    window = timedelta(days=active_config().interval_overdue_after_days)
    # Candidates found through indexes (each subquery an index-only scan of one range, no
    # patient read), so the page's cost follows the day's work, not the patients on record:
    # a course begun within the window, a visit under way or done today, a start that would
    # make the patient due within the window.
    under_way = Q(pk__in=_patients_of(Infusion.all_sites.filter(status__in=IN_PROGRESS)))
    done_today = Q(pk__in=_patients_of(Infusion.all_sites.filter(discharged_at__gte=midnight)))
    candidates = Q(treatment_start__range=(today - window, today)) | under_way | done_today
    for weeks in (4, 6):
        due_on_today = today - timedelta(weeks=weeks)
        earliest = start_of_day(due_on_today - window)
        latest = start_of_day(due_on_today + timedelta(days=1))
        started = Infusion.all_sites.filter(started_at__gte=earliest, started_at__lt=latest)
        candidates |= Q(schedule_weeks=weeks, pk__in=_patients_of(started))
    found = (
        Patient.objects.filter(candidates, _at(site))
        .annotate(
            last_started_at=_last_start(),
            busy_today=ExpressionWrapper(under_way | done_today, output_field=BooleanField()),
        )
        .values_list("pk", "last_started_at", "schedule_weeks", "treatment_start",
                     "treatment_status", "busy_today")
        .order_by()
    )  # fmt: skip
    due_on: dict[UUID, date | None] = {}
    for pk, last_started_at, weeks, treatment_start, status, busy_today in found:
        day = _due_on(last_started_at, weeks, treatment_start)
        due = day is not None and today - window <= day <= today
        if busy_today or (due and status != TreatmentStatus.DISCONTINUED):
            due_on[pk] = day
    patients = list(
        Patient.objects.filter(pk__in=list(due_on)).prefetch_related(
            Prefetch(
                "infusions",
                queryset=Infusion.objects.filter(
                    Q(status__in=IN_PROGRESS)
                    | Q(status=InfusionStatus.DISCHARGED, discharged_at__gte=midnight)
                )
                .select_related("preparation")
                # A list, not the related manager: a manager per visit would cost a scoped
                # queryset each.
                .prefetch_related(Prefetch("reactions", to_attr="reaction_list"))
                .order_by("-created_at"),
                to_attr="todays_infusions",
            ),
            Prefetch(
                "preparations",
                queryset=DosePreparation.objects.filter(
                    status=PreparationStatus.READY, infusion__isnull=True
                ).order_by("expires_at"),
                to_attr="unassigned_bags",
            ),
        )
    )
    gates = _clearances([p.id for p in patients])
    rows = []
    for patient in patients:
        visits = patient.todays_infusions  # type: ignore[attr-defined]
        in_progress = [v for v in visits if v.status in IN_PROGRESS]
        visit = in_progress[0] if in_progress else (visits[0] if visits else None)
        rows.append(
            TodayRow(
                patient=patient,
                due_on=due_on[patient.pk],
                days_overdue=_days_overdue(due_on[patient.pk], today),
                visit=visit,
                bags=patient.unassigned_bags,  # type: ignore[attr-defined]
                clearance=gates.by_patient.get(str(patient.id)),
            )
        )
    rows.sort(
        key=lambda row: (
            _ROW_ORDER[row.status],
            -row.days_overdue,
            row.patient.family_name,
            row.patient.given_name,
        )
    )
    return rows, gates.until


def _clearances(patient_ids: list[UUID]) -> Clearances:
    """The patients' clearances (none to find: no query, and none that ends)."""
    if not patient_ids:
        return Clearances({}, None)
    return lasting_clearances(sorted(patient_ids, key=str))


def checklist_page(patient_id: UUID | str) -> Patient:
    """A patient with the bags a checklist may name: ready and not given to another infusion."""
    return Patient.objects.prefetch_related(
        Prefetch(
            "preparations",
            queryset=DosePreparation.objects.filter(
                status=PreparationStatus.READY, infusion__isnull=True
            ).order_by("expires_at"),
            to_attr="unassigned_bags",
        )
    ).get(pk=patient_id)


def infusion_page(infusion_id: UUID | str) -> tuple[Infusion, GateResult | None]:
    """One infusion with its patient, bag, checklist and reactions; the gate while planned."""
    infusion = (
        Infusion.objects.select_related("patient", "preparation", "checklist", "nurse")
        .prefetch_related("reactions")
        .get(pk=infusion_id)
    )
    clearance = None
    if infusion.status == InfusionStatus.PLANNED:
        clearance = clearance_for(
            infusion.patient_id, infusion_id=infusion.id, preparation_id=infusion.preparation_id
        )
    return infusion, clearance


@dataclass
class BagRow:
    """A bag on the pharmacist's board, and why it may not be used if it may not."""

    bag: DosePreparation
    not_usable: list[str]
    patient_not_cleared: list[Finding]


def bag_board(*, site: Site | None, today: date | None = None) -> list[BagRow]:
    return lasting_bag_board(site=site, today=today)[0]


def lasting_bag_board(
    *, site: Site | None, today: date | None = None
) -> tuple[list[BagRow], datetime | None]:
    """The site's bags of today, and older bags still usable or expired today, soonest
    expiry first.

    A ready bag the rules would refuse (wrong dose or volume), or one of a suspended or
    discontinued course, is marked not usable with the reason. With the rows, the first
    moment they may change by time alone.
    """
    midnight = start_of_day(today or clock.clinic_today())
    return _lasting_bag_rows(
        DosePreparation.objects.filter(
            Q(prepared_at__gte=midnight)
            # still usable, or expired today: to be discarded
            | Q(status=PreparationStatus.READY, expires_at__gte=midnight),
            _at(site, "patient__site"),
        )
    )


def bag_rows(bags: QuerySet[DosePreparation]) -> list[BagRow]:
    """Bags as board rows, soonest expiry first, each with what makes it unusable."""
    return _lasting_bag_rows(bags)[0]


def _lasting_bag_rows(bags: QuerySet[DosePreparation]) -> tuple[list[BagRow], datetime | None]:
    bags_list = list(
        bags.select_related("patient", "infusion").order_by("expires_at", "prepared_at")
    )
    gates = _clearances(
        list({b.patient_id for b in bags_list if b.status == PreparationStatus.READY})
    )
    rows = [_bag_row(bag, gates.by_patient.get(str(bag.patient_id))) for bag in bags_list]
    return rows, gates.until


def _bag_row(bag: DosePreparation, gate: GateResult | None) -> BagRow:
    if gate is None or bag.status != PreparationStatus.READY:
        return BagRow(bag=bag, not_usable=[], patient_not_cleared=[])
    not_usable = [
        f.message
        for f in gate.visit_steps
        if f.rule.startswith("PREP-")
        and f.evidence.get("preparation_id") == str(bag.id)
        and f.rule != "PREP-STABILITY"  # the countdown shows expiry live
    ]
    status = bag.patient.treatment_status
    if status == TreatmentStatus.SUSPENDED:
        not_usable.append("Treatment is suspended: do not use until a neurologist resumes it")
    elif status == TreatmentStatus.DISCONTINUED:
        not_usable.append("Treatment is discontinued: do not use this bag")
    patient_blocks = [f for f in gate.blocking if f.rule != "INF-CHECKLIST"]
    return BagRow(bag=bag, not_usable=not_usable, patient_not_cleared=patient_blocks)


def bags_needed(*, site: Site | None) -> list[Infusion]:
    return lasting_bags_needed(site=site)[0]


def lasting_bags_needed(*, site: Site | None) -> tuple[list[Infusion], datetime | None]:
    """The site's planned visits that wait for a bag, once their checklist has cleared and
    the patient is cleared (CLINICAL_RULES.md: bags are asked for then, so no vial is wasted);
    with the first moment that may change by time alone."""
    checklist_cleared = Q(checklist__cleared_at__isnull=False) | Q(
        checklist__authorized=True,
        checklist__new_neurological_symptoms=False,
        checklist__immunocompromised=False,
        checklist__immunosuppressants_last_month=False,
        checklist__current_infection=False,
    )
    waiting = list(
        Infusion.objects.filter(
            checklist_cleared,
            _at(site, "patient__site"),
            status=InfusionStatus.PLANNED,
            preparation__isnull=True,
            patient__treatment_status=TreatmentStatus.ACTIVE,
        )
        .select_related("patient", "checklist")
        .order_by("checklist__asked_at")
    )
    gates = _clearances(list({visit.patient_id for visit in waiting}))
    cleared = [visit for visit in waiting if gates.by_patient[str(visit.patient_id)].cleared]
    return cleared, gates.until


def preparation_patients(*, site: Site | None) -> QuerySet[Patient]:
    """Whom a pharmacist may prepare a bag for: the site's courses not discontinued."""
    return (
        Patient.objects.filter(_at(site))
        .exclude(treatment_status=TreatmentStatus.DISCONTINUED)
        .order_by("family_name", "given_name", "mrn")
    )
