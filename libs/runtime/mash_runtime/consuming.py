"""The guarded consumer every service uses.

A message is decoded at the edge into its contract type, then handed to a plain handler. Outcomes:
- handler returns: the offset is committed (by the broker's NACK_ON_ERROR policy, after the work);
- unreadable bytes, a Rejected message, or an unexpected bug: published to the dead-letter topic with the
  original bytes and the reason, then committed, so one bad message never blocks or crashes a consumer;
- a transient failure: retried here with backoff, then re-raised so Kafka redelivers it; attempts are counted
  across redeliveries and recorded on a dead letter if the message later fails for good.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel

from mash_contracts import DeadLetter, UnreadableMessage, decode, encode, headers_for
from mash_contracts.topics import DEAD_LETTERS, OPERATIONS, URGENT_SUFFIX, by_name, lanes

from .errors import TRANSIENT, Rejected
from .firewall import Firewall, SealError

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


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_backoff: float = 0.2
    max_backoff: float = 5.0

    def backoff(self, attempt: int) -> float:
        return min(self.first_backoff * 2 ** (attempt - 1), self.max_backoff)


class DeadLetters:
    def __init__(self, broker: KafkaBroker, service: str, firewall: Firewall, pause: float = 5.0, counter=None):
        self._broker = broker
        self._service = service
        self._firewall = firewall
        self._pause = pause
        self._counter = counter

    async def send(self, record: ConsumerRecord, error_type: str, error: str, attempts: int) -> DeadLetter:
        try:
            return await self._send(record, error_type, error, attempts)
        except Exception:
            # The record is handed back for redelivery; pause first, so a broken dead-letter path does not
            # spin the consumer at full speed.
            log.exception("could not dead-letter %s[%d]@%d; it will be redelivered", record.topic, record.partition, record.offset)
            await asyncio.sleep(self._pause)
            raise

    async def _send(self, record: ConsumerRecord, error_type: str, error: str, attempts: int) -> DeadLetter:
        original, sealed_for = record.value or b"", None
        if by_name(record.topic).sealed:
            # Whatever arrived on a sealed topic may be personal data (a referrer's plaintext by mistake, say):
            # operations gets the exact bytes back, but only operations can open them.
            key = record.key.decode(errors="replace") if record.key is not None else "unknown"
            original, sealed_for = self._firewall.seal_for(OPERATIONS, key, original, "DeadLetterOriginal"), OPERATIONS
        letter = DeadLetter(
            dead_letter_id=uuid.uuid4(),
            service=self._service,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_key_b64=base64.b64encode(record.key).decode() if record.key is not None else None,
            original_b64=base64.b64encode(original).decode(),
            original_sealed_for=sealed_for,
            error_type=error_type,
            error=error[:4000],
            attempts=attempts,
            failed_at=datetime.now(UTC),
        )
        headers = headers_for(letter) | {HEADER_ATTEMPTS: str(attempts), "mash-source-topic": record.topic}
        # Awaited: if the dead letter cannot be written, the original is not committed either.
        await self._broker.publish(encode(letter), DEAD_LETTERS.name, key=record.key, headers=headers)
        if self._counter is not None:
            self._counter.labels(record.topic, error_type).inc()
        log.warning(
            "dead-lettered %s[%d]@%d from %s: %s",
            record.topic, record.partition, record.offset, self._service, error_type,
            extra={"dead_letter_id": str(letter.dead_letter_id)},
        )
        return letter


def dead_letter_counter(registry: CollectorRegistry) -> Counter:
    return Counter("mash_dead_letters", "Messages set aside on mash.deadletter", ["source_topic", "error_type"], registry=registry)


Handler = Callable[[M, Source], Awaitable[None]]
# Called after a message is dead-lettered: the record, the reasons, and its opened bytes when it could be opened.
OnDeadLetter = Callable[[ConsumerRecord, list[str], bytes | None], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """What arrives on one topic: its contract type and the handler for it."""

    model: type[BaseModel]
    handler: Handler[Any]
    on_unreadable: OnDeadLetter | None = None


def subscribe(
    broker: KafkaBroker,
    *,
    routes: dict[str, Route],
    group_id: str,
    service: str,
    firewall: Firewall,
    retry: Retry = Retry(),
    counter: Counter | None = None,
) -> Any:
    """One consumer (one group member) for all of a service's topics, dispatching by topic.

    One member per service rather than one per topic: every member that joins a group makes the whole
    group rebalance, and a service with four subscribers would stall for each join.
    """
    dead_letters = DeadLetters(broker, service, firewall, pause=retry.max_backoff, counter=counter)
    # Kafka redelivers the same record, not a copy with a header: the count of attempts is kept here, and a
    # dead letter's `attempts` (and its mash-attempts header) counts every attempt this process made.
    handed_back: dict[tuple[str, int, int], int] = {}

    async def consume(msg: KafkaMessage) -> None:
        record: ConsumerRecord = msg.raw_message  # type: ignore[assignment]
        route = routes[record.topic]
        source = Source(record.topic, record.partition, record.offset, record.key, record.timestamp)
        try:
            # Fail closed: an envelope that cannot be verified and opened is never handled.
            opened = firewall.unwrap(record.topic, record.key, record.value)
        except SealError as e:
            await dead_letters.send(record, "SealError", str(e), attempts=1)
            if route.on_unreadable is not None:
                await route.on_unreadable(record, [f"envelope: {e}"], None)
            return
        try:
            message = decode(route.model, opened)
        except UnreadableMessage as e:
            await dead_letters.send(record, "UnreadableMessage", str(e), attempts=1)
            if route.on_unreadable is not None:
                await route.on_unreadable(record, e.reasons, opened)
            return
        where = (record.topic, record.partition, record.offset)
        before = handed_back.pop(where, 0)  # attempts made before this record was handed back to Kafka
        for attempt in range(before + 1, before + retry.attempts + 1):
            try:
                await route.handler(message, source)
                return
            except Rejected as e:
                await dead_letters.send(record, "Rejected", str(e), attempts=attempt)
                if route.on_unreadable is not None:
                    await route.on_unreadable(record, e.reasons, opened)
                return
            except TRANSIENT as e:
                # The backoff keeps growing across redeliveries (up to its cap), so a dependency that stays
                # down is retried at a steady pace rather than at full speed.
                await asyncio.sleep(retry.backoff(attempt))
                if attempt == before + retry.attempts:
                    handed_back[where] = attempt
                    log.warning("transient failure on %s[%d]@%d after %d attempts, handing back for redelivery: %r",
                                record.topic, record.partition, record.offset, attempt, e)
                    raise
            except Exception as e:  # a bug must not wedge the partition: keep the evidence and move on
                log.exception("handler failed on %s[%d]@%d", record.topic, record.partition, record.offset)
                detail = "".join(traceback.format_exception_only(e)).strip()
                await dead_letters.send(record, type(e).__name__, detail, attempts=attempt)
                return

    consume.__name__ = "consume_" + group_id.replace(".", "_")
    return broker.subscriber(*routes, group_id=group_id, auto_offset_reset="earliest")(consume)


def subscribe_lanes(
    broker: KafkaBroker,
    *,
    routes: dict[str, Route],
    group_id: str,
    service: str,
    firewall: Firewall,
    registry: CollectorRegistry | None = None,
) -> None:
    """A service's consumers: one for its topics, and one for their urgent lanes (group `<group_id>.urgent`),
    so an immediate-danger referral is never behind a routine backlog. Both count dead letters on one metric."""
    counter = None if registry is None else dead_letter_counter(registry)
    subscribe(broker, routes=routes, group_id=group_id, service=service, firewall=firewall, counter=counter)
    urgent = {lane: route for topic, route in routes.items() for lane in lanes(topic)[1:]}
    if urgent:
        subscribe(broker, routes=urgent, group_id=group_id + URGENT_SUFFIX, service=service, firewall=firewall, counter=counter)
