"""A consumer's batch is one transaction: each record's work a savepoint of it, so a record that fails takes back only
its own work, and nothing of the batch is durable until it commits (before its offsets). Written once, run on a
SQLite file and on PostgreSQL."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from mash_runtime.errors import ConcurrentWrite
from mash_runtime.store import Database
from mash_runtime.store.batch import WriterTurns

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

notes = Table("notes", MetaData(), Column("id", String(36), primary_key=True))


@pytest.fixture
def db(durable_database_url):
    store = Database(durable_database_url, notes.metadata)
    yield store
    store.dispose()


@pytest.fixture
def own_thread():
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def write(db: Database, note: str, fail: Exception | None = None) -> None:
    with db.transaction() as s:
        s.execute(insert(notes).values(id=note))
        if fail is not None:
            raise fail


def stored(db: Database) -> set[str]:
    """What another process would see: its own engine, reading without taking SQLite's write lock."""
    engine = create_engine(db.engine.url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(select(notes.c.id)))
    finally:
        engine.dispose()


async def test_a_record_that_fails_takes_back_only_its_own_work(db, own_thread):
    async with db.batch(own_thread):
        await db.run(write, db, "first")
        with pytest.raises(ValueError):
            await db.run(write, db, "second", ValueError("a bug in the handler"))
        await db.run(write, db, "third")
    assert stored(db) == {"first", "third"}


async def test_nothing_of_a_batch_is_durable_until_it_commits_and_a_failed_batch_leaves_nothing(db, own_thread):
    with pytest.raises(RuntimeError):
        async with db.batch(own_thread):
            await db.run(write, db, "first")
            assert stored(db) == set(), "another connection does not see it yet"
            raise RuntimeError("handed back to Kafka")
    assert stored(db) == set()


async def test_a_checkpoint_is_durable_even_when_the_rest_of_the_batch_fails(db, own_thread):
    woken = []
    db.after_commit(lambda: woken.append(1))
    with pytest.raises(RuntimeError):
        async with db.batch(own_thread) as batch:
            await db.run(write, db, "first")
            await db.commit(batch)  # the routine lane giving way to the urgent one
            await db.run(write, db, "second")
            raise RuntimeError("handed back to Kafka")
    assert stored(db) == {"first"} and woken == [1], "the relay is woken once the rows are visible"


async def test_a_duplicate_key_inside_a_batch_is_a_race_to_retry_and_the_batch_goes_on(db, own_thread):
    async with db.batch(own_thread):
        await db.run(write, db, "first")
        with pytest.raises(ConcurrentWrite):
            await db.run(write, db, "first")
        await db.run(write, db, "second")
    assert stored(db) == {"first", "second"}


async def test_outside_a_batch_each_transaction_is_its_own(db):
    await db.run(write, db, "alone")
    assert stored(db) == {"alone"}


def test_writers_take_turns_in_the_order_they_asked_and_a_released_turn_passes_to_the_longest_waiting():
    turns, order = WriterTurns(), []
    turns.acquire()
    waiters = []
    for name in ("relay", "clock"):
        t = threading.Thread(target=lambda n=name: (turns.acquire(), order.append(n), turns.release()))
        t.start()
        waiters.append(t)
        while len(turns._queue) < len(waiters):  # noqa: SLF001 - waiting until each has queued, in this order
            time.sleep(0.001)
    assert turns.waiting
    turns.release()
    turns.acquire()  # behind both: the releaser cannot take its turn back first
    order.append("batch")
    turns.release()
    for t in waiters:
        t.join(5)
    assert order == ["relay", "clock", "batch"] and not turns.waiting


def test_a_transaction_inside_another_on_one_sqlite_file_fails_at_once_instead_of_waiting_for_itself(db):
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL has no single write lock to wait for
    with db.transaction():
        with pytest.raises(RuntimeError, match="inside another"):
            with db.transaction():
                pass


async def test_a_batch_gives_its_turn_up_when_another_writer_waits(db, own_thread):
    if db.engine.dialect.name != "sqlite":
        return
    async with db.batch(own_thread) as batch:
        await db.run(write, db, "first")
        batch.window = 60.0
        assert batch.holding and not batch.should_commit()
        relay = asyncio.create_task(asyncio.to_thread(write, db, "relay"))
        while not batch.should_commit():
            await asyncio.sleep(0.001)
        await db.commit(batch)
        await relay
        await db.run(write, db, "second")
    assert stored(db) == {"first", "relay", "second"}


async def test_a_batch_commits_what_it_has_done_once_it_has_waited_its_window(db, own_thread):
    async with db.batch(own_thread) as batch:
        batch.window = 0.05
        await db.run(write, db, "first")
        assert not batch.should_commit()
        await asyncio.sleep(0.06)
        assert batch.should_commit()
        await db.commit(batch)
        assert stored(db) == {"first"} and not batch.should_commit()
