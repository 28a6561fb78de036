"""Generated patients at scale: realistic multi-year histories for benchmarks.

    manage.py loadscale --patients 50000 --sites 20 --years 3 --seed 1

Each patient gets about 250 records over 3 years: an infusion every 4 weeks (its checklist
and its bag), liver enzymes every other visit, a blood count every third, thyroid and
antibody tests, anti-JCV every six months, a yearly MRI, EDSS and the six-monthly
reauthorization. A few percent of patients trigger each rule (a high ALT, an overdue dose,
a positive anti-JCV with a high index, a current immunosuppressant, ...), and about one in
twenty comes for an infusion today (checklist asked, bag ready). The same seed gives the
same patients.

Rows are written with bulk inserts (COPY on PostgreSQL), a batch of patients per
transaction: no model signals run (no evaluation is queued; run the sweep afterwards). The
audit still records every row (its database triggers see COPY too), stamped as an import.
On PostgreSQL `--jobs` processes (default: 2, or the cores if fewer) write batches side by
side; inside a transaction (a test) one process writes them all.

Sites: patients are spread over `--sites` sites, S01 to S20 for 20 (made if missing, in a
few time zones, the generated staff working at each); a patient's site is also in its MRN
(`S07-...` is site S07), read back by `site_number()`. With `--sites 1` the patients join the
installation's one site (made as a one-site installation makes it, if there is none).
"""

import io
import json
import multiprocessing
import os
import queue
import random
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, models, transaction
from tqdm import tqdm

from audit import context as audit_context
from audit.models import Via
from infusions.models import DosePreparation, Infusion, InfusionReaction, PreInfusionChecklist
from labs.models import AntibodyTest, LabResult, MriStudy
from natalizumab_monitor import clock
from natalizumab_monitor.roles import NEUROLOGIST, NURSE, PHARMACIST
from network.models import Site
from network.services import create_site, site_for_new_record
from patients.models import (
    ClinicalEvent,
    EdssAssessment,
    Infection,
    Medication,
    Patient,
    Relapse,
    TreatmentDecision,
)

PATIENTS_PER_TRANSACTION = 200
STAFF = {"scale-nurse": NURSE, "scale-pharmacist": PHARMACIST, "scale-neurologist": NEUROLOGIST}
_MRN = re.compile(r"^S(\d{2,3})-")
# Sites of a generated network take these zones in turn (one UTC offset: the generated days
# are the same days at every site).
SITE_ZONES = ("Europe/London", "Europe/Dublin", "Europe/Lisbon", "Atlantic/Canary")

# analyte: (unit, reference low, reference high, usual value, spread)
LABS = {
    "ALT": ("U/L", "7", "40", 22, 8),
    "AST": ("U/L", "8", "40", 24, 7),
    "TSH": ("m[IU]/L", "0.4", "4.0", 1.8, 0.6),
    "FT4": ("pmol/L", "12", "22", 15.5, 2),
    "NEUT": ("10*9/L", "2.0", "7.5", 4.1, 1),
    "LYMPH": ("10*9/L", "1.0", "3.5", 2.9, 0.5),
    "MONO": ("10*9/L", "0.2", "0.8", 0.5, 0.1),
    "PLT": ("10*9/L", "150", "400", 260, 40),
}
GIVEN = ("Alex", "Sam", "Robin", "Charlie", "Jamie", "Kim", "Noor", "Yara", "Mika", "Lou")
FAMILY = ("Smith", "Jones", "Garcia", "Novak", "Okafor", "Larsen", "Rossi", "Kowalski", "Ito")

# The share of patients that trigger each rule (a patient may trigger several).
TRIGGERS = {
    "liver_3xuln": 0.03,
    "thyroid_abnormal": 0.02,
    "neutrophils_low": 0.02,
    "platelets_low": 0.02,
    "ada_positive": 0.02,
    "ada_persistent": 0.01,
    "pml_risk": 0.03,
    "mri_activity": 0.02,
    "relapses": 0.02,
    "edss_progression": 0.02,
    "immunosuppressant": 0.02,
    "infection": 0.01,
    "pml_signs": 0.003,
    "pregnant": 0.02,
    "breastfeeding": 0.01,
    "pediatric": 0.015,
    "elderly": 0.03,
    "dose_overdue": 0.03,
    "labs_stopped": 0.02,
    "rems_overdue": 0.02,
    "suspended": 0.02,
    "discontinued": 0.01,
    "short_infusion": 0.01,
    "early_discharge": 0.01,
    "early_dose": 0.01,
    "severe_reaction": 0.003,
    "visit_today": 0.05,
}


def site_number(mrn: str) -> int | None:
    """The generated site group (1..N) of a generated patient, from its MRN."""
    match = _MRN.match(mrn)
    return int(match.group(1)) if match else None


class Rows:
    """The rows of one transaction's patients, by model, as column values."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.by_model: dict[type[models.Model], list[dict[str, Any]]] = {}
        self.ids = random.Random(0)  # reseeded for each patient: the same seed, the same ids

    def new_id(self) -> str:
        """A random (version 4) UUID as 32 hex digits, as PostgreSQL and Django read it."""
        bits = self.ids.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)
        return f"{bits | (0x4000 << 64) | (0x8000 << 48):032x}"

    def add(self, model: type[models.Model], **values: Any) -> str:
        """A row of `model` (foreign keys by their `_id` names); returns its id."""
        if "id" not in values:
            values["id"] = self.new_id()
        for name in ("created_at", "updated_at"):
            values.setdefault(name, self.now)
        self.by_model.setdefault(model, []).append(values)
        return values["id"]

    def count(self) -> int:
        return sum(len(rows) for rows in self.by_model.values())


# Parents before children: a row's foreign keys exist when it is inserted.
INSERT_ORDER: tuple[type[models.Model], ...] = (
    Patient,
    PreInfusionChecklist,
    DosePreparation,
    Infusion,
    InfusionReaction,
    LabResult,
    AntibodyTest,
    MriStudy,
    EdssAssessment,
    Relapse,
    Medication,
    Infection,
    ClinicalEvent,
    TreatmentDecision,
)


class Command(BaseCommand):
    help = "Generate patients with realistic multi-year histories (bulk inserts), for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=1000)
        parser.add_argument("--sites", type=int, default=1, help="site groups (1 to 999)")
        parser.add_argument("--years", type=int, default=3, help="years of history (1 to 10)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--first",
            type=int,
            default=0,
            help="number of the first patient: a seed's patients can be added in steps",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--site",
            default="",
            help="put every patient at the site of this code (made if missing; Europe/London)",
        )
        parser.add_argument(
            "--visits-today",
            action="store_true",
            help="every patient on an active course comes for an infusion today (benchmarks)",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=0,
            help="processes writing side by side (PostgreSQL; default 2, or fewer cores)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, sites, years = options["patients"], options["sites"], options["years"]
        if count < 1:
            raise CommandError("--patients must be at least 1")
        if not 1 <= sites <= 999:
            raise CommandError("--sites must be between 1 and 999")
        if not 1 <= years <= 10:
            raise CommandError("--years must be between 1 and 10")
        seed, first = options["seed"], options["first"]
        if first < 0:
            raise CommandError("--first must be 0 or more")
        if Patient.objects.filter(mrn__endswith=f"-{seed}-{first:07d}").exists():
            raise CommandError(f"patient {first} of seed {seed} is loaded already")
        staff = _staff()
        if options["site"]:
            sites = 1
            codes = {1: options["site"]}
            site_ids = {1: _named_site(options["site"], staff)}
        else:
            codes = {number: site_code(number) for number in range(1, sites + 1)}
            site_ids = _sites(sites, staff)
        generator = _Generator(seed, years, staff, site_ids, codes, options["visits_today"])
        batches = [
            (start, min(start + PATIENTS_PER_TRANSACTION, first + count))
            for start in range(first, first + count, PATIENTS_PER_TRANSACTION)
        ]
        jobs = max(1, min(options["jobs"] or _default_jobs(), len(batches)))
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            jobs = 1  # SQLite writes one at a time; a test's transaction is one connection's
        written = 0
        with tqdm(
            total=count,
            unit="patient",
            desc="loadscale",
            disable=options["no_progress"],
            file=self.stderr._out,
        ) as bar:
            progress = (
                _load(generator, batches, sites)
                if jobs == 1
                else _load_in_processes(generator, batches, sites, jobs)
            )
            for patients, records in progress:
                written += records
                bar.update(patients)
        _analyze()
        self.stdout.write(f"{count} patients, {written} records ({written / count:.0f} a patient).")


def _analyze() -> None:
    """Fresh planner statistics and visibility maps, as autovacuum leaves them only later:
    after a bulk load the old statistics would have every batch's statement read whole
    tables, and every index-only scan would read the table's rows too."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in INSERT_ORDER:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")


def _default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


Batch = tuple[int, int]  # patient numbers [first, last)


def _load(generator: "_Generator", batches: list[Batch], sites: int) -> Iterator[tuple[int, int]]:
    """Generate and insert the batches, one transaction each: (patients, records) per batch."""
    with audit_context.acting(audit_context.Actor(via=Via.IMPORT)):
        for start, stop in batches:
            rows = Rows(generator.now)
            for number in range(start, stop):
                generator.patient(rows, number, site=number % sites + 1)
            with transaction.atomic():
                _insert(rows)
            yield stop - start, rows.count()


def _load_in_processes(
    generator: "_Generator", batches: list[Batch], sites: int, jobs: int
) -> Iterator[tuple[int, int]]:
    """The batches shared out over `jobs` forked processes (each its own connection)."""
    connections.close_all()  # a forked child must never share the parent's socket
    context = multiprocessing.get_context("fork")
    done: multiprocessing.Queue = context.Queue()
    workers = [
        context.Process(target=_job, args=(generator, batches[number::jobs], sites, done))
        for number in range(jobs)
    ]
    for worker in workers:
        worker.start()
    left = len(batches)
    try:
        while left:
            try:
                patients, records = done.get(timeout=1)
            except queue.Empty:
                failed = [w for w in workers if w.exitcode not in (None, 0)]
                if failed:
                    raise CommandError("a loadscale process failed (its error is above)") from None
                continue
            left -= 1
            yield patients, records
    finally:
        for worker in workers:
            if worker.is_alive() and left:
                worker.terminate()
            worker.join()


def _job(generator: "_Generator", batches: list[Batch], sites: int, done: Any) -> None:
    for figures in _load(generator, batches, sites):
        done.put(figures)
    connections.close_all()


def _insert(rows: Rows) -> None:
    """Every row of the batch: COPY on PostgreSQL (audited as an import), else bulk_create."""
    if connection.vendor != "postgresql":
        for model in INSERT_ORDER:
            model.objects.bulk_create(model(**values) for values in rows.by_model.get(model, []))
        return
    with connection.cursor() as cursor:
        # COPY passes no statement through the audit's execute wrapper: the same context,
        # set for the transaction, is what the audit's row triggers read.
        setting = audit_context.as_setting()
        if setting is not None:
            cursor.execute("SELECT set_config('audit.context', %s, true)", [setting])
        for model in INSERT_ORDER:
            values = rows.by_model.get(model)
            if not values:
                continue
            copy = _CopyFormat.of(model)
            buffer = io.StringIO()
            buffer.writelines(copy.line(row) for row in values)
            buffer.seek(0)
            cursor.copy_expert(copy.statement, buffer)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        value = json.dumps(value)
    return str(value).translate(_COPY_ESCAPES)


def _plain(value: Any) -> str:
    """Ids, numbers, dates: nothing to escape."""
    return _NULL if value is None else str(value)


def _text(value: Any) -> str:
    return _NULL if value is None else str(value).translate(_COPY_ESCAPES)


def _moment(value: Any) -> str:
    return _NULL if value is None else value.isoformat()


class _CopyFormat:
    """One model's COPY statement and how each of its columns is written (found once)."""

    _made: dict[type[models.Model], "_CopyFormat"] = {}

    @classmethod
    def of(cls, model: type[models.Model]) -> "_CopyFormat":
        if model not in cls._made:
            cls._made[model] = cls(model)
        return cls._made[model]

    def __init__(self, model: type[models.Model]) -> None:
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        columns = ", ".join(quote(field.column) for field in fields)
        self.statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        self.columns = [
            (field.attname, _copy_text(field.get_default()), self._writer(field))
            for field in fields
        ]

    @staticmethod
    def _writer(field: models.Field) -> Callable[[Any], str]:
        if isinstance(field, models.DateTimeField):
            return _moment
        if isinstance(field, models.BooleanField | models.JSONField):
            return _copy_text
        if isinstance(field, models.CharField | models.TextField):
            return _text
        return _plain

    def line(self, row: dict[str, Any]) -> str:
        return (
            "\t".join([
                write(row[name]) if name in row else default
                for name, default, write in self.columns
            ])
            + "\n"
        )  # fmt: skip


def site_code(number: int) -> str:
    """The code of generated site `number` (1..N): S01, S02, ..."""
    return f"S{number:02d}"


def _sites(count: int, staff: dict[str, Any]) -> dict[int, int]:
    """Generated site number -> Site id; the generated staff work at every one of them."""
    if count == 1:
        sites = {1: site_for_new_record()}
    else:
        existing = {site.code: site for site in Site.objects.all()}
        sites = {}
        for number in range(1, count + 1):
            code = site_code(number)
            sites[number] = existing.get(code) or create_site(
                code=code,
                name=f"Infusion centre {number}",
                time_zone=SITE_ZONES[(number - 1) % len(SITE_ZONES)],
            )
    for site in sites.values():
        site.staff.add(*staff.values())
    return {number: site.pk for number, site in sites.items()}


def _named_site(code: str, staff: dict[str, Any]) -> int:
    site = Site.objects.filter(code=code).first() or create_site(
        code=code, name=f"Infusion centre {code}", time_zone=SITE_ZONES[0]
    )
    site.staff.add(*staff.values())
    return site.pk


def _staff() -> dict[str, Any]:
    user_model = get_user_model()
    staff = {}
    for username, role in STAFF.items():
        user, made = user_model.objects.get_or_create(username=username)
        if made:
            user.set_unusable_password()
            user.save()
            user.groups.add(Group.objects.get(name=role))
        staff[role] = user
    return staff


class _Generator:
    def __init__(
        self,
        seed: int,
        years: int,
        staff: dict[str, Any],
        site_ids: dict[int, int],
        codes: dict[int, str],
        visits_today: bool = False,
    ) -> None:
        self.seed, self.years, self.staff = seed, years, staff
        self.site_ids, self.codes, self.visits_today = site_ids, codes, visits_today
        self.now = clock.now()
        self.today = clock.clinic_today()
        self.zone = clock.clinic_zone()

    def at(self, day: date, hour: float) -> datetime:
        minutes = int(hour * 60)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)

    def patient(self, rows: Rows, number: int, site: int) -> None:
        rng = random.Random(f"{self.seed}-{number}")
        rows.ids.seed(f"{self.seed}-{number}-ids")
        has = {name for name, share in TRIGGERS.items() if rng.random() < share}
        if self.visits_today:
            has.add("visit_today")
        today = self.today
        length = rng.randint(int(self.years * 365 * 0.85), self.years * 365)
        start = today - timedelta(days=length)
        age = rng.randint(15, 17) if "pediatric" in has else rng.randint(66, 80)
        if not {"pediatric", "elderly"} & has:
            age = rng.randint(20, 60)
        sex = "female" if rng.random() < 0.7 or {"pregnant", "breastfeeding"} & has else "male"
        status = "active"
        if "suspended" in has:
            status = "suspended"
        elif "discontinued" in has:
            status = "discontinued"
        patient_id = rows.add(
            Patient,
            site_id=self.site_ids[site],
            mrn=f"{self.codes[site]}-{self.seed}-{number:07d}",
            given_name=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            birth_date=today - timedelta(days=age * 365 + rng.randint(0, 364)),
            sex=sex,
            indication="ms" if rng.random() < 0.9 else "crohns",
            treatment_start=start,
            schedule_weeks=4,
            treatment_status=status,
            pregnant="pregnant" in has,
            breastfeeding="breastfeeding" in has and "pregnant" not in has,
            prior_immunosuppressants=rng.random() < 0.2,
            version=1,
        )
        History(self, rows, rng, has, patient_id=patient_id, start=start, status=status).write()


class History:
    """One patient's records from the start of treatment to today."""

    def __init__(
        self,
        generator: _Generator,
        rows: Rows,
        rng: random.Random,
        has: set[str],
        *,
        patient_id: str,
        start: date,
        status: str,
    ) -> None:
        self.g, self.rows, self.rng, self.has = generator, rows, rng, has
        self.patient_id, self.start, self.status = patient_id, start, status
        self.nurse = generator.staff[NURSE]
        self.neurologist = generator.staff[NEUROLOGIST]

    def write(self) -> None:
        visits = list(self._visit_days())
        for index, day in enumerate(visits):
            self._infusion(day, index, last=index == len(visits) - 1)
            if index % 2 == 0 and not self._labs_stopped(day):
                self._labs(day, ("ALT", "AST"))
            if index % 3 == 0 and not self._labs_stopped(day):
                self._labs(day, ("NEUT", "LYMPH", "MONO", "PLT"))
                self._antibody(day, "natalizumab", "negative")
            if index % 6 == 0:
                if not self._labs_stopped(day):
                    self._labs(day, ("TSH", "FT4"))
                    self._antibody(day, "jcv", "negative", Decimal("0.35"))
                self._edss(day, Decimal("2.5"))
                if not ("rems_overdue" in self.has and day > self.g.today - timedelta(days=200)):
                    self._decision("reauthorize", day, "Six-monthly reauthorization")
        start = self.start
        for year in range(self.g.years + 1):
            day = start - timedelta(days=20) + timedelta(days=365 * year - year * 5)
            if day <= self.g.today:
                self.rows.add(
                    MriStudy,
                    patient_id=self.patient_id,
                    performed_on=day,
                    gd_enhancing_lesions=0,
                    new_or_enlarging_t2_lesions=0,
                )
        self._triggers()
        if "visit_today" in self.has and self.status == "active":
            self._visit_today()

    def _visit_days(self) -> list[date]:
        """Every four weeks (give or take a few days), back from the last visit to the start."""
        today = self.g.today
        last = today - timedelta(days=self.rng.randint(1, 27))
        if "dose_overdue" in self.has:
            last = today - timedelta(days=self.rng.randint(40, 80))
        if self.status != "active":
            last = today - timedelta(days=self.rng.randint(60, 200))
        if "visit_today" in self.has:
            last = today - timedelta(days=28)
        days = []
        day = last
        while day >= self.start:
            days.append(day)
            gap = 28 + self.rng.choice((-2, -1, 0, 0, 0, 1, 2, 3))
            if "early_dose" in self.has and len(days) == 2:
                gap = 14  # the dose before last came two weeks after the one before it
            day -= timedelta(days=gap)
        return days[::-1]

    def _labs_stopped(self, day: date) -> bool:
        return "labs_stopped" in self.has and day > self.g.today - timedelta(days=140)

    def _infusion(self, day: date, index: int, last: bool) -> None:
        rng, g = self.rng, self.g
        asked = g.at(day, 8.5 + rng.random())
        checklist = self.rows.add(
            PreInfusionChecklist,
            patient_id=self.patient_id,
            asked_by_id=self.nurse.pk,
            asked_at=asked,
            authorized=True,
            new_neurological_symptoms=False,
            immunocompromised=False,
            immunosuppressants_last_month=False,
            current_infection=False,
        )
        prepared = asked + timedelta(minutes=20)
        bag = self.rows.add(
            DosePreparation,
            patient_id=self.patient_id,
            dose_mg=Decimal("300"),
            diluent="0.9% NaCl",
            diluent_volume_ml=Decimal("100"),
            prepared_at=prepared,
            storage="room",
            status="used",
            expires_at=prepared + timedelta(hours=8),
            prepared_by_id=g.staff[PHARMACIST].pk,
        )
        started = prepared + timedelta(minutes=30)
        minutes = 60 + rng.randint(0, 15)
        observed = 60 + rng.randint(0, 10)
        if last and "short_infusion" in self.has:
            minutes = 45
        if last and "early_discharge" in self.has:
            observed = 30
        infusion = self.rows.add(
            Infusion,
            patient_id=self.patient_id,
            preparation_id=bag,
            checklist_id=checklist,
            status="discharged",
            started_at=started,
            ended_at=started + timedelta(minutes=minutes),
            discharged_at=started + timedelta(minutes=minutes + observed),
            nurse_id=self.nurse.pk,
        )
        if last and "severe_reaction" in self.has:
            self.rows.add(
                InfusionReaction,
                infusion_id=infusion,
                severity="severe",
                symptoms=["anaphylaxis"],
                onset_at=started + timedelta(minutes=25),
                recorded_by_id=self.nurse.pk,
            )

    def _labs(self, day: date, analytes: tuple[str, ...], **values: float) -> None:
        for analyte in analytes:
            unit, low, high, usual, spread = LABS[analyte]
            value = values.get(analyte, max(usual + self.rng.gauss(0, spread / 2), 0.1))
            self.rows.add(
                LabResult,
                patient_id=self.patient_id,
                analyte=analyte,
                value=Decimal(f"{value:.2f}"),
                unit=unit,
                reference_low=Decimal(low),
                reference_high=Decimal(high),
                collected_at=self.g.at(day, 8),
            )

    def _antibody(self, day: date, target: str, result: str, index: Decimal | None = None) -> None:
        self.rows.add(
            AntibodyTest,
            patient_id=self.patient_id,
            target=target,
            result=result,
            index=index,
            collected_at=self.g.at(day, 8),
        )

    def _edss(self, day: date, score: Decimal) -> None:
        self.rows.add(EdssAssessment, patient_id=self.patient_id, score=score, assessed_on=day)

    def _decision(self, action: str, day: date, reason: str, rule: str = "") -> None:
        self.rows.add(
            TreatmentDecision,
            patient_id=self.patient_id,
            action=action,
            reason=reason,
            rule=rule,
            decided_by_id=self.neurologist.pk,
            decided_at=self.g.at(day, 16),
        )

    def _triggers(self) -> None:
        """The records that make this patient's rules fire, dated in the last weeks."""
        today, rng, has = self.g.today, self.rng, self.has
        recent = today - timedelta(days=rng.randint(2, 20))
        if "liver_3xuln" in has:
            self._labs(recent, ("ALT",), ALT=40 * 3.5)
        if "thyroid_abnormal" in has:
            self._labs(recent, ("TSH",), TSH=8.2)
        if "neutrophils_low" in has:
            self._labs(recent, ("NEUT",), NEUT=0.8)
        if "platelets_low" in has:
            self._labs(recent, ("PLT",), PLT=80)
        if "ada_persistent" in has:
            self._antibody(recent - timedelta(days=50), "natalizumab", "positive")
            self._antibody(recent, "natalizumab", "positive")
        elif "ada_positive" in has:
            self._antibody(recent, "natalizumab", "positive")
        if "pml_risk" in has:
            self._antibody(recent, "jcv", "positive", Decimal("2.10"))
        if "mri_activity" in has:
            self.rows.add(
                MriStudy,
                patient_id=self.patient_id,
                performed_on=recent,
                gd_enhancing_lesions=2,
                new_or_enlarging_t2_lesions=1,
            )
        if "relapses" in has:
            for days in (200, 30):
                self.rows.add(
                    Relapse, patient_id=self.patient_id, onset_on=today - timedelta(days=days)
                )
        if "edss_progression" in has:
            self._edss(recent, Decimal("4.0"))
        if "immunosuppressant" in has:
            self.rows.add(
                Medication,
                patient_id=self.patient_id,
                name="Azathioprine",
                category="immunosuppressant",
                started_on=recent,
            )
        if "infection" in has:
            self.rows.add(
                Infection, patient_id=self.patient_id, description="Pneumonia", onset_on=recent
            )
        if "pml_signs" in has:
            self.rows.add(
                ClinicalEvent, patient_id=self.patient_id, kind="pml-signs", observed_on=recent
            )
        if self.status == "suspended":
            self._decision("suspend", recent, "Suspended pending review")
        elif self.status == "discontinued":
            self._decision("discontinue", recent, "Discontinued: patient's choice")

    def _visit_today(self) -> None:
        """A patient on today's list: checklist asked, a bag ready (or nearly expired)."""
        g, rng = self.g, self.rng
        asked = g.now - timedelta(minutes=rng.randint(5, 90))
        checklist = self.rows.add(
            PreInfusionChecklist,
            patient_id=self.patient_id,
            asked_by_id=self.nurse.pk,
            asked_at=asked,
            authorized=True,
            new_neurological_symptoms=rng.random() < 0.05,
            immunocompromised=False,
            immunosuppressants_last_month=False,
            current_infection=False,
        )
        hours_ago = 7.5 if rng.random() < 0.1 else rng.uniform(0.2, 3)
        prepared = g.now - timedelta(hours=hours_ago)
        bag = self.rows.add(
            DosePreparation,
            patient_id=self.patient_id,
            dose_mg=Decimal("300"),
            diluent="0.9% NaCl" if rng.random() > 0.05 else "5% glucose",
            diluent_volume_ml=Decimal("100"),
            prepared_at=prepared,
            storage="room",
            status="ready",
            expires_at=prepared + timedelta(hours=8),
            prepared_by_id=g.staff[PHARMACIST].pk,
        )
        self.rows.add(
            Infusion,
            patient_id=self.patient_id,
            preparation_id=bag,
            checklist_id=checklist,
            status="planned",
            nurse_id=self.nurse.pk,
        )
