"""The outbox relay on each backend: rows leased before publishing, so instances sharing a store never
publish a row twice, and a crashed instance's lease expires for another to take over."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from mash_runtime.store import Database, OutboxRelay, outbox

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self):
        self.sent = []

    async def publish(self, payload, topic, key=None, headers=None):
        await asyncio.sleep(0)  # let the other relay run in between
        self.sent.append(payload)


def fill(db: Database, n: int) -> None:
    with db.transaction() as s:
        for i in range(n):
            s.execute(insert(outbox).values(message_id=f"m-{i}", topic="t", key=b"k", payload=f"{i}".encode(),
                                            headers={}, created_at=datetime.now(UTC)))


def test_two_relays_on_one_store_publish_each_row_once(database_url):
    db = Database(database_url)
    fill(db, 120)
    brokers = [Recorder(), Recorder()]
    relays = [OutboxRelay(db, b, batch=7) for b in brokers]

    async def both():
        return await asyncio.gather(*(r.flush() for r in relays))

    counts = asyncio.run(both())
    sent = brokers[0].sent + brokers[1].sent
    assert sorted(sent) == sorted(f"{i}".encode() for i in range(120)) and sum(counts) == 120
    db.dispose()


def test_an_expired_lease_is_taken_over(database_url):
    db = Database(database_url)
    fill(db, 3)
    with db.transaction() as s:  # a relay that leased the rows and died
        s.execute(update(outbox).values(claimed_by="dead", claimed_until=datetime.now(UTC) + timedelta(minutes=5)))
    broker = Recorder()
    assert asyncio.run(OutboxRelay(db, broker).flush()) == 0, "a live lease is respected"
    with db.transaction() as s:
        s.execute(update(outbox).values(claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert asyncio.run(OutboxRelay(db, broker).flush()) == 3
    with db.transaction() as s:
        assert all(r.published_at for r in s.execute(select(outbox.c.published_at)))
    db.dispose()
