"""How a handler tells the consumer what kind of failure it hit."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError
from sqlalchemy.exc import OperationalError


class Rejected(Exception):
    """The message is well formed but cannot be accepted. Permanent: dead-lettered, never retried."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class TransientError(Exception):
    """A dependency is briefly unavailable; the same message will succeed later."""


# Failures that go away by themselves: retried with backoff, then handed back to Kafka for redelivery.
TRANSIENT = (TransientError, OperationalError, KafkaError, ConnectionError, asyncio.TimeoutError)
