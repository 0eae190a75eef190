"""Two group members handling one message at once (a rebalance): the loser's insert hits the winner's key. The store
makes that a transient ConcurrentWrite, so the consumer retries and finds the work done instead of dead-lettering a
valid message as a bug. Run on PostgreSQL (and the in-memory store); on a SQLite file the race cannot happen, since
a transaction takes the write lock when it begins (the last test)."""

import sqlite3
from datetime import UTC, datetime

import pytest
from faststream.kafka import TestKafkaBroker
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from mash_contracts import NotificationSubmission
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_runtime.errors import ConcurrentWrite, TransientError
from mash_runtime.store import Database, first_time, inbox

pytestmark = pytest.mark.unit
TOPIC = NOTIFICATIONS_SUBMITTED.name

notes = Table("notes", MetaData(), Column("id", String(36), primary_key=True), Column("body", String(100), nullable=False))


def lose_a_race(db: Database, message_id: str) -> bool:
    """What first_time does, with the winner committing between the loser's check and its insert."""
    with db.transaction() as loser:
        seen = loser.execute(select(inbox.c.message_id).where(inbox.c.message_id == message_id)).first()
        with db.transaction() as winner:  # the other member, on its own connection
            assert first_time(winner, message_id, TOPIC)
        if seen is None:
            loser.execute(insert(inbox).values(message_id=message_id, topic=TOPIC, processed_at=datetime.now(UTC)))
        return seen is None


def test_the_loser_of_a_race_for_one_inbox_id_gets_a_transient_error_and_the_retry_finds_it_done(racing_url):
    db = Database(racing_url)
    with pytest.raises(ConcurrentWrite) as lost:
        lose_a_race(db, "m-1")
    assert isinstance(lost.value, TransientError) and isinstance(lost.value.__cause__, IntegrityError)
    with db.transaction() as retry:
        assert not first_time(retry, "m-1", TOPIC), "the retry sees the winner's work"


def test_other_integrity_errors_stay_bugs(database_url):
    db = Database(database_url, notes.metadata)
    with pytest.raises(IntegrityError) as failed:
        with db.transaction() as s:
            s.execute(insert(notes).values(id="n-1", body=None))  # NOT NULL: no retry will ever cure it
    assert not isinstance(failed.value, TransientError)


@pytest.mark.anyio
async def test_a_message_two_members_handled_at_once_is_not_dead_lettered(racing_url, principals, generator, guarded_intake):
    db = Database(racing_url)
    calls = []

    async def handler(submission: NotificationSubmission, source) -> None:
        calls.append(submission.submission_id)
        if len(calls) == 1:
            lose_a_race(db, submission.submission_id)  # the first attempt loses to the other member
            return
        with db.transaction() as s:
            assert not first_time(s, submission.submission_id, source.topic)

    broker, dead = guarded_intake(handler)
    s = generator.notification()
    async with TestKafkaBroker(broker) as br:
        await br.publish(principals.seal_submission(s), TOPIC, key=s.submission_id.encode())
    assert dead == [] and calls == [s.submission_id, s.submission_id], "retried once, found done, never dead-lettered"


@pytest.mark.anyio
async def test_a_key_still_taken_on_every_retry_is_a_bug_not_a_race(principals, generator, guarded_intake):
    calls = []

    async def handler(submission: NotificationSubmission, source) -> None:
        calls.append(1)
        raise ConcurrentWrite("another transaction wrote the same key first")  # a handler inserting one row twice

    broker, dead = guarded_intake(handler)
    s = generator.notification()
    async with TestKafkaBroker(broker) as br:
        await br.publish(principals.seal_submission(s), TOPIC, key=s.submission_id.encode())
    assert len(calls) == 3 and [(d.error_type, d.attempts) for d in dead] == [("ConcurrentWrite", 3)], (
        "set aside, not handed back for ever"
    )


def test_on_a_sqlite_file_a_transaction_holds_the_write_lock_from_its_start_so_no_one_can_race_it(tmp_path):
    path = tmp_path / "store.db"
    db = Database(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    with db.transaction() as reader:
        reader.execute(select(inbox.c.message_id)).all()  # only a read so far
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free once it ends
    other.execute("ROLLBACK")
