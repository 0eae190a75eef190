"""The outbox relay on each backend: rows leased before publishing, so instances sharing a store never
publish a row twice, and a crashed instance's lease expires for another to take over."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from mash_runtime.store import Database, OutboxRelay, outbox

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self):
        self.sent = []

    async def publish(self, payload, topic, key=None, headers=None, no_confirm=False):
        await asyncio.sleep(0)  # let the other relay run in between
        self.sent.append(payload)
        acked = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


class Refusing(Recorder):
    """A broker that takes the first records, then fails the acknowledgement (it went away mid-batch)."""

    async def publish(self, payload, topic, key=None, headers=None, no_confirm=False):
        self.sent.append(payload)
        acked = asyncio.get_running_loop().create_future()
        acked.set_exception(ConnectionError("broker went away"))
        return acked


def fill(db: Database, n: int) -> None:
    with db.transaction() as s:
        for i in range(n):
            s.execute(
                insert(outbox).values(
                    message_id=f"m-{i}", topic="t", key=b"k", payload=f"{i}".encode(), headers={}, created_at=datetime.now(UTC)
                )
            )


def test_two_relays_on_one_store_publish_each_row_once(durable_database_url):
    """Two relays in two threads at once: connections of their own, so a store outside the process."""
    db = Database(durable_database_url)
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


def test_rows_whose_publishing_failed_are_handed_back_at_once_and_sent_later(database_url):
    db = Database(database_url)
    fill(db, 5)
    with pytest.raises(ConnectionError):
        asyncio.run(OutboxRelay(db, Refusing()).flush())
    with db.transaction() as s:
        rows = list(s.execute(select(outbox.c.published_at, outbox.c.claimed_by)))
    assert rows and all(r.published_at is None and r.claimed_by is None for r in rows), "no lease left to expire"
    broker = Recorder()
    assert asyncio.run(OutboxRelay(db, broker).flush()) == 5 and broker.sent == [f"{i}".encode() for i in range(5)]
    db.dispose()


def test_the_background_relay_sends_when_woken_and_on_its_own_poll(database_url):
    db = Database(database_url)

    async def sent_after(relay: OutboxRelay, broker: Recorder, wake: bool, expect: int) -> list:
        await relay.start()
        if not wake:
            fill(db, 2)
        if wake:
            with db.transaction() as s:
                s.execute(
                    insert(outbox).values(
                        message_id="m-woken", topic="t", key=b"k", payload=b"woken", headers={}, created_at=datetime.now(UTC)
                    )
                )
            relay.wake()
        # Well inside the 60 s poll of the woken relay: only the wake-up can send within it. A busy machine gets time.
        deadline = asyncio.get_running_loop().time() + 10
        while len(broker.sent) < expect and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        seen = list(broker.sent)
        await relay.stop()
        return seen

    polled = Recorder()  # rows committed by another process are found by the poll
    assert asyncio.run(sent_after(OutboxRelay(db, polled, poll=0.1), polled, wake=False, expect=2)) == [b"0", b"1"]
    woken = Recorder()  # a handler's wake-up sends at once, long before the next poll
    assert asyncio.run(sent_after(OutboxRelay(db, woken, poll=60), woken, wake=True, expect=1)) == [b"woken"]
    db.dispose()


def test_a_consumers_batch_wakes_the_relay_when_it_commits(durable_database_url):
    """Rows a consumer's batch queued go out when the batch commits, not at the relay's next poll: before, the wake-up
    came while the batch was still the caller's, was taken for one still open, and every hop waited for the poll."""
    db = Database(durable_database_url)

    async def seconds_to_publish() -> float | None:
        broker = Recorder()
        relay = OutboxRelay(db, broker, poll=60)
        await relay.start()
        arrived = asyncio.get_running_loop().create_future()
        original = broker.publish

        async def publish(*args, **kwargs):
            if not arrived.done():
                arrived.set_result(time.monotonic())
            return await original(*args, **kwargs)

        broker.publish = publish
        with ThreadPoolExecutor(max_workers=1) as own_thread:
            async with db.batch(own_thread) as batch:
                assert batch is not None
                await batch.run(_fill_in_batch, db)
            committed = time.monotonic()
        try:
            sent = await asyncio.wait_for(arrived, 20)  # nothing else on the loop: only the wake-up sends in time
        except TimeoutError:
            sent = None
        await relay.stop()
        return None if sent is None else sent - committed

    elapsed = asyncio.run(seconds_to_publish())
    assert elapsed is not None and elapsed < 10, f"the relay waited for its poll after a batch committed ({elapsed})"
    db.dispose()


def _fill_in_batch(db: Database) -> None:
    with db.transaction() as s:  # inside the batch: a savepoint of its transaction
        s.execute(
            insert(outbox).values(
                message_id="m-batch", topic="t", key=b"k", payload=b"batch", headers={}, created_at=datetime.now(UTC)
            )
        )


def test_a_store_made_by_an_older_version_is_refused_at_start_with_what_is_missing(tmp_path):
    from sqlalchemy import create_engine, text

    from mash_runtime.store import StaleStore

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as conn:  # the outbox as it was before leases
        conn.execute(
            text(
                "create table outbox (id integer primary key, message_id varchar(64), topic varchar(255), "
                "key blob, payload blob, headers json, created_at datetime, published_at datetime)"
            )
        )
    old.dispose()
    with pytest.raises(StaleStore, match=r"table 'outbox' has no claimed_by, claimed_until: the store was made by an older"):
        Database(url)


def test_a_message_the_broker_could_never_take_is_refused_inside_the_transaction(database_url, principals, generator):
    from mash_contracts.topics import NOTIFICATIONS
    from mash_intake.screening import accept
    from mash_runtime.errors import Rejected
    from mash_runtime.store import MAX_RECORD_BYTES, enqueue

    db = Database(database_url)
    n = accept(generator.notification(), datetime.now(UTC), referrer_system="northshire_schools")
    huge = n.model_copy(update={"concern": n.concern.model_copy(update={"description": "x" * (MAX_RECORD_BYTES + 1)})})
    with pytest.raises(Rejected, match=r"over the 1,000,000 byte record limit"):
        with db.transaction() as s:
            enqueue(s, principals.firewall("intake"), NOTIFICATIONS.name, n.referral_id, n, "m-ok")
            enqueue(s, principals.firewall("intake"), NOTIFICATIONS.name, n.referral_id, huge, "m-huge")
    with db.transaction() as s:
        assert s.execute(select(outbox.c.message_id)).all() == [], "the whole transaction rolled back"
    db.dispose()


def test_the_outbox_backlog_is_a_metric(database_url):
    from prometheus_client import CollectorRegistry

    from mash_runtime.store import OutboxCollector

    db = Database(database_url)
    registry = CollectorRegistry()
    registry.register(OutboxCollector(db))
    assert registry.get_sample_value("mash_outbox_unsent") == 0
    fill(db, 3)
    assert registry.get_sample_value("mash_outbox_unsent") == 3
    assert registry.get_sample_value("mash_outbox_oldest_unsent_seconds") >= 0
    asyncio.run(OutboxRelay(db, Recorder()).flush())
    assert registry.get_sample_value("mash_outbox_unsent") == 0
    db.dispose()


def test_urgent_lane_rows_go_out_before_an_older_routine_backlog_and_each_topic_keeps_its_order(database_url):
    db = Database(database_url)
    with db.transaction() as s:
        for i, topic in enumerate(["mash.notifications"] * 4 + ["mash.notifications.urgent", "mash.notifications.urgent"]):
            s.execute(
                insert(outbox).values(
                    message_id=f"m-{i}", topic=topic, key=b"k", payload=f"{i}".encode(), headers={}, created_at=datetime.now(UTC)
                )
            )
    broker = Recorder()
    relay = OutboxRelay(db, broker, batch=3)
    assert asyncio.run(relay.flush()) == 6
    assert broker.sent == [b"4", b"5", b"0", b"1", b"2", b"3"]
    db.dispose()
