"""`mash dlq`: what the services set aside, and replaying chosen dead letters after a fix.

Listing reads mash.deadletter as the operations principal. Replaying republishes a letter's exact original
bytes (opening operations' seal when the original came from a sealed topic) to its source topic under its
original key, with a `mash-replayed-from` header; the services' inboxes and derived ids make a replay of
something already processed harmless."""

from __future__ import annotations

import base64
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mash_contracts import DeadLetter, decode
from mash_contracts.topics import DEAD_LETTERS, OPERATIONS

from .kafka import ADMIN
from .mesh import Mesh
from .principals import Principals


async def letters(mesh: Mesh, timeout: float = 10.0) -> list[DeadLetter]:
    """Every dead letter, from the beginning of the topic to its current end."""
    consumer = AIOKafkaConsumer(**mesh.access.client(OPERATIONS), enable_auto_commit=False)
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        partitions = [TopicPartition(DEAD_LETTERS.name, p) for p in range(DEAD_LETTERS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < end for tp, end in ends.items()]) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out += [decode(DeadLetter, r.value) for r in records]
    finally:
        await consumer.stop()
    return out


def render(found: list[DeadLetter]) -> list[str]:
    return [f"{d.dead_letter_id}  {d.failed_at:%Y-%m-%d %H:%M:%S}  {d.service:<15} {d.source_topic}[{d.source_partition}]@{d.source_offset}"
            f"  {d.error_type}: {d.error[:120]}" for d in found] or ["no dead letters"]


async def replay(mesh: Mesh, ids: list[str]) -> list[DeadLetter]:
    wanted = {str(i) for i in ids}
    chosen = [d for d in await letters(mesh) if str(d.dead_letter_id) in wanted]
    missing = wanted - {str(d.dead_letter_id) for d in chosen}
    if missing:
        raise LookupError(f"no dead letter {', '.join(sorted(missing))}")
    principals = Principals(mesh.keys_dir)
    producer = AIOKafkaProducer(**mesh.access.client(ADMIN), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for d in chosen:
            key = base64.b64decode(d.source_key_b64) if d.source_key_b64 else None
            await producer.send_and_wait(d.source_topic, principals.original_of(d), key=key,
                                         headers=[("mash-replayed-from", str(d.dead_letter_id).encode())])
    finally:
        await producer.stop()
    return chosen
