"""`mash dlq`: what the services set aside, and replaying chosen dead letters after a fix.

Listing reads mash.deadletter as the operations principal. Replaying republishes a letter's exact original
bytes (opening operations' seal when the original came from a sealed topic) to its source topic under its
original key, with a `mash-replayed-from` header; the services' inboxes and derived ids make a replay of
something already processed harmless. A reference-only letter (its original too large to keep) cannot be replayed:
its original is found on the source topic by the coordinates it records. A record on mash.deadletter that is not a
dead letter is listed as unreadable, with where it is, and the listing goes on."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mash_contracts import DeadLetter, UnreadableMessage, decode
from mash_contracts.topics import DEAD_LETTERS, OPERATIONS

from .kafka import ADMIN
from .mesh import Mesh
from .principals import Principals


@dataclass(frozen=True)
class Unreadable:
    """A record on mash.deadletter that does not decode as a dead letter."""

    partition: int
    offset: int
    reason: str


async def letters(mesh: Mesh, timeout: float = 10.0) -> list[DeadLetter | Unreadable]:
    """Every dead letter, from the beginning of the topic to its current end."""
    consumer = AIOKafkaConsumer(
        **mesh.access.client(OPERATIONS), enable_auto_commit=False, max_partition_fetch_bytes=DEAD_LETTERS.max_message_bytes
    )
    await consumer.start()
    out: list[DeadLetter | Unreadable] = []
    try:
        partitions = [TopicPartition(DEAD_LETTERS.name, p) for p in range(DEAD_LETTERS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < end for tp, end in ends.items()]) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out += [read_letter(r.partition, r.offset, r.value) for r in records]
    finally:
        await consumer.stop()
    # A record redelivered after its letter was written yields the same letter (the same id) again: one letter.
    seen: set[str] = set()
    unique: list[DeadLetter | Unreadable] = []
    for letter in out:
        if isinstance(letter, DeadLetter):
            if str(letter.dead_letter_id) in seen:
                continue
            seen.add(str(letter.dead_letter_id))
        unique.append(letter)
    return unique


def read_letter(partition: int, offset: int, value: bytes | None) -> DeadLetter | Unreadable:
    try:
        # A letter carries a whole original: its limit is the topic's, not a message's.
        return decode(DeadLetter, value, max_bytes=DEAD_LETTERS.max_message_bytes)
    except UnreadableMessage as e:
        return Unreadable(partition, offset, str(e))


def render(found: list[DeadLetter | Unreadable]) -> list[str]:
    return [_line(d) for d in found] or ["no dead letters"]


def _line(d: DeadLetter | Unreadable) -> str:
    if isinstance(d, Unreadable):
        return f"unreadable at {DEAD_LETTERS.name}[{d.partition}]@{d.offset}: {d.reason[:120]}"
    omitted = " (original omitted)" if d.original_omitted else ""
    return (
        f"{d.dead_letter_id}  {d.failed_at:%Y-%m-%d %H:%M:%S}  {d.service:<15} {d.source_topic}[{d.source_partition}]@{d.source_offset}"
        f"  {d.error_type}{omitted}: {d.error[:120]}"
    )


async def replay(mesh: Mesh, ids: list[str]) -> list[DeadLetter]:
    wanted = {str(i) for i in ids}
    chosen = [d for d in await letters(mesh) if isinstance(d, DeadLetter) and str(d.dead_letter_id) in wanted]
    missing = wanted - {str(d.dead_letter_id) for d in chosen}
    if missing:
        raise LookupError(f"no dead letter {', '.join(sorted(missing))}")
    if omitted := [str(d.dead_letter_id) for d in chosen if d.original_omitted]:
        raise LookupError(f"dead letter {', '.join(omitted)} kept no original to replay (see its source coordinates)")
    principals = Principals(mesh.keys_dir)
    producer = AIOKafkaProducer(**mesh.access.client(ADMIN), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for d in chosen:
            key = base64.b64decode(d.source_key_b64) if d.source_key_b64 else None
            await producer.send_and_wait(
                d.source_topic,
                principals.original_of(d),
                key=key,
                headers=[("mash-replayed-from", str(d.dead_letter_id).encode())],
            )
    finally:
        await producer.stop()
    return chosen
