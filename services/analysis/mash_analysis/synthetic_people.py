"""A synthetic population whose truth is known, to train the linkage model and measure it (never real people).

Faker's en_GB names (the ONS surname frequencies, so Smith and Jones are as common as they are) and addresses, seeded.
People live in households: parents and children share a surname and an address, siblings share a surname and an
address, and twins share a date of birth too, which is what makes linkage hard honestly. Each person appears 1-4
times, as agencies name them, with the corruption real notifications carry; each appearance says which.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

from .linkage import NICKNAMES, PersonRecord

# How often each corruption touches one appearance. Most public referrals carry no NHS number; professionals'
# usually do, so about a third do.
RATES = {
    "nhs_missing": 0.65,
    "nickname": 0.12,  # of those whose forename has a common nickname
    "forename_typo": 0.07,
    "surname_typo": 0.07,
    "old_address": 0.15,  # of those who moved house: the referrer knows the previous address
    "address_missing": 0.08,
    "dob_missing": 0.06,
    "dob_transposed": 0.04,  # day and month swapped (only when both are 12 or under and differ)
    "dob_typo": 0.03,  # one of day, month or year wrong
}
CORRUPTIONS = tuple(RATES)
APPEARANCES = (1, 2, 3, 4)
APPEARANCE_WEIGHTS = (0.35, 0.30, 0.20, 0.15)


@dataclass
class Person:
    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str
    address: tuple[str, str]  # (line1, postcode) now
    previous: tuple[str, str] | None  # before they moved, if they did
    household: str
    twin: bool = False


@dataclass(frozen=True)
class Appearance:
    record: PersonRecord
    person_id: str  # the truth
    household: str
    corruptions: tuple[str, ...] = field(default=())


def nhs_number(rng: random.Random) -> str:
    """Ten digits with a valid modulus 11 check digit (the format only; drawn at random, nobody's number)."""
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def typo(rng: random.Random, word: str) -> str:
    """One keying slip: a letter dropped, doubled, swapped with its neighbour or replaced (rarely the first)."""
    if len(word) < 3:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word) - 1) if rng.random() < 0.9 else 0
    kind = rng.choice(("drop", "double", "swap", "replace"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    letter = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[i].lower()])
    return word[:i] + (letter.upper() if i == 0 else letter) + word[i + 1 :]


def _born(rng: random.Random, start: int, end: int) -> date:
    first = date(start, 1, 1)
    return first + timedelta(days=rng.randrange((date(end, 12, 31) - first).days))


class Streets:
    """Addresses as they are: about a dozen homes share a postcode (one street), postcodes share a district, and
    most people who move stay in their district."""

    def __init__(self, fake: Faker, rng: random.Random, households: int):
        self.rng = rng
        districts = sorted({fake.postcode().split()[0] for _ in range(max(4, households // 300))})
        self.postcodes: list[tuple[str, str]] = []  # (postcode, street)
        for _ in range(max(8, households // 12)):
            inward = f"{rng.randrange(10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            self.postcodes.append((f"{rng.choice(districts)} {inward}", fake.street_name()))
        self.taken: set[tuple[str, str]] = set()

    def home(self, near: str | None = None) -> tuple[str, str]:
        pool = self.postcodes
        if near and self.rng.random() < 0.7:
            local = [p for p in pool if p[0].split()[0] == near.split()[0]]
            pool = local or pool
        while True:
            postcode, street = self.rng.choice(pool)
            address = (f"{self.rng.randrange(1, 120)} {street}", postcode)
            if address not in self.taken:
                self.taken.add(address)
                return address


def households(people: int, seed: int = 7) -> list[Person]:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    streets = Streets(fake, rng, people // 2)
    out: list[Person] = []
    h = 0
    while len(out) < people:
        h += 1
        household = f"H{h:06d}"
        surname = fake.last_name()
        home = streets.home()
        previous = streets.home(near=home[1]) if rng.random() < 0.3 else None
        members: list[tuple[str, str, date, bool]] = []
        adults = rng.choice((1, 1, 2, 2, 2))
        for a in range(adults):
            given = fake.first_name_female() if a == 0 else fake.first_name_male()
            # A second adult often keeps their own surname.
            family = surname if a == 0 or rng.random() < 0.6 else fake.last_name()
            members.append((given, family, _born(rng, 1965, 2002), False))
        children = rng.choice((0, 1, 1, 2, 2, 3, 4))
        c = 0
        names: set[str] = set()  # siblings never share a forename; a child may share a parent's
        while c < children:
            born = _born(rng, 2008, 2025)
            family = surname if rng.random() < 0.85 else fake.last_name()
            twins = rng.random() < 0.04  # about 1 in 65 births is twins; more here, to be hard
            for _ in range(2 if twins else 1):
                given = fake.first_name_female() if rng.random() < 0.5 else fake.first_name_male()
                while given in names:
                    given = fake.first_name_female() if rng.random() < 0.5 else fake.first_name_male()
                names.add(given)
                members.append((given, family, born, twins))
                c += 1
        for given, family, born, twin in members:
            out.append(Person(f"P{len(out):06d}", given, family, born, nhs_number(rng), home, previous, household, twin))
    return out[:people]


def _nickname(rng: random.Random, given: str) -> str | None:
    options = NICKNAMES.get(given.lower())
    return rng.choice(options).title() if options else None


def appearances(person: Person, rng: random.Random, start: int) -> Iterator[Appearance]:
    times = rng.choices(APPEARANCES, APPEARANCE_WEIGHTS)[0]
    for k in range(times):
        done: list[str] = []
        hit = lambda kind: rng.random() < RATES[kind]  # noqa: E731
        born: date | None
        nhs: str | None
        line1: str | None
        postcode: str | None
        given, family, born, nhs = person.given_name, person.family_name, person.date_of_birth, person.nhs_number
        line1, postcode = person.address
        if hit("nhs_missing"):
            nhs = None
            done.append("nhs_missing")
        nick = _nickname(rng, given)
        if nick and hit("nickname"):
            given = nick
            done.append("nickname")
        elif hit("forename_typo"):
            given = typo(rng, given)
            done.append("forename_typo")
        if hit("surname_typo"):
            family = typo(rng, family)
            done.append("surname_typo")
        if person.previous and hit("old_address"):
            line1, postcode = person.previous
            done.append("old_address")
        elif hit("address_missing"):
            line1, postcode = None, None
            done.append("address_missing")
        if hit("dob_missing"):
            born = None
            done.append("dob_missing")
        elif born.day <= 12 and born.day != born.month and hit("dob_transposed"):
            born = date(born.year, born.day, born.month)
            done.append("dob_transposed")
        elif hit("dob_typo"):
            which = rng.choice(("day", "month", "year"))
            if which == "day":
                born = born.replace(day=min(28, max(1, born.day + rng.choice((-1, 1, 10, -10)))))
            elif which == "month":
                born = born.replace(month=min(12, max(1, born.month + rng.choice((-1, 1)))), day=min(born.day, 28))
            else:
                born = born.replace(year=born.year + rng.choice((-1, 1)), day=min(born.day, 28))
            done.append("dob_typo")
        record = PersonRecord(
            record_id=f"R{start + k:07d}",
            given_name=given,
            family_name=family,
            date_of_birth=born,
            nhs_number=nhs,
            postcode=postcode,
            address_line1=line1,
        )
        yield Appearance(record, person.person_id, person.household, tuple(done))


def population(people: int = 10_000, seed: int = 7) -> list[Appearance]:
    """Every appearance of `people` synthetic people, in a seeded shuffled order (agencies do not report in order)."""
    rng = random.Random(seed * 7919 + 1)
    out: list[Appearance] = []
    for person in households(people, seed):
        out.extend(appearances(person, rng, len(out)))
    rng.shuffle(out)
    return out
