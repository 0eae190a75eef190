"""The guarded consumer every service uses.

A message is decoded at the edge into its contract type, then handed to a plain handler. Outcomes:
- handler returns: the offset is committed (by the broker's NACK_ON_ERROR policy, after the work);
- unreadable bytes, a Rejected message, or an unexpected bug: published to the dead-letter topic with the
  original bytes and the reason, then committed, so one bad message never blocks or crashes a consumer;
- a transient failure: retried here with backoff, then re-raised so Kafka redelivers it; attempts are counted
  across redeliveries and recorded on a dead letter if the message later fails for good.
With a store, the records a consumer takes at once share one transaction (`Database.batch`), each record's work in
a savepoint of it; it commits before their offsets do.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate
from opentelemetry.trace import Span, SpanKind, Tracer
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel

from mash_contracts import DeadLetter, UnreadableMessage, decode, encode, headers_for
from mash_contracts.topics import DEAD_LETTERS, OPERATIONS, URGENT_SUFFIX, by_name, lanes

from . import telemetry
from .errors import TRANSIENT, ConcurrentWrite, Rejected
from .firewall import Firewall, SealError
from .store import Database

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("mash.consumer")

HEADER_ATTEMPTS = "mash-attempts"


@dataclass(frozen=True)
class Source:
    """Where a consumed message came from, for dead letters and audit."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    timestamp_ms: int
    value: bytes | None = None  # the record as it arrived (sealed), for a handler that must keep it
    sender: str | None = None  # who sealed it, its signature verified: the enrolled referrer, on the front door


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_backoff: float = 0.2
    max_backoff: float = 5.0

    def backoff(self, attempt: int) -> float:
        return min(self.first_backoff * 2.0 ** (attempt - 1), self.max_backoff)


class Lanes:
    """Inside one process, the urgent lane goes first: the routine consumer waits between records while the urgent
    one has a batch in hand, so the process's CPU, its thread pool and its store are the urgent referral's."""

    def __init__(self) -> None:
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    @property
    def urgent_busy(self) -> bool:
        return not self._idle.is_set()

    async def routine_turn(self) -> None:
        await self._idle.wait()


@dataclass(frozen=True)
class Batch:
    """How many records a consumer takes at once (one offset commit for them all), and how long a poll waits for
    the first: an idle consumer polls again after twice this, so it bounds the wait of a record arriving then."""

    max_records: int = 64
    timeout_ms: int = 25


# A dead letter refused for its size is refused on every redelivery: permanent, unlike the other KafkaErrors.
TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError)
# The operations seal names the record's key as its referral id; a hostile key is cut short there, so a letter's
# size stays within topics.dead_letter_bytes. The exact key is in source_key_b64.
SEAL_KEY_CHARS = 120
# A reference-only letter keeps a key this small (for replay and partitioning); a larger one only by its digest.
REFERENCE_KEY_BYTES = 1024


class DeadLetters:
    def __init__(self, broker: KafkaBroker, service: str, firewall: Firewall, pause: float = 5.0, counter: Counter | None = None):
        self._broker = broker
        self._service = service
        self._firewall = firewall
        self._pause = pause
        self._counter = counter

    async def send(self, record: ConsumerRecord, error_type: str, error: str, attempts: int) -> DeadLetter:
        try:
            try:
                letter = await self._publish(record, self.letter(record, error_type, error, attempts))
            except TOO_LARGE as e:
                # Redelivering would wedge the partition for ever. The dead-letter topic is sized for any record
                # its sources take, so this is a record compressed on the wire or from a source topic given a
                # larger limit than the catalogue's: set aside a reference instead; the original stays where it is.
                log.error(
                    "dead letter for %s[%d]@%d refused as too large (%s); writing a reference-only letter",
                    record.topic,
                    record.partition,
                    record.offset,
                    type(e).__name__,
                )
                letter = await self._publish(record, self.reference(record, error_type, error, attempts, e))
        except Exception:
            # The record is handed back for redelivery; pause first, so a broken dead-letter path does not
            # spin the consumer at full speed.
            log.exception(
                "could not dead-letter %s[%d]@%d; it will be redelivered", record.topic, record.partition, record.offset
            )
            await asyncio.sleep(self._pause)
            raise
        if self._counter is not None:
            self._counter.labels(record.topic, error_type).inc()
        log.warning(
            "dead-lettered %s[%d]@%d from %s: %s",
            record.topic,
            record.partition,
            record.offset,
            self._service,
            error_type,
            extra={"dead_letter_id": str(letter.dead_letter_id)},
        )
        return letter

    def letter(self, record: ConsumerRecord, error_type: str, error: str, attempts: int) -> DeadLetter:
        """The dead letter with the original bytes."""
        original, sealed_for = record.value or b"", None
        if by_name(record.topic).sealed:
            # Whatever arrived on a sealed topic may be personal data (a referrer's plaintext by mistake, say):
            # operations gets the exact bytes back, but only operations can open them.
            key = record.key.decode(errors="replace")[:SEAL_KEY_CHARS] if record.key is not None else "unknown"
            original, sealed_for = self._firewall.seal_for(OPERATIONS, key, original, "DeadLetterOriginal"), OPERATIONS
        return self._letter(
            record,
            error_type,
            error,
            attempts,
            key=record.key,
            original_b64=base64.b64encode(original).decode(),
            original_sealed_for=sealed_for,
        )

    def reference(self, record: ConsumerRecord, error_type: str, error: str, attempts: int, refusal: Exception) -> DeadLetter:
        """The last resort when the letter with the original cannot be written: the original's coordinates,
        size and digest, and why it was left out. Nothing of the original's content, so it always fits."""
        value = record.value or b""
        why = (
            f"original omitted, its dead letter refused as too large ({type(refusal).__name__}); it is at "
            f"{record.topic}[{record.partition}]@{record.offset}"
        )
        key = record.key
        if key is not None and len(key) > REFERENCE_KEY_BYTES:
            why += f"; its {len(key):,}-byte key omitted too (sha256 {hashlib.sha256(key).hexdigest()})"
            key = None
        return self._letter(
            record,
            error_type,
            f"{why}. {error}",
            attempts,
            key=key,
            original_b64="",
            original_sealed_for=None,
            original_sha256=hashlib.sha256(value).hexdigest(),
            original_size_bytes=len(value),
        )

    def _letter(
        self, record: ConsumerRecord, error_type: str, error: str, attempts: int, key: bytes | None, **original: Any
    ) -> DeadLetter:
        return DeadLetter(
            # Derived from the record it keeps: a record redelivered after its letter was written (a crash or a
            # rebalance before the offset commit) yields the same letter again, which readers take as one.
            dead_letter_id=uuid.uuid5(
                uuid.NAMESPACE_URL, f"dead-letter:{self._service}:{record.topic}:{record.partition}:{record.offset}"
            ),
            service=self._service,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_key_b64=base64.b64encode(key).decode() if key is not None else None,
            error_type=error_type,
            error=error[:4000],
            attempts=attempts,
            failed_at=datetime.now(UTC),
            **original,
        )

    @staticmethod
    def headers(record: ConsumerRecord, letter: DeadLetter) -> dict[str, str]:
        return headers_for(letter) | {HEADER_ATTEMPTS: str(letter.attempts), "mash-source-topic": record.topic}

    async def _publish(self, record: ConsumerRecord, letter: DeadLetter) -> DeadLetter:
        # Keyed by the original key, as far as the letter keeps it. Awaited: if the dead letter cannot be
        # written, the original is not committed either.
        key = base64.b64decode(letter.source_key_b64) if letter.source_key_b64 is not None else None
        await self._broker.publish(encode(letter), DEAD_LETTERS.name, key=key, headers=self.headers(record, letter))
        return letter


def dead_letter_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "mash_dead_letters", "Messages set aside on mash.deadletter", ["source_topic", "error_type"], registry=registry
    )


Handler = Callable[[M, Source], Awaitable[None]]
# Called after a message is dead-lettered: the record, the reasons, and its opened bytes when it could be opened.
OnDeadLetter = Callable[[ConsumerRecord, list[str], bytes | None], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """What arrives on one topic: its contract type and the handler for it."""

    model: type[BaseModel]
    handler: Handler[Any]
    on_unreadable: OnDeadLetter | None = None


async def _tell_sender(route: Route, record: ConsumerRecord, reasons: list[str], opened: bytes | None) -> None:
    """After the dead letter: the route's answer to the sender (intake's rejection). A transient failure hands the record
    back, so the answer is not lost (its dead letter may then be written twice, under the same source offset); a bug
    is logged and the partition moves on, since the record itself is already kept."""
    if route.on_unreadable is None:
        return
    try:
        await route.on_unreadable(record, reasons, opened)
    except TRANSIENT:
        raise
    except Exception:
        log.exception(
            "could not answer the sender of %s[%d]@%d; its dead letter is kept", record.topic, record.partition, record.offset
        )


def subscribe(
    broker: KafkaBroker,
    *,
    routes: dict[str, Route],
    group_id: str,
    service: str,
    firewall: Firewall,
    retry: Retry = Retry(),
    batch: Batch = Batch(),
    counter: Counter | None = None,
    lanes: Lanes | None = None,
    urgent: bool = False,
    db: Database | None = None,
) -> Any:
    """One consumer (one group member) for all of a service's topics, dispatching by topic.

    One member per service rather than one per topic: every member that joins a group makes the whole
    group rebalance, and a service with four subscribers would stall for each join.
    """
    dead_letters = DeadLetters(broker, service, firewall, pause=retry.max_backoff, counter=counter)
    # Kafka redelivers the same record, not a copy with a header: the count of attempts is kept here, and a
    # dead letter's `attempts` (and its mash-attempts header) counts every attempt this process made.
    handed_back: dict[tuple[str, int, int], int] = {}
    tracer = telemetry.tracer(service)
    # The batch's transaction lives on this consumer's own thread, so store work waiting on the pool (the relay, a
    # health check, a query waiting for the write lock) can never keep the batch from finishing.
    own_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mash-{group_id}") if db is not None else None

    async def consume(msg: KafkaMessage) -> None:
        # A batch, handled record by record in the order each partition gave them, in one store transaction that
        # commits after the last; the offsets are committed after that. A failure that hands a record back rolls the
        # transaction back and rewinds every partition of the batch to its first record, so all of it is redone
        # (what an earlier checkpoint committed is found in the inbox, and its effects are not repeated).
        raw = msg.raw_message
        records = raw if isinstance(raw, (tuple, list)) else (raw,)
        async with lanes.urgent() if lanes is not None and urgent else nullcontext():
            async with db.batch(own_thread) if db is not None and own_thread is not None else nullcontext() as batch:
                await handle_all(records, batch)

    async def handle_all(records: Any, batch: Any) -> None:
        for record in records:
            if lanes is not None and not urgent and lanes.urgent_busy:
                # Give the urgent lane the store's write lock too: commit what is done, then wait.
                if batch is not None and db is not None:
                    await db.commit(batch)
                await lanes.routine_turn()
            elif batch is not None and db is not None and batch.should_commit():
                # Another writer's turn (the relay, the clock, a manager), or what is done has waited long enough.
                await db.commit(batch)
            with _span(tracer, record):
                await handle(record)

    async def handle(record: ConsumerRecord) -> None:
        route = routes[record.topic]
        try:
            # Fail closed: an envelope that cannot be verified and opened is never handled.
            sender, opened = firewall.open(record.topic, record.key, record.value)
        except SealError as e:
            await dead_letters.send(record, "SealError", str(e), attempts=1)
            await _tell_sender(route, record, [f"envelope: {e}"], None)
            return
        try:
            message = decode(route.model, opened)
        except UnreadableMessage as e:
            await dead_letters.send(record, "UnreadableMessage", str(e), attempts=1)
            await _tell_sender(route, record, e.reasons, opened)
            return
        source = Source(record.topic, record.partition, record.offset, record.key, record.timestamp, record.value, sender)
        where = (record.topic, record.partition, record.offset)
        before = handed_back.pop(where, 0)  # attempts made before this record was handed back to Kafka
        raced = 0  # ConcurrentWrites in a row
        for attempt in range(before + 1, before + retry.attempts + 1):
            try:
                await route.handler(message, source)
                return
            except Rejected as e:
                await dead_letters.send(record, "Rejected", str(e), attempts=attempt)
                await _tell_sender(route, record, e.reasons, opened)
                return
            except TRANSIENT as e:
                raced = raced + 1 if isinstance(e, ConcurrentWrite) else 0
                if raced == retry.attempts:
                    # A race is over once the winner commits: a key still taken on every retry is a bug, and
                    # handing it back would wedge the partition.
                    log.error("%r on every attempt at %s[%d]@%d", e, record.topic, record.partition, record.offset)
                    await dead_letters.send(record, type(e).__name__, str(e), attempts=attempt)
                    return
                # The backoff keeps growing across redeliveries (up to its cap), so a dependency that stays
                # down is retried at a steady pace rather than at full speed.
                await asyncio.sleep(retry.backoff(attempt))
                if attempt == before + retry.attempts:
                    handed_back[where] = attempt
                    log.warning(
                        "transient failure on %s[%d]@%d after %d attempts, handing back for redelivery: %r",
                        record.topic,
                        record.partition,
                        record.offset,
                        attempt,
                        e,
                    )
                    raise
            except Exception as e:  # a bug must not wedge the partition: keep the evidence and move on
                log.exception("handler failed on %s[%d]@%d", record.topic, record.partition, record.offset)
                detail = "".join(traceback.format_exception_only(e)).strip()
                await dead_letters.send(record, type(e).__name__, detail, attempts=attempt)
                return

    consume.__name__ = "consume_" + group_id.replace(".", "_")
    return broker.subscriber(
        *routes,
        group_id=group_id,
        auto_offset_reset="earliest",
        batch=True,
        max_records=batch.max_records,
        batch_timeout_ms=batch.timeout_ms,
    )(consume)


def _span(tracer: Tracer, record: ConsumerRecord) -> AbstractContextManager[Span]:
    """A span per record, a child of the span that published it: each referral stays one trace across every hop
    (FastStream's own span for a batch only links to its records)."""
    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.destination.name": record.topic,
        "messaging.kafka.destination.partition": record.partition,
        "messaging.kafka.message.offset": record.offset,
    }
    if record.key is not None:
        attributes["messaging.kafka.message.key"] = record.key.decode(errors="replace")
    return tracer.start_as_current_span(
        f"{record.topic} process", context=propagate.extract(headers), kind=SpanKind.CONSUMER, attributes=attributes
    )


def subscribe_lanes(
    broker: KafkaBroker,
    *,
    routes: dict[str, Route],
    group_id: str,
    service: str,
    firewall: Firewall,
    registry: CollectorRegistry | None = None,
    db: Database | None = None,
) -> None:
    """A service's consumers: one for its topics, and one for their urgent lanes (group `<group_id>.urgent`),
    so an immediate-danger referral is never behind a routine backlog. Both count dead letters on one metric, and
    with a store each batch is one transaction in it."""
    counter = None if registry is None else dead_letter_counter(registry)
    urgent = {lane: route for topic, route in routes.items() for lane in lanes(topic)[1:]}
    first = Lanes() if urgent else None
    subscribe(broker, routes=routes, group_id=group_id, service=service, firewall=firewall, counter=counter, lanes=first, db=db)
    if urgent:
        subscribe(
            broker,
            routes=urgent,
            group_id=group_id + URGENT_SUFFIX,
            service=service,
            firewall=firewall,
            counter=counter,
            lanes=first,
            urgent=True,
            db=db,
        )
