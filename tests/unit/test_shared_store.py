"""Several instances of one service sharing its store (`mash up --replicas N`): each gets its turn at a SQLite file's
write lock while another is busy, their relays keep a referral's messages in order on every topic, and their audit
anchoring queues each head of the one chain once. Each instance is a handle of its own on the store here: its own
engine, its own lock files, as in a process of its own."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, select

from mash_runtime.anchors import Anchoring
from mash_runtime.audit import AuditLog
from mash_runtime.firewall import Firewall, generate
from mash_runtime.identity import expected
from mash_runtime.store import Database, OutboxRelay, outbox

pytestmark = pytest.mark.unit

notes = Table("notes", MetaData(), Column("id", String(36), primary_key=True))


def note(db: Database, text: str, hold: float = 0.0) -> None:
    with db.transaction() as s:
        s.execute(insert(notes).values(id=text))
        time.sleep(hold)  # the record's work, done holding the write lock as a handler does inside its batch


def test_an_instance_behind_another_busy_with_a_backlog_still_writes_within_a_record_or_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    busy, other = Database(url, notes.metadata), Database(url, notes.metadata)
    stop, started = threading.Event(), threading.Event()

    def backlog() -> None:
        # A consumer's batches back to back: it commits between records only when someone is waiting for the lock.
        async def batches() -> None:
            with ThreadPoolExecutor(max_workers=1) as own_thread:
                n = 0
                while not stop.is_set():
                    async with busy.batch(own_thread) as batch:
                        for _ in range(64):
                            if batch.should_commit():
                                await busy.commit(batch)
                            n += 1
                            await busy.run(note, busy, f"busy-{n}", 0.003)
                            started.set()

        asyncio.run(batches())

    consumer = threading.Thread(target=backlog)
    consumer.start()
    waits = []
    try:
        assert started.wait(30)
        until = time.monotonic() + 3
        while time.monotonic() < until:
            began = time.monotonic()
            note(other, f"other-{len(waits)}")
            waits.append(time.monotonic() - began)
            time.sleep(0.02)
    finally:
        stop.set()
        consumer.join(60)
    # Left to SQLite's own polling for the lock, the second instance made a handful of writes in seconds.
    assert len(waits) >= 30 and max(waits) < 1.0, f"{len(waits)} writes; longest wait {max(waits):.2f}s"
    busy.dispose()
    other.dispose()


class Gated:
    """A broker that takes records at once and acknowledges them when the test says."""

    def __init__(self, log: list[bytes], gate: asyncio.Event | None = None):
        self.log, self.gate = log, gate

    async def publish(self, payload, topic, key=None, headers=None, no_confirm=False):
        self.log.append(payload)
        return asyncio.ensure_future(self.gate.wait() if self.gate is not None else asyncio.sleep(0))


def queue(db: Database, *rows: tuple[str, str]) -> None:
    with db.transaction() as s:
        for key, payload in rows:
            s.execute(
                insert(outbox).values(
                    message_id=payload,
                    topic="mash.decisions",
                    key=key.encode(),
                    payload=payload.encode(),
                    headers={},
                    created_at=datetime.now(UTC),
                )
            )


def test_no_relay_sends_a_referrals_message_while_another_instance_is_still_sending_an_earlier_one(durable_database_url):
    db = Database(durable_database_url)
    log: list[bytes] = []

    async def scenario() -> None:
        queue(db, ("REF-A", "A1"), ("REF-B", "B1"))
        gate = asyncio.Event()
        first = asyncio.create_task(OutboxRelay(db, Gated(log, gate)).flush())  # leases A1 and B1, awaits their acks
        while len(log) < 2:
            await asyncio.sleep(0.01)
        queue(db, ("REF-A", "A2"), ("REF-C", "C1"))
        second = OutboxRelay(db, Gated(log))
        assert await second.flush() == 1, "only C1: A2 waits behind A1, still unacknowledged"
        assert log == [b"A1", b"B1", b"C1"]
        gate.set()
        sent = await first + await second.flush()  # A2 goes with whichever relay asks first once A1 is acknowledged
        assert sent == 3 and log == [b"A1", b"B1", b"C1", b"A2"]

    asyncio.run(scenario())
    db.dispose()


def test_two_instances_anchoring_the_same_head_at_once_queue_it_once_without_an_error(durable_database_url, tmp_path):
    generate(tmp_path / "keys", ["police_desk", "operations"])
    keys = tmp_path / "keys"
    Database.initialise(durable_database_url, "police_desk", keys)
    instances = [Database(durable_database_url, identity=expected(keys, "police_desk")) for _ in range(2)]
    firewall = Firewall("police_desk", keys)
    log = AuditLog(firewall.custody)
    anchorings = [Anchoring(db, firewall, relay=None) for db in instances]
    with ThreadPoolExecutor(max_workers=2) as both:
        for i in range(5):
            with instances[0].transaction() as s:
                log.append(s, "researched", referral_id="REF-0123456789AB", reason=f"search {i}")
            at_once = threading.Barrier(2)

            def anchor(anchoring: Anchoring, at_once=at_once) -> bool:
                at_once.wait()
                return anchoring.anchor() is not None

            assert sorted(both.map(anchor, anchorings)) == [False, True], "one queued it, the other found it queued"
    with instances[0].transaction() as s:
        assert s.execute(select(func.count()).select_from(outbox)).scalar() == 5
    for db in instances:
        db.dispose()
