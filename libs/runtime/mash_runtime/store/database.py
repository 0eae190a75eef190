"""The store itself: its engine (SQLite file, SQLite in memory, PostgreSQL), its identity check, its tables and its
transactions, and the inbox check that makes a redelivery add nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event, insert, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from ..audit import audit_metadata
from ..errors import ConcurrentWrite, is_duplicate_key
from ..identity import StoreIdentity, Watch, check, expected, initialise
from .schema import inbox, metadata

# A store that lives only as long as its process, for tests of one handler: one connection shared by every thread, so
# for a store used by one thread at a time (concurrent writers need a store outside the process).
IN_MEMORY = "sqlite://"


def make_engine(url: str) -> Engine:
    # A failing statement's error names its parameters (notifications, names, rationales), and errors are
    # logged: hide them, so personal data never reaches a log through a traceback.
    if url in (IN_MEMORY, "sqlite:///:memory:"):
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool, hide_parameters=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        # WAL lets readers and one writer share the file
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

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
        try:
            with Session(self.engine) as session, session.begin():
                yield session
        except IntegrityError as e:
            # Losing a race to write the same row is not a failure of the message: retried, it finds the work done.
            if is_duplicate_key(e):
                raise ConcurrentWrite(f"another transaction wrote the same key first: {type(e.orig).__name__}") from e
            raise

    def ping(self) -> None:
        """Readiness: the database answers and, for a service, is still the store it started on."""
        if self._watch is not None:
            self._watch.check()
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("select 1")

    def dispose(self) -> None:
        self.engine.dispose()


def _create_tables(engine: Engine, extra: tuple[MetaData, ...]) -> None:
    for md in (metadata, audit_metadata, *extra):
        md.create_all(engine)
        _check_columns(engine, md)


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
