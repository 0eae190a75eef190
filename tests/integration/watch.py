"""A plain Kafka client that submits notifications and reads what the mesh publishes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from mash_cli.agencies import DEFAULT_REFERRER, REFERRER, SIMULATED
from mash_cli.kafka import ADMIN, Access
from mash_cli.principals import Principals
from mash_contracts import NotificationSubmission, UnreadableMessage
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED, lanes, lookup
from mash_runtime.firewall import SealError


@dataclass
class Seen:
    """Every record read so far, by topic, in arrival order; sealed topics are opened as one of their readers."""

    principals: Principals
    records: dict[str, list] = field(default_factory=lambda: defaultdict(list))

    def lanes(self, topic: str) -> list:
        """Decoded messages of a topic and of its urgent lane."""
        return [m for name in lanes(topic) for m in self.decoded(name)]

    def decoded(self, topic: str) -> list:
        # Earlier tests leave deliberate garbage on shared topics: skip what is not a message.
        out = []
        for r in self.records[topic]:
            try:
                out.append(self.principals.read(topic, r.key, r.value))
            except (UnreadableMessage, SealError):
                pass
        return out


def expand(topic: str) -> list[str]:
    """A per-referrer family ("mash.acknowledgements") is every simulated referrer's topic of it."""
    spec = lookup(topic)
    if spec is None or not spec.per_referrer or topic != spec.name:
        return [topic]
    return [spec.for_referrer(r) for r, roles in SIMULATED.items() if REFERRER in roles]


class Watcher:
    """Submits as a simulated referrer's system (northshire_schools unless told); reads as the operator's super user,
    to see every hop. Asked for a per-referrer family, it reads every simulated referrer's topic of it and files the
    records under the family's name as well as their own topic's."""

    def __init__(self, access: Access, keys_dir: Path):
        self.access = access
        self.principals = Principals(keys_dir)

    async def submit(
        self, *submissions: NotificationSubmission, raw: list[bytes] = (), referrer: str = DEFAULT_REFERRER
    ) -> list[RecordMetadata]:
        producer = AIOKafkaProducer(**self.access.client(referrer), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            sent = []
            for s in submissions:
                sent.append(await producer.send_and_wait(**self.principals.submission_record(s, referrer)))
            for r in raw:
                sent.append(await producer.send_and_wait(NOTIFICATIONS_SUBMITTED.name, r, key=b"raw"))
            return sent
        finally:
            await producer.stop()

    async def submit_sealed_bytes(self, key: str, plaintext: bytes) -> RecordMetadata:
        """Bytes sealed properly by a referrer's system, whatever they contain."""
        envelope = self.principals.seal_raw(DEFAULT_REFERRER, key, plaintext)
        return await self.publish_raw(NOTIFICATIONS_SUBMITTED.name, key.encode(), envelope, principal=DEFAULT_REFERRER)

    async def publish_raw(self, topic: str, key: bytes, value: bytes, principal: str = ADMIN) -> RecordMetadata:
        producer = AIOKafkaProducer(**self.access.client(principal), acks="all")
        await producer.start()
        try:
            return await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

    async def read_until(
        self, topics: list[str], done: Callable[[Seen], bool], timeout: float = 60.0, settle: float = 0.0
    ) -> Seen:
        """Read the topics from the beginning until done(seen) holds (then `settle` seconds more, to catch
        anything that should NOT arrive, such as a duplicate), or fail after timeout."""
        family = {name: topic for topic in topics for name in expand(topic) if name != topic}
        consumer = AIOKafkaConsumer(
            *(name for topic in topics for name in expand(topic)),
            **self.access.client(ADMIN),
            group_id=f"test-{uuid.uuid4()}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        seen = Seen(self.principals)
        try:
            deadline = time.monotonic() + timeout
            settled_at = None
            while True:
                for tp, records in (await consumer.getmany(timeout_ms=300)).items():
                    seen.records[tp.topic].extend(records)
                    if tp.topic in family:
                        seen.records[family[tp.topic]].extend(records)
                now = time.monotonic()
                if settled_at is None and done(seen):
                    settled_at = now + settle
                if settled_at is not None and now >= settled_at:
                    return seen
                if now > deadline:
                    raise TimeoutError(f"not done after {timeout}s; seen: { {t: len(r) for t, r in seen.records.items()} }")
        finally:
            await consumer.stop()


def run(coro):
    return asyncio.run(coro)
