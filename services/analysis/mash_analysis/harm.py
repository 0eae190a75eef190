"""Emerging-harm rules (emerging_harm.toml) applied to the hub's linked history of one referral's people.

Pure: the store hands over each person's contacts as the hub saw them; a rule that fires returns a finding for the
threshold model with its explanation in words (sources, counts, dates, referral ids; never a name), and the people
at risk beyond this referral's subjects, whom the service checks for an open referral.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mash_contracts import ConcernCategory, RagRating, ReferrerKind, SubjectRole

RULES = Path(__file__).with_name("emerging_harm.toml")
KINDS = frozenset({"repeat_contacts", "rising", "siblings_referred", "adult_across_households", "adult_across_partners"})
_RAG_ORDER = {RagRating.BLUE: 0, RagRating.GREEN: 1, RagRating.AMBER: 2, RagRating.RED: 3}


@dataclass(frozen=True)
class Contact:
    """One notification about a person, as the hub saw it, from that person's point of view."""

    referral_id: str
    received_at: datetime
    source: str  # the referrer's agency, or the kind of referrer for the public and families
    categories: frozenset[str]
    rag: str
    role: str  # the person's role in it
    household: str | None  # an opaque key for the address it gives for them
    adults: frozenset[str] = frozenset()  # person ids of the other adults it names
    children: frozenset[str] = frozenset()  # person ids of the children (born or unborn) it is about
    level: int | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Person:
    person_id: str
    subject_ref: str  # the referrer's label in the notification being researched
    role: str
    contacts: tuple[Contact, ...]  # every contact about them, the one being researched included
    siblings: tuple[tuple[str, tuple[Contact, ...]], ...] = ()  # other children of the household and their contacts


@dataclass(frozen=True)
class Finding:
    finding: str
    name: str
    subject_ref: str
    explanation: str
    referral_ids: tuple[str, ...]
    others_at_risk: tuple[str, ...] = ()  # person ids beyond this referral's subjects whom it puts at risk


@dataclass(frozen=True)
class Rule:
    finding: str
    name: str
    kind: str
    window: timedelta
    about: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    min_contacts: int = 1
    min_sources: int = 1
    min_households: int = 2
    min_partners: int = 2


@dataclass(frozen=True)
class HarmRules:
    version: str
    rules: tuple[Rule, ...]
    return_hours: dict[str, float]

    @property
    def findings(self) -> list[str]:
        return sorted({r.finding for r in self.rules})

    @classmethod
    def load(cls, path: Path = RULES) -> HarmRules:
        raw = tomllib.loads(path.read_text())
        rules = tuple(_rule(r) for r in raw["rules"])
        hours = {RagRating(k).value: float(v) for k, v in raw.get("return_hours", {}).items()}
        missing = sorted({r.value for r in RagRating} - set(hours))
        if missing:
            raise ValueError(f"{path.name}: [return_hours] has no entry for {', '.join(missing)}")
        return cls(str(raw["version"]), rules, hours)


def _rule(raw: dict) -> Rule:
    known = {
        "finding",
        "name",
        "kind",
        "window_days",
        "about",
        "roles",
        "categories",
        "min_contacts",
        "min_sources",
        "min_households",
        "min_partners",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"rule {raw.get('finding')!r}: unknown keys {unknown}")
    if raw["kind"] not in KINDS:
        raise ValueError(f"rule {raw['finding']!r}: unknown kind {raw['kind']!r} (known: {sorted(KINDS)})")
    return Rule(
        finding=raw["finding"],
        name=raw["name"],
        kind=raw["kind"],
        window=timedelta(days=int(raw["window_days"])),
        about=frozenset(SubjectRole(r).value for r in raw.get("about", [])),
        roles=frozenset(SubjectRole(r).value for r in raw.get("roles", [])),
        categories=frozenset(ConcernCategory(c).value for c in raw.get("categories", [])),
        min_contacts=int(raw.get("min_contacts", 1)),
        min_sources=int(raw.get("min_sources", 1)),
        min_households=int(raw.get("min_households", 2)),
        min_partners=int(raw.get("min_partners", 2)),
    )


def contact_source(referrer_kind: str, referrer_agency: str | None) -> str:
    """Who a contact came from, as an explanation names it: a professional's agency, else the kind of referrer."""
    if referrer_kind == ReferrerKind.PROFESSIONAL.value and referrer_agency:
        return referrer_agency
    return referrer_kind.replace("_", " ")


def evaluate(rules: HarmRules, people: list[Person], now: datetime) -> list[Finding]:
    found: list[Finding] = []
    for rule in rules.rules:
        check = _CHECKS[rule.kind]
        for person in people:
            if rule.about and person.role not in rule.about:
                continue
            if rule.roles and person.role not in rule.roles:
                continue
            hit = check(rule, person, now)
            if hit:
                found.append(hit)
    return found


def _within(contacts: tuple[Contact, ...], since: datetime, until: datetime) -> list[Contact]:
    return sorted((c for c in contacts if since <= c.received_at <= until), key=lambda c: c.received_at)


def _sources(contacts: list[Contact]) -> str:
    counted = Counter(c.source for c in contacts)
    return ", ".join(f"{s} x{n}" if n > 1 else s for s, n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


def _refs(contacts: list[Contact]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.referral_id for c in contacts))


def _repeat_contacts(rule: Rule, person: Person, now: datetime) -> Finding | None:
    contacts = [
        c for c in _within(person.contacts, now - rule.window, now) if not rule.categories or c.categories & rule.categories
    ]
    sources = {c.source for c in contacts}
    if len(contacts) < rule.min_contacts or len(sources) < rule.min_sources:
        return None
    what = f" ({', '.join(sorted(rule.categories)).replace('_', ' ')})" if rule.categories else ""
    agencies = "agencies" if len(sources) > 1 else "source"
    explanation = (
        f"{len(contacts)} contacts{what} from {len(sources)} {agencies} in {rule.window.days} days about "
        f"{person.subject_ref}: {_sources(contacts)}; first {contacts[0].received_at:%d %b %Y}, "
        f"referrals {', '.join(_refs(contacts))}"
    )
    return Finding(rule.finding, rule.name, person.subject_ref, explanation, _refs(contacts))


def _rising(rule: Rule, person: Person, now: datetime) -> Finding | None:
    recent = _within(person.contacts, now - rule.window, now)
    before = _within(person.contacts, now - 2 * rule.window, now - rule.window - timedelta(microseconds=1))
    if len(recent) >= rule.min_contacts and len(recent) > len(before):
        return Finding(
            rule.finding,
            rule.name,
            person.subject_ref,
            f"{len(recent)} contacts about {person.subject_ref} in the last {rule.window.days} days, up from "
            f"{len(before)} in the {rule.window.days} days before: {_sources(recent)}",
            _refs(recent),
        )
    last = sorted(person.contacts, key=lambda c: c.received_at)[-rule.min_contacts :]
    ratings = [_RAG_ORDER[RagRating(c.rag)] for c in last]
    if len(last) >= rule.min_contacts and ratings == sorted(ratings) and ratings[-1] > ratings[0]:
        return Finding(
            rule.finding,
            rule.name,
            person.subject_ref,
            f"screening ratings rising across the last {len(last)} contacts about {person.subject_ref}: "
            + ", ".join(f"{c.rag} ({c.received_at:%d %b})" for c in last),
            _refs(last),
        )
    return None


def _siblings_referred(rule: Rule, person: Person, now: datetime) -> Finding | None:
    current = {c.referral_id for c in person.contacts}
    referred = {
        pid: _within(tuple(c for c in contacts if c.referral_id not in current), now - rule.window, now)
        for pid, contacts in person.siblings
    }
    referred = {pid: cs for pid, cs in referred.items() if cs}
    if not referred:
        return None
    contacts = sorted((c for cs in referred.values() for c in cs), key=lambda c: c.received_at)
    return Finding(
        rule.finding,
        rule.name,
        person.subject_ref,
        f"{len(referred)} other {'child' if len(referred) == 1 else 'children'} of {person.subject_ref}'s "
        f"household (identities withheld) referred in {rule.window.days} days: {_sources(contacts)}; "
        f"referrals {', '.join(_refs(contacts))}",
        _refs(contacts),
        tuple(sorted(referred)),
    )


def _adult_across_households(rule: Rule, person: Person, now: datetime) -> Finding | None:
    contacts = [c for c in _within(person.contacts, now - rule.window, now) if c.role in rule.roles and c.household]
    households = {c.household for c in contacts}
    if len(households) < rule.min_households:
        return None
    current = {c.referral_id for c in person.contacts if c.received_at == max(x.received_at for x in person.contacts)}
    here = set().union(*(c.children for c in person.contacts if c.referral_id in current))
    elsewhere = sorted(set().union(*(c.children for c in contacts)) - here)
    return Finding(
        rule.finding,
        rule.name,
        person.subject_ref,
        f"{person.subject_ref} is named as {' or '.join(sorted(rule.roles)).replace('_', ' ')} in "
        f"{len(contacts)} notifications at {len(households)} different addresses in {rule.window.days} days, "
        f"about {len(elsewhere) + len(here)} children: referrals {', '.join(_refs(contacts))}",
        _refs(contacts),
        tuple(elsewhere),
    )


def _adult_across_partners(rule: Rule, person: Person, now: datetime) -> Finding | None:
    contacts = [
        c for c in _within(person.contacts, now - rule.window, now) if c.role in rule.roles and c.categories & rule.categories
    ]
    partners = set().union(*(c.adults for c in contacts)) if contacts else set()
    if len(_refs(contacts)) < 2 or len(partners) < rule.min_partners:
        return None
    return Finding(
        rule.finding,
        rule.name,
        person.subject_ref,
        f"{person.subject_ref} is named in {len(contacts)} {' or '.join(sorted(rule.categories)).replace('_', ' ')} "
        f"notifications with {len(partners)} different other adults in {rule.window.days} days: referrals "
        f"{', '.join(_refs(contacts))}",
        _refs(contacts),
        tuple(sorted(set().union(*(c.children for c in contacts[:-1])) - set(contacts[-1].children))),
    )


_CHECKS = {
    "repeat_contacts": _repeat_contacts,
    "rising": _rising,
    "siblings_referred": _siblings_referred,
    "adult_across_households": _adult_across_households,
    "adult_across_partners": _adult_across_partners,
}
