"""Synthetic records: how each desk writes its own agency's records about a synthetic household.

The population (mash_tools.population) makes the people. Each desk's own `synthetic.py` says how likely its agency
is to know a household and what it records, through an AgencyRecords that keeps the agency's person index the way
agencies really do: a misspelt name, a nickname, a missing NHS number, an old address. That is what makes matching a
judgement. Each agency draws from random streams of its own, so a desk added to the workspace leaves every other
agency's records as they were. Nobody real: names and places come from a Faker the population hands in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table

SHORT_NAMES = {
    "William": "Will",
    "Robert": "Rob",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Thomas": "Tom",
    "James": "Jim",
    "Jennifer": "Jen",
    "Michael": "Mike",
    "Daniel": "Dan",
    "Samantha": "Sam",
    "Alexander": "Alex",
    "Rebecca": "Becky",
    "Joseph": "Joe",
    "Christopher": "Chris",
    "Jessica": "Jess",
    "Victoria": "Vicky",
    "Benjamin": "Ben",
    "Matthew": "Matt",
}


@dataclass(frozen=True)
class Person:
    """Someone in the synthetic population, as they truly are (each agency records them its own way)."""

    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    nhs_number: str | None
    address_line1: str
    town: str
    postcode: str
    household_id: str
    role_in_household: str  # child, parent_carer, partner, household_member

    def age(self, today: date) -> int:
        return (today - self.date_of_birth).days // 365


def typo(name: str, rng: random.Random) -> str:
    """One slip of the keyboard: a swapped pair or a changed letter."""
    if len(name) < 3:
        return name + "e"
    i = rng.randrange(1, len(name) - 1)
    if rng.random() < 0.5:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    letter = rng.choice("aeiouy".replace(name[i].lower(), ""))
    return name[:i] + letter + name[i + 1 :]


def parent_of(adults: list[Person]) -> Person | None:
    return next((p for p in adults if p.role_in_household == "parent_carer"), None)


@dataclass
class AgencyRecords:
    """One agency's tables under construction, with its own person index and its own random streams."""

    agency: str
    prefix: str  # the agency's own id prefix: POL-, HLT-, ...
    missing_nhs: float  # how often it has no NHS number for someone
    today: date
    rng: random.Random
    fake: Any  # a seeded Faker("en_GB"): street names and towns, never a real person
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    local_ids: dict[str, str] = field(default_factory=dict)  # true person id -> agency person id
    counter: int = 0

    def next_id(self, kind: str) -> str:
        self.counter += 1
        return f"{self.prefix}-{kind}{self.counter:06d}"

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def ago(self, days: int) -> str:
        return (self.today - timedelta(days=days)).isoformat()

    # Draws from the agency's own stream. A writer passes a row's fields as keyword arguments, evaluated in the order
    # written: reordering them reorders the draws, and so changes the population a seed gives.

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def times(self, most: int) -> range:
        """Between one and `most` records of a kind: repeat notifications, attendances, missing episodes."""
        return range(self.rng.randint(1, most))

    def days_ago(self, least: int, most: int) -> str:
        return self.ago(self.rng.randint(least, most))

    def days_ahead(self, least: int, most: int) -> str:
        return (self.today + timedelta(days=self.rng.randint(least, most))).isoformat()

    def record(self, table: Table, kind: str, /, **fields: Any) -> None:
        """A row of one of the agency's record tables, under a new reference of the agency's own in its primary key
        (POL-INC000042). A field the table has no column for is the writer's mistake: refused here, where loading the
        rows would drop it without a word."""
        unknown = fields.keys() - table.c.keys()
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
        (ref,) = table.primary_key.columns.keys()
        self.add(table.name, {ref: self.next_id(kind), **fields})

    def know(self, p: Person, exact: bool = False) -> str:
        """The agency's person id for someone, recording them in its people table the first time, as it would:
        now and then misspelt, by a nickname, without an NHS number or at an old address (unless `exact`)."""
        if p.person_id in self.local_ids:
            return self.local_ids[p.person_id]
        local = f"{self.prefix}-{p.person_id}"
        given, family, nhs, line1, postcode = p.given_name, p.family_name, p.nhs_number, p.address_line1, p.postcode
        if not exact:
            roll = self.rng.random()
            if roll < 0.05:
                family = typo(family, self.rng)
            elif roll < 0.10:
                given = typo(given, self.rng)
            elif roll < 0.13 and given in SHORT_NAMES:
                given = SHORT_NAMES[given]
            if self.rng.random() < self.missing_nhs:
                nhs = None
            if self.rng.random() < 0.08:  # known at an old address
                line1, postcode = self.fake.street_address().split("\n")[0], self.fake.postcode()
        self.add(
            "people",
            {
                "person_id": local,
                "given_name": given,
                "family_name": family,
                "date_of_birth": p.date_of_birth.isoformat(),
                "nhs_number": nhs,
                "address_line1": line1,
                "postcode": postcode,
                "true_person_id": p.person_id,
            },
        )
        self.local_ids[p.person_id] = local
        return local


# What a desk writes for one household it knows: (its records, the adults, the children).
Writer = Callable[[AgencyRecords, list[Person], list[Person]], None]


@dataclass(frozen=True)
class SyntheticRecords:
    """A desk's synthetic-record generator: its id prefix, how likely it is to know a household and to lack an NHS
    number, and what it writes about a household it knows."""

    prefix: str
    known_by: float
    missing_nhs: float
    write: Writer

    def start(self, agency: str, seed: int, today: date, fake: Any) -> AgencyRecords:
        return AgencyRecords(agency, self.prefix, self.missing_nhs, today, random.Random(f"{agency}:{seed}"), fake)
