"""Two instances of the hub research service on one store (`mash up --replicas 2`): notifications about one new person,
researched by both at the same moment, still make one person. Linking holds the store's linking lock until its
transaction ends (a SQLite file's write lock, taken when the transaction begins; PostgreSQL's advisory lock), so each
instance links against a history that holds the other's notification. Each instance is a handle of its own on the
store, with its own linker, as in a process of its own."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from helpers import subject
from mash_analysis.handlers import AnalysisHandlers
from mash_analysis.harm import HarmRules
from mash_analysis.history import History, appearances, metadata
from mash_analysis.linkage import PersonLinker
from mash_contracts import (
    Address,
    Agency,
    ConcernCategory,
    ConsentPosition,
    ConsentStatus,
    Notification,
    RagRating,
    Referrer,
    ReferrerKind,
    StatutoryFooting,
    SubjectRole,
)
from mash_runtime.audit import audit_log
from mash_runtime.store import Database

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def about(n: int, given: str, agency: Agency) -> Notification:
    child = subject(
        "c1",
        SubjectRole.CHILD,
        given,
        "Ravensworth",
        date(2015, 3, n),
        address=Address(line1=f"{n} Birch Row", town="Northshire", postcode="NS4 2AB"),
    )
    return Notification(
        message_id=uuid.uuid4(),
        referral_id=f"REF-{uuid.uuid4().hex[:12].upper()}",
        received_at=T0,
        rag=RagRating.GREEN,
        statutory_footing=StatutoryFooting.S17,
        submission_id=f"S-{uuid.uuid4().hex[:8]}",
        submitted_at=T0,
        referrer=Referrer(kind=ReferrerKind.PROFESSIONAL, agency=agency, name="A Professional", email="a@example.org"),
        subjects=[child],
        concern={"categories": [ConcernCategory.NEGLECT], "description": "Concern."},
        consent=ConsentPosition(status=ConsentStatus.GIVEN),
    )


def test_two_instances_researching_one_new_person_at_once_make_one_person(durable_database_url, principals):
    firewall = principals.firewall("analysis")
    instances = [
        AnalysisHandlers(
            Database(durable_database_url, metadata), History(firewall.pepper, PersonLinker()), HarmRules.load(), firewall, None
        )
        for _ in range(2)
    ]
    children = ("Isolde", "Peregrine", "Wilhelmina", "Barnaby", "Clementine")
    with ThreadPoolExecutor(max_workers=2) as both:
        for n, given in enumerate(children, start=1):
            at_once = threading.Barrier(2)

            def research(hub: AnalysisHandlers, agency: Agency, n: int = n, given: str = given, at_once=at_once) -> bool:
                at_once.wait()
                return hub.research(about(n, given, agency), T0)

            done = list(both.map(research, instances, (Agency.EDUCATION, Agency.HEALTH)))
            assert done == [True, True], "each instance answered its own referral"
    with instances[0].db.transaction() as s:
        people = {r.given_name: set() for r in s.execute(select(appearances.c.given_name))}
        for r in s.execute(select(appearances.c.given_name, appearances.c.person_id)):
            people[r.given_name].add(r.person_id)
    assert people.keys() == set(children) and all(len(ids) == 1 for ids in people.values()), people
    for hub in instances:
        hub.db.dispose()


def test_two_instances_sweeping_for_shredded_cases_at_once_erase_each_case_once(durable_database_url, principals):
    firewall = principals.firewall("analysis")
    instances = [
        AnalysisHandlers(
            Database(durable_database_url, metadata), History(firewall.pepper, PersonLinker()), HarmRules.load(), firewall, None
        )
        for _ in range(2)
    ]
    cases = [about(n, given, Agency.EDUCATION) for n, given in enumerate(("Isolde", "Peregrine", "Wilhelmina"), start=1)]
    for n in cases:
        assert instances[0].research(n, T0)
    shredded = {n.referral_id for n in cases}
    at_once = threading.Barrier(2)

    def sweep(hub: AnalysisHandlers) -> int:
        at_once.wait()
        return hub.forget_shredded(lambda ref: {"referral_id": ref} if ref in shredded else None)

    with ThreadPoolExecutor(max_workers=2) as both:
        erased = list(both.map(sweep, instances))
    with instances[0].db.transaction() as s:
        entries = [r.referral_id for r in s.execute(select(audit_log.c.referral_id).where(audit_log.c.action == "shredded"))]
    assert sum(erased) == len(cases) and sorted(entries) == sorted(shredded), f"erased {erased}; audited {entries}"
    for hub in instances:
        hub.db.dispose()
