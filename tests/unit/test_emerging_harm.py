"""Emerging-harm rules as data, applied to linked histories: each rule fires on the pattern it names, with an
explanation in sources, counts and referral ids, and stays quiet just outside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mash_analysis.harm import Contact, HarmRules, Person, evaluate
from mash_contracts.threshold import load_model

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RULES = HarmRules.load()


def contact(
    days_ago: float,
    source: str,
    *categories: str,
    ref: str | None = None,
    rag: str = "green",
    role: str = "child",
    household: str | None = "h1",
    adults=(),
    children=(),
    level: int | None = 2,
) -> Contact:
    return Contact(
        referral_id=ref or f"REF-{int(days_ago * 10):012X}",
        received_at=NOW - timedelta(days=days_ago),
        source=source,
        categories=frozenset(categories or ("neglect",)),
        rag=rag,
        role=role,
        household=household,
        adults=frozenset(adults),
        children=frozenset(children),
        level=level,
    )


def findings(*people: Person) -> dict[str, str]:
    return {f.finding: f.explanation for f in evaluate(RULES, list(people), NOW)}


def test_several_agencies_low_level_concerns_about_one_child_are_seen_together():
    child = Person(
        "p1",
        "c1",
        "child",
        (
            contact(60, "education"),
            contact(30, "health", "emotional_abuse"),
            contact(10, "education"),
            contact(0, "police", "neglect"),
        ),
    )
    got = findings(child)
    assert "multi_agency_low_level_concerns" in got
    assert got["multi_agency_low_level_concerns"].startswith(
        "4 contacts from 3 agencies in 90 days about c1: education x2, health, police"
    )


def test_one_agency_alone_or_outside_the_window_is_not_multi_agency():
    one_source = Person("p1", "c1", "child", (contact(60, "education"), contact(30, "education"), contact(0, "education")))
    stale = Person("p2", "c2", "child", (contact(200, "education"), contact(150, "health"), contact(0, "police")))
    assert "multi_agency_low_level_concerns" not in findings(one_source)
    assert "multi_agency_low_level_concerns" not in findings(stale)


def test_rising_frequency_and_rising_severity():
    frequent = Person(
        "p1", "c1", "child", (contact(150, "health"), contact(50, "education"), contact(20, "health"), contact(0, "police"))
    )
    assert "up from 1" in findings(frequent)["rising_concerns"]
    worse = Person(
        "p2",
        "c2",
        "child",
        (contact(300, "health", rag="green"), contact(200, "school", rag="amber"), contact(0, "police", rag="red")),
    )
    assert "screening ratings rising" in findings(worse)["rising_concerns"]
    steady = Person("p3", "c3", "child", (contact(300, "health", rag="amber"), contact(0, "police", rag="green")))
    assert "rising_concerns" not in findings(steady)


def test_a_sibling_referred_within_a_year():
    sibling = ("p9", (contact(100, "education", ref="REF-00000000000A"),))
    child = Person("p1", "c1", "child", (contact(0, "health"),), siblings=(sibling,))
    got = findings(child)
    assert "1 other child of c1's household (identities withheld)" in got["sibling_also_referred"]
    assert "REF-00000000000A" in got["sibling_also_referred"]
    old = Person("p1", "c1", "child", (contact(0, "health"),), siblings=(("p9", (contact(400, "education"),)),))
    assert "sibling_also_referred" not in findings(old)


def test_an_alleged_perpetrator_across_two_households_names_the_children_elsewhere():
    man = Person(
        "p5",
        "a1",
        "alleged_perpetrator",
        (
            contact(200, "police", "domestic_abuse", role="alleged_perpetrator", household="h1", children=("k1",)),
            contact(0, "health", "domestic_abuse", role="alleged_perpetrator", household="h2", children=("k2",)),
        ),
    )
    got = evaluate(RULES, [man], NOW)
    hit = next(f for f in got if f.finding == "perpetrator_across_households")
    assert "2 different addresses" in hit.explanation
    assert hit.others_at_risk == ("k1",)  # the child at the other address, who this referral is not about
    same_house = Person(
        "p5",
        "a1",
        "alleged_perpetrator",
        (
            contact(200, "police", role="alleged_perpetrator", household="h1"),
            contact(0, "health", role="alleged_perpetrator", household="h1"),
        ),
    )
    assert "perpetrator_across_households" not in findings(same_house)


def test_repeat_domestic_abuse_across_partners_and_repeat_missing():
    adult = Person(
        "p5",
        "a1",
        "parent_carer",
        (
            contact(300, "police", "domestic_abuse", role="parent_carer", adults=("x1",)),
            contact(0, "police", "domestic_abuse", role="parent_carer", adults=("x2",)),
        ),
    )
    assert "2 different other adults" in findings(adult)["repeat_domestic_abuse_across_partners"]
    runaway = Person("p1", "c1", "child", tuple(contact(d, "police", "missing") for d in (200, 90, 0)))
    assert findings(runaway)["repeat_missing_episodes"].startswith("3 contacts (missing) from 1 source in 365 days")


def test_every_finding_the_rules_can_report_is_weighed_by_every_threshold_model():
    for name in ("default", "northshire"):
        weighed = {value for f in load_model(name).rules for condition, value in f.when if condition == "finding"}
        assert set(RULES.findings) <= weighed, name


def test_explanations_name_no_one():
    child = Person("p1", "Jordan", "child", (contact(60, "education"), contact(30, "health"), contact(0, "police")))
    for f in evaluate(RULES, [child], NOW):
        assert "p1" not in f.explanation  # person ids are the hub's, never shown; the referrer's label is theirs
