"""How a handler tells the consumer what kind of failure it hit."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError
from sqlalchemy.exc import IntegrityError, OperationalError


class Rejected(Exception):
    """The message is well formed but cannot be accepted. Permanent: dead-lettered, never retried."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class TransientError(Exception):
    """A dependency is briefly unavailable; the same message will succeed later."""


class ConcurrentWrite(TransientError):
    """Another transaction wrote the same key first: two group members handling one message during a rebalance,
    say. Retrying finds the work done (the inbox or the derived id is there) and adds nothing."""


# A unique or primary-key violation, as each store reports it: SQLite's extended result codes and PostgreSQL's
# SQLSTATE. Any other integrity error (NOT NULL, a foreign key) is a bug, which no retry cures.
_SQLITE_DUPLICATE_KEY = {1555, 2067}  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
_PG_UNIQUE_VIOLATION = "23505"


def is_duplicate_key(error: IntegrityError) -> bool:
    driver = error.orig
    return getattr(driver, "sqlite_errorcode", None) in _SQLITE_DUPLICATE_KEY or _PG_UNIQUE_VIOLATION in (
        getattr(driver, "sqlstate", None),
        getattr(driver, "pgcode", None),
    )


# Failures that go away by themselves: retried with backoff, then handed back to Kafka for redelivery.
TRANSIENT = (TransientError, OperationalError, KafkaError, ConnectionError, asyncio.TimeoutError)
