"""A mixed household (issue 19, part 4): one submission naming children and an adult at risk becomes two referrals,
the children's and the adults', each decided and routed on its own and each naming the other. The pure split, then
intake's transaction on each backend, then each decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mash_contracts import AdultAtRiskDetails, AdultRoute, Agency, Outcome, StatutoryFooting, SubjectRole
from mash_contracts import ConcernCategory as C
from mash_contracts.threshold import load_model
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_URGENT
from mash_decision.products import decision_for, products_for
from mash_intake import links, revisions, strands
from mash_intake.handlers import IntakeHandlers
from mash_intake.screening import accept
from mash_runtime.store import Database, outbox

pytestmark = pytest.mark.unit
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REFERRER = "northshire_schools"


@pytest.fixture
def mixed(generator):
    """A grandmother with dementia, financially abused, in a household with two children neglected."""
    s = generator.notification()
    adult = next(x for x in s.subjects if x.role not in (SubjectRole.CHILD, SubjectRole.UNBORN_CHILD))
    subjects = [x if x is not adult else adult.model_copy(update={"role": SubjectRole.ADULT_AT_RISK}) for x in s.subjects]
    concern = s.concern.model_copy(
        update={
            "categories": [C.NEGLECT, C.FINANCIAL_ABUSE],
            "immediate_danger": False,
            "adult_at_risk": AdultAtRiskDetails(care_and_support_needs=True, desired_outcomes=["To keep my own bank card"]),
        }
    )
    return s.model_copy(update={"subjects": subjects, "concern": concern})


@pytest.fixture
def intake(database_url, principals):
    db = Database(database_url, revisions.metadata, links.metadata)
    yield IntakeHandlers(principals.firewall("intake"), db, relay=None, model=load_model("default"))
    db.dispose()


def sent(intake, principals, *topics):
    with intake.db.transaction() as s:
        rows = s.execute(
            select(outbox.c.topic, outbox.c.key, outbox.c.payload).where(outbox.c.topic.in_(topics)).order_by(outbox.c.id)
        ).all()
    return [principals.read(t, k, p) for t, k, p in rows]


def test_the_split_keeps_the_household_for_the_children_and_leaves_the_children_out_for_the_adult(mixed):
    n = accept(mixed, MONDAY, referrer_system=REFERRER)
    children, adults = strands.split(n, load_model("default"), MONDAY.date())
    assert (children.referral_id, children.strand) == (n.referral_id, "children")
    assert adults.referral_id == strands.adults_referral_id(n.referral_id) != n.referral_id and adults.strand == "adults"
    assert (children.related_referral_id, adults.related_referral_id) == (adults.referral_id, children.referral_id)
    # The adult is an adult of the children's household: the desks share what bears on the children.
    assert SubjectRole.ADULT_AT_RISK not in {s.role for s in children.subjects}
    assert len(children.subjects) == len(n.subjects) and children.concern.adult_at_risk is None
    # The adult's referral: the adults only, under the Care Act, with what the adult wants.
    assert not {SubjectRole.CHILD, SubjectRole.UNBORN_CHILD} & {s.role for s in adults.subjects}
    assert (
        adults.statutory_footing is StatutoryFooting.CARE_ACT_S42
        and children.statutory_footing is not StatutoryFooting.CARE_ACT_S42
    )
    assert adults.concern.adult_at_risk.desired_outcomes == ["To keep my own bank card"]
    assert adults.message_id != children.message_id
    assert strands.split(n, load_model("default"), MONDAY.date()) == [children, adults], "the same every time: redelivery"


def test_a_household_without_an_adult_at_risk_or_without_children_is_one_referral(generator, mixed):
    plain = accept(generator.notification(), MONDAY, referrer_system=REFERRER)
    assert strands.split(plain, load_model("default"), MONDAY.date()) == [plain]
    adult_only = mixed.model_copy(update={"subjects": [s for s in mixed.subjects if s.role is SubjectRole.ADULT_AT_RISK]})
    n = accept(adult_only, MONDAY, referrer_system=REFERRER)
    assert strands.split(n, load_model("default"), MONDAY.date()) == [n] and n.strand == "whole"


def test_intake_queues_both_referrals_and_one_acknowledgement_naming_both(intake, principals, mixed):
    n = accept(mixed, MONDAY, intake.model, referrer_system=REFERRER)
    accepted = intake._accept(mixed, n)
    queued = sent(intake, principals, NOTIFICATIONS.name, NOTIFICATIONS_URGENT.name)
    assert [q.referral_id for q in queued] == [n.referral_id, strands.adults_referral_id(n.referral_id)]
    assert accepted.strand == "children"
    [ack] = sent(intake, principals, ACKNOWLEDGEMENTS.for_referrer(REFERRER))
    assert ack.referral_id == n.referral_id and ack.related_referral_id == queued[1].referral_id
    assert f"the adult's concern is referral {queued[1].referral_id}" in ack.text
    assert intake._accept(mixed, n) is None, "a redelivery adds neither"
    assert len(sent(intake, principals, NOTIFICATIONS.name, NOTIFICATIONS_URGENT.name)) == 2

    # An update to the submission is the next revision of both.
    update = mixed.model_copy(update={"concern": mixed.concern.model_copy(update={"description": "More was disclosed."})})
    intake._accept(update, accept(update, MONDAY + timedelta(hours=2), intake.model, referrer_system=REFERRER))
    revised = sent(intake, principals, NOTIFICATIONS.name, NOTIFICATIONS_URGENT.name)[2:]
    assert [(r.referral_id, r.revision) for r in revised] == [(n.referral_id, 2), (queued[1].referral_id, 2)]


def test_each_referral_is_decided_on_its_own_model_and_routed_to_its_own_recipients(mixed):
    model = load_model("default")
    children, adults = strands.split(accept(mixed, MONDAY, referrer_system=REFERRER), model, MONDAY.date())
    decided = {}
    for n in (children, adults):
        rec = model.recommend(n, {}, today=MONDAY.date())
        decided[n.strand] = decision_for(n, {}, rec, model.version, MONDAY, decided_by="test", rag=n.rag)
    assert decided["adults"].outcome is Outcome.S42_ENQUIRY and decided["adults"].route is AdultRoute.MASH
    assert decided["adults"].recipients == [Agency.ADULT_SOCIAL_CARE]
    assert decided["children"].route is None and decided["children"].outcome is not Outcome.S42_ENQUIRY
    assert Agency.ADULT_SOCIAL_CARE not in decided["children"].recipients
    assert decided["children"].related_referral_id == adults.referral_id
    [product] = products_for(adults, {}, decided["adults"])
    assert product.concern.adult_at_risk.desired_outcomes == ["To keep my own bank card"], "what the adult wants travels"
    assert product.related_referral_id == children.referral_id and "other referral" in product.summary
