"""Duplicate notifications at the front door (issue 14, part 3): the same concern about the same person at risk
from the same referrer, under another reference within the window, is linked to the open referral as its next
revision, not opened as a second case. The pure rule, then intake's transaction on each backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from mash_contracts import ConcernCategory as C
from mash_contracts import RagRating
from mash_contracts.threshold import load_model
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_URGENT
from mash_decision.products import decision_for, outcome_notice
from mash_intake import duplicates, links, revisions
from mash_intake.handlers import IntakeHandlers
from mash_intake.screening import accept
from mash_runtime.store import Database, outbox

pytestmark = pytest.mark.unit
PEPPER = b"p" * 32
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)


def about(submission, *categories, immediate_danger=False, **child):
    """The submission with these concern categories and changes to its first subject (the child)."""
    subjects = [submission.subjects[0].model_copy(update=child), *submission.subjects[1:]]
    concern = submission.concern.model_copy(update={"categories": list(categories), "immediate_danger": immediate_danger})
    return submission.model_copy(update={"subjects": subjects, "concern": concern})


def referred_by(submission, **referrer):
    return submission.model_copy(update={"referrer": submission.referrer.model_copy(update=referrer)})


def under(submission, reference):
    return submission.model_copy(update={"submission_id": reference})


@pytest.fixture
def first(generator):
    s = generator.notification()
    return about(
        s,
        C.NEGLECT,
        C.EMOTIONAL_ABUSE,
        nhs_number="9434765919",
        given_name="Zoë",
        family_name="O'Brien",
        date_of_birth=date(2016, 3, 4),
    )


def fp(submission, at=MONDAY, ref="REF-000000000001"):
    return duplicates.fingerprint(PEPPER, submission, at, ref)


# -- the rule ---------------------------------------------------------------------------------------------------


def test_the_same_referrer_child_and_concern_within_the_window_is_a_duplicate(first):
    again = under(
        about(first, C.NEGLECT, nhs_number="9434765919", given_name="Zoë", family_name="O'Brien", date_of_birth=date(2016, 3, 4)),
        "SECOND-REF",
    )
    assert duplicates.is_duplicate(fp(again, MONDAY + timedelta(hours=5)), fp(first), WINDOW)


def test_the_referrer_is_its_kind_agency_organisation_and_contact(first):
    earlier = fp(first)
    loud = referred_by(
        first,
        organisation="  " + first.referrer.organisation.upper() + " ",
        email=first.referrer.email.upper(),
        name="Someone Else",
        role="Headteacher",
    )
    assert duplicates.is_duplicate(fp(loud), earlier, WINDOW), "case and spacing, name and role do not make another referrer"
    assert not duplicates.is_duplicate(fp(referred_by(first, organisation="Another School")), earlier, WINDOW)
    assert not duplicates.is_duplicate(fp(referred_by(first, email="someone.else@example.org")), earlier, WINDOW)
    other_agency = referred_by(first, agency=next(a for a in type(first.referrer.agency) if a != first.referrer.agency))
    assert not duplicates.is_duplicate(fp(other_agency), earlier, WINDOW)
    # Without an email the phone is the contact, in any spelling of the same number.
    by_phone = referred_by(first, email=None, phone="07700 900123")
    assert duplicates.is_duplicate(fp(referred_by(first, email=None, phone="+44 7700 900 123")), fp(by_phone), WINDOW)
    assert not duplicates.is_duplicate(fp(referred_by(first, email=None, phone="07700 900124")), fp(by_phone), WINDOW)


def test_two_anonymous_reports_of_the_same_concern_are_two_referrals(first):
    from mash_contracts import ReferrerKind

    anonymous = {"kind": ReferrerKind.MEMBER_OF_PUBLIC, "agency": None, "organisation": None, "role": None}
    one = referred_by(first, **anonymous, name=None, email=None, phone=None, anonymous=True)
    two = under(one, "SECOND-REF")
    assert not duplicates.is_duplicate(fp(two, MONDAY + timedelta(hours=1)), fp(one), WINDOW), (
        "two people, or one: each is evidence"
    )
    assert duplicates.is_duplicate(fp(one, MONDAY + timedelta(hours=1)), fp(one), WINDOW), "the same report again is the same"


def test_the_child_is_the_same_by_nhs_number_or_by_name_and_date_of_birth(first):
    earlier = fp(first)
    renamed = about(first, C.NEGLECT, given_name="Zoe", family_name="OBRIEN", nhs_number=None)
    assert duplicates.is_duplicate(fp(renamed), earlier, WINDOW), "accents, case and punctuation ignored"
    nhs_only = about(first, C.NEGLECT, given_name="Zed", date_of_birth=date(2016, 3, 5))
    assert duplicates.is_duplicate(fp(nhs_only), earlier, WINDOW), "the NHS number alone is enough"
    sibling = about(first, C.NEGLECT, given_name="Amir", nhs_number=None)
    assert not duplicates.is_duplicate(fp(sibling), earlier, WINDOW), "a sibling with the same family name and birthday"
    other_day = about(first, C.NEGLECT, nhs_number=None, date_of_birth=date(2016, 3, 5))
    assert not duplicates.is_duplicate(fp(other_day), earlier, WINDOW)
    adult_only = first.model_copy(
        update={"subjects": first.subjects[1:] + [first.subjects[0].model_copy(update={"role": "household_member"})]}
    )
    assert not fp(adult_only).people, "only people at risk identify the concern's subject"


def test_the_concern_overlaps_by_category(first):
    earlier = fp(first)
    assert duplicates.is_duplicate(fp(about(first, C.EMOTIONAL_ABUSE, C.MISSING)), earlier, WINDOW)
    assert not duplicates.is_duplicate(fp(about(first, C.MISSING)), earlier, WINDOW), "another concern is a new referral"


def test_the_window_edges(first):
    earlier = fp(first)
    assert duplicates.is_duplicate(fp(first, MONDAY + WINDOW), earlier, WINDOW), "exactly at the window: still linked"
    assert not duplicates.is_duplicate(fp(first, MONDAY + WINDOW + timedelta(seconds=1)), earlier, WINDOW)
    assert duplicates.is_duplicate(fp(first, MONDAY - timedelta(hours=1)), earlier, WINDOW), "read out of order"
    assert not duplicates.is_duplicate(fp(first, MONDAY + timedelta(hours=1)), earlier, timedelta(0))


def test_the_most_recently_opened_match_is_chosen_and_its_own_referral_never(first):
    older, newer = (
        fp(first, MONDAY - timedelta(hours=30), "REF-00000000000A"),
        fp(first, MONDAY - timedelta(hours=2), "REF-00000000000B"),
    )
    assert duplicates.duplicate_of(fp(first, MONDAY, "REF-00000000000C"), [older, newer], WINDOW) == newer
    assert duplicates.duplicate_of(fp(first, MONDAY, "REF-00000000000B"), [newer], WINDOW) is None


# -- intake's transaction ---------------------------------------------------------------------------------------


@pytest.fixture
def intake(database_url, principals):
    db = Database(database_url, revisions.metadata, links.metadata)
    yield IntakeHandlers(principals.firewall("intake"), db, relay=None, model=load_model("default"), duplicate_window=WINDOW)
    db.dispose()


def take(intake, submission, at, referrer_system="northshire_schools"):
    return intake._accept(submission, accept(submission, at, intake.model, referrer_system=referrer_system))


def sent(intake, principals, topic, key=None):
    with intake.db.transaction() as s:
        rows = s.execute(
            select(outbox.c.topic, outbox.c.key, outbox.c.payload).where(outbox.c.topic == topic).order_by(outbox.c.id)
        ).all()
    return [principals.read(t, k, p) for t, k, p in rows if key is None or k == key.encode()]


def test_the_same_notification_under_a_second_reference_is_linked_not_a_second_case(intake, principals, first):
    opened = take(intake, first, MONDAY)
    second = under(first, "SECOND-REF")
    linked = take(intake, second, MONDAY + timedelta(hours=20))
    assert linked.referral_id == opened.referral_id, "linked to the open referral, not opened as a second case"
    assert (linked.revision, linked.changes) == (2, ["linked_submission"])
    assert linked.linked_submission_ids == [first.submission_id, "SECOND-REF"]
    assert not linked.needs_research, "nothing the desks research differs"
    assert take(intake, second, MONDAY + timedelta(hours=20)) is None, "a redelivered duplicate adds nothing"
    [ack] = sent(intake, principals, ACKNOWLEDGEMENTS.for_referrer("northshire_schools"), "SECOND-REF")
    assert ack.referral_id == opened.referral_id and ack.revision == 2 and ack.linked_to_submission_id == first.submission_id
    assert "linked to open referral" in ack.text and f"on 23 November 2026 under your reference {first.submission_id}" in ack.text
    assert [n.message_id for n in sent(intake, principals, NOTIFICATIONS.name)] == [opened.message_id, linked.message_id]

    # The linked reference's own update is the referral's next revision too; the first reference's as well.
    disclosure = second.model_copy(
        update={"concern": second.concern.model_copy(update={"description": "She has disclosed more."})}
    )
    update = take(intake, disclosure, MONDAY + timedelta(hours=30))
    assert (update.referral_id, update.revision, update.changes) == (opened.referral_id, 3, ["concern"])
    assert update.needs_research and update.linked_submission_ids == [first.submission_id, "SECOND-REF"]
    assert take(intake, first, MONDAY) is None, "the first reference's retry is still a retry"
    with intake.db.engine.connect() as c:
        stored = " ".join(
            str(v)
            for t in (links.submissions, links.duplicate_keys, revisions.revisions)
            for row in c.execute(select(t))
            for v in row
        )
    for personal in ("9434765919", "Brien", "Zo", first.referrer.email, first.referrer.organisation):
        assert personal not in stored, "intake keeps keyed digests, never names, NHS numbers or contact details"


def test_a_different_referrer_child_or_concern_or_a_late_one_is_a_new_referral(intake, first):
    opened = take(intake, first, MONDAY)
    others = [
        take(intake, under(referred_by(first, email="another@example.org"), "R2"), MONDAY + timedelta(hours=1)),
        take(intake, under(about(first, C.NEGLECT, nhs_number=None, given_name="Amir"), "R3"), MONDAY + timedelta(hours=1)),
        take(intake, under(about(first, C.MISSING), "R4"), MONDAY + timedelta(hours=1)),
        take(intake, under(first, "R5"), MONDAY + WINDOW + timedelta(minutes=1)),
        # The same content from another enrolled referrer's system is that referrer's own referral.
        take(intake, under(first, "R6"), MONDAY + timedelta(hours=1), referrer_system="northshire_gp"),
    ]
    assert all(n.revision == 1 and not n.linked_submission_ids for n in others)
    assert len({opened.referral_id, *(n.referral_id for n in others)}) == 6


def test_a_red_duplicate_still_travels_the_urgent_lane(intake, principals, first):
    opened = take(intake, first, MONDAY)
    red = take(intake, under(about(first, C.NEGLECT, immediate_danger=True), "URGENT-REF"), MONDAY + timedelta(hours=1))
    assert red.referral_id == opened.referral_id and red.rag is RagRating.RED and red.revision == 2
    assert [n.message_id for n in sent(intake, principals, NOTIFICATIONS_URGENT.name)] == [red.message_id]


def test_the_decision_and_every_reference_name_both(intake, first):
    take(intake, first, MONDAY)
    linked = take(intake, under(first, "SECOND-REF"), MONDAY + timedelta(hours=2))
    model = load_model("default")
    decision = decision_for(
        linked,
        {},
        model.recommend(linked, {}, no_answer=frozenset(), today=MONDAY.date()),
        model.version,
        MONDAY,
        decided_by="test",
        rag=linked.rag,
    )
    assert decision.linked_submission_ids == [first.submission_id, "SECOND-REF"]
    notices = [outcome_notice(linked, decision, r) for r in decision.linked_submission_ids]
    assert [n.submission_id for n in notices] == [first.submission_id, "SECOND-REF"]
    assert len({n.message_id for n in notices}) == 2
    assert all(f"notifications {first.submission_id} and SECOND-REF" in n.text for n in notices)
