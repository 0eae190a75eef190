"""Queueing a message in the caller's transaction: sealed now, so the outbox holds no personal data in plaintext, and
refused now if the broker could never take it."""

from __future__ import annotations

from datetime import UTC, datetime

from opentelemetry import propagate
from pydantic import BaseModel
from sqlalchemy import insert
from sqlalchemy.orm import Session

from mash_contracts import headers_for
from mash_contracts.topics import RECORD_BYTES, lookup

from ..errors import Rejected
from ..firewall import Firewall
from .schema import outbox

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
