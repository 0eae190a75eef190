"""A service's own database, with the inbox and outbox that make its effects happen once.

The state change, the ids of the messages that caused it (inbox) and the messages it must publish (outbox)
commit in one transaction. The relay publishes outbox rows after the commit and marks them sent; a crash in
between republishes the same message id, which readers deduplicate.
SQLite by default (one file in the state directory); any SQLAlchemy URL, PostgreSQL included, works too.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry import propagate
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from mash_contracts import headers_for
from mash_contracts.topics import RECORD_BYTES, lookup

from .audit import audit_metadata
from .calendar import as_utc
from .errors import ConcurrentWrite, Rejected, is_duplicate_key
from .firewall import Firewall
from .identity import StoreIdentity, Watch, check, initialise

log = logging.getLogger("mash.outbox")
metadata = MetaData()

inbox = Table(
    "inbox",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("topic", String(255), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    # A relay leases rows before publishing them, so two instances sharing a store never send a row twice;
    # a lease left by a crashed instance expires and another picks the rows up.
    Column("claimed_by", String(36), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
)


def make_engine(url: str) -> Engine:
    # A failing statement's error names its parameters (notifications, names, rationales), and errors are
    # logged: hide them, so personal data never reaches a log through a traceback.
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


# The broker takes records up to 1 MiB (message.max.bytes); a little is kept back for the key and headers.
MAX_RECORD_BYTES = 1_000_000


def record_limit(topic: str) -> int:
    """The most a queued value may be on this topic: its catalogue limit less the room kept for key and
    headers (the dead-letter topic is sized to carry any accepted record's letter)."""
    spec = lookup(topic)
    return MAX_RECORD_BYTES if spec is None else spec.max_message_bytes - (RECORD_BYTES - MAX_RECORD_BYTES)


def enqueue(session: Session, firewall: Firewall, topic: str, key: str, message: BaseModel, message_id: str) -> None:
    """Queue a message; it is sealed now, so the outbox holds no personal data in plaintext either.

    A message the broker could never take is refused here, inside the transaction: the work is rolled back
    and the message that caused it is dead-lettered with the reason, instead of an outbox row that would
    block every row behind it."""
    payload = firewall.wrap(topic, key, message, message_id)
    if len(payload) > (limit := record_limit(topic)):
        raise Rejected(
            [f"{type(message).__name__} for {topic} would be {len(payload):,} bytes sealed, over the {limit:,} byte record limit"]
        )
    session.execute(
        insert(outbox).values(
            message_id=message_id,
            topic=topic,
            key=key.encode(),
            payload=payload,
            headers=_with_trace_context(headers_for(message)),
            created_at=datetime.now(UTC),
        )
    )


def _with_trace_context(headers: dict[str, str]) -> dict[str, str]:
    # The context the message was queued under, so the relay publishes it inside the same trace.
    propagate.inject(headers)
    return headers


class OutboxRelay:
    """Publishes committed outbox rows in order, in the background.

    Handlers commit their rows and call `wake()`; the relay sends whatever has accumulated as one pipelined
    batch (every record handed to the producer in order, then all acknowledgements awaited), so a burst costs
    one round of acks=all rather than one per message. It also polls, so rows committed by another process
    (a manager's CLI decision, a crashed instance's leftovers) go out too. Several processes sharing one store
    each publish only the rows they leased; rows whose publishing failed are handed back at once.
    """

    def __init__(
        self,
        db: Database,
        broker: KafkaBroker,
        batch: int = 200,
        lease: timedelta = timedelta(seconds=60),
        poll: float = 1.0,
        backoff: float = 1.0,
    ):
        self._db = db
        self._broker = broker
        self._batch = batch
        self._lease = lease
        self._poll = poll
        self._backoff = backoff
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _claim(self) -> tuple[str, list[Row[Any]]]:
        token, now = str(uuid.uuid4()), datetime.now(UTC)
        free = outbox.c.published_at.is_(None) & (outbox.c.claimed_until.is_(None) | (outbox.c.claimed_until < now))
        with self._db.transaction() as s:
            batch = select(outbox.c.id).where(free).order_by(outbox.c.id).limit(self._batch).scalar_subquery()
            # `free` again in the outer clause: PostgreSQL re-checks it on a row another relay just leased.
            s.execute(
                update(outbox).where(outbox.c.id.in_(batch) & free).values(claimed_by=token, claimed_until=now + self._lease)
            )
            return token, list(
                s.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.headers)
                    .where((outbox.c.claimed_by == token) & outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                )
            )

    def _mark(self, ids: list[int]) -> None:
        with self._db.transaction() as s:
            s.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC)))

    def _release(self, token: str) -> None:
        with self._db.transaction() as s:
            s.execute(
                update(outbox)
                .where((outbox.c.claimed_by == token) & outbox.c.published_at.is_(None))
                .values(claimed_by=None, claimed_until=None)
            )

    async def _send(self, rows: list[Row[Any]]) -> None:
        pending = []
        for row in rows:
            token = otel_context.attach(propagate.extract(row.headers))
            try:
                pending.append(
                    await self._broker.publish(row.payload, row.topic, key=row.key, headers=dict(row.headers), no_confirm=True)
                )
            finally:
                otel_context.detach(token)
        await asyncio.gather(*pending)

    async def flush(self) -> int:
        """Publish every row that is free to publish now; raises if the broker refuses (rows are handed back)."""
        sent = 0
        async with self._lock:
            while True:
                token, rows = await asyncio.to_thread(self._claim)
                if not rows:
                    return sent
                try:
                    await self._send(rows)
                except BaseException:
                    # Some may have gone out: they will go again, with the same message ids, which readers deduplicate.
                    await asyncio.shield(asyncio.to_thread(self._release, token))
                    raise
                await asyncio.to_thread(self._mark, [r.id for r in rows])
                sent += len(rows)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # broker or database briefly away: the rows stay in the outbox
                log.warning("outbox relay could not publish (%r); retrying in %.0fs", e, self._backoff)
                await asyncio.sleep(self._backoff)

    async def start(self) -> None:
        """Send what a previous run left unsent, then keep relaying in the background."""
        try:
            await self.flush()
        except Exception as e:
            log.warning("outbox relay could not publish at start-up (%r); will retry", e)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and send what the last handlers committed; anything left waits for the next start."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except Exception as e:
            log.warning("outbox rows left for the next start (%r)", e)

    async def drain(self) -> None:
        """Graceful shutdown: stop taking messages, let in-flight handlers finish (their offsets commit), then
        send what they committed. The broker closes after this; anything still unsent waits for the next start."""
        await asyncio.gather(*(sub.stop() for sub in self._broker.subscribers))
        await self.stop()

    def attach(self, app: FastStream) -> None:
        """Run alongside a FastStream app: started after the broker, drained before it closes."""
        app.after_startup(self.start)
        app.on_shutdown(self.drain)


class OutboxCollector(Collector):
    """What the relay has still to send, read at scrape time: a growing count or age means the broker is not
    taking this service's messages."""

    def __init__(self, db: Database):
        self._db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        unsent = outbox.c.published_at.is_(None)
        with self._db.transaction() as s:
            count, oldest = s.execute(select(func.count(), func.min(outbox.c.created_at)).where(unsent)).one()
        yield GaugeMetricFamily("mash_outbox_unsent", "Messages committed to the outbox and not yet published", value=count)
        age = (datetime.now(UTC) - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("mash_outbox_oldest_unsent_seconds", "Age of the oldest message not yet published", value=age)
