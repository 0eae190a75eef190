"""What a referrer's system sees at the front door, over the real broker, when what it sends is not what the guide
shows: refused bytes still come back under the reference it submitted with, and its own clock sets no deadline."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.synthetic import Generator
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS_SUBMITTED, REJECTIONS

from .watch import Seen, run

pytestmark = pytest.mark.integration


def test_refused_bytes_come_back_under_the_key_they_were_submitted_with(watcher):
    not_an_envelope, odd_reference = f"JUNK-{uuid.uuid4().hex[:8]}", f"ODD-{uuid.uuid4().hex[:8]}"
    typed = "Barbara Baldwin 14/05/2018"  # a reference someone typed, refused by the contract: never sent back
    run(watcher.publish_raw(NOTIFICATIONS_SUBMITTED.name, not_an_envelope.encode(), b"not an envelope \xff", principal=DEFAULT_REFERRER))
    run(watcher.submit_sealed_bytes(odd_reference, json.dumps({"submission_id": typed, "subjects": []}).encode()))
    wanted = {not_an_envelope, odd_reference}

    def done(seen: Seen) -> bool:
        return wanted <= {r.key.decode() for r in seen.records[REJECTIONS.name] if r.key}

    seen = run(watcher.read_until([REJECTIONS.name], done, timeout=90))
    ours = {r.submission_id: r for r in seen.decoded(REJECTIONS.name) if r.submission_id in wanted}
    assert set(ours) == wanted, "each rejection names the reference it was submitted under"
    assert ours[not_an_envelope].reasons[0].startswith("envelope: malformed envelope")
    assert all(typed.encode() not in (r.key or b"") + r.value for r in seen.records[REJECTIONS.name])


def test_a_referrers_clock_sets_neither_the_received_time_nor_the_deadline(watcher, topics):
    """A referrer's system whose clock runs 40 days fast: the hub counts from when the broker took the record."""
    submission = Generator(seed=uuid.uuid4().int).notification()
    submission = submission.model_copy(update={"concern": submission.concern.model_copy(update={"immediate_danger": False})})
    fast = int((time.time() + timedelta(days=40).total_seconds()) * 1000)

    async def submit_from_a_fast_clock() -> None:
        producer = AIOKafkaProducer(**topics.client(DEFAULT_REFERRER), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(**watcher.principals.submission_record(submission), timestamp_ms=fast)
        finally:
            await producer.stop()

    sent_at = datetime.now(UTC)
    run(submit_from_a_fast_clock())
    seen = run(watcher.read_until(
        [ACKNOWLEDGEMENTS.name], lambda s: any(a.submission_id == submission.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name)),
        timeout=90))
    [ack] = [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id]
    assert abs(ack.received_at - sent_at) < timedelta(minutes=10), f"received {ack.received_at}, sent {sent_at}"
    assert ack.decision_due_by < sent_at + timedelta(days=7), "the decision is due by the hub's calendar, not the referrer's"


def test_a_submission_under_another_key_is_refused_not_taken_as_a_revision(watcher):
    """Revisions stay in order only under their own key: a submission sent under another reference is refused,
    with the rejection keyed by the reference in its body, and no acknowledgement is made for it."""
    submission = Generator(seed=uuid.uuid4().int).notification()
    # Sealed and sent under the other key (the envelope binds its key, so this is what a confused client produces).
    run(watcher.submit_sealed_bytes(f"OTHER-{uuid.uuid4().hex[:8]}", submission.model_dump_json().encode()))
    seen = run(watcher.read_until([REJECTIONS.name, ACKNOWLEDGEMENTS.name], lambda s: any(
        r.submission_id == submission.submission_id for r in s.decoded(REJECTIONS.name)), timeout=90, settle=2))
    [rejection] = [r for r in seen.decoded(REJECTIONS.name) if r.submission_id == submission.submission_id]
    assert any(reason.startswith("record key:") for reason in rejection.reasons)
    assert not [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id]
