"""The fault tier's instruments: a referrer system that keeps trying, a reader that keeps every record, and
the chaos itself (SIGKILL each service in turn at random points, and one broker stop and restart)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import ADMIN, Access, LocalKafka
from mash_cli.mesh import DESKS, Mesh
from mash_cli.principals import Principals
from mash_contracts import NotificationSubmission, UnreadableMessage
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED, by_name
from mash_runtime.firewall import SealError


class Referrer:
    """The referrers' system: each submission is sent until the broker acknowledges it, across outages.
    A send that timed out may still have landed, so some submissions reach intake twice: that is the point."""

    def __init__(self, access: Access, principals: Principals):
        self.access = access
        self.principals = principals
        self.resends = 0
        self._producer: AIOKafkaProducer | None = None

    async def _send(self, *, topic: str, key: bytes, value: bytes, headers: list) -> None:
        while True:
            try:
                if self._producer is None:
                    self._producer = AIOKafkaProducer(
                        **self.access.client(DEFAULT_REFERRER), acks="all", enable_idempotence=True, request_timeout_ms=8000
                    )
                    await self._producer.start()
                await self._producer.send_and_wait(topic, value, key=key, headers=headers)
                return
            except Exception:
                self.resends += 1
                await self.close()
                await asyncio.sleep(1.0)

    async def submit(self, submission: NotificationSubmission) -> None:
        await self._send(**self.principals.submission_record(submission))

    async def submit_raw(self, key: bytes, value: bytes) -> None:
        await self._send(topic=NOTIFICATIONS_SUBMITTED.name, key=key, value=value, headers=[])

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except Exception:
                pass


@dataclass
class Tape:
    """Every message on the watched topics, read from the beginning and opened as one of each topic's readers.
    Partitions are assigned, not joined as a group, so the reader keeps its place across a broker restart and
    never reads a record twice."""

    access: Access
    topics: list[str]
    principals: Principals
    messages: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    unreadable: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(**self.access.client(ADMIN), enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            # From the catalogue the topics were created from: the client's metadata may not have them yet.
            partitions = [TopicPartition(t, p) for t in self.topics for p in range(by_name(t).partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            while not stop.is_set():
                try:
                    batch = await consumer.getmany(timeout_ms=300)
                except Exception:  # the broker is away; aiokafka reconnects
                    await asyncio.sleep(0.5)
                    continue
                for tp, records in batch.items():
                    for r in records:
                        try:
                            self.messages[tp.topic].append(self.principals.read(tp.topic, r.key, r.value))
                        except (UnreadableMessage, SealError) as e:
                            self.unreadable.append(f"{tp.topic}@{r.offset}: {e}")
        finally:
            await consumer.stop()


@dataclass
class Chaos:
    """SIGKILL the desks, then decision, then intake, each at a random moment and back after a random pause;
    the broker is stopped and restarted once, and one service is sent SIGTERM, each at a random place in that order.
    The faults are spread over about `spread` seconds (the time the referrals take to send), so they meet a live flow
    from its start to its end."""

    mesh: Mesh
    kafka: LocalKafka
    rng: random.Random
    spread: float = 60.0
    timeline: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def _note(self, what: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started:6.1f}s  {what}")

    graceful: dict[str, bool] = field(default_factory=dict)

    def plan(self) -> list[str]:
        order = [*DESKS, "analysis", "decision", "intake"]
        order.insert(self.rng.randrange(len(order) + 1), "broker")
        # And one SIGTERM mid-flow: the service must drain (finish, commit, flush) and exit in time.
        order.insert(self.rng.randrange(len(order) + 1), "sigterm:" + self.rng.choice([*DESKS, "analysis", "decision", "intake"]))
        return order

    def run(self) -> None:
        plan = self.plan()
        gap = self.spread / (len(plan) + 1)
        for target in plan:
            time.sleep(self.rng.uniform(0.4, 1.6) * gap)
            if target == "broker":
                self._note("broker: stopping")
                self.kafka.stop()
                time.sleep(self.rng.uniform(1.0, 4.0))
                self.kafka.start()
                self._note("broker: answering again")
                continue
            if target.startswith("sigterm:"):
                service = target.split(":", 1)[1]
                self._note(f"{service}: SIGTERM (pid {self.mesh.pid(service)})")
                # A minute: draining on a busy two-core machine (a batch in hand, the relay's last flush, the consumer
                # leaving its group) can take more than the 30 s an operator waits by default.
                self.graceful[service] = self.mesh.stop(service, timeout=60.0).get(service, False)
                self._note(f"{service}: drained and exited" if self.graceful[service] else f"{service}: did NOT exit in time")
                self.mesh.start(service)
                self._note(f"{service}: restarted (pid {self.mesh.pid(service)})")
                continue
            self._note(f"{target}: SIGKILL (pid {self.mesh.pid(target)})")
            self.mesh.kill(target)
            time.sleep(self.rng.uniform(0.2, 3.0))
            self.mesh.start(target)
            self._note(f"{target}: restarted (pid {self.mesh.pid(target)})")


def distinct(messages: list, key) -> dict:
    """Distinct message ids per business key (readers deduplicate by message id)."""
    out: dict = defaultdict(set)
    for m in messages:
        out[key(m)].add(m.message_id)
    return out


def copies(messages: list) -> int:
    """Records beyond the first for the same message id: republished after a crash, deduplicated by readers."""
    return sum(n - 1 for n in Counter(m.message_id for m in messages).values())
