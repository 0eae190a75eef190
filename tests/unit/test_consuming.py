"""The guarded consumer, one handler at a time, on FastStream's in-memory broker (unit tier only)."""

import base64

import pytest
from faststream.kafka import TestKafkaBroker
from sqlalchemy.exc import OperationalError

from mash_cli.agencies import DEFAULT_REFERRER
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_runtime.errors import Rejected
from mash_runtime.firewall import seal

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
TOPIC = NOTIFICATIONS_SUBMITTED.name


async def test_unreadable_content_is_dead_lettered_with_the_sealed_original(principals, generator, guarded_intake):
    seen, rejected = [], []

    async def handler(m, source):
        seen.append(m)

    async def on_unreadable(record, reasons, opened):
        rejected.append((reasons, opened))

    broker, dead = guarded_intake(handler, on_unreadable)
    envelope = principals.seal_raw(DEFAULT_REFERRER, "X-1", b'{"submission_id": "X-1", "subjects": 3}')
    async with TestKafkaBroker(broker) as br:
        await br.publish(envelope, TOPIC, key=b"X-1")
        good = generator.notification()
        await br.publish(principals.seal_submission(good), TOPIC, key=good.submission_id.encode())
    assert len(dead) == 1 and len(seen) == 1, "the bad message is set aside and the next one still handled"
    assert principals.original_of(dead[0]) == envelope and dead[0].original_sealed_for == "operations"
    assert dead[0].error_type == "UnreadableMessage" and dead[0].source_topic == TOPIC
    reasons, opened = rejected[0]
    assert any("subjects" in r for r in reasons) and b'"X-1"' in opened


async def test_a_failure_to_answer_the_sender_is_logged_once_and_never_loops(generator, caplog, guarded_intake):
    """Found when the front door's answer to an unattributable record raised: the record was handed back, and each
    redelivery wrote another dead letter. The dead letter is what keeps the record; a bug after it moves on."""
    calls = []

    async def handler(m, source):
        pass

    async def on_unreadable(record, reasons, opened):
        calls.append(record.offset)
        raise ValueError("a bug in the answer")

    broker, dead = guarded_intake(handler, on_unreadable)
    async with TestKafkaBroker(broker) as br:
        await br.publish(b"not an envelope", TOPIC, key=b"K-1")
    assert len(dead) == 1 and len(calls) == 1
    assert any("could not answer the sender" in r.getMessage() for r in caplog.records)


async def test_plaintext_or_forged_input_on_a_sealed_topic_fails_closed(principals, generator, guarded_intake):
    seen = []

    async def handler(m, source):
        seen.append(m)

    broker, dead = guarded_intake(handler)
    s = generator.notification()
    forged = principals.firewall("police_desk").custody  # a valid key, but not a writer of this topic
    async with TestKafkaBroker(broker) as br:
        await br.publish(s.model_dump_json().encode(), TOPIC, key=s.submission_id.encode())
        await br.publish(
            seal(
                s.model_dump_json().encode(),
                referral_id=s.submission_id,
                schema="NotificationSubmission",
                schema_version=1,
                recipients=["intake"],
                custody=forged,
                directory=principals.firewall("intake").directory,
            ),
            TOPIC,
            key=s.submission_id.encode(),
        )
    assert seen == [] and [d.error_type for d in dead] == ["SealError", "SealError"]
    assert "not a sealed envelope" in dead[0].error and "may not write here" in dead[1].error
    plaintext = s.model_dump_json().encode()
    assert principals.original_of(dead[0]) == plaintext, "operations can recover the exact bytes"
    assert s.subjects[0].family_name.encode() not in base64.b64decode(dead[0].original_b64), (
        "but the topic never holds them in plaintext"
    )


@pytest.mark.parametrize("error,kind", [(Rejected(["duplicate child"]), "Rejected"), (KeyError("boom"), "KeyError")])
async def test_handler_failures_are_dead_lettered_not_raised(principals, generator, error, kind, guarded_intake):
    async def handler(m, source):
        raise error

    broker, dead = guarded_intake(handler)
    s = generator.notification()
    async with TestKafkaBroker(broker) as br:
        await br.publish(principals.seal_submission(s), TOPIC, key=s.submission_id.encode())
    assert [d.error_type for d in dead] == [kind]


async def test_transient_failures_are_retried(principals, generator, guarded_intake):
    calls = []

    async def handler(m, source):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("select 1", {}, Exception("database is locked"))

    broker, dead = guarded_intake(handler)
    s = generator.notification()
    async with TestKafkaBroker(broker) as br:
        await br.publish(principals.seal_submission(s), TOPIC, key=s.submission_id.encode())
    assert len(calls) == 3 and dead == []


async def test_attempts_are_counted_across_redeliveries_and_recorded_on_the_dead_letter(principals, generator, guarded_intake):
    calls = []

    async def handler(m, source):
        calls.append(1)
        if len(calls) <= 5:
            raise OperationalError("select 1", {}, Exception("database is locked"))
        raise KeyError("a bug found on the sixth attempt")

    broker, dead = guarded_intake(handler)
    s = generator.notification()
    async with TestKafkaBroker(broker) as br:
        for delivery in range(2):  # the in-memory broker gives every record offset 0: a redelivery of the same record
            try:
                await br.publish(principals.seal_submission(s), TOPIC, key=s.submission_id.encode())
            except OperationalError:
                assert delivery == 0, "handed back to Kafka after three attempts"
    assert len(calls) == 6 and [(d.error_type, d.attempts) for d in dead] == [("KeyError", 6)]


async def test_a_record_dead_lettered_twice_yields_the_same_letter(guarded_intake):
    """At least once: a record redelivered after its letter was written (a crash, a rebalance before the commit)
    is dead-lettered again, under the same id, so readers and `mash dlq` count it once."""

    async def handler(m, source):
        pass

    letters = []
    for _ in range(2):
        broker, dead = guarded_intake(handler)
        async with TestKafkaBroker(broker) as br:
            await br.publish(b"not an envelope", TOPIC, key=b"K-1")
        letters += dead
    assert len(letters) == 2 and letters[0].dead_letter_id == letters[1].dead_letter_id
