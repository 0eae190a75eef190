"""The hub research service's work per notification, on a real store (SQLite) with the real linker: people linked
across notifications, earlier contacts listed, findings explained, a redelivery adding nothing, and retention
erasing identifiers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from helpers import subject
from mash_analysis.handlers import AnalysisHandlers
from mash_analysis.harm import HarmRules
from mash_analysis.history import History, appearances, blocking, decisions, metadata
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
    Subject,
    SubjectRole,
)
from mash_contracts.topics import ALERTS, contributions_topic
from mash_runtime.store import Database

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def hub(tmp_path, principals, linker):
    db = Database(f"sqlite:///{tmp_path / 'analysis.db'}", metadata)
    firewall = principals.firewall("analysis")
    return AnalysisHandlers(db, History(firewall.pepper, linker), HarmRules.load(), firewall, relay=None)


def notification(n: int, agency: Agency, subjects: list[Subject], *categories: ConcernCategory, days: float = 0) -> Notification:
    return Notification(
        message_id=uuid.uuid4(),
        referral_id=f"REF-{n:012X}",
        received_at=T0 + timedelta(days=days),
        rag=RagRating.GREEN,
        statutory_footing=StatutoryFooting.S17,
        submission_id=f"S-{n}",
        submitted_at=T0 + timedelta(days=days),
        referrer=Referrer(kind=ReferrerKind.PROFESSIONAL, agency=agency, name="A Professional", email="a@example.org"),
        subjects=subjects,
        concern={"categories": list(categories or [ConcernCategory.NEGLECT]), "description": "Concern."},
        consent=ConsentPosition(status=ConsentStatus.GIVEN),
    )


HOME = Address(line1="7 Larch Close", town="Northshire", postcode="NS3 8RD")


def child(given="Amelia", family="Quennell", born=date(2016, 5, 1), home=HOME, nhs=None, ref="c1") -> Subject:
    return subject(ref, SubjectRole.CHILD, given, family, born, address=home, nhs_number=nhs)


def test_three_agencies_low_level_concerns_are_linked_and_found_with_an_explanation(hub, queued):
    assert hub.research(notification(1, Agency.EDUCATION, [child()]), T0)
    assert hub.research(notification(2, Agency.HEALTH, [child(given="Amelie", home=None)], days=20), T0)
    assert hub.research(notification(3, Agency.POLICE, [child(family="Quenell")], days=40), T0)
    with hub.db.transaction() as s:
        people = {r.person_id for r in s.execute(select(appearances.c.person_id))}
        found = hub.history.people(s, "REF-000000000003")
    assert len(people) == 1, "one child, three spellings"
    from mash_analysis.harm import evaluate

    fired = {f.finding: f.explanation for f in evaluate(hub.rules, found, T0 + timedelta(days=40))}
    assert fired["multi_agency_low_level_concerns"].startswith(
        "3 contacts from 3 agencies in 90 days about c1: education, health, police"
    )
    assert len(queued(hub.db, contributions_topic(Agency.HUB_RESEARCH))) == 3


def test_a_redelivered_notification_adds_nothing(hub, queued):
    n = notification(1, Agency.EDUCATION, [child()])
    assert hub.research(n, T0)
    assert not hub.research(n, T0)
    assert len(queued(hub.db, contributions_topic(Agency.HUB_RESEARCH))) == 1


def test_different_nhs_numbers_are_different_children_and_twins_are_not_merged(hub):
    hub.research(notification(1, Agency.EDUCATION, [child(nhs="9434765919")]), T0)
    hub.research(notification(2, Agency.HEALTH, [child(nhs="9434765870")], days=1), T0)
    hub.research(notification(3, Agency.HEALTH, [child(given="Harriet", ref="t2")], days=2), T0)  # her twin
    with hub.db.transaction() as s:
        assert len({r.person_id for r in s.execute(select(appearances.c.person_id))}) == 3


def test_an_alleged_perpetrator_across_two_households_alerts_for_the_child_with_no_open_referral(hub, queued):
    man = lambda home: subject("a1", SubjectRole.ALLEGED_PERPETRATOR, "Darren", "Ashdown", date(1985, 2, 3), address=home)
    other = Address(line1="19 Quarry Road", town="Southshire", postcode="SS4 1JZ")
    leo = child(given="Leo", family="Brandt", born=date(2019, 9, 9), home=other)  # in the second household
    hub.research(notification(1, Agency.POLICE, [child(), man(HOME)], ConcernCategory.DOMESTIC_ABUSE), T0)
    assert queued(hub.db, ALERTS.name) == []
    hub.research(notification(2, Agency.HEALTH, [leo, man(other)], ConcernCategory.DOMESTIC_ABUSE, days=30), T0)
    assert queued(hub.db, ALERTS.name) == [], "the first household's child is still in an undecided referral: covered"
    with hub.db.transaction() as s:  # the first referral is decided at early help: no open referral covers her now
        s.execute(
            insert(decisions).values(
                message_id=str(uuid.uuid4()),
                referral_id="REF-000000000001",
                revision=1,
                level=2,
                outcome="early_help",
                recipients=["early_help"],
                decided_at=T0 + timedelta(days=1),
            )
        )
    hub.research(notification(3, Agency.EDUCATION, [leo, man(other)], ConcernCategory.DOMESTIC_ABUSE, days=31), T0)
    alerts = queued(hub.db, ALERTS.name)
    assert [a.key for a in alerts] == [b"REF-000000000003"]


def test_retention_erases_the_identifiers_of_a_shredded_case(hub):
    hub.research(notification(1, Agency.EDUCATION, [child()]), T0)
    assert hub.forget_shredded(lambda ref: {"referral_id": ref} if ref == "REF-000000000001" else None) == 1
    with hub.db.transaction() as s:
        [row] = s.execute(select(appearances)).all()
        assert row.family_name is None and row.date_of_birth is None and row.erased
        assert s.execute(select(blocking)).all() == []
    # A later notification about her cannot be linked to the erased case.
    hub.research(notification(2, Agency.HEALTH, [child()], days=3), T0)
    with hub.db.transaction() as s:
        assert len({r.person_id for r in s.execute(select(appearances.c.person_id))}) == 2


def test_a_decision_brings_the_times_of_the_answers_it_rests_on_into_the_figures(hub):
    from mash_contracts import ContributionStatus, Decision, DeskReturn, Outcome, ThresholdLevel

    hub.research(notification(1, Agency.EDUCATION, [child()]), T0)
    due = T0 + timedelta(hours=24)
    decision = Decision(
        message_id=uuid.uuid4(),
        referral_id="REF-000000000001",
        level=ThresholdLevel.EARLY_HELP,
        outcome=Outcome.EARLY_HELP,
        rag=RagRating.GREEN,
        recipients=[Agency.EARLY_HELP],
        model_version="m",
        explanation=[],
        contributions={Agency.POLICE: ContributionStatus.NO_RECORDS_FOUND},
        decided_by="model",
        decided_at=T0 + timedelta(hours=30),
        returns=[
            DeskReturn(
                agency=Agency.POLICE,
                status=ContributionStatus.NO_RECORDS_FOUND,
                due_by=due,
                researched_at=T0 + timedelta(hours=26),
            )
        ],
    )
    with hub.db.transaction() as s:
        hub.history.record_decision(s, decision)
        hub.history.record_decision(s, decision)  # a redelivery adds nothing
        [row] = hub.history.contact_rows(s)
    assert row.level == 2 and row.outcome == "early_help"
    assert row.returns == (("police", due, T0 + timedelta(hours=26)),)


def adult_notification(n: int) -> Notification:
    from mash_contracts import AdultAtRiskDetails

    adult = subject("a1", SubjectRole.ADULT_AT_RISK, "Edith", "Carrow", date(1942, 3, 1), address=HOME)
    told = notification(n, Agency.HEALTH, [adult], ConcernCategory.FINANCIAL_ABUSE)
    return told.model_copy(
        update={
            "statutory_footing": StatutoryFooting.CARE_ACT_S42,
            "concern": told.concern.model_copy(
                update={"adult_at_risk": AdultAtRiskDetails(location_of_risk="own_home", source_of_risk="known_to_individual")}
            ),
        }
    )


def adult_decision(referral_id: str, route, hours: float = 3):
    from mash_contracts import ContributionStatus, Decision, Outcome, ThresholdLevel

    return Decision(
        message_id=uuid.uuid4(),
        referral_id=referral_id,
        level=ThresholdLevel.CHILD_PROTECTION,
        outcome=Outcome.S42_ENQUIRY,
        rag=RagRating.GREEN,
        recipients=[Agency.ADULT_SOCIAL_CARE],
        model_version="m",
        explanation=[],
        contributions={Agency.ADULT_SOCIAL_CARE: ContributionStatus.SHARED},
        decided_by="model",
        decided_at=T0 + timedelta(hours=hours),
        route=route,
    )


def test_an_adult_at_risk_brings_the_location_source_and_route_into_the_figures(hub):
    from mash_contracts import AdultRoute

    n = adult_notification(2)
    hub.research(n, T0)
    with hub.db.transaction() as s:
        hub.history.record_decision(s, adult_decision(n.referral_id, AdultRoute.ALLOCATED_TEAM))
        [row] = hub.history.contact_rows(s)
    assert (row.adult, row.location_of_risk, row.source_of_risk, row.route) == (
        True,
        "own_home",
        "known_to_individual",
        "allocated_team",
    )
    assert row.categories == ("financial_abuse",) and row.outcome == "s42_enquiry"


def test_a_decision_read_before_its_notification_keeps_its_route(hub):
    """Decisions and notifications come on different topics, in no order between them (a lagging or rebuilt
    analysis store reads the decision first): the route is the decision's, not lost for want of the referral."""
    from mash_contracts import AdultRoute

    n = adult_notification(3)
    with hub.db.transaction() as s:
        hub.history.record_decision(s, adult_decision(n.referral_id, AdultRoute.ALLOCATED_TEAM))
    hub.research(n, T0)
    with hub.db.transaction() as s:
        [row] = hub.history.contact_rows(s)
    assert (row.adult, row.route, row.outcome) == (True, "allocated_team", "s42_enquiry")


def test_the_newest_decision_gives_the_route_as_it_gives_the_outcome(hub):
    from mash_contracts import AdultRoute

    n = adult_notification(4)
    hub.research(n, T0)
    later = adult_decision(n.referral_id, AdultRoute.MASH, hours=5)  # a manager's later decision, read first
    with hub.db.transaction() as s:
        hub.history.record_decision(s, later)
        hub.history.record_decision(s, adult_decision(n.referral_id, AdultRoute.ALLOCATED_TEAM, hours=3))
        [row] = hub.history.contact_rows(s)
    assert row.route == "mash"


def test_a_store_from_before_adults_had_figures_gains_their_tables_and_counts_its_adults(tmp_path, principals, linker):
    from sqlalchemy import MetaData

    url = f"sqlite:///{tmp_path / 'older.db'}"
    older = MetaData()
    for table in metadata.sorted_tables:
        if not table.name.startswith("adult_"):
            table.to_metadata(older)
    Database(url, older).dispose()
    firewall = principals.firewall("analysis")
    hub = AnalysisHandlers(Database(url, metadata), History(firewall.pepper, linker), HarmRules.load(), firewall, relay=None)
    hub.research(adult_notification(5), T0)
    with hub.db.transaction() as s:
        [row] = hub.history.contact_rows(s)
    assert (row.adult, row.location_of_risk, row.route) == (True, "own_home", None)


def test_operations_see_how_subjects_were_linked_and_what_fired(hub):
    hub.research(notification(1, Agency.EDUCATION, [child()]), T0)
    hub.research(notification(2, Agency.HEALTH, [child(given="Amelie")], days=20), T0)
    hub.research(notification(3, Agency.POLICE, [child()], days=40), T0)
    hub.research(notification(3, Agency.POLICE, [child()], days=40), T0)  # a redelivery counts nothing
    samples = {
        (m.name, tuple(sorted(s.labels.items()))): s.value
        for m in hub.linked.collect() + hub.found.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert samples[("mash_hub_subjects_linked", (("outcome", "new"),))] == 1
    assert samples[("mash_hub_subjects_linked", (("outcome", "linked"),))] == 2
    assert samples[("mash_hub_findings", (("finding", "multi_agency_low_level_concerns"),))] == 1
