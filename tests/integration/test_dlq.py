"""`mash dlq`: operations list what was set aside, with reasons, and replay a chosen letter after a fix."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from mash_cli import dlq
from mash_cli.kafka import ADMIN
from mash_cli.synthetic import Generator
from mash_contracts import DeadLetter, encode
from mash_contracts.topics import ACKNOWLEDGEMENTS, DEAD_LETTERS, NOTIFICATIONS_SUBMITTED, OPERATIONS

from .watch import run

pytestmark = pytest.mark.integration


def test_a_dead_letter_is_listed_and_replayed_after_a_fix(mesh, watcher):
    submission = Generator(seed=uuid.uuid4().int).notification()
    original = watcher.principals.seal_submission(submission)
    # As if intake had failed on it for a reason since fixed (a bug, a missing key): the letter holds the
    # exact original bytes, sealed for operations, as the services write them.
    fw = watcher.principals.firewall("intake")
    letter = DeadLetter(
        dead_letter_id=uuid.uuid4(), service="intake", source_topic=NOTIFICATIONS_SUBMITTED.name, source_partition=0,
        source_offset=0, source_key_b64=base64.b64encode(submission.submission_id.encode()).decode(),
        original_b64=base64.b64encode(fw.seal_for(OPERATIONS, submission.submission_id, original, "DeadLetterOriginal")).decode(),
        original_sealed_for=OPERATIONS, error_type="KeyError", error="KeyError: 'a bug, since fixed'", attempts=1,
        failed_at=datetime.now(UTC),
    )

    async def publish() -> None:
        producer = AIOKafkaProducer(**mesh.access.client(ADMIN), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(DEAD_LETTERS.name, encode(letter), key=submission.submission_id.encode())
        finally:
            await producer.stop()

    asyncio.run(publish())
    listed = dlq.render(asyncio.run(dlq.letters(mesh)))
    assert any(str(letter.dead_letter_id) in line and "KeyError" in line and "intake" in line for line in listed)

    with pytest.raises(LookupError):
        asyncio.run(dlq.replay(mesh, [str(uuid.uuid4())]))
    [replayed] = asyncio.run(dlq.replay(mesh, [str(letter.dead_letter_id)]))
    assert replayed.dead_letter_id == letter.dead_letter_id
    seen = run(watcher.read_until([ACKNOWLEDGEMENTS.name], lambda s: any(
        a.submission_id == submission.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name))))
    assert [a.submission_id for a in seen.decoded(ACKNOWLEDGEMENTS.name)].count(submission.submission_id) == 1
