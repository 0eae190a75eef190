"""The tables every service's store has besides its own: the inbox of consumed message ids and the outbox."""

from sqlalchemy import JSON, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table

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

# The relay's claim and the outbox metrics read only the rows not yet sent: without this index every claim scanned the
# whole table, sent rows and their payloads included, and a service slowed down as its outbox grew (5,000 referrals
# took the decision service from 7 decisions a second to under one).
Index(
    "outbox_unsent", outbox.c.id, sqlite_where=outbox.c.published_at.is_(None), postgresql_where=outbox.c.published_at.is_(None)
)
