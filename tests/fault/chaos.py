"""The fault tier's instruments: a referrer system that keeps trying, a reader that keeps every record, and
the chaos itself (SIGKILL each service in turn at random points, and one broker stop and restart)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import ADMIN, Access, LocalKafka
from mash_cli.mesh import DESKS, UNATTENDED, Mesh
from mash_cli.principals import Principals
from mash_cli.topics import create_topics
from mash_contracts import NotificationSubmission, UnreadableMessage
from mash_contracts.topics import (
    ACKNOWLEDGEMENTS,
    ALERTS,
    CONTRIBUTIONS,
    DEAD_LETTERS,
    DECISIONS,
    NOTIFICATIONS,
    NOTIFICATIONS_SUBMITTED,
    PRODUCTS,
    REJECTIONS,
    RESEARCHERS,
    by_name,
    lanes,
)
from mash_runtime.firewall import SealError
from mash_tools import population
from mash_tools.synthetic import Generator, household_notification


class Referrer:
    """The referrers' system: each submission is sent until the broker acknowledges it, across outages.
    A send that timed out may still have landed, so some submissions reach intake twice: that is the point."""

    def __init__(self, access: Access, principals: Principals):
        self.access = access
        self.principals = principals
        self.resends = 0
        # Called before each resend: raises when the outage will not end (the chaos that made it has failed).
        self.check: Callable[[], object] = lambda: None
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
                self.check()
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
    # When each record was read (monotonic seconds, topic): how long a flow paused shows as a gap here.
    arrivals: list[tuple[float, str]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        # Were its place ever out of range (a broker's log behind the reader after a restart), it starts again from
        # the beginning rather than the default's end: copies are counted by message id, a skipped record never is.
        consumer = AIOKafkaConsumer(
            **self.access.client(ADMIN), enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
        )
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
                now = time.monotonic()
                for tp, records in batch.items():
                    for r in records:
                        self.arrivals.append((now, tp.topic))
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
                # Five minutes, not the operator's 90 s: a broker loading its logs on a busy two-core machine beside
                # the whole mesh can take longer, and a start that gives up stops the broker for good.
                self.kafka.start(timeout=300)
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


# The fault tier's referrals all come from one simulated referrer's system, so its replies are on its own topics.
ACKS, REJECTED = ACKNOWLEDGEMENTS.for_referrer(DEFAULT_REFERRER), REJECTIONS.for_referrer(DEFAULT_REFERRER)
WATCHED = [
    t
    for name in (
        ACKS,
        REJECTED,
        NOTIFICATIONS.name,
        DECISIONS.name,
        ALERTS.name,
        DEAD_LETTERS.name,
        *(c.name for c in CONTRIBUTIONS),
        *(p.name for p in PRODUCTS),
    )
    for t in lanes(name)
]


def referrals(families, count: int, seed: int) -> list:
    """Synthetic referrals, cycling over the families: several concerns about one family, as in life."""
    generator, households = Generator(seed), families.families()
    out = [household_notification(generator, households[i % len(households)]) for i in range(count)]
    assert len({s.submission_id for s in out}) == count
    return out


class Ledger:
    """What the tape shows, grouped."""

    def __init__(self, tape: Tape):
        assert not tape.unreadable, f"the mesh published something unreadable: {tape.unreadable[:3]}"
        self.by_topic = {t: list(tape.messages[t]) for t in WATCHED}

    def lanes(self, name: str) -> list:
        return [m for t in lanes(name) for m in self.by_topic[t]]

    @property
    def decisions(self) -> list:
        return self.lanes(DECISIONS.name)

    @property
    def products(self) -> list:
        return [m for p in PRODUCTS for m in self.lanes(p.name)]

    @property
    def contributions(self) -> list:
        return [m for c in CONTRIBUTIONS for m in self.lanes(c.name)]


def routed(ledger_of, referral_ids: set[str]):
    def done() -> bool:
        ledger = ledger_of()
        decided = {d.referral_id: d for d in ledger.decisions if d.referral_id in referral_ids}
        if len(decided) < len(referral_ids):
            return False
        got = distinct(ledger.products, lambda p: (p.referral_id, p.recipient))
        return all((r, a) in got for r, d in decided.items() for a in d.recipients)

    return done


def where_stuck(ledger_of, referral_ids: set[str], mesh: Mesh, timeline: list[str]) -> str:
    """Where each referral not yet routed stands, hop by hop, what the services' logs say about the first few, and
    the chaos so far: a failed wait says which hop held them, not only that it timed out."""
    ledger = ledger_of()
    acked = {a.referral_id for a in ledger.lanes(ACKS)}
    notified = {n.referral_id for n in ledger.lanes(NOTIFICATIONS.name)}
    answered: dict[str, set] = defaultdict(set)
    for c in ledger.contributions:
        answered[c.referral_id].add(c.agency)
    decided = {d.referral_id: d for d in ledger.decisions}
    got = distinct(ledger.products, lambda p: (p.referral_id, p.recipient))
    waiting_on: Counter = Counter()
    unsent: Counter = Counter()
    stages: dict[str, list[str]] = defaultdict(list)
    for r in sorted(referral_ids):
        if r in decided:
            missing = [a for a in decided[r].recipients if (r, a) not in got]
            if missing:
                stages["decided, a product missing"].append(r)
                unsent.update(a.value for a in missing)
        elif r in notified:
            stages["notified, not decided"].append(r)
            waiting_on.update(a.value for a in set(RESEARCHERS) - answered[r])
        elif r in acked:
            stages["acknowledged, not notified"].append(r)
        else:
            stages["not acknowledged"].append(r)
    lines = [f"{len(ids)} {stage} (first: {', '.join(ids[:3])})" for stage, ids in stages.items()]
    if waiting_on:
        lines.append("contributions missing from: " + ", ".join(f"{a} {n}" for a, n in waiting_on.most_common()))
    if unsent:
        lines.append("products missing for: " + ", ".join(f"{a} {n}" for a, n in unsent.most_common()))
    down = [s for s, pid in mesh.running().items() if pid is None]
    lines.append(f"services not running: {', '.join(down) or 'none'}")
    firsts = [ids[0] for ids in stages.values()][:3]
    for log in sorted((mesh.state_dir / "logs").glob("*.log")):
        text = log.read_text(errors="replace").splitlines()
        for r in firsts:
            mentions = [line.strip() for line in text if r in line]
            if mentions:
                lines.append(f"{log.name} on {r}: " + " | ".join(m[:300] for m in mentions[-4:]))
    lines.append("chaos:\n    " + "\n    ".join(timeline))
    return "\n  ".join(lines)


def raise_if_failed(faults: asyncio.Task) -> None:
    """The chaos broke (a broker that did not come back): the run stops with its error, not as a slow mesh."""
    if faults.done():
        faults.result()


async def wait_for(
    done, timeout: float, what: str, reader: asyncio.Task, tape: Tape | None = None, stalled: float = 300.0, diagnose=None
) -> None:
    """Until done(), or `timeout`, or (with a tape) nothing new on the watched topics for `stalled` seconds: a mesh
    still working through a backlog on a busy machine is waited for, a mesh that has stopped is reported at once."""
    deadline = time.monotonic() + timeout
    seen, moved = -1, time.monotonic()
    while not done():
        if reader.done():
            reader.result()  # the tape's failure, not a timeout, is the news
            raise AssertionError("the tape stopped reading")
        now = time.monotonic()
        if tape is not None and len(tape.arrivals) != seen:
            seen, moved = len(tape.arrivals), now
        why = None
        if now > deadline:
            why = f"not {what} after {timeout:.0f}s"
        elif tape is not None and now - moved > stalled:
            why = f"not {what}: nothing new on the watched topics for {stalled:.0f}s"
        if why:
            raise AssertionError(why + (f"\n  {diagnose()}" if diagnose else ""))
        await asyncio.sleep(2.0)


@dataclass
class BrokerChaos:
    """A three-node cluster losing brokers mid-flow: each round SIGKILLs the node leading the most partitions of the
    busiest topics (the front door, the notifications, the decisions) and brings it back after a while; in the
    first round a second node is killed briefly while the leader is still down, so for a few seconds only one
    replica is in sync and writes must wait (min.insync.replicas 2) rather than be taken and lost."""

    kafka: LocalKafka
    access: Access
    rng: random.Random
    rounds: int = 3
    spread: float = 60.0
    timeline: list[str] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)  # monotonic time of each SIGKILL
    started: float = field(default_factory=time.monotonic)

    def _note(self, what: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started:6.1f}s  {what}")

    def busiest_leader(self) -> int:
        async def leaders() -> Counter:
            admin = AIOKafkaAdminClient(**self.access.client(ADMIN))
            await admin.start()
            try:
                names = [t for name in (NOTIFICATIONS_SUBMITTED.name, NOTIFICATIONS.name, DECISIONS.name) for t in lanes(name)]
                described = await admin.describe_topics(names)
            finally:
                await admin.close()
            return Counter(p["leader"] for t in described for p in t["partitions"] if p["leader"] >= 0)

        return asyncio.run(leaders()).most_common(1)[0][0]

    def _kill(self, node_id: int) -> None:
        node = self.kafka.nodes[node_id - 1]
        self.kills.append(time.monotonic())
        self._note(f"broker node {node_id}: SIGKILL (pid {node.pid()})")
        node.kill()

    def _restart(self, node_id: int) -> None:
        node = self.kafka.nodes[node_id - 1]
        node.start()
        self._note(f"broker node {node_id}: restarted (pid {node.pid()})")

    def run(self) -> None:
        gap = self.spread / (self.rounds + 1)
        for round_ in range(self.rounds):
            time.sleep(self.rng.uniform(0.5, 1.0) * gap)
            leader = self.busiest_leader()
            self._kill(leader)
            time.sleep(self.rng.uniform(5.0, 12.0))
            if round_ == 0:
                second = self.rng.choice([n.node_id for n in self.kafka.nodes if n.node_id != leader])
                self._kill(second)
                time.sleep(self.rng.uniform(2.0, 4.0))
                self._restart(second)
                time.sleep(self.rng.uniform(3.0, 6.0))
            self._restart(leader)
            # Back in sync before the next round: a node killed while another is still catching up would leave
            # partitions with one replica, which is a different (and worse) fault than this one.
            self.kafka.wait_until_answering(120)
            self._wait_in_sync(240)
            self._note("every partition has all three replicas in sync again")

    def _wait_in_sync(self, timeout: float) -> None:
        async def lagging() -> int:
            admin = AIOKafkaAdminClient(**self.access.client(ADMIN))
            await admin.start()
            try:
                described = await admin.describe_topics(await admin.list_topics())
            finally:
                await admin.close()
            return sum(1 for t in described for p in t["partitions"] if len(p["isr"]) < len(p["replicas"]))

        deadline = time.monotonic() + timeout
        while True:
            try:
                if asyncio.run(lagging()) == 0:
                    return
            except Exception:  # a metadata request during an election
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"partitions still under-replicated {timeout:.0f}s after the broker came back")
            time.sleep(1.0)


def pauses(arrivals: list[tuple[float, str]], topics: set[str], kills: list[float], window: float = 120.0) -> list[float]:
    """For each kill, the longest time nothing arrived on `topics` from just before it until the next kill (or
    `window` seconds): how long the flow paused while leadership moved. Measured while referrals keep coming, never
    asserted."""
    times = sorted(t for t, topic in arrivals if topic in topics)
    out = []
    for i, kill in enumerate(kills):
        until = min(kill + window, kills[i + 1] if i + 1 < len(kills) else kill + window)
        before = [t for t in times if t <= kill]
        points = [before[-1] if before else kill, *(t for t in times if kill < t <= until)]
        if len(points) == 1:
            points.append(until)  # nothing came after it: the pause lasts to the end of what was watched
        out.append(max(b - a for a, b in zip(points, points[1:], strict=False)) if len(points) > 1 else 0.0)
    return out


@contextmanager
def running_mesh(root: Path, kafka: LocalKafka, seed: int, families: int, ready_timeout: float = 60.0) -> Iterator[tuple]:
    """The broker started, the topics made, every service initialised once (the chaos restarts services on the stores
    made here, never re-initialising them), seeded with a synthetic population and running; all stopped after."""
    access = kafka.start()
    asyncio.run(create_topics(access))
    mesh = Mesh(access, root, extra_env=dict(UNATTENDED))
    world = population.build_population(seed=seed, families=families)
    population.write_population(root / "population.json", world)
    mesh.init()
    mesh.enrol_simulated_agencies()
    mesh.seed(root / "population.json")
    mesh.start()
    try:
        mesh.wait_ready(timeout=ready_timeout)
        yield mesh, world
    finally:
        mesh.stop()
        kafka.stop()
