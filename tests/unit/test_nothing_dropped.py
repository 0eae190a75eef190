"""Supplementary information, contributions before their referral, conflicting and undeclared answers: each is
kept and shown, never dropped (issue: nothing lost without a signal). Run on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mash_contracts import Agency, AlertKind, Contribution, ContributionStatus, DeadLetter, derived_id
from mash_contracts import ConcernCategory as C
from mash_contracts.threshold import load_model
from mash_contracts.topics import ALERTS, DEAD_LETTERS, DECISIONS, DESK_AGENCIES, contributions_topic
from mash_decision.assembly import Assembly, metadata
from mash_intake import revisions
from mash_intake.screening import accept, acknowledgement, as_revision
from mash_runtime.errors import Rejected
from mash_runtime.store import Database, outbox

pytestmark = pytest.mark.unit
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Now:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def now() -> Now:
    return Now(MONDAY)


@pytest.fixture
def assembly(database_url, principals, now, declared_findings):
    db = Database(database_url, metadata)
    yield Assembly(
        db,
        DESK_AGENCIES,
        principals.firewall("decision"),
        load_model("default"),
        now=now,
        declared_findings=declared_findings,
        hold=timedelta(minutes=10),
    )
    db.dispose()


def answer(n, agency, findings=(), revision=1, rationale="test"):
    return Contribution(
        message_id=derived_id("contribution", n.referral_id, agency.value, str(revision)),
        referral_id=n.referral_id,
        agency=agency,
        status=ContributionStatus.SHARED if findings else ContributionStatus.NO_RECORDS_FOUND,
        findings=list(findings),
        rationale=rationale,
        policy_version="test-1",
        researched_at=MONDAY,
        notification_revision=revision,
    )


def published(assembly, principals, topic):
    with assembly.db.transaction() as s:
        rows = s.execute(select(outbox.c.topic, outbox.c.key, outbox.c.payload).where(outbox.c.topic.startswith(topic))).all()
    return [principals.read(t, k, p) for t, k, p in rows]


def low_level(generator):
    s = generator.notification()
    return s.model_copy(update={"concern": s.concern.model_copy(update={"categories": [C.OTHER], "immediate_danger": False})})


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
        with db.engine.connect() as c:
            stored = " ".join(str(v) for row in c.execute(select(revisions.revisions)) for v in row)
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


def test_an_update_after_routing_is_reassessed_and_a_manager_must_confirm(assembly, principals, generator):
    first = low_level(generator)
    n1 = accept(first, MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n1)
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n1, a))
    [decided] = published(assembly, principals, DECISIONS.name)
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
    updated = [a for a in published(assembly, principals, ALERTS.name) if a.kind is AlertKind.REFERRAL_UPDATED]
    assert len(updated) == 1 and "after the decision was routed" in updated[0].detail
    assert assembly.state_of(n1.referral_id) == "awaiting_contributions", "the desks research revision 2 first"
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n2, a, revision=2))
    assert len(published(assembly, principals, DECISIONS.name)) == 1, "a re-decision is never routed without a manager"
    [pending] = assembly.pending()
    assert pending["revision"] == 2
    second = assembly.confirm(n1.referral_id, "m.jones")
    decisions = published(assembly, principals, DECISIONS.name)
    assert [d.revision for d in decisions] == [1, 2] and decisions[0].message_id != decisions[1].message_id
    products = published(assembly, principals, "mash.products.")
    assert len({p.message_id for p in products}) == len(products), "the second revision's products have ids of their own"
    assert second.revision == 2


def test_an_update_while_awaiting_waits_for_fresh_answers_and_decides_once(assembly, principals, generator):
    first = low_level(generator)
    n1 = accept(first, MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n1)
    for a in DESK_AGENCIES[:2]:
        assembly.record_contribution(answer(n1, a))
    n2 = as_revision(accept(revise(first, categories=[C.NEGLECT]), MONDAY, referrer_system="northshire_schools"), 2, ("concern",))
    assembly.record_notification(n2)
    for a in DESK_AGENCIES[2:]:
        assembly.record_contribution(answer(n1, a))
    assert published(assembly, principals, DECISIONS.name) == [], "answers to revision 1 are not enough for revision 2"
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n2, a, revision=2))
    [decision] = published(assembly, principals, DECISIONS.name)
    assert decision.revision == 2 and any(f.name == "neglect reported" for f in decision.explanation)
    assert assembly.record_notification(n1) is False, "an older revision arriving late changes nothing"


def test_a_referrer_only_change_is_reassessed_without_new_research(assembly, principals, generator):
    first = low_level(generator)
    n1 = accept(first, MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n1)
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n1, a))
    moved = first.model_copy(update={"referrer": first.referrer.model_copy(update={"phone": "01632 960002"})})
    assembly.record_notification(as_revision(accept(moved, MONDAY, referrer_system="northshire_schools"), 2, ("referrer",)))
    [pending] = assembly.pending()
    assert pending["revision"] == 2, "recommended at once from the answers held, for a manager"


# -- decision: contributions it cannot place ------------------------------------------------------------


def test_a_second_different_answer_from_a_desk_is_kept_shown_and_needs_a_manager(assembly, principals, generator):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    assembly.record_notification(n)
    assembly.record_contribution(answer(n, Agency.POLICE))
    assembly.record_contribution(answer(n, Agency.POLICE, ["repeat_domestic_abuse"], rationale="found on a second search"))
    assert not assembly.record_contribution(answer(n, Agency.POLICE)), "the same answer again is a redelivery"
    assert len(assembly.contributions_of(n.referral_id)) == 2, "both answers are on the record"
    conflict = [a for a in published(assembly, principals, ALERTS.name) if a.kind is AlertKind.CONTRIBUTION_CONFLICT]
    assert len(conflict) == 1 and "police" in conflict[0].detail
    for a in DESK_AGENCIES[1:]:
        assembly.record_contribution(answer(n, a))
    assert published(assembly, principals, DECISIONS.name) == [], "not auto-confirmed while answers conflict"
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


def test_a_contribution_before_its_referral_is_held_then_used(assembly, principals, generator, now):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n, a))
    assert assembly.snapshot()["held_contributions"] == len(DESK_AGENCIES)
    now.at = MONDAY + timedelta(minutes=5)
    assembly.sweep()
    assert assembly.record_notification(n), "the held answers complete the referral as soon as it arrives"
    assert len(published(assembly, principals, DECISIONS.name)) == 1
    assert assembly.snapshot()["held_contributions"] == 0


def test_a_contribution_whose_referral_never_comes_is_dead_lettered_and_alerted(assembly, principals, generator, now):
    n = accept(low_level(generator), MONDAY, referrer_system="northshire_schools")
    sealed = b"the sealed record as it arrived"
    assembly.record_contribution(answer(n, Agency.HEALTH), sealed, contributions_topic(Agency.HEALTH))
    now.at = MONDAY + timedelta(minutes=9)
    assembly.sweep()
    assert published(assembly, principals, DEAD_LETTERS.name) == []
    now.at = MONDAY + timedelta(minutes=11)
    assert assembly.sweep()
    with assembly.db.transaction() as s:
        [payload] = s.execute(select(outbox.c.payload).where(outbox.c.topic == DEAD_LETTERS.name)).scalars()
    letter = DeadLetter.model_validate_json(payload)
    assert letter.error_type == "ContributionWithoutReferral" and letter.source_topic == contributions_topic(Agency.HEALTH)
    import base64

    assert base64.b64decode(letter.original_b64) == sealed, "the original bytes, for replay"
    [alert] = [a for a in published(assembly, principals, ALERTS.name) if a.kind is AlertKind.CONTRIBUTION_WITHOUT_REFERRAL]
    assert alert.referral_id == n.referral_id
    assert assembly.snapshot()["held_contributions"] == 0
    assembly.sweep()
    assert len(published(assembly, principals, DEAD_LETTERS.name)) == 1, "set aside once"
