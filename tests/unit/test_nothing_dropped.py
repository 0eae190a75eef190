"""Supplementary information, contributions before their referral, conflicting and undeclared answers: each is
kept and shown, never dropped (issue: nothing lost without a signal). Run on each backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import MONDAY, contribution
from mash_contracts import Agency, AlertKind, DeadLetter, derived_id
from mash_contracts import ConcernCategory as C
from mash_contracts.topics import ALERTS, DEAD_LETTERS, DECISIONS, DESK_AGENCIES, contributions_topic
from mash_intake import revisions
from mash_intake.screening import accept, acknowledgement, as_revision
from mash_runtime.errors import Rejected
from mash_runtime.store import Database, outbox

pytestmark = pytest.mark.unit


@pytest.fixture
def assembly(assembly_for, database_url):
    return assembly_for(database_url, hold=timedelta(minutes=10))  # how long a contribution waits for its referral


def answer(n, agency, findings=(), revision=1, rationale="test"):
    # The id leaves the rationale out: a second, different answer from a desk comes under the first one's id.
    message_id = derived_id("contribution", n.referral_id, agency.value, str(revision))
    return contribution(n, agency, findings, message_id=message_id, revision=revision, rationale=rationale)


def low_level(generator):
    s = generator.notification()
    return s.model_copy(update={"concern": s.concern.model_copy(update={"categories": [C.OTHER], "immediate_danger": False})})


def referred(assembly, generator):
    """A low-level submission and its referral, recorded by the decision service."""
    first = low_level(generator)
    n1 = accept(first, MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n1)
    return first, n1


def answered_by(assembly, n, desks, revision=1):
    """These desks answer this revision of the referral: nothing held."""
    for a in desks:
        assembly.record_contribution(answer(n, a, revision=revision))


def revise(submission, **concern):
    return submission.model_copy(update={"concern": submission.concern.model_copy(update=concern)})


# -- intake: a changed resubmission is the next revision, the same one is a retry ------------------------------


def test_intake_numbers_changed_resubmissions_and_absorbs_identical_ones(database_url, generator):
    db = Database(database_url, revisions.metadata)
    pepper = b"p" * 32
    first = generator.notification()
    ref = accept(first, MONDAY, referrer_system="northshire_schools").referral_id
    with db.transaction() as s:
        assert revisions.record(s, ref, revisions.part_digests(pepper, first)).number == 1
        assert revisions.record(s, ref, revisions.part_digests(pepper, first)) is None, "the same content is a retry"
        resent = first.model_copy(update={"submitted_at": first.submitted_at + timedelta(minutes=5)})
        assert revisions.record(s, ref, revisions.part_digests(pepper, resent)) is None, "a retry stamped anew is the same"
        disclosure = revise(first, description=first.concern.description + " The child has since disclosed more.")
        second = revisions.record(s, ref, revisions.part_digests(pepper, disclosure))
        assert (second.number, second.changes) == (2, ("concern",))
        moved = disclosure.model_copy(update={"referrer": disclosure.referrer.model_copy(update={"phone": "01632 960002"})})
        third = revisions.record(s, ref, revisions.part_digests(pepper, moved))
        assert (third.number, third.changes) == (3, ("referrer",))
        stored = " ".join(str(v) for row in s.execute(select(revisions.revisions)) for v in row)
    assert first.subjects[0].family_name not in stored, "intake keeps digests, never the content"
    db.dispose()

    n2 = as_revision(accept(disclosure, MONDAY, referrer_system="northshire_schools"), 2, ("concern",))
    assert n2.needs_research and n2.message_id != accept(disclosure, MONDAY, referrer_system="northshire_schools").message_id
    n3 = as_revision(accept(moved, MONDAY, referrer_system="northshire_schools"), 3, ("referrer",))
    assert not n3.needs_research, "new contact details change nothing the desks research"
    ack = acknowledgement(n2)
    assert (
        ack.revision == 2
        and "revision 2" in ack.text
        and ack.message_id != acknowledgement(accept(first, MONDAY, referrer_system="northshire_schools")).message_id
    )


# -- decision: supplementary information re-opens the referral ----------------------------------------------


def test_an_update_after_routing_is_reassessed_and_a_manager_must_confirm(assembly, published, generator):
    first, n1 = referred(assembly, generator)
    answered_by(assembly, n1, DESK_AGENCIES)
    [decided] = published(assembly.db, prefix=DECISIONS.name)
    assert decided.revision == 1

    n2 = as_revision(
        accept(
            revise(first, description="She has now disclosed that her stepfather hits her."),
            MONDAY + timedelta(hours=1),
            referrer_system="northshire_schools",
        ),
        2,
        ("concern",),
    )
    assert assembly.record_notification(n2)
    updated = [a for a in published(assembly.db, prefix=ALERTS.name) if a.kind is AlertKind.REFERRAL_UPDATED]
    assert len(updated) == 1 and "after the decision was routed" in updated[0].detail
    assert assembly.state_of(n1.referral_id) == "awaiting_contributions", "the desks research revision 2 first"
    answered_by(assembly, n2, DESK_AGENCIES, revision=2)
    assert len(published(assembly.db, prefix=DECISIONS.name)) == 1, "a re-decision is never routed without a manager"
    [pending] = assembly.pending()
    assert pending["revision"] == 2
    second = assembly.confirm(n1.referral_id, "m.jones")
    decisions = published(assembly.db, prefix=DECISIONS.name)
    assert [d.revision for d in decisions] == [1, 2] and decisions[0].message_id != decisions[1].message_id
    products = published(assembly.db, prefix="mash.products.")
    assert len({p.message_id for p in products}) == len(products), "the second revision's products have ids of their own"
    assert second.revision == 2


def test_an_update_while_awaiting_waits_for_fresh_answers_and_decides_once(assembly, published, generator):
    first, n1 = referred(assembly, generator)
    answered_by(assembly, n1, DESK_AGENCIES[:2])
    n2 = as_revision(accept(revise(first, categories=[C.NEGLECT]), MONDAY, referrer_system="northshire_schools"), 2, ("concern",))
    assembly.record_notification(n2)
    answered_by(assembly, n1, DESK_AGENCIES[2:])
    assert published(assembly.db, prefix=DECISIONS.name) == [], "answers to revision 1 are not enough for revision 2"
    answered_by(assembly, n2, DESK_AGENCIES, revision=2)
    [decision] = published(assembly.db, prefix=DECISIONS.name)
    assert decision.revision == 2 and any(f.name == "neglect reported" for f in decision.explanation)
    assert assembly.record_notification(n1) is False, "an older revision arriving late changes nothing"


def test_a_referrer_only_change_is_reassessed_without_new_research(assembly, published, generator):
    first, n1 = referred(assembly, generator)
    answered_by(assembly, n1, DESK_AGENCIES)
    moved = first.model_copy(update={"referrer": first.referrer.model_copy(update={"phone": "01632 960002"})})
    assembly.record_notification(as_revision(accept(moved, MONDAY, referrer_system="northshire_schools"), 2, ("referrer",)))
    [pending] = assembly.pending()
    assert pending["revision"] == 2, "recommended at once from the answers held, for a manager"


# -- decision: contributions it cannot place ------------------------------------------------------------


def test_a_second_different_answer_from_a_desk_is_kept_shown_and_needs_a_manager(assembly, published, generator):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n)
    assembly.record_contribution(answer(n, Agency.POLICE))
    assembly.record_contribution(answer(n, Agency.POLICE, ["repeat_domestic_abuse"], rationale="found on a second search"))
    assert not assembly.record_contribution(answer(n, Agency.POLICE)), "the same answer again is a redelivery"
    assert len(assembly.contributions_of(n.referral_id)) == 2, "both answers are on the record"
    conflict = [a for a in published(assembly.db, prefix=ALERTS.name) if a.kind is AlertKind.CONTRIBUTION_CONFLICT]
    assert len(conflict) == 1 and "police" in conflict[0].detail
    answered_by(assembly, n, DESK_AGENCIES[1:])
    assert published(assembly.db, prefix=DECISIONS.name) == [], "not auto-confirmed while answers conflict"
    [pending] = assembly.pending()
    assert pending["conflicts"] == ["police"]
    decision = assembly.confirm(n.referral_id, "m.jones")
    assert decision.conflicts == [Agency.POLICE]


def test_a_finding_outside_the_desks_declaration_is_refused(assembly, principals, generator):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n)
    with pytest.raises(Rejected, match="police may not report open_cp_plan"):
        assembly.record_contribution(answer(n, Agency.POLICE, ["open_cp_plan"]))
    assert assembly.contributions_of(n.referral_id) == []
    assembly.record_contribution(answer(n, Agency.CHILDRENS_SOCIAL_CARE, ["open_cp_plan"]))  # social care's own finding
    assert len(assembly.contributions_of(n.referral_id)) == 1


def test_a_contribution_before_its_referral_is_held_then_used(assembly, published, generator, manual_clock):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    answered_by(assembly, n, DESK_AGENCIES)
    assert assembly.snapshot()["held_contributions"] == len(DESK_AGENCIES)
    manual_clock.at = MONDAY + timedelta(minutes=5)
    assembly.sweep()
    assert assembly.record_notification(n), "the held answers complete the referral as soon as it arrives"
    assert len(published(assembly.db, prefix=DECISIONS.name)) == 1
    assert assembly.snapshot()["held_contributions"] == 0


def test_a_contribution_whose_referral_never_comes_is_dead_lettered_and_alerted(assembly, published, generator, manual_clock):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    sealed = b"the sealed record as it arrived"
    assembly.record_contribution(answer(n, Agency.HEALTH), sealed, contributions_topic(Agency.HEALTH))
    manual_clock.at = MONDAY + timedelta(minutes=9)
    assembly.sweep()
    assert published(assembly.db, prefix=DEAD_LETTERS.name) == []
    manual_clock.at = MONDAY + timedelta(minutes=11)
    assert assembly.sweep()
    with assembly.db.transaction() as s:
        [payload] = s.execute(select(outbox.c.payload).where(outbox.c.topic == DEAD_LETTERS.name)).scalars()
    letter = DeadLetter.model_validate_json(payload)
    assert letter.error_type == "ContributionWithoutReferral" and letter.source_topic == contributions_topic(Agency.HEALTH)
    import base64

    assert base64.b64decode(letter.original_b64) == sealed, "the original bytes, for replay"
    [alert] = [a for a in published(assembly.db, prefix=ALERTS.name) if a.kind is AlertKind.CONTRIBUTION_WITHOUT_REFERRAL]
    assert alert.referral_id == n.referral_id
    assert assembly.snapshot()["held_contributions"] == 0
    assembly.sweep()
    assert len(published(assembly.db, prefix=DEAD_LETTERS.name)) == 1, "set aside once"
