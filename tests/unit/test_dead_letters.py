"""Dead letters always fit: mash.deadletter is sized for the worst a record can grow to, and a letter refused as
too large anyway becomes a reference-only letter rather than a partition redelivered for ever (unit tier: the
sizes measured as Kafka counts them, the refusal on FastStream's in-memory broker)."""

import base64
import hashlib
import os
import uuid

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream.kafka import KafkaBroker, TestKafkaBroker

from mash_cli import dlq
from mash_cli.agencies import DEFAULT_REFERRER
from mash_contracts import NotificationSubmission, encode
from mash_contracts.codec import MAX_MESSAGE_BYTES
from mash_contracts.topics import ACKNOWLEDGEMENTS, CATALOGUE, DEAD_LETTERS, NOTIFICATIONS_SUBMITTED, RECORD_BYTES
from mash_runtime.consuming import DeadLetters

pytestmark = pytest.mark.unit
TOPIC = NOTIFICATIONS_SUBMITTED.name

# What the tracing middleware and FastStream add to a published record, at the most W3C and a UUID allow.
TRACING = [
    ("traceparent", b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"),
    ("tracestate", b",".join([b"k" * 256 + b"=" + b"v" * 256] * 32)),
    ("baggage", b"b" * 8192),
    ("correlation_id", str(uuid.uuid4()).encode()),
]


def record(topic: str, key: bytes | None, value: bytes | None, offset: int = 7) -> ConsumerRecord:
    return ConsumerRecord(topic, 2, offset, 0, 0, key, value, None, len(key or b""), len(value or b""), [])


def batch_bytes(key: bytes | None, value: bytes, headers) -> int:
    """A record's size as the producer and the broker's max.message.bytes count it: a batch of one."""
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, [(k, v) for k, v in headers])


def largest(key_share: float, make_key, topic: str) -> ConsumerRecord:
    """The largest record a topic takes, with key_share of its bytes spent on the key."""
    room = RECORD_BYTES - batch_bytes(b"", b"", []) - 16  # 16: the length varints grow with the sizes
    key = make_key(int(room * key_share))
    value = os.urandom(room - len(key))
    assert batch_bytes(key, value, []) <= RECORD_BYTES
    return record(topic, key, value)


# Every other topic takes RECORD_BYTES (below); what differs is whether the letter seals the original.
@pytest.mark.parametrize("topic", [TOPIC, ACKNOWLEDGEMENTS.name], ids=["sealed", "not sealed"])
@pytest.mark.parametrize(
    "key_share,make_key",
    [
        (0.0, lambda n: b"S-1"),
        (1.0, lambda n: b"\x01" * n),  # control characters: six bytes each once JSON-escaped
        (1.0, lambda n: "\U0001f600".encode() * (n // 4)),  # outside the BMP: a surrogate pair, twelve bytes escaped
        (0.5, lambda n: os.urandom(n)),  # not UTF-8 at all
    ],
    ids=["all value", "control-character key", "emoji key", "half random key"],
)
def test_the_dead_letter_of_any_record_a_topic_takes_fits_on_the_dead_letter_topic(principals, topic, key_share, make_key):
    dead_letters = DeadLetters(KafkaBroker(), "intake", principals.firewall("intake"))
    r = largest(key_share, make_key, topic)
    letter = dead_letters.letter(r, "UnreadableMessage", "\x00" * 5000, attempts=10**9)  # the longest error, escaped
    key = base64.b64decode(letter.source_key_b64) if letter.source_key_b64 else None
    size = batch_bytes(key, encode(letter), [*((k, v.encode()) for k, v in DeadLetters.headers(r, letter).items()), *TRACING])
    assert size <= DEAD_LETTERS.max_message_bytes, f"{size - DEAD_LETTERS.max_message_bytes:,} bytes over"


def test_the_dead_letter_topic_is_sized_past_what_a_message_limit_allows():
    assert all(t.max_message_bytes == RECORD_BYTES for t in CATALOGUE if t is not DEAD_LETTERS)
    assert DEAD_LETTERS.max_message_bytes > 2 * RECORD_BYTES > MAX_MESSAGE_BYTES


def refusing_large_letters(broker: KafkaBroker, limit: int) -> None:
    """The producer's own check, as a record compressed on the wire makes it bite: dead letters over `limit` refused."""
    publish = broker.publish

    async def limited(message, topic, *args, **kwargs):
        if topic == DEAD_LETTERS.name and len(message) > limit:
            raise MessageSizeTooLargeError(f"{len(message)} bytes")
        return await publish(message, topic, *args, **kwargs)

    broker.publish = limited


@pytest.mark.anyio
@pytest.mark.parametrize("key", [b"BIG-1", b"K" * 5000], ids=["short key", "long key"])
async def test_a_dead_letter_refused_as_too_large_becomes_a_reference_and_the_partition_moves_on(
    principals, generator, guarded_intake, key
):
    seen, rejected = [], []

    async def handler(m: NotificationSubmission, source) -> None:
        seen.append(m.submission_id)

    async def on_unreadable(r, reasons, opened) -> None:
        rejected.append(reasons)

    broker, dead = guarded_intake(handler, on_unreadable)
    refusing_large_letters(broker, limit=100_000)
    big = principals.seal_raw(DEFAULT_REFERRER, key.decode(), b'{"submission_id": "BIG-1", "padding": "' + b"x" * 300_000 + b'"}')
    good = generator.notification()
    async with TestKafkaBroker(broker) as br:
        await br.publish(big, TOPIC, key=key)
        await br.publish(principals.seal_submission(good), TOPIC, key=good.submission_id.encode())

    assert seen == [good.submission_id], "the record behind it is handled"
    assert len(rejected) == 1 and "exceeds" in rejected[0][0], "the referrer is still told"
    [letter] = dead
    assert letter.original_omitted and letter.original_b64 == "" and letter.original_sealed_for is None
    assert (letter.original_sha256, letter.original_size_bytes) == (hashlib.sha256(big).hexdigest(), len(big))
    assert (letter.source_topic, letter.error_type) == (TOPIC, "UnreadableMessage")
    assert letter.error.startswith("original omitted, its dead letter refused as too large (MessageSizeTooLargeError)")
    assert f"{MAX_MESSAGE_BYTES} byte limit" in letter.error, "and the reason it was dead-lettered at all"
    if len(key) > 1024:
        assert letter.source_key_b64 is None and hashlib.sha256(key).hexdigest() in letter.error
    else:
        assert base64.b64decode(letter.source_key_b64) == key
    assert "original omitted" in dlq.render([letter])[0]


def test_the_listing_reads_every_letter_the_hub_writes_and_names_what_it_cannot(principals):
    dead_letters = DeadLetters(KafkaBroker(), "intake", principals.firewall("intake"))
    big = dead_letters.letter(largest(0.0, lambda n: b"S-1", TOPIC), "UnreadableMessage", "too big", attempts=1)
    raw = encode(big)
    assert len(raw) > MAX_MESSAGE_BYTES
    assert dlq.read_letter(0, 1, raw) == big
    garbage = dlq.read_letter(2, 9, b"\xff not a letter")
    lines = dlq.render([big, garbage])
    assert str(big.dead_letter_id) in lines[0] and lines[1].startswith(f"unreadable at {DEAD_LETTERS.name}[2]@9: ")
