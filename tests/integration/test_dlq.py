"""`mash dlq`: operations list what was set aside, with reasons, and replay a chosen letter after a fix."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from mash_cli import dlq
from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import ADMIN
from mash_cli.principals import submission_lane
from mash_cli.topics import create_topics
from mash_contracts import DeadLetter, encode
from mash_contracts.codec import MAX_MESSAGE_BYTES
from mash_contracts.topics import ACKNOWLEDGEMENTS, DEAD_LETTERS, NOTIFICATIONS_SUBMITTED, OPERATIONS, OUTCOMES, REJECTIONS, lanes
from mash_tools.synthetic import Generator

from .watch import run

pytestmark = pytest.mark.integration


def intake_letter(key: bytes, error_type: str, error: str, **fields) -> DeadLetter:
    """A dead letter as intake writes one for a record of the front door, failed once.

    Its offset is one no test's topic reaches: other tests find their letters by topic, partition and offset,
    and a made-up letter at a real record's place would be taken for that record's letter.
    """
    return DeadLetter(
        dead_letter_id=uuid.uuid4(),
        service="intake",
        source_topic=NOTIFICATIONS_SUBMITTED.name,
        source_partition=0,
        source_offset=2**62 + uuid.uuid4().int % 2**32,
        source_key_b64=base64.b64encode(key).decode(),
        error_type=error_type,
        error=error,
        attempts=1,
        failed_at=datetime.now(UTC),
        **fields,
    )


def test_a_dead_letter_is_listed_and_replayed_after_a_fix(mesh, watcher):
    submission = Generator(seed=uuid.uuid4().int).notification()
    original = watcher.principals.seal_submission(submission)
    # As if intake had failed on it for a reason since fixed (a bug, a missing key): the letter holds the
    # exact original bytes, sealed for operations, as the services write them.
    fw = watcher.principals.firewall("intake")
    letter = intake_letter(
        submission.submission_id.encode(),
        "KeyError",
        "KeyError: 'a bug, since fixed'",
        original_b64=base64.b64encode(fw.seal_for(OPERATIONS, submission.submission_id, original, "DeadLetterOriginal")).decode(),
        original_sealed_for=OPERATIONS,
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
    seen = run(
        watcher.read_until(
            [ACKNOWLEDGEMENTS.name],
            lambda s: any(a.submission_id == submission.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name)),
        )
    )
    assert [a.submission_id for a in seen.decoded(ACKNOWLEDGEMENTS.name)].count(submission.submission_id) == 1


def test_a_record_whose_dead_letter_outgrew_the_broker_limit_is_set_aside_and_the_partition_moves_on(mesh, watcher):
    # A ~650 KB sealed submission: past the 256 KiB message limit, so dead-lettered, and its letter (sealed for
    # operations, base64 twice) about 1.2 MB, which a 1 MiB dead-letter topic refused for ever, wedging the partition.
    gen = Generator(seed=uuid.uuid4().int)
    valid = gen.notification()
    lane = submission_lane(valid).name
    big_id = f"BIG-{uuid.uuid4().hex[:12]}"
    body = gen.notification().model_dump(mode="json")
    body = {**body, "submission_id": big_id, "concern": {**body["concern"], "description": "x" * 487_000}}
    fw = watcher.principals.firewall(DEFAULT_REFERRER)
    big = fw.seal_for("intake", big_id, json.dumps(body).encode(), "NotificationSubmission")
    assert 640_000 < len(big) < 660_000

    async def submit_on_one_partition() -> list:
        producer = AIOKafkaProducer(**mesh.access.client(DEFAULT_REFERRER), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            record = watcher.principals.submission_record(valid)
            return [
                await producer.send_and_wait(lane, big, key=big_id.encode(), partition=4),
                await producer.send_and_wait(lane, record["value"], key=record["key"], headers=record["headers"], partition=4),
            ]
        finally:
            await producer.stop()

    sent_big, sent_valid = asyncio.run(submit_on_one_partition())
    assert sent_valid.offset > sent_big.offset

    def answered(s) -> bool:
        return any(a.submission_id == valid.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name)) and any(
            r.submission_id == big_id for r in s.decoded(REJECTIONS.name)
        )

    seen = run(watcher.read_until([ACKNOWLEDGEMENTS.name, REJECTIONS.name], answered, timeout=120))
    [rejection] = [r for r in seen.records[REJECTIONS.name] if r.key == big_id.encode()]
    assert any(
        f"{MAX_MESSAGE_BYTES} byte limit" in reason
        for reason in watcher.principals.read(REJECTIONS.name, rejection.key, rejection.value).reasons
    )

    listed = asyncio.run(dlq.letters(mesh))  # what `mash dlq list` reads
    [letter] = [
        d
        for d in listed
        if isinstance(d, DeadLetter) and (d.source_topic, d.source_partition, d.source_offset) == (lane, 4, sent_big.offset)
    ]
    assert letter.error_type == "UnreadableMessage" and not letter.original_omitted
    assert len(encode(letter)) > 1024 * 1024, "the whole original kept, past the old 1 MiB limit"
    assert watcher.principals.original_of(letter) == big, "operations can still recover the exact bytes"
    assert any(str(letter.dead_letter_id) in line for line in dlq.render(listed))


def test_a_reference_only_letter_is_listed_but_never_replayed_as_empty_bytes(mesh):
    letter = intake_letter(
        b"REF-ONLY",
        "UnreadableMessage",
        "original omitted, its dead letter refused as too large",
        original_b64="",
        original_sha256="ab" * 32,
        original_size_bytes=3_000_000,
    )

    async def publish() -> None:
        producer = AIOKafkaProducer(**mesh.access.client(ADMIN), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(DEAD_LETTERS.name, encode(letter), key=b"REF-ONLY")
            await producer.send_and_wait(DEAD_LETTERS.name, b"not a dead letter", key=b"REF-ONLY")
        finally:
            await producer.stop()

    asyncio.run(publish())
    lines = dlq.render(asyncio.run(dlq.letters(mesh)))
    assert any(str(letter.dead_letter_id) in line and "original omitted" in line for line in lines)
    assert any(line.startswith(f"unreadable at {DEAD_LETTERS.name}[") for line in lines), "listed, never a crash"
    with pytest.raises(LookupError, match="kept no original"):
        asyncio.run(dlq.replay(mesh, [str(letter.dead_letter_id)]))


async def topic_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    return {
        r["resource_name"]: {e["config_names"]: e["config_value"] for e in r["config_entries"]}
        for r in response.to_object()["resources"]
    }


def test_every_topic_takes_the_record_size_the_catalogue_gives_it_and_drift_is_set_right(topics, mesh):
    from mash_cli.agencies import enrolled
    from mash_cli.topics import wanted

    agencies = enrolled(mesh.keys_dir)
    every = wanted(agencies)  # the catalogue's, each per-referrer family once per enrolled referrer
    outcomes = OUTCOMES.for_referrer(DEFAULT_REFERRER)
    assert outcomes in {t.name for t in every}

    async def check() -> None:
        admin = AIOKafkaAdminClient(**topics.client(ADMIN))
        await admin.start()
        try:
            found = await topic_configs(admin, [t.name for t in every])
            assert {n: c["max.message.bytes"] for n, c in found.items()} == {t.name: str(t.max_message_bytes) for t in every}
            # Plaintext sent by mistake to the front door stays on the broker for three days, not the broker's week.
            for name in lanes(NOTIFICATIONS_SUBMITTED.name):
                assert found[name]["retention.ms"] == str(3 * 24 * 3600 * 1000), name
            # A topic made by an older version (Kafka's default limit), with an operator's own retention on it.
            await admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC, outcomes, configs={"max.message.bytes": "500000", "retention.ms": "604800001"}
                    )
                ]
            )
            await create_topics(topics, agencies)
            after = (await topic_configs(admin, [outcomes]))[outcomes]
            assert (after["max.message.bytes"], after["retention.ms"]) == (str(OUTCOMES.max_message_bytes), "604800001")
        finally:
            await admin.close()

    asyncio.run(check())
