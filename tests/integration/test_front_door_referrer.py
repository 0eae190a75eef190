"""What a referrer's system sees at the front door, over the real broker, when what it sends is not what the guide
shows: refused bytes still come back under the reference it submitted with, on its own topic and no other
referrer's, and its own clock sets no deadline."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from mash_cli.agencies import DEFAULT_REFERRER
from mash_contracts.topics import ACKNOWLEDGEMENTS, DEAD_LETTERS, NOTIFICATIONS_SUBMITTED, REJECTIONS
from mash_tools.synthetic import Generator

from .watch import Seen, run

pytestmark = pytest.mark.integration


def test_refused_bytes_come_back_under_the_key_they_were_submitted_with(watcher):
    """An envelope that fails (here its signature) still names its referrer: the rejection goes to that referrer's
    own topic under the record's key. A reference someone typed is never sent back."""
    forged, odd_reference = f"FORGED-{uuid.uuid4().hex[:8]}", f"ODD-{uuid.uuid4().hex[:8]}"
    typed = "Barbara Baldwin 14/05/2018"  # a reference someone typed, refused by the contract: never sent back
    envelope = json.loads(watcher.principals.seal_raw(DEFAULT_REFERRER, forged, b'{"submission_id": "x"}'))
    envelope["ciphertext"] = envelope["ciphertext"][::-1]  # the signature no longer verifies
    run(
        watcher.publish_raw(
            NOTIFICATIONS_SUBMITTED.name, forged.encode(), json.dumps(envelope).encode(), principal=DEFAULT_REFERRER
        )
    )
    run(watcher.submit_sealed_bytes(odd_reference, json.dumps({"submission_id": typed, "subjects": []}).encode()))
    wanted = {forged, odd_reference}
    own = REJECTIONS.for_referrer(DEFAULT_REFERRER)

    def done(seen: Seen) -> bool:
        return wanted <= {r.key.decode() for r in seen.records[own] if r.key}

    seen = run(watcher.read_until([REJECTIONS.name], done, timeout=90))
    ours = {r.submission_id: r for r in seen.decoded(own) if r.submission_id in wanted}
    assert set(ours) == wanted, "each rejection names the reference it was submitted under"
    assert ours[forged].reasons[0].startswith("envelope: signature check failed")
    assert all(typed.encode() not in (r.key or b"") + r.value for r in seen.records[REJECTIONS.name])
    others = [
        r for name, records in seen.records.items() if name.startswith(REJECTIONS.name + ".") and name != own for r in records
    ]
    assert not [r for r in others if r.key and r.key.decode(errors="replace") in wanted], "no other referrer is told"


def test_plaintext_that_names_no_referrer_is_kept_for_operations_not_answered(watcher, mesh):
    """Bytes that are not an envelope say nobody's name: there is no one to answer, so they go to operations only
    (sealed in a dead letter, and the front door's audit chain records it as unattributable)."""
    key = f"PLAIN-{uuid.uuid4().hex[:8]}"
    run(watcher.publish_raw(NOTIFICATIONS_SUBMITTED.name, key.encode(), b"not an envelope \xff", principal=DEFAULT_REFERRER))
    seen = run(
        watcher.read_until(
            [DEAD_LETTERS.name, REJECTIONS.name],
            lambda s: any(r.key == key.encode() for r in s.records[DEAD_LETTERS.name]),
            timeout=90,
            settle=2,
        )
    )
    [letter] = [
        watcher.principals.read(DEAD_LETTERS.name, r.key, r.value)
        for r in seen.records[DEAD_LETTERS.name]
        if r.key == key.encode()
    ]
    assert letter.error_type == "SealError" and letter.original_sealed_for == "operations"
    assert not [r for r in seen.records[REJECTIONS.name] if r.key == key.encode()]


def test_each_referrer_reads_its_own_replies_and_no_one_elses(watcher):
    """Two referring organisations with the same reference: each gets its own acknowledgement of its own
    referral on its own topic, and the broker refuses either one reading the other's."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.errors import TopicAuthorizationFailedError

    reference = f"SAME-{uuid.uuid4().hex[:8]}"
    generator = Generator(seed=uuid.uuid4().int)
    for referrer in ("northshire_schools", "northshire_gp"):
        s = generator.notification().model_copy(update={"submission_id": reference})
        s = s.model_copy(update={"concern": s.concern.model_copy(update={"immediate_danger": False})})
        run(watcher.submit(s, referrer=referrer))
    topics = [ACKNOWLEDGEMENTS.for_referrer(r) for r in ("northshire_schools", "northshire_gp")]
    seen = run(
        watcher.read_until(
            topics, lambda s: all(any(a.submission_id == reference for a in s.decoded(t)) for t in topics), timeout=90
        )
    )
    [school], [gp] = ([a for a in seen.decoded(t) if a.submission_id == reference] for t in topics)
    assert school.referral_id != gp.referral_id, "the same reference from two referrers is two referrals"

    async def read_as(principal: str, topic: str) -> None:
        consumer = AIOKafkaConsumer(
            topic, **watcher.access.client(principal), enable_auto_commit=False, auto_offset_reset="earliest"
        )
        try:
            await consumer.start()
            await consumer.getmany(timeout_ms=1000)
        finally:
            await consumer.stop()

    run(read_as("northshire_gp", topics[1]))
    with pytest.raises(TopicAuthorizationFailedError):
        run(read_as("northshire_gp", topics[0]))


def test_a_referrers_clock_sets_neither_the_received_time_nor_the_deadline(watcher):
    """A referrer's system whose clock runs 40 days fast: the hub counts from when the broker took the record."""
    submission = Generator(seed=uuid.uuid4().int).notification()
    submission = submission.model_copy(update={"concern": submission.concern.model_copy(update={"immediate_danger": False})})
    fast = int((time.time() + timedelta(days=40).total_seconds()) * 1000)

    async def submit_from_a_fast_clock() -> None:
        producer = AIOKafkaProducer(**watcher.access.client(DEFAULT_REFERRER), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(**watcher.principals.submission_record(submission), timestamp_ms=fast)
        finally:
            await producer.stop()

    sent_at = datetime.now(UTC)
    run(submit_from_a_fast_clock())
    seen = run(
        watcher.read_until(
            [ACKNOWLEDGEMENTS.name],
            lambda s: any(a.submission_id == submission.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name)),
            timeout=90,
        )
    )
    [ack] = [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id]
    assert abs(ack.received_at - sent_at) < timedelta(minutes=10), f"received {ack.received_at}, sent {sent_at}"
    assert ack.decision_due_by < sent_at + timedelta(days=7), "the decision is due by the hub's calendar, not the referrer's"


def test_a_submission_under_another_key_is_refused_not_taken_as_a_revision(watcher):
    """Revisions stay in order only under their own key: a submission sent under another reference is refused,
    with the rejection keyed by the reference in its body, and no acknowledgement is made for it."""
    submission = Generator(seed=uuid.uuid4().int).notification()
    # Sealed and sent under the other key (the envelope binds its key, so this is what a confused client produces).
    run(watcher.submit_sealed_bytes(f"OTHER-{uuid.uuid4().hex[:8]}", submission.model_dump_json().encode()))
    seen = run(
        watcher.read_until(
            [REJECTIONS.name, ACKNOWLEDGEMENTS.name],
            lambda s: any(r.submission_id == submission.submission_id for r in s.decoded(REJECTIONS.name)),
            timeout=90,
            settle=2,
        )
    )
    [rejection] = [r for r in seen.decoded(REJECTIONS.name) if r.submission_id == submission.submission_id]
    assert any(reason.startswith("record key:") for reason in rejection.reasons)
    assert not [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id]
