"""Publishing committed outbox rows, in order, in pipelined batches, leased so that instances sharing a store never
send a row twice nor one of a referral's messages ahead of an earlier one."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import Row, case, func, or_, select, text, update

from mash_contracts.topics import URGENT_SUFFIX

from ..background import Background
from .database import Database
from .schema import outbox

log = logging.getLogger("mash.outbox")


_URGENT_FIRST = case((outbox.c.topic.endswith(URGENT_SUFFIX), 0), else_=1)


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
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._loop = Background("outbox-relay")
        db.after_commit(self._committed)

    def _claim(self) -> tuple[str, list[Row[Any]]]:
        token, now = str(uuid.uuid4()), datetime.now(UTC)
        free = outbox.c.published_at.is_(None) & (outbox.c.claimed_until.is_(None) | (outbox.c.claimed_until < now))
        with self._db.transaction() as s:
            if s.get_bind().dialect.name == "postgresql":
                # One claim at a time, each seeing the leases before it (a SQLite transaction holds the write lock).
                s.execute(text("SELECT pg_advisory_xact_lock(hashtext('mash-outbox-claim'))"))
            # Another instance's relay may be publishing rows it leased: none behind them with the same topic and key
            # is taken until they are sent, or a referral's messages could overtake each other on a topic.
            ahead = s.execute(
                select(outbox.c.topic, outbox.c.key, func.min(outbox.c.id))
                .where(outbox.c.published_at.is_(None) & (outbox.c.claimed_until >= now))
                .group_by(outbox.c.topic, outbox.c.key)
            ).all()
            behind = or_(*((outbox.c.topic == t) & (outbox.c.key == k) & (outbox.c.id > first) for t, k, first in ahead))
            claimable = free & ~behind if ahead else free
            # Urgent-lane rows first, then in the order they were queued: behind a routine backlog in the outbox, an
            # immediate-danger referral's next message still goes out in the next batch. Order within a topic holds.
            batch = select(outbox.c.id).where(claimable).order_by(_URGENT_FIRST, outbox.c.id).limit(self._batch).scalar_subquery()
            # `free` again in the outer clause: PostgreSQL re-checks it on a row another relay just leased.
            s.execute(
                update(outbox).where(outbox.c.id.in_(batch) & free).values(claimed_by=token, claimed_until=now + self._lease)
            )
            return token, list(
                s.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.headers)
                    .where((outbox.c.claimed_by == token) & outbox.c.published_at.is_(None))
                    .order_by(_URGENT_FIRST, outbox.c.id)
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
        # Inside a consumer's batch nothing is committed yet: the batch wakes the relay when it commits. Waking it
        # now would only make it ask for the write lock, and the batch give its turn up after every record.
        if self._db.in_batch():
            return
        self._committed()

    def _committed(self) -> None:
        """A batch has committed: its rows are visible now. (Called while the batch is still the caller's, so not
        through wake(), which would take it for one still open and wait for the next poll, up to a second a hop.)"""
        loop = self._event_loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            self._wake.set()
            return
        # A batch commits on its consumer's own thread: an Event set from there would not wake the loop, and the
        # rows would wait for the next poll (up to a second a hop).
        try:
            loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop has closed: the next start sends the rows
            pass

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
        self._event_loop = asyncio.get_running_loop()
        try:
            await self.flush()
        except Exception as e:
            log.warning("outbox relay could not publish at start-up (%r); will retry", e)
        self._loop.start(self._run)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and send what the last handlers committed; anything left waits for the next start."""
        await self._loop.stop()
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
