"""The decision service's assembly on each real backend (SQLite, PostgreSQL): any order, duplicates, gaps."""

import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from helpers import contribution
from mash_contracts import Agency, ContributionStatus, ThresholdLevel, derived_id
from mash_contracts.threshold import load_model
from mash_contracts.topics import DECISIONS, DESK_AGENCIES
from mash_decision.assembly import Assembly, metadata
from mash_intake.screening import accept
from mash_runtime.store import Database

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
AUTO_CONFIRMED = dataclasses.replace(load_model("default"), auto_confirm_levels=frozenset(ThresholdLevel))


@pytest.fixture
def assembly(assembly_for, database_url):
    return assembly_for(database_url, AUTO_CONFIRMED, now=lambda: NOW)


def picture(generator):
    notification = accept(generator.notification(), NOW, referrer_system="northshire_schools")
    contributions = [
        contribution(
            notification,
            a,
            message_id=derived_id("contribution", notification.referral_id, a.value),
            rationale="nothing held",
            researched_at=NOW,
        )
        for a in DESK_AGENCIES
    ]
    return notification, contributions


# About thirty arrival orders spread over all of them, however many desks there are (7! is 5,040).
ORDERS = list(itertools.permutations(range(1 + len(DESK_AGENCIES))))


@pytest.mark.parametrize("order", ORDERS[:: max(1, len(ORDERS) // 31)])
def test_decides_once_whatever_the_arrival_order(assembly, generator, principals, queued, order):
    notification, contributions = picture(generator)
    messages = [notification, *contributions]
    results = []
    for i in order:
        m = messages[i]
        results.append(assembly.record_notification(m) if m is notification else assembly.record_contribution(m))
    assert results.count(True) == 1 and results[-1] is True
    rows = queued(assembly.db)
    decisions = [principals.read(t, k, p) for t, k, p in rows if t == DECISIONS.name]
    products = [principals.read(t, k, p) for t, k, p in rows if t.startswith("mash.products.")]
    assert all(notification.subjects[0].family_name.encode() not in p for _, _, p in rows), "products are sealed in the outbox"
    assert len(decisions) == 1
    assert {p.recipient for p in products} == set(decisions[0].recipients)
    assert decisions[0].contributions == {a: ContributionStatus.NO_RECORDS_FOUND for a in DESK_AGENCIES}


def test_redelivered_messages_add_nothing(assembly, generator, queued):
    notification, contributions = picture(generator)
    assembly.record_notification(notification)
    for c in contributions:
        assembly.record_contribution(c)
    before = queued(assembly.db)
    assert not assembly.record_notification(notification)
    assert not any(assembly.record_contribution(c) for c in contributions)
    assert queued(assembly.db) == before


def test_waits_for_every_expected_desk(assembly, generator, queued):
    notification, contributions = picture(generator)
    assembly.record_notification(notification)
    for c in contributions[:-1]:
        assert not assembly.record_contribution(c)
    assert queued(assembly.db) == [] and assembly.decision_count() == 0


def test_state_survives_a_restart(durable_database_url, generator, principals, declared_findings):
    url = durable_database_url
    notification, contributions = picture(generator)
    first = Assembly(
        Database(url, metadata),
        DESK_AGENCIES,
        principals.firewall("decision"),
        AUTO_CONFIRMED,
        declared_findings=declared_findings,
    )
    first.record_notification(notification)
    first.record_contribution(contributions[0])
    first.db.dispose()
    second = Assembly(
        Database(url, metadata),
        [Agency(a) for a in DESK_AGENCIES],
        principals.firewall("decision"),
        AUTO_CONFIRMED,
        declared_findings=declared_findings,
    )
    for c in contributions[1:-1]:
        assert second.record_contribution(c) is False
    assert second.record_contribution(contributions[-1]) is True
