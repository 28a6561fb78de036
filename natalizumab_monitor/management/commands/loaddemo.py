"""Demo patients for the embedded mode: months of infusions, labs and the findings they raise.

Idempotent: a patient whose MRN exists is left as it is, and demo users are created once.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from alerts.tasks import sweep
from infusions.models import (
    ACCEPTED_DILUENT,
    DosePreparation,
    Infusion,
    InfusionStatus,
    PreInfusionChecklist,
    PreparationStatus,
    Storage,
)
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from network.models import Site
from network.services import create_site
from patients.models import EdssAssessment, Patient, Relapse, TreatmentDecision

DEMO_PASSWORD = "demo-password"  # noqa: S105 - embedded demo only, printed by `make run`
DEMO_USERS = {"nurse": NURSE, "pharmacist": PHARMACIST, "neurologist": NEUROLOGIST}
# Two infusion centres; the demo users work at both (the header's switcher).
DEMO_SITES = (
    ("LDN", "London infusion centre", "Europe/London"),
    ("AMS", "Amsterdam infusion centre", "Europe/Amsterdam"),
)
SECOND_SITE_PATIENTS = {"DEMO-0006"}

# analyte: (unit, reference low, reference high, usual value)
NORMAL_LABS = {
    "ALT": ("U/L", "7", "40", "22"),
    "AST": ("U/L", "8", "40", "24"),
    "TSH": ("m[IU]/L", "0.4", "4.0", "1.8"),
    "FT4": ("pmol/L", "12", "22", "15.5"),
    "NEUT": ("10*9/L", "2.0", "7.5", "4.1"),
    "LYMPH": ("10*9/L", "1.0", "3.5", "3.9"),
    "MONO": ("10*9/L", "0.2", "0.8", "0.7"),
    "PLT": ("10*9/L", "150", "400", "260"),
}


@dataclass(frozen=True)
class DemoPatient:
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    indication: str
    days_on_treatment: int
    pregnant: bool = False
    prior_immunosuppressants: bool = False
    story: str = ""


DEMO_PATIENTS = (
    DemoPatient(
        "DEMO-0001",
        "Margaret",
        "Okafor",
        date(1981, 4, 12),
        "female",
        "ms",
        304,
        story="latest ALT 128 U/L, 3.2 x ULN",
    ),
    DemoPatient(
        "DEMO-0002",
        "Thomas",
        "Brennan",
        date(1975, 9, 30),
        "male",
        "ms",
        426,
        story="anti-natalizumab antibodies positive twice, 8 weeks apart",
    ),
    DemoPatient(
        "DEMO-0003",
        "Priya",
        "Raman",
        date(1969, 1, 22),
        "female",
        "ms",
        913,
        prior_immunosuppressants=True,
        story="anti-JCV positive, index 1.8, 30 months on treatment",
    ),
    DemoPatient(
        "DEMO-0004",
        "Sofia",
        "Lindqvist",
        date(1993, 7, 3),
        "female",
        "ms",
        243,
        pregnant=True,
        story="pregnant",
    ),
    DemoPatient(
        "DEMO-0005",
        "David",
        "Mensah",
        date(1988, 11, 15),
        "male",
        "ms",
        196,
        story="stable, due today (every 28 days), bag ready",
    ),
    DemoPatient(
        "DEMO-0006",
        "Helen",
        "Carter",
        date(1990, 2, 8),
        "female",
        "crohns",
        91,
        story="Crohn's disease, recently started",
    ),
)


class Command(BaseCommand):
    help = "Load demo users and patients (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        staff = self._users()
        sites = self._sites(staff)
        created = 0
        for demo in DEMO_PATIENTS:
            with transaction.atomic():
                if Patient.objects.filter(mrn=demo.mrn).exists():
                    continue
                self._load(demo, staff, sites[1] if demo.mrn in SECOND_SITE_PATIENTS else sites[0])
                created += 1
        self.stdout.write(f"Demo data: {created} patients loaded, {len(DEMO_PATIENTS)} in all.")
        if created:
            # Raise the demo's alerts now and record the sweep: a fresh install looks as it will.
            swept = sweep()
            self.stdout.write(f"Alert sweep: {swept['patients']} patients evaluated.")

    def _users(self) -> dict[str, Any]:
        user_model = get_user_model()
        staff = {}
        for username, role in DEMO_USERS.items():
            user, made = user_model.objects.get_or_create(username=username)
            if made:
                user.set_password(DEMO_PASSWORD)
                user.save()
                user.groups.add(Group.objects.get(name=role))
            staff[role] = user
        return staff

    def _sites(self, staff: dict[str, Any]) -> list[Site]:
        sites = []
        for code, name, zone in DEMO_SITES:
            site = Site.objects.filter(code=code).first()
            if site is None:
                site = create_site(code=code, name=name, time_zone=zone)
            site.staff.add(*staff.values())
            sites.append(site)
        return sites

    def _load(self, demo: DemoPatient, staff: dict[str, Any], site: Site) -> None:
        now = clock.now()
        today = clock.clinic_today()
        start = today - timedelta(days=demo.days_on_treatment)
        patient = Patient.objects.create(
            site=site,
            mrn=demo.mrn,
            given_name=demo.given_name,
            family_name=demo.family_name,
            birth_date=demo.birth_date,
            sex=demo.sex,
            indication=demo.indication,
            treatment_start=start,
            schedule_weeks=4,
            pregnant=demo.pregnant,
            prior_immunosuppressants=demo.prior_immunosuppressants,
        )
        # The antibody-positive patient's routine tests stop before the first positive.
        ada_until = today - timedelta(weeks=11) if demo.mrn == "DEMO-0002" else today
        self._baseline_and_monitoring(patient, start, today, ada_until)
        self._reauthorizations(patient, start, today, staff[NEUROLOGIST])
        self._infusions(patient, start, today, staff)
        if demo.mrn == "DEMO-0001":
            self._lab(patient, "ALT", today - timedelta(days=2), value="128")
            self._lab(patient, "AST", today - timedelta(days=2), value="96")
        elif demo.mrn == "DEMO-0002":
            for weeks_ago in (10, 2):
                AntibodyTest.objects.create(
                    patient=patient,
                    target="natalizumab",
                    result="positive",
                    collected_at=_at(today - timedelta(weeks=weeks_ago)),
                )
        elif demo.mrn == "DEMO-0003":
            AntibodyTest.objects.create(
                patient=patient,
                target="jcv",
                result="positive",
                index=Decimal("1.80"),
                collected_at=_at(today - timedelta(days=40)),
            )
            Relapse.objects.create(patient=patient, onset_on=today - timedelta(days=200))
        elif demo.mrn == "DEMO-0005":
            # Due today: the bag is made up and waiting in the fridge.
            DosePreparation.objects.create(
                patient=patient,
                dose_mg=Decimal("300"),
                diluent=ACCEPTED_DILUENT,
                diluent_volume_ml=Decimal("100"),
                prepared_at=now - timedelta(minutes=40),
                storage=Storage.REFRIGERATED,
                expires_at=now + timedelta(hours=23, minutes=20),
                prepared_by=staff[PHARMACIST],
            )

    def _baseline_and_monitoring(
        self, patient: Patient, start: date, today: date, ada_until: date
    ) -> None:
        # Baseline before the first infusion, then on schedule.
        day = start - timedelta(days=7)
        while day <= today:
            for analyte in ("ALT", "AST", "NEUT", "LYMPH", "MONO", "PLT"):
                self._lab(patient, analyte, day)
            if (day - start).days % 182 < 91:
                for analyte in ("TSH", "FT4"):
                    self._lab(patient, analyte, day)
                AntibodyTest.objects.create(
                    patient=patient, target="jcv", result="negative", collected_at=_at(day)
                )
                EdssAssessment.objects.create(
                    patient=patient, score=Decimal("2.5"), assessed_on=day
                )
            day += timedelta(days=91)
        day = start + timedelta(days=84)
        while day <= ada_until:
            AntibodyTest.objects.create(
                patient=patient, target="natalizumab", result="negative", collected_at=_at(day)
            )
            day += timedelta(days=84)
        day = start - timedelta(days=14)
        while day <= today:
            MriStudy.objects.create(
                patient=patient,
                performed_on=day,
                gd_enhancing_lesions=0,
                new_or_enlarging_t2_lesions=0,
            )
            day += timedelta(days=365)

    def _reauthorizations(
        self, patient: Patient, start: date, today: date, neurologist: Any
    ) -> None:
        # The six-monthly reauthorization (REMS-REAUTH), a week before it falls due.
        day = start + timedelta(days=175)
        while day <= today:
            TreatmentDecision.objects.create(
                patient=patient,
                action="reauthorize",
                reason="Six-monthly review: continue.",
                decided_by=neurologist,
                decided_at=_at(day, 11),
            )
            day += timedelta(days=182)

    def _infusions(self, patient: Patient, start: date, today: date, staff: dict[str, Any]) -> None:
        day = start
        while day < today:
            started = _at(day, hour=10)
            bag = DosePreparation.objects.create(
                patient=patient,
                dose_mg=Decimal("300"),
                diluent=ACCEPTED_DILUENT,
                diluent_volume_ml=Decimal("100"),
                prepared_at=started - timedelta(hours=1),
                storage=Storage.ROOM,
                expires_at=started + timedelta(hours=7),
                status=PreparationStatus.USED,
                prepared_by=staff[PHARMACIST],
            )
            checklist = PreInfusionChecklist.objects.create(
                patient=patient,
                asked_by=staff[NURSE],
                asked_at=started - timedelta(minutes=20),
                authorized=True,
                new_neurological_symptoms=False,
                immunocompromised=False,
                immunosuppressants_last_month=False,
                current_infection=False,
            )
            Infusion.objects.create(
                patient=patient,
                preparation=bag,
                checklist=checklist,
                status=InfusionStatus.DISCHARGED,
                started_at=started,
                ended_at=started + timedelta(minutes=65),
                discharged_at=started + timedelta(minutes=130),
                nurse=staff[NURSE],
            )
            day += timedelta(days=28)

    def _lab(self, patient: Patient, analyte: str, day: date, value: str | None = None) -> None:
        unit, low, high, usual = NORMAL_LABS[analyte]
        LabResult.objects.create(
            patient=patient,
            analyte=analyte,
            value=Decimal(value or usual),
            unit=unit,
            reference_low=Decimal(low),
            reference_high=Decimal(high),
            collected_at=_at(day, 8),
        )


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=clock.clinic_zone())
