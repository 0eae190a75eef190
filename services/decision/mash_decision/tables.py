"""The decision service's tables: one referral's facts, every answer the desks sent, re-grades, recommendations,
decisions and alerts. Only the store's adapters (`assembly.py`, `queries.py`) touch them."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("notification", Text, nullable=False),  # the newest revision
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("state", String(32), nullable=False, index=True),
    Column("rag", String(8), nullable=False),
    Column("returns_due_at", DateTime(timezone=True), nullable=False),
    Column("decision_due_at", DateTime(timezone=True), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("research_revision", Integer, nullable=False),  # answers to an earlier revision are not fresh
)
notification_revisions = Table(  # every revision of each notification received (the newest is also on referrals): the chronology
    "notification_revisions",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("notification", Text, nullable=False),
)
contributions = Table(  # every distinct answer a desk sent, never overwritten
    "contributions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(16), nullable=False, index=True),
    Column("agency", String(40), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("contribution", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source_topic", String(255), nullable=True),
    Column("original", LargeBinary, nullable=True),  # the sealed record, kept while it is held for its referral
    UniqueConstraint("referral_id", "agency", "digest"),
)
rag_changes = Table(
    "rag_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(16), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("from_rag", String(8), nullable=False),
    Column("to_rag", String(8), nullable=False),
    Column("reason", String(120), nullable=False),
)
recommendations = Table(
    "recommendations",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("recommendation", JSON, nullable=False),
    Column("no_answer", JSON, nullable=False),
    Column("recommended_at", DateTime(timezone=True), nullable=False),
)
decisions = Table(
    "decisions",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    # "" for a decision on the screening footing; a revision re-decided on recorded s47 grounds is decided again.
    Column("grounds_id", String(36), primary_key=True, default=""),
    Column("decision", Text, nullable=False),
    Column("level", Integer, nullable=False, index=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
alerts = Table(  # one alert of each kind per revision of a referral: instances racing to raise it raise it once
    "alerts",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
)
research_grounds = Table(  # s47 grounds a manager recorded (grounds.py); the rationale never leaves this store
    "research_grounds",
    metadata,
    Column("grounds_id", String(36), primary_key=True),
    Column("referral_id", String(16), nullable=False, index=True),
    Column("revision", Integer, nullable=False),  # the notification revision the desks re-research
    Column("kind", String(32), nullable=False),
    Column("recorded_by", String(120), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
