"""A synthetic population and each agency's records about it: seeded, reproducible, and nobody real.

The truth is a list of people in households. Each agency knows only some families, and knows them its
own way: a misspelt name, a nickname, a missing NHS number, an old address. That is what makes matching a
judgement. `scripted_cases()` adds fixed families whose records the tests rely on.

Output per agency: table name -> rows, with exactly the columns of that desk's own tables.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from mash_contracts import Agency
from mash_desk import discovered
from mash_desk.synthetic import Person, SyntheticRecords

from .synthetic import synthetic_nhs_number

# Each installed desk's own record generator (its `synthetic.py`), by agency, in the vocabulary's order.
GENERATORS: dict[str, SyntheticRecords] = {a.value: d.synthetic for a, d in discovered().items() if d.synthetic is not None}
AGENCIES = tuple(GENERATORS)
PREFIX = {agency: g.prefix for agency, g in GENERATORS.items()}
Tables = dict[str, dict[str, list[dict]]]


@dataclass
class Population:
    people: list[Person]
    households: dict[str, list[str]]
    agencies: Tables

    def families(self) -> list[list[Person]]:
        """Households with at least one child, their members together: who a referral is about."""
        by: dict[str, list[Person]] = {}
        for person in self.people:
            by.setdefault(person.household_id, []).append(person)
        return [people for people in by.values() if any(p.role_in_household == "child" for p in people)]


@dataclass
class ScriptedCase:
    name: str
    people: list[Person]
    agencies: Tables
    subjects: list[dict]


class _World:
    """The people's side of the synthetic world: households drawn from one stream; each agency's records from its own."""

    def __init__(self, seed: int, today: date):
        self.rng = random.Random(seed)
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.today = today
        self.agencies = {}
        for agency, generator in GENERATORS.items():
            fake = Faker("en_GB")
            # Seeded by the agency's place in the vocabulary, which never changes, not by how many desks are
            # installed: adding a desk leaves every other agency's records as they were.
            fake.seed_instance(seed * 1000 + list(Agency).index(Agency(agency)))
            self.agencies[agency] = generator.start(agency, seed, today, fake)


def build_population(seed: int, families: int, today: date = date(2026, 11, 16)) -> Population:
    w = _World(seed, today)
    people: list[Person] = []
    households: dict[str, list[str]] = {}
    for h in range(1, families + 1):
        members = _household(w, f"H{seed % 1000:03d}{h:05d}", len(people))
        people += members
        households[members[0].household_id] = [m.person_id for m in members]
        _records(w, members)
    return Population(people, households, {a: w.agencies[a].tables for a in GENERATORS})


def _household(w: _World, household_id: str, start: int) -> list[Person]:
    family = w.fake.last_name()
    line1, town, postcode = w.fake.street_address().split("\n")[0], w.fake.city(), w.fake.postcode()
    members: list[Person] = []

    def person(
        role: str, min_age: int, max_age: int, nhs_rate: float, sex: str | None = None, family_name: str = family
    ) -> Person:
        sex = sex or w.rng.choice("FM")
        given = w.fake.first_name_female() if sex == "F" else w.fake.first_name_male()
        dob = w.today - timedelta(days=w.rng.randint(min_age * 365, max_age * 365 + 364))
        p = Person(
            f"P{start + len(members) + 1:06d}",
            given,
            family_name,
            dob,
            sex,
            synthetic_nhs_number(w.rng) if w.rng.random() < nhs_rate else None,
            line1,
            town,
            postcode,
            household_id,
            role,
        )
        members.append(p)
        return p

    person("parent_carer", 19, 50, 0.6, sex="F" if w.rng.random() < 0.8 else "M")
    if w.rng.random() < 0.6:
        person("partner", 19, 55, 0.6, family_name=family if w.rng.random() < 0.5 else w.fake.last_name())
    for _ in range(w.rng.randint(1, 4)):
        # Under 17 on the population's date, so every child is still a child (under 18) for a year after it:
        # the front door refuses a "child" aged 18 or over.
        person("child", 0, 16, 0.8)
    return members


def _records(w: _World, members: list[Person]) -> None:
    """Each agency, on its own streams, decides whether it knows the household and writes what it records."""
    adults = [m for m in members if m.role_in_household != "child"]
    children = [m for m in members if m.role_in_household == "child"]
    for agency, generator in GENERATORS.items():
        records = w.agencies[agency]
        if records.rng.random() < generator.known_by:
            generator.write(records, adults, children)


def merge(population: Population, cases: list[ScriptedCase]) -> Tables:
    tables: Tables = {a: {t: list(rows) for t, rows in population.agencies.get(a, {}).items()} for a in AGENCIES}
    for case in cases:
        for agency, agency_tables in case.agencies.items():
            for table, rows in agency_tables.items():
                tables[agency].setdefault(table, []).extend(rows)
    return tables


def write_population(path: Path, tables: Tables | Population) -> None:
    agencies = tables.agencies if isinstance(tables, Population) else tables
    path.write_text(json.dumps({"agencies": agencies}, default=str))


def load_agency_tables(path: Path, agency: str) -> dict[str, list[dict]]:
    return json.loads(path.read_text())["agencies"].get(agency, {})


def as_dict(person: Person) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(person).items()}


# -- scripted cases: fixed families whose records the tests and the demo rely on ------------------------


class _Case:
    def __init__(self, name: str, today: date, town: str, line1: str, postcode: str):
        self.name, self.today = name, today
        self.home = (line1, town, postcode)
        self.people: list[Person] = []
        self.agencies: Tables = {}
        self.subjects: list[dict] = []

    def ago(self, days: int) -> str:
        return (self.today - timedelta(days=days)).isoformat()

    def person(self, pid: str, given: str, family: str, years: float, sex: str, nhs: str | None, role: str) -> Person:
        dob = self.today - timedelta(days=round(years * 365.25))
        p = Person(pid, given, family, dob, sex, nhs, *self.home, f"H{self.name}", role)
        self.people.append(p)
        return p

    def subject(self, ref: str, role: str, p: Person, nhs: bool = True) -> None:
        line1, town, postcode = self.home
        self.subjects.append(
            {
                "subject_ref": ref,
                "role": role,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "date_of_birth": p.date_of_birth.isoformat(),
                "nhs_number": p.nhs_number if nhs else None,
                "address": {"line1": line1, "town": town, "postcode": postcode},
            }
        )

    def known(self, agency: str, p: Person, **changes) -> str:
        local = f"{PREFIX[agency]}-{p.person_id}"
        row = {
            "person_id": local,
            "given_name": p.given_name,
            "family_name": p.family_name,
            "date_of_birth": p.date_of_birth.isoformat(),
            "nhs_number": p.nhs_number,
            "address_line1": p.address_line1,
            "postcode": p.postcode,
            "true_person_id": p.person_id,
        }
        row.update(changes)
        self.row(agency, "people", row)
        return local

    def row(self, agency: str, table: str, row: dict) -> None:
        self.agencies.setdefault(agency, {}).setdefault(table, []).append(row)

    def gp(self, p: Person, practice: str = "Millbrook Medical Practice") -> str:
        local = self.known("health", p)
        self.row(
            "health",
            "gp_registrations",
            {"registration_id": f"GP-{p.person_id}", "person_id": local, "practice": practice, "registered_on": self.ago(1500)},
        )
        return local

    def school(self, p: Person, school: str, attendance_pct: float) -> str:
        local = self.known("education", p)
        self.row(
            "education",
            "enrolments",
            {"enrolment_id": f"ENR-{p.person_id}", "child_id": local, "school": school, "enrolled_on": self.ago(800)},
        )
        self.row(
            "education",
            "attendance",
            {"attendance_id": f"ATT-{p.person_id}", "child_id": local, "term": "2026 autumn", "attendance_pct": attendance_pct},
        )
        return local

    def done(self) -> ScriptedCase:
        return ScriptedCase(self.name, self.people, self.agencies, self.subjects)


def scripted_cases(today: date = date(2026, 11, 16)) -> list[ScriptedCase]:
    return [
        f(today)
        for f in (
            _da_household,
            _neglect_old_intel,
            _open_cp_plan,
            *ADULT_CASES,  # early enough that the demo's ten referrals include adults at risk and a mixed household
            _uncertain_match,
            _unknown_family,
            _consent_refused,
            *PRACTICE_CASES,
            _pre_birth_previous_removal,
        )
    ]


def _da_household(today: date) -> ScriptedCase:
    c = _Case("da_household", today, "Millbrook", "14 Larch Close", "MB1 4LC")
    child = c.person("S001", "Poppy", "Ashdown", 6.2, "F", "9990001014", "child")
    mother = c.person("S002", "Rachel", "Ashdown", 34.5, "F", "9990002010", "parent_carer")
    partner = c.person("S003", "Craig", "Donnelly", 37.1, "M", None, "partner")
    pol_child, pol_mother = c.known("police", child), c.known("police", mother)
    pol_partner = c.known("police", partner, family_name="Donnolly")  # misspelt by the police, and no NHS number
    for i, days in enumerate((40, 250, 900), start=1):  # the oldest is shared only under s47
        c.row(
            "police",
            "incidents",
            {
                "incident_id": f"INC-S00{i}",
                "occurred_on": c.ago(days),
                "kind": "domestic_abuse",
                "victim_id": pol_mother,
                "perpetrator_id": pol_partner,
                "children_present": True,
                "child_ids": [pol_child],
                "risk_grading": ["high", "medium", "standard"][i - 1],
                "summary": "Officers attended a report of shouting and an assault at the home",
            },
        )
    c.row(
        "police",
        "arrests",
        {
            "arrest_id": "ARR-S001",
            "person_id": pol_partner,
            "occurred_on": c.ago(365),
            "offence": "assault",
            "outcome": "charged",
        },
    )
    c.row(
        "police",
        "intelligence",
        {
            "intel_id": "INT-S001",
            "subject_id": pol_partner,
            "recorded_on": c.ago(6 * 365),
            "summary": "Reported to be dealing from a vehicle",
            "not_for_disclosure": False,
            "handling_code": "P",
        },
    )
    c.row(
        "police",
        "intelligence",
        {
            "intel_id": "INT-S002",
            "subject_id": pol_partner,
            "recorded_on": c.ago(20),
            "summary": "Covert operation in progress",
            "not_for_disclosure": True,
            "handling_code": "S",
        },
    )
    hlt_child, hlt_mother = c.gp(child), c.gp(mother)
    c.row(
        "health",
        "health_visitor_contacts",
        {
            "contact_id": "HV-S001",
            "child_id": hlt_child,
            "contact_on": c.ago(120),
            "practitioner_role": "school_nurse",
            "summary": "Reception year health check",
        },
    )
    c.row(
        "health",
        "mental_health_contacts",
        {
            "contact_id": "MH-S001",
            "person_id": hlt_mother,
            "service": "perinatal mental health team",
            "contact_on": c.ago(200),
            "summary": "Anxiety; discharged to GP",
        },
    )
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    c.subject("adult2", "alleged_perpetrator", partner, nhs=False)
    return c.done()


def _neglect_old_intel(today: date) -> ScriptedCase:
    c = _Case("neglect_old_intel", today, "Eastleigh Vale", "7 Quarry Road", "EV3 7QR")
    child = c.person("S011", "Jayden", "Pryce", 9.4, "M", "9990011028", "child")
    father = c.person("S012", "Martin", "Pryce", 42.0, "M", None, "parent_carer")
    pol_father = c.known("police", father)
    c.row(
        "police",
        "intelligence",
        {
            "intel_id": "INT-S011",
            "subject_id": pol_father,
            "recorded_on": c.ago(5 * 365),
            "summary": "Seen with people linked to handling stolen goods",
            "not_for_disclosure": False,
            "handling_code": "C",
        },
    )
    c.row(
        "police",
        "arrests",
        {
            "arrest_id": "ARR-S011",
            "person_id": pol_father,
            "occurred_on": c.ago(8 * 365),
            "offence": "assault",
            "outcome": "caution",
        },
    )
    csc_child = c.known("childrens_social_care", child)
    c.row(
        "childrens_social_care",
        "referrals",
        {
            "referral_id": "CSCREF-S011",
            "child_id": csc_child,
            "received_on": c.ago(730),
            "reason": "neglect",
            "outcome": "early help",
        },
    )
    edu_child = c.known("education", child)
    c.row(
        "education",
        "enrolments",
        {"enrolment_id": "ENR-S011", "child_id": edu_child, "school": "Eastleigh Vale Primary", "enrolled_on": c.ago(1900)},
    )
    c.row(
        "education",
        "attendance",
        {"attendance_id": "ATT-S011", "child_id": edu_child, "term": "2026 autumn", "attendance_pct": 71.0},
    )
    c.row(
        "education",
        "safeguarding_log",
        {
            "entry_id": "SGL-S011",
            "child_id": edu_child,
            "logged_on": c.ago(60),
            "summary": "Pupil regularly hungry at breakfast club",
        },
    )
    c.gp(child)
    c.gp(father)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", father)
    return c.done()


def _open_cp_plan(today: date) -> ScriptedCase:
    c = _Case("open_cp_plan", today, "Hollins Green", "22 Wren Street", "HG5 2WS")
    child = c.person("S021", "Isla", "Morgan", 3.3, "F", "9990021015", "child")
    mother = c.person("S022", "Leanne", "Morgan", 27.8, "F", "9990022011", "parent_carer")
    csc_child = c.known("childrens_social_care", child)
    c.row(
        "childrens_social_care",
        "cp_plans",
        {"plan_id": "CP-S021", "child_id": csc_child, "started_on": c.ago(120), "ended_on": None, "category": "neglect"},
    )
    c.row(
        "childrens_social_care",
        "cases",
        {
            "case_id": "CASE-S021",
            "child_id": csc_child,
            "opened_on": c.ago(150),
            "closed_on": None,
            "team": "Family Safeguarding Team 2",
            "allocated_worker": "Social worker 17",
        },
    )
    hlt_child = c.gp(child)
    c.gp(mother)
    for i, days in enumerate((30, 95), start=1):
        c.row(
            "health",
            "missed_appointments",
            {"appointment_id": f"DNA-S02{i}", "person_id": hlt_child, "due_on": c.ago(days), "clinic": "community paediatrics"},
        )
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _uncertain_match(today: date) -> ScriptedCase:
    c = _Case("uncertain_match", today, "Orford", "2 Orchard Row", "OR2 6RW")
    child = c.person("S031", "Ellie", "Baxter", 7.1, "F", "9990031010", "child")
    mother = c.person("S032", "Sophie", "Baxter", 36.4, "F", None, "parent_carer")
    # Two people the police know who resemble the mother; the mother herself is not known to the police.
    year_out = mother.date_of_birth.replace(year=mother.date_of_birth.year - 1)
    c.row(
        "police",
        "people",
        {
            "person_id": "POL-S033",
            "given_name": "Sophie",
            "family_name": "Baxter",
            "date_of_birth": year_out.isoformat(),
            "nhs_number": None,
            "address_line1": "90 Canal Side",
            "postcode": "ZX9 1AA",
            "true_person_id": "S033",
        },
    )
    c.row(
        "police",
        "people",
        {
            "person_id": "POL-S034",
            "given_name": "Sohpie",
            "family_name": "Baxter",
            "date_of_birth": mother.date_of_birth.isoformat(),
            "nhs_number": None,
            "address_line1": "5 Mill Yard",
            "postcode": "QR7 3TT",
            "true_person_id": "S034",
        },
    )
    for i, (victim, days) in enumerate((("POL-S033", 100), ("POL-S034", 300)), start=1):
        c.row(
            "police",
            "people",
            {
                "person_id": f"POL-S03{4 + i}",
                "given_name": "Lee",
                "family_name": "Carver",
                "date_of_birth": c.ago(14000),
                "nhs_number": None,
                "address_line1": "1 Elsewhere",
                "postcode": "ZZ1 1ZZ",
                "true_person_id": f"S03{4 + i}",
            },
        )
        c.row(
            "police",
            "incidents",
            {
                "incident_id": f"INC-S03{i}",
                "occurred_on": c.ago(days),
                "kind": "domestic_abuse",
                "victim_id": victim,
                "perpetrator_id": f"POL-S03{4 + i}",
                "children_present": False,
                "child_ids": [],
                "risk_grading": "medium",
                "summary": "Domestic incident reported by a neighbour",
            },
        )
    c.gp(child, "Orford Surgery")
    c.gp(mother, "Orford Surgery")
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _unknown_family(today: date) -> ScriptedCase:
    c = _Case("unknown_family", today, "Westcombe", "31 Ferry Lane", "WC4 3FL")
    child = c.person("S041", "Theo", "Lindqvist", 10.2, "M", "9990041016", "child")
    parent = c.person("S042", "Anya", "Lindqvist", 39.9, "F", "9990042012", "parent_carer")
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", parent)
    return c.done()


def _consent_refused(today: date) -> ScriptedCase:
    c = _Case("consent_refused_s17", today, "Kingsmere", "8 Beech Walk", "KM6 8BW")
    child = c.person("S051", "Mia", "Okafor", 5.5, "F", "9990051011", "child")
    mother = c.person("S052", "Grace", "Okafor", 31.0, "F", "9990052018", "parent_carer")
    hlt_mother = c.gp(mother, "Kingsmere Health Centre")
    c.gp(child, "Kingsmere Health Centre")
    c.row(
        "health",
        "mental_health_contacts",
        {
            "contact_id": "MH-S051",
            "person_id": hlt_mother,
            "service": "community mental health team",
            "contact_on": c.ago(90),
            "summary": "Low mood; under review",
        },
    )
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


# -- practice cases: households for tests/integration/test_practice_mesh.py, each a row of the practice table
# (tests/unit/test_practice_table.py) with the agency records that row's findings come from.


def _practice_first_da_refused(today: date) -> ScriptedCase:
    """A first domestic abuse incident, consent refused: the police hold the incident and share it whatever the consent."""
    c = _Case("practice_first_da_refused", today, "Saltmarsh", "3 Heron Way", "SM2 3HW")
    child = c.person("S101", "Keira", "Tollemache", 6.3, "F", "9991010017", "child")
    mother = c.person("S102", "Dawn", "Tollemache", 29.4, "F", "9991020012", "parent_carer")
    partner = c.person("S103", "Rhys", "Penhallow", 33.0, "M", None, "partner")
    pol_child, pol_mother, pol_partner = (c.known("police", p) for p in (child, mother, partner))
    c.row(
        "police",
        "incidents",
        {
            "incident_id": "INC-S101",
            "occurred_on": c.ago(45),
            "kind": "domestic_abuse",
            "victim_id": pol_mother,
            "perpetrator_id": pol_partner,
            "children_present": True,
            "child_ids": [pol_child],
            "risk_grading": "standard",
            "summary": "Verbal argument at the home reported by a neighbour",
        },
    )
    c.gp(child, "Saltmarsh Surgery")
    c.gp(mother, "Saltmarsh Surgery")
    c.school(child, "Saltmarsh Primary", 96.0)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    c.subject("adult2", "alleged_perpetrator", partner, nhs=False)
    return c.done()


def _practice_neglect_refused_history(today: date) -> ScriptedCase:
    """Neglect, consent refused; social care holds a previous child protection plan that only s47 grounds reach."""
    c = _Case("practice_neglect_refused_history", today, "Tamerton", "41 Sorrel Drive", "TM7 1SD")
    child = c.person("S111", "Harvey", "Quartermaine", 8.1, "M", "9991100016", "child")
    mother = c.person("S112", "Nicola", "Quartermaine", 35.2, "F", "9991110011", "parent_carer")
    csc_child = c.known("childrens_social_care", child)
    c.row(
        "childrens_social_care",
        "referrals",
        {
            "referral_id": "CSCREF-S111",
            "child_id": csc_child,
            "received_on": c.ago(1000),
            "reason": "neglect",
            "outcome": "s47 enquiry",
        },
    )
    c.row(
        "childrens_social_care",
        "cp_plans",
        {"plan_id": "CP-S111", "child_id": csc_child, "started_on": c.ago(950), "ended_on": c.ago(600), "category": "neglect"},
    )
    c.gp(child, "Tamerton Health Centre")
    c.gp(mother, "Tamerton Health Centre")
    c.school(child, "Tamerton Primary", 93.0)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_pmh_baby_not_sought(today: date) -> ScriptedCase:
    """A mother's low mood with a baby, consent not sought; health holds her perinatal mental health contact."""
    c = _Case("practice_pmh_baby_not_sought", today, "Brackwater", "9 Kestrel Court", "BW1 9KC")
    baby = c.person("S121", "Orla", "Brackenbury", 0.5, "F", "9991200010", "child")
    mother = c.person("S122", "Hannah", "Brackenbury", 24.6, "F", "9991210016", "parent_carer")
    hlt_baby, hlt_mother = c.gp(baby, "Brackwater Surgery"), c.gp(mother, "Brackwater Surgery")
    c.row(
        "health",
        "health_visitor_contacts",
        {
            "contact_id": "HV-S121",
            "child_id": hlt_baby,
            "contact_on": c.ago(40),
            "practitioner_role": "health_visitor",
            "summary": "Six-month development review",
        },
    )
    c.row(
        "health",
        "mental_health_contacts",
        {
            "contact_id": "MH-S122",
            "person_id": hlt_mother,
            "service": "perinatal mental health team",
            "contact_on": c.ago(100),
            "summary": "Postnatal depression; under review",
        },
    )
    c.subject("child1", "child", baby)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_cce_not_sought(today: date) -> ScriptedCase:
    """County lines at 15, consent not sought: missing episodes, exclusion and absence on record."""
    c = _Case("practice_cce_not_sought", today, "Redruthen", "17 Foundry Row", "RD4 7FR")
    child = c.person("S131", "Kai", "Ravensworth", 15.3, "M", "9991220011", "child")
    mother = c.person("S132", "Michelle", "Ravensworth", 41.0, "F", "9991230017", "parent_carer")
    pol_child = c.known("police", child)
    c.known("police", mother)
    for i, days in enumerate((30, 75), start=1):
        c.row(
            "police",
            "missing_reports",
            {
                "report_id": f"MIS-S13{i}",
                "person_id": pol_child,
                "reported_on": c.ago(days),
                "returned_on": c.ago(days - 1),
                "summary": "Missing overnight, found in another town",
            },
        )
    c.row(
        "police",
        "intelligence",
        {
            "intel_id": "INT-S131",
            "subject_id": pol_child,
            "recorded_on": c.ago(50),
            "summary": "Seen at an address linked to drug supply",
            "not_for_disclosure": False,
            "handling_code": "C",
        },
    )
    edu_child = c.school(child, "Redruthen Academy", 78.0)
    c.row(
        "education",
        "exclusions",
        {
            "exclusion_id": "EXC-S131",
            "child_id": edu_child,
            "excluded_on": c.ago(100),
            "kind": "fixed",
            "reason": "carrying a weapon",
        },
    )
    c.gp(child, "Redruthen Medical Practice")
    c.gp(mother, "Redruthen Medical Practice")
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_cse_17(today: date) -> ScriptedCase:
    """Sexual exploitation of a 17-year-old: children's services and, transitionally, adult safeguarding."""
    c = _Case("practice_cse_17", today, "Porthallow", "2 Quay Steps", "PH3 2QS")
    young = c.person("S141", "Tegan", "Carrow", 17.2, "F", "9991240012", "child")
    mother = c.person("S142", "Lorraine", "Carrow", 44.0, "F", "9991250018", "parent_carer")
    pol_young = c.known("police", young)
    c.row(
        "police",
        "missing_reports",
        {
            "report_id": "MIS-S141",
            "person_id": pol_young,
            "reported_on": c.ago(20),
            "returned_on": c.ago(19),
            "summary": "Missing overnight, returned by an adult not known to the family",
        },
    )
    c.gp(young, "Porthallow Surgery")
    c.gp(mother, "Porthallow Surgery")
    c.school(young, "Porthallow College", 88.0)
    c.subject("child1", "child", young)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_repeat_da(today: date) -> ScriptedCase:
    """Repeat domestic abuse with a 4-year-old in the home: two incidents in the last year on police record."""
    c = _Case("practice_repeat_da", today, "Lanivet Cross", "28 Mill Lane", "LC2 8ML")
    child = c.person("S151", "Alfie", "Penberthy", 4.4, "M", "9991260013", "child")
    mother = c.person("S152", "Gemma", "Penberthy", 27.9, "F", "9991270019", "parent_carer")
    partner = c.person("S153", "Dean", "Holloway", 31.5, "M", None, "partner")
    pol_child, pol_mother, pol_partner = (c.known("police", p) for p in (child, mother, partner))
    for i, (days, grading) in enumerate(((70, "medium"), (300, "standard")), start=1):
        c.row(
            "police",
            "incidents",
            {
                "incident_id": f"INC-S15{i}",
                "occurred_on": c.ago(days),
                "kind": "domestic_abuse",
                "victim_id": pol_mother,
                "perpetrator_id": pol_partner,
                "children_present": True,
                "child_ids": [pol_child],
                "risk_grading": grading,
                "summary": "Officers attended an assault at the home",
            },
        )
    hlt_child = c.gp(child, "Lanivet Surgery")
    c.gp(mother, "Lanivet Surgery")
    c.row(
        "health",
        "health_visitor_contacts",
        {
            "contact_id": "HV-S151",
            "child_id": hlt_child,
            "contact_on": c.ago(200),
            "practitioner_role": "health_visitor",
            "summary": "Pre-school development review",
        },
    )
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    c.subject("adult2", "alleged_perpetrator", partner, nhs=False)
    return c.done()


def _practice_neglect_absence_dna(today: date) -> ScriptedCase:
    """Neglect with persistent absence from school and missed health appointments."""
    c = _Case("practice_neglect_absence_dna", today, "Garrowby", "5 Tannery Walk", "GB6 5TW")
    child = c.person("S161", "Callum", "Ferrabee", 9.2, "M", "9991280014", "child")
    father = c.person("S162", "Stuart", "Ferrabee", 38.0, "M", "9991300015", "parent_carer")
    hlt_child = c.gp(child, "Garrowby Medical Practice")
    c.gp(father, "Garrowby Medical Practice")
    for i, days in enumerate((40, 150), start=1):
        c.row(
            "health",
            "missed_appointments",
            {
                "appointment_id": f"DNA-S16{i}",
                "person_id": hlt_child,
                "due_on": c.ago(days),
                "clinic": "community dental service",
            },
        )
    c.school(child, "Garrowby Primary", 82.0)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", father)
    return c.done()


def _practice_neglect_open_cp(today: date) -> ScriptedCase:
    """A new neglect concern about a child already on a child protection plan."""
    c = _Case("practice_neglect_open_cp", today, "Trevose", "12 Lighthouse Road", "TV8 1LR")
    child = c.person("S171", "Maisie", "Trelawney", 5.1, "F", "9991310010", "child")
    mother = c.person("S172", "Kerry", "Trelawney", 30.0, "F", "9991320016", "parent_carer")
    csc_child = c.known("childrens_social_care", child)
    c.row(
        "childrens_social_care",
        "cp_plans",
        {"plan_id": "CP-S171", "child_id": csc_child, "started_on": c.ago(90), "ended_on": None, "category": "emotional"},
    )
    c.row(
        "childrens_social_care",
        "cases",
        {
            "case_id": "CASE-S171",
            "child_id": csc_child,
            "opened_on": c.ago(110),
            "closed_on": None,
            "team": "Family Safeguarding Team 4",
            "allocated_worker": "Social worker 9",
        },
    )
    c.gp(child, "Trevose Surgery")
    c.gp(mother, "Trevose Surgery")
    c.school(child, "Trevose Primary", 94.0)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_repeat_missing(today: date) -> ScriptedCase:
    """A 14-year-old missing again, with three missing episodes on police record."""
    c = _Case("practice_repeat_missing", today, "Hendra", "60 Chapel Hill", "HD5 6CH")
    child = c.person("S181", "Jordan", "Pellow", 14.3, "M", "9991330011", "child")
    mother = c.person("S182", "Tracey", "Pellow", 40.0, "F", "9991340017", "parent_carer")
    pol_child = c.known("police", child)
    for i, days in enumerate((15, 60, 200), start=1):
        c.row(
            "police",
            "missing_reports",
            {
                "report_id": f"MIS-S18{i}",
                "person_id": pol_child,
                "reported_on": c.ago(days),
                "returned_on": c.ago(days - 1),
                "summary": "Missing overnight, returned of own accord",
            },
        )
    c.gp(child, "Hendra Surgery")
    c.gp(mother, "Hendra Surgery")
    c.school(child, "Hendra Academy", 91.0)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_unborn_sibling_cp(today: date) -> ScriptedCase:
    """A pregnancy where the mother's older child was on a child protection plan."""
    c = _Case("practice_unborn_sibling_cp", today, "Polgooth", "4 Orchard Close", "PG2 4OC")
    sibling = c.person("S191", "Ruby", "Angove", 6.0, "F", "9991350012", "child")
    mother = c.person("S192", "Jade", "Angove", 26.3, "F", "9991360018", "parent_carer")
    csc_sibling = c.known("childrens_social_care", sibling)
    c.row(
        "childrens_social_care",
        "cp_plans",
        {"plan_id": "CP-S191", "child_id": csc_sibling, "started_on": c.ago(800), "ended_on": c.ago(500), "category": "neglect"},
    )
    c.gp(sibling, "Polgooth Surgery")
    hlt_mother = c.gp(mother, "Polgooth Surgery")
    c.row(
        "health",
        "maternity",
        {
            "episode_id": "MAT-S192",
            "person_id": hlt_mother,
            "booked_on": c.ago(60),
            "expected_delivery": (today + timedelta(days=90)).isoformat(),
            "concerns": None,
        },
    )
    c.school(sibling, "Polgooth Primary", 95.0)
    c.subject("child1", "child", sibling)
    c.subject("parent1", "parent_carer", mother)
    c.subjects.append(
        {
            "subject_ref": "unborn1",
            "role": "unborn_child",
            "family_name": mother.family_name,
            "expected_date_of_birth": (today + timedelta(days=90)).isoformat(),
        }
    )
    return c.done()


def _practice_young_carer_unknown(today: date) -> ScriptedCase:
    """A young carer nobody has concerns about: registered with a GP and at school, nothing else."""
    c = _Case("practice_young_carer_unknown", today, "Mawgan", "22 Church Street", "MG3 2CS")
    child = c.person("S201", "Ellis", "Mountjoy", 13.1, "M", "9991370013", "child")
    mother = c.person("S202", "Sandra", "Mountjoy", 47.0, "F", "9991380019", "parent_carer")
    c.gp(child, "Mawgan Surgery")
    c.gp(mother, "Mawgan Surgery")
    c.school(child, "Mawgan Academy", 95.0)
    c.subject("child1", "child", child)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


def _practice_baby_low_level(today: date) -> ScriptedCase:
    """A new baby in a household known to services for low-level reasons only: an old referral, an exclusion, a pregnancy."""
    c = _Case("practice_baby_low_level", today, "Treliske", "7 Meadow Bank", "TK1 7MB")
    baby = c.person("S211", "Freya", "Kitto", 0.6, "F", "9991390014", "child")
    brother = c.person("S212", "Mason", "Kitto", 12.4, "M", "9991060014", "child")
    mother = c.person("S213", "Chloe", "Kitto", 31.0, "F", "9991080015", "parent_carer")
    csc_brother = c.known("childrens_social_care", brother)
    c.row(
        "childrens_social_care",
        "referrals",
        {
            "referral_id": "CSCREF-S212",
            "child_id": csc_brother,
            "received_on": c.ago(500),
            "reason": "parental mental health",
            "outcome": "no further action",
        },
    )
    edu_brother = c.school(brother, "Treliske Academy", 94.0)
    c.row(
        "education",
        "exclusions",
        {
            "exclusion_id": "EXC-S212",
            "child_id": edu_brother,
            "excluded_on": c.ago(200),
            "kind": "fixed",
            "reason": "persistent disruptive behaviour",
        },
    )
    c.gp(baby, "Treliske Surgery")
    c.gp(brother, "Treliske Surgery")
    hlt_mother = c.gp(mother, "Treliske Surgery")
    c.row(
        "health",
        "maternity",
        {
            "episode_id": "MAT-S213",
            "person_id": hlt_mother,
            "booked_on": c.ago(40),
            "expected_delivery": (today + timedelta(days=150)).isoformat(),
            "concerns": None,
        },
    )
    c.subject("child1", "child", baby)
    c.subject("child2", "child", brother)
    c.subject("parent1", "parent_carer", mother)
    return c.done()


# -- adults at risk (tests/integration/test_adults_mesh.py): adult social care's own records decide the s42 test's
# first and third parts and the route.


def _asc_needs(c: _Case, local: str, pid: str, reason: str, setting: str, services: str | None) -> None:
    c.row(
        "adult_social_care",
        "care_and_support",
        {
            "support_id": f"CSA-{pid}",
            "person_id": local,
            "primary_support_reason": reason,
            "assessed_on": c.ago(300),
            "eligible": True,
            "setting": setting,
            "services": services,
        },
    )


def _asc_capacity(c: _Case, local: str, pid: str, decision: str, lacks: bool) -> None:
    c.row(
        "adult_social_care",
        "capacity_and_advocacy",
        {
            "assessment_id": f"MCA-{pid}",
            "person_id": local,
            "decision": decision,
            "lacks_capacity": lacks,
            "assessed_on": c.ago(120),
            "advocate": "care_act_advocate" if lacks else None,
            "lpa_registered": False,
        },
    )


def _adult_financial_abuse(today: date) -> ScriptedCase:
    """An older woman with dementia, no allocated worker: assessed needs and a capacity assessment on record."""
    c = _Case("adult_financial_abuse", today, "Penhale", "3 Orchard Row", "PH2 3OR")
    adult = c.person("S301", "Edith", "Carrow", 84.2, "F", "9991500014", "household_member")
    asc = c.known("adult_social_care", adult)
    _asc_needs(c, asc, "S301", "memory_and_cognition", "own_home", "home care twice a day")
    _asc_capacity(c, asc, "S301", "managing her money", lacks=True)
    c.row(
        "adult_social_care",
        "open_cases",
        {
            "case_id": "ASCCASE-S301",
            "person_id": asc,
            "team": "Review team",
            "opened_on": c.ago(400),
            "allocated": False,
            "worker_role": None,
        },
    )
    c.gp(adult, "Penhale Surgery")
    c.subject("adult1", "adult_at_risk", adult)
    return c.done()


def _adult_allocated_worker(today: date) -> ScriptedCase:
    """A man with physical support needs and an allocated social worker in the East locality team."""
    c = _Case("adult_allocated_worker", today, "Tregony", "11 Quay Street", "TG4 1QS")
    adult = c.person("S311", "Walter", "Pengelly", 67.5, "M", "9991500049", "household_member")
    asc = c.known("adult_social_care", adult)
    _asc_needs(c, asc, "S311", "physical_support", "own_home", "home care four times a day")
    c.row(
        "adult_social_care",
        "open_cases",
        {
            "case_id": "ASCCASE-S311",
            "person_id": asc,
            "team": "East locality team",
            "opened_on": c.ago(200),
            "allocated": True,
            "worker_role": "social_worker",
        },
    )
    c.gp(adult, "Tregony Surgery")
    c.subject("adult1", "adult_at_risk", adult)
    return c.done()


def _adult_self_neglect(today: date) -> ScriptedCase:
    """A woman known for mental health support who has capacity: self-neglect asks for her needs to be assessed."""
    c = _Case("adult_self_neglect", today, "Grampound", "5 Mill Lane", "GP5 5ML")
    adult = c.person("S321", "Maureen", "Hocking", 58.3, "F", "9991500154", "household_member")
    asc = c.known("adult_social_care", adult)
    _asc_needs(c, asc, "S321", "mental_health", "own_home", None)
    _asc_capacity(c, asc, "S321", "accepting help at home", lacks=False)
    c.subject("adult1", "adult_at_risk", adult)
    return c.done()


def _mixed_household(today: date) -> ScriptedCase:
    """A grandmother with dementia at risk in a household with two children: two referrals, each decided on its own."""
    c = _Case("mixed_household", today, "Probus", "8 Fore Street", "PB6 8FS")
    gran = c.person("S331", "Joan", "Trethewey", 79.0, "F", "9991500189", "household_member")
    mother = c.person("S332", "Kerry", "Trethewey", 38.4, "F", "9991500294", "parent_carer")
    older = c.person("S333", "Lily", "Trethewey", 12.2, "F", "9991500308", "child")
    younger = c.person("S334", "Noah", "Trethewey", 9.1, "M", "9991500413", "child")
    asc = c.known("adult_social_care", gran)
    _asc_needs(c, asc, "S331", "memory_and_cognition", "own_home", "day service twice a week")
    _asc_capacity(c, asc, "S331", "where to live", lacks=True)
    c.school(older, "Probus Academy", 88.0)
    c.school(younger, "Probus Primary", 86.0)
    for p in (gran, mother, older, younger):
        c.gp(p, "Probus Surgery")
    c.subject("adult1", "adult_at_risk", gran)
    c.subject("parent1", "parent_carer", mother)
    c.subject("child1", "child", older)
    c.subject("child2", "child", younger)
    return c.done()


ADULT_CASES = (_adult_financial_abuse, _adult_allocated_worker, _adult_self_neglect, _mixed_household)


def _pre_birth_previous_removal(today: date) -> ScriptedCase:
    """An expectant mother whose older child was removed from her care after care proceedings. The referral names her
    and the unborn baby only; the desks link the older child through their own records (mash_desk.linkage)."""
    c = _Case("pre_birth_previous_removal", today, "Wherrystone", "11 Saltings Lane", "WS4 1SL")
    mother = c.person("S061", "Kayleigh", "Thorne", 24.6, "F", "9990061017", "parent_carer")
    older = c.person("S062", "Tyler", "Thorne", 5.2, "M", "9990062013", "child")  # adopted: lives elsewhere
    csc_mother, csc_older = c.known("childrens_social_care", mother), c.known("childrens_social_care", older)
    c.row(
        "childrens_social_care",
        "referrals",
        {
            "referral_id": "CSCREF-S062",
            "child_id": csc_older,
            "received_on": c.ago(1900),
            "reason": "neglect",
            "outcome": "s47 enquiry",
        },
    )
    c.row(
        "childrens_social_care",
        "care_proceedings",
        {
            "proceedings_id": "CPR-S062",
            "child_id": csc_older,
            "parent_id": csc_mother,
            "issued_on": c.ago(1700),
            "concluded_on": c.ago(1450),
            "order_made": "placement order",
            "removed_from_parents": True,
        },
    )
    hlt_mother = c.gp(mother, "Wherrystone Surgery")
    # Far enough ahead of the population's fixed date that the front door accepts it for months of real time.
    expected = today + timedelta(days=150)
    c.row(
        "health",
        "maternity",
        {
            "episode_id": "MAT-S061",
            "person_id": hlt_mother,
            "booked_on": c.ago(30),
            "expected_delivery": expected.isoformat(),
            "concerns": "Booked late, at 20 weeks",
        },
    )
    c.subject("parent1", "parent_carer", mother)
    c.subjects.append(
        {
            "subject_ref": "unborn1",
            "role": "unborn_child",
            "family_name": mother.family_name,
            "expected_date_of_birth": expected.isoformat(),
            "address": {"line1": c.home[0], "town": c.home[1], "postcode": c.home[2]},
        }
    )
    return c.done()


PRACTICE_CASES = (
    _practice_first_da_refused,
    _practice_neglect_refused_history,
    _practice_pmh_baby_not_sought,
    _practice_cce_not_sought,
    _practice_cse_17,
    _practice_repeat_da,
    _practice_neglect_absence_dna,
    _practice_neglect_open_cp,
    _practice_repeat_missing,
    _practice_unborn_sibling_cp,
    _practice_young_carer_unknown,
    _practice_baby_low_level,
)
