"""The whole mesh over a real broker: referrals in, acknowledgements, contributions, decisions, products out."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from mash_contracts import Agency, ContributionStatus
from mash_contracts.topics import (
    ACKNOWLEDGEMENTS,
    CONTRIBUTIONS,
    DEAD_LETTERS,
    DECISIONS,
    DESK_AGENCIES,
    NOTIFICATIONS,
    PRODUCTS,
    REJECTIONS,
    RESEARCHERS,
    contributions_topic,
    lanes,
    products_topic,
)
from mash_tools.synthetic import Generator

from .watch import Seen, run

pytestmark = pytest.mark.integration
FLOW = [
    ACKNOWLEDGEMENTS.name,
    *lanes(NOTIFICATIONS.name),
    *(n for t in CONTRIBUTIONS for n in lanes(t.name)),
    DECISIONS.name,
    *(t.name for t in PRODUCTS),
]


@pytest.fixture
def fresh() -> Generator:
    return Generator(seed=uuid.uuid4().int)


def referral_ids(seen: Seen, submission_ids: set[str]) -> set[str]:
    return {a.referral_id for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id in submission_ids}


def routed(seen: Seen, referrals: set[str]) -> bool:
    decisions = {d.referral_id: d for d in seen.decoded(DECISIONS.name) if d.referral_id in referrals}
    products = [p for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id in referrals]
    return len(decisions) == len(referrals) and len(products) >= sum(len(d.recipients) for d in decisions.values())


def test_referrals_travel_intake_desks_decision_to_the_recipient(mesh, watcher, fresh):
    submissions = [fresh.notification() for _ in range(6)]
    run(watcher.submit(*submissions))
    ours = {s.submission_id for s in submissions}

    seen = run(watcher.read_until(FLOW, lambda s: len(referral_ids(s, ours)) == 6 and routed(s, referral_ids(s, ours)), settle=2))
    refs = referral_ids(seen, ours)
    notifications = {n.referral_id: n for n in seen.lanes(NOTIFICATIONS.name) if n.referral_id in refs}
    assert {n.submission_id for n in notifications.values()} == ours

    for agency in DESK_AGENCIES:
        answered = [c for c in seen.lanes(contributions_topic(agency)) if c.referral_id in refs]
        assert sorted(c.referral_id for c in answered) == sorted(refs), f"{agency} answered each referral once"
        # Invented families are in no agency's records: each desk finds nothing, or declines without consent.
        assert {c.status for c in answered} <= {ContributionStatus.NO_RECORDS_FOUND, ContributionStatus.DECLINED}
        assert all(c.disclosure_id for c in answered)

    decisions = {d.referral_id: d for d in seen.decoded(DECISIONS.name) if d.referral_id in refs}
    assert len(decisions) == 6 and set(decisions) == refs
    for ref, decision in decisions.items():
        assert decision.rag is notifications[ref].rag
        assert set(decision.contributions) == set(RESEARCHERS)
        assert decision.explanation, "every decision says why"
        for recipient in decision.recipients:
            products = [p for p in seen.decoded(products_topic(recipient)) if p.referral_id == ref]
            assert len(products) == 1, f"{ref}: one product for {recipient}"
            assert (products[0].level, products[0].outcome, products[0].recipient) == (
                decision.level,
                decision.outcome,
                recipient,
            )
        others = [
            p for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id == ref and p.recipient not in decision.recipients
        ]
        assert others == [], "nothing is routed to an agency that was not chosen"
    # The generator's scenarios cover the whole range of the placeholder model.
    assert {d.level.value for d in decisions.values()} >= {2, 3, 4}
    assert Agency.POLICE in {r for d in decisions.values() for r in d.recipients}


def test_malformed_input_is_dead_lettered_with_its_bytes_and_consumers_carry_on(mesh, watcher, fresh):
    bad_reference = f"BAD-{uuid.uuid4().hex[:8]}"
    not_utf8 = b"\xff\xfe\x00 not a notification"  # not even an envelope: refused by the firewall
    invalid = json.dumps({"submission_id": bad_reference, "subjects": "not a list"}).encode()  # sealed, but not a notification
    sent = run(watcher.submit(raw=[not_utf8]))
    sent.append(run(watcher.submit_sealed_bytes(bad_reference, invalid)))
    garbage_for_desks = run(watcher.publish_raw(NOTIFICATIONS.name, b"REF-000000000000", b'{"referral_id": 42}'))
    good = fresh.notification()
    run(watcher.submit(good))

    def at(letter, meta) -> bool:  # offsets repeat across partitions: a letter is for a record by all three
        return (letter.source_topic, letter.source_partition, letter.source_offset) == (meta.topic, meta.partition, meta.offset)

    def done(seen: Seen) -> bool:
        letters = seen.decoded(DEAD_LETTERS.name)
        at_desks = {d.service for d in letters if at(d, garbage_for_desks)}
        at_intake = {(d.source_partition, d.source_offset) for d in letters if d.source_topic == sent[0].topic}
        acked = {a.submission_id for a in seen.decoded(ACKNOWLEDGEMENTS.name)}
        rejected = {r.submission_id for r in seen.decoded(REJECTIONS.name)}
        return (
            at_desks == set(NOTIFICATIONS.readers)
            and all((m.partition, m.offset) in at_intake for m in sent)
            and good.submission_id in acked
            and bad_reference in rejected
        )

    seen = run(watcher.read_until([DEAD_LETTERS.name, REJECTIONS.name, ACKNOWLEDGEMENTS.name], done, settle=1))
    letters = seen.decoded(DEAD_LETTERS.name)
    letter_for = {
        (meta.partition, meta.offset): next(
            d
            for d in letters
            if (d.source_topic, d.source_partition, d.source_offset) == (meta.topic, meta.partition, meta.offset)
        )
        for meta in sent
    }
    garbage, unreadable = letter_for[(sent[0].partition, sent[0].offset)], letter_for[(sent[1].partition, sent[1].offset)]
    assert watcher.principals.original_of(garbage) == not_utf8 and garbage.error_type == "SealError"
    assert not_utf8 not in base64.b64decode(garbage.original_b64), "sealed for operations, not in plaintext on the topic"
    assert unreadable.error_type == "UnreadableMessage" and "subjects" in unreadable.error
    assert b"not a list" not in base64.b64decode(unreadable.original_b64), "the dead letter keeps the sealed original"
    assert b"not a list" in watcher.principals.original_of(unreadable) or unreadable.original_sealed_for == "operations"
    assert all(d.service == "intake" for d in (garbage, unreadable))
    assert {d.error_type for d in letters if at(d, garbage_for_desks)} == {"SealError"}
    [rejection] = [r for r in seen.decoded(REJECTIONS.name) if r.submission_id == bad_reference]
    assert any(reason.startswith("subjects") for reason in rejection.reasons)


def test_a_redelivered_message_produces_no_second_product(mesh, watcher, fresh):
    submission = fresh.notification()
    run(watcher.submit(submission))
    seen = run(
        watcher.read_until(
            FLOW, lambda s: routed(s, referral_ids(s, {submission.submission_id})) and referral_ids(s, {submission.submission_id})
        )
    )
    [ref] = referral_ids(seen, {submission.submission_id})

    # Redeliver everything that led to the decision: the submission, the notification, every contribution.
    run(watcher.submit(submission))
    for topic in [*lanes(NOTIFICATIONS.name), *(n for t in CONTRIBUTIONS for n in lanes(t.name))]:
        for record in seen.records[topic]:
            if record.key == ref.encode():
                run(watcher.publish_raw(topic, record.key, record.value))

    def redelivered(s: Seen) -> bool:
        return sum(n.referral_id == ref for n in s.lanes(NOTIFICATIONS.name)) >= 2

    seen = run(watcher.read_until(FLOW, redelivered, settle=4))
    assert sum(n.referral_id == ref for n in seen.lanes(NOTIFICATIONS.name)) == 2, (
        "the resubmission was recognised by intake's inbox: only the test's own copy was published again"
    )
    decisions = [d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref]
    products = [p for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id == ref]
    assert len(decisions) == 1
    assert sorted(p.recipient for p in products) == sorted(decisions[0].recipients)
    acks = [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.referral_id == ref]
    assert len({a.message_id for a in acks}) == 1, (
        "a repeated acknowledgement carries the same id, so the referrer can deduplicate"
    )


def test_decision_service_restarted_carries_on(mesh, watcher, fresh):
    mesh.stop("decision")
    submissions = [fresh.notification() for _ in range(3)]
    run(watcher.submit(*submissions))
    ours = {s.submission_id for s in submissions}

    def researched(s: Seen) -> bool:
        refs = referral_ids(s, ours)
        return len(refs) == 3 and all(sum(c.referral_id in refs for c in s.lanes(t.name)) == 3 for t in CONTRIBUTIONS)

    run(watcher.read_until(FLOW, researched))
    mesh.start("decision")
    mesh.wait_ready("decision")
    seen = run(watcher.read_until(FLOW, lambda s: routed(s, referral_ids(s, ours)), settle=2))
    refs = referral_ids(seen, ours)
    assert sorted(d.referral_id for d in seen.decoded(DECISIONS.name) if d.referral_id in refs) == sorted(refs)
