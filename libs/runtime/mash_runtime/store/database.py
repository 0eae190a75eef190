"""The store itself: its engine (SQLite file, SQLite in memory, PostgreSQL), its identity check, its tables and its
transactions, and the inbox check that makes a redelivery add nothing."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import MetaData, create_engine, event, insert, inspect, make_url, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from ..audit import audit_metadata
from ..errors import ConcurrentWrite, is_duplicate_key
from ..identity import StoreIdentity, Watch, check, expected, initialise
from .batch import BatchAborted, FileTurns, StoreBatch, WriterTurns
from .schema import inbox, metadata

# A store that lives only as long as its process, for tests of one handler: one connection shared by every thread, so
# for a store used by one thread at a time (concurrent writers need a store outside the process).
IN_MEMORY = "sqlite://"

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    # A failing statement's error names its parameters (notifications, names, rationales), and errors are
    # logged: hide them, so personal data never reaches a log through a traceback.
    if url in (IN_MEMORY, "sqlite:///:memory:"):
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool, hide_parameters=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        # WAL lets readers and one writer share the file. synchronous=NORMAL: a commit is in the WAL when it returns
        # and reaches the database file at checkpoints; the OS crashing (not the process) can lose the last commits,
        # whose offsets Kafka then redelivers (see docs/performance.md).
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # The driver's own transaction handling breaks savepoints: SQLAlchemy begins each transaction instead.
            conn.isolation_level = None

        # IMMEDIATE: a transaction takes the write lock when it begins, waiting its turn, rather than failing when a
        # read inside it is followed by a write after another connection has written (SQLite cannot upgrade then).
        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class StaleStore(RuntimeError):
    """The store was made by an older version: refuse to start rather than fail on every message."""


class Database:
    def __init__(self, url: str, *extra: MetaData, identity: StoreIdentity | None = None):
        """A service passes the identity it was initialised with: any other store (missing, empty, another) is
        refused before anything is created in it. Without one (tests, the benchmark) the tables are just made."""
        self.engine = make_engine(url)
        self.identity = identity
        self._watch: Watch | None = None
        if identity is not None:
            check(self.engine, identity)
        _create_tables(self.engine, extra)
        if identity is not None:
            self._watch = Watch(self.engine, identity)
        # The in-memory store shares one connection between threads: one transaction at a time, so no batches.
        self._batches = url not in (IN_MEMORY, "sqlite:///:memory:")
        # A SQLite file has one write lock: writers take turns at it, this process's and every other instance's
        # sharing the file (store/batch.py).
        self._turns = WriterTurns(FileTurns(_sqlite_file(url))) if self._batches and url.startswith("sqlite") else None
        self._batch: contextvars.ContextVar[StoreBatch | None] = contextvars.ContextVar("mash-store-batch", default=None)
        self._after_commit: list[Callable[[], None]] = []

    @classmethod
    def initialise(cls, url: str, service: str, keys_dir: Path, *extra: MetaData, replace: bool = False) -> str:
        """A service's `init`: create and stamp its store (or confirm it); see mash_runtime.identity."""
        engine = make_engine(url)
        try:
            return initialise(engine, service, keys_dir, lambda: _create_tables(engine, extra), replace=replace)
        finally:
            engine.dispose()

    @classmethod
    def in_memory(cls, service: str, keys_dir: Path, *extra: MetaData) -> Database:
        """A store in this process's memory, initialised and stamped as `init` does (its identity kept in keys_dir),
        for a test that builds a whole service in one process."""
        db = cls(IN_MEMORY, *extra)
        initialise(db.engine, service, keys_dir, lambda: _create_tables(db.engine, extra), replace=True)
        db.identity = expected(keys_dir, service)
        db._watch = Watch(db.engine, db.identity)
        return db

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction of its own, or inside a consumer's batch a savepoint of the batch's transaction."""
        batch = self._batch.get()
        if batch is not None and batch.serves_this_thread():
            with self._savepoint(batch) as session:
                yield session
            return
        try:
            with self._turns.turn() if self._turns is not None else nullcontext():
                with Session(self.engine) as session, session.begin():
                    yield session
        except IntegrityError as e:
            _raise_if_duplicate(e)
            raise

    @contextmanager
    def _savepoint(self, batch: StoreBatch) -> Iterator[Session]:
        if batch.aborted:
            raise BatchAborted("an earlier failure in this batch left its transaction unusable")
        batch.take_turn()
        try:
            with batch.session.begin_nested():
                yield batch.session
        except Exception as e:
            transaction = batch.session.get_transaction()
            if transaction is None or not transaction.is_active:
                batch.aborted = True
                raise BatchAborted(f"the batch's transaction failed: {type(e).__name__}") from e
            if isinstance(e, IntegrityError):
                _raise_if_duplicate(e)
            raise

    @asynccontextmanager
    async def batch(self, executor: ThreadPoolExecutor) -> AsyncIterator[StoreBatch | None]:
        """One transaction for the records a consumer handles at once, committed when the block ends without error
        and rolled back otherwise (the records are then redelivered). `executor` is the consumer's own thread."""
        if not self._batches:
            yield None
            return
        batch = StoreBatch(Session(self.engine), executor, self._turns)
        token = self._batch.set(batch)
        try:
            yield batch
            await self.commit(batch)
        except BaseException:
            # On the batch's thread, after whatever a cancelled handler is still doing there.
            await asyncio.shield(batch.run(batch.end, batch.session.rollback))
            raise
        finally:
            batch.open = False
            self._batch.reset(token)
            await asyncio.shield(batch.run(batch.session.close))

    async def commit(self, batch: StoreBatch) -> None:
        """Commit what the batch has done so far (it goes on in a new transaction), then tell whoever waits for it."""
        try:
            await batch.run(batch.end, batch.session.commit)
        except IntegrityError as e:
            _raise_if_duplicate(e)
            raise
        for then in self._after_commit:
            then()

    def after_commit(self, then: Callable[[], None]) -> None:
        """Call `then` after each batch commits (the relay's wake: rows a batch queued are only visible then)."""
        self._after_commit.append(then)

    def in_batch(self) -> bool:
        """Whether the caller is inside a consumer's batch that has not committed yet."""
        batch = self._batch.get()
        return batch is not None and batch.open

    async def run(self, fn: Callable[..., T], /, *args: object) -> T:
        """Store work off the event loop: on the batch's thread inside a consumer's batch, otherwise in the pool."""
        batch = self._batch.get()
        if batch is not None and batch.open:
            return await batch.run(fn, *args)
        return await asyncio.to_thread(fn, *args)

    def ping(self) -> None:
        """Readiness: the database answers and, for a service, is still the store it started on."""
        if self._watch is not None:
            self._watch.check()
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("select 1")

    def dispose(self) -> None:
        self.engine.dispose()
        if self._turns is not None:
            self._turns.close()


def _sqlite_file(url: str) -> str:
    database = make_url(url).database
    if not database:
        raise ValueError(f"{url}: not a SQLite file")
    return database


def _raise_if_duplicate(e: IntegrityError) -> None:
    # Losing a race to write the same row is not a failure of the message: retried, it finds the work done.
    if is_duplicate_key(e):
        raise ConcurrentWrite(f"another transaction wrote the same key first: {type(e.orig).__name__}") from e


def _create_tables(engine: Engine, extra: tuple[MetaData, ...]) -> None:
    for md in (metadata, audit_metadata, *extra):
        md.create_all(engine)
        _check_columns(engine, md)
        # create_all makes a table's indexes only with the table: one added since (outbox_unsent) is made here.
        for table in md.sorted_tables:
            for index in table.indexes:
                index.create(engine, checkfirst=True)


def _check_columns(engine: Engine, md: MetaData) -> None:
    # create_all adds missing tables, never missing columns. Without this check a store from an older version
    # fails each message with "no such column", which looks transient and would be retried for ever.
    found = inspect(engine)
    for table in md.sorted_tables:
        missing = {c.name for c in table.columns} - {c["name"] for c in found.get_columns(table.name)}
        if missing:
            raise StaleStore(
                f"{engine.url.render_as_string(hide_password=True)}: table {table.name!r} has no {', '.join(sorted(missing))}: "
                "the store was made by an older version of the service. There are no migrations yet: move it aside "
                "(a local state directory such as .mash/ can be deleted) and start again."
            )


def first_time(session: Session, message_id: str, topic: str) -> bool:
    """Record a consumed message id; False when it was already processed (a redelivery)."""
    if session.execute(select(inbox.c.message_id).where(inbox.c.message_id == message_id)).first():
        return False
    session.execute(insert(inbox).values(message_id=message_id, topic=topic, processed_at=datetime.now(UTC)))
    return True
