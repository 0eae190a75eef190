"""A service's own database, with the inbox and outbox that make its effects happen once.

The state change, the ids of the messages that caused it (inbox) and the messages it must publish (outbox)
commit in one transaction. The relay publishes outbox rows after the commit and marks them sent; a crash in
between republishes the same message id, which readers deduplicate.
SQLite by default (one file in the state directory), SQLite in memory for a single-process test, and any SQLAlchemy
URL, PostgreSQL included. The modules: `schema` (the inbox and outbox tables), `database` (the engine, the store's
identity and tables, transactions), `outbox` (queueing a sealed message), `relay` (publishing it), `metrics`.
"""

from .database import IN_MEMORY, Database, StaleStore, first_time, make_engine
from .metrics import OutboxCollector
from .outbox import MAX_RECORD_BYTES, enqueue, record_limit
from .relay import OutboxRelay
from .schema import inbox, metadata, outbox

__all__ = [
    "IN_MEMORY",
    "MAX_RECORD_BYTES",
    "Database",
    "OutboxCollector",
    "OutboxRelay",
    "StaleStore",
    "enqueue",
    "first_time",
    "inbox",
    "make_engine",
    "metadata",
    "outbox",
    "record_limit",
]
