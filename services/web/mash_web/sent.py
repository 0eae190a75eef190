"""The web front door's own store: each referral it sent, and what the hub has answered about it (acknowledged with a
decision time, rejected with reasons, decided). References and times only: the referral itself goes to intake
sealed, and is not kept here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, DateTime, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.orm import Session

from mash_runtime.calendar import as_utc

metadata = MetaData()

sent = Table(
    "sent_referrals",
    metadata,
    Column("submission_id", String(64), primary_key=True),
    Column("channel", String(16), nullable=False),  # "form" or "phone"
    # An anonymous referrer is told no outcome (nobody can check who reads the page): the contract's promise.
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("referral_id", String(64)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("decision_due_by", DateTime(timezone=True)),
    Column("rejected_reasons", JSON),
    Column("outcome", Text),
    Column("decided_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class Status:
    submission_id: str
    sent_at: datetime
    referral_id: str | None
    decision_due_by: datetime | None
    rejected_reasons: list[str] | None
    outcome: str | None
    decided_at: datetime | None
    anonymous: bool = False

    @property
    def stage(self) -> str:
        if self.rejected_reasons:
            return "rejected"
        if self.outcome:
            return "decided"
        return "acknowledged" if self.decision_due_by else "sending"


def record_sent(s: Session, submission_id: str, channel: str, at: datetime, anonymous: bool = False) -> None:
    s.execute(insert(sent).values(submission_id=submission_id, channel=channel, sent_at=at, anonymous=anonymous))


def acknowledged(s: Session, submission_id: str, referral_id: str, at: datetime, due_by: datetime) -> None:
    s.execute(
        update(sent)
        .where(sent.c.submission_id == submission_id)
        .values(referral_id=referral_id, acknowledged_at=at, decision_due_by=due_by)
    )


def rejected(s: Session, submission_id: str, reasons: list[str]) -> None:
    s.execute(update(sent).where(sent.c.submission_id == submission_id).values(rejected_reasons=reasons))


def decided(s: Session, submission_id: str, text: str, at: datetime) -> None:
    s.execute(update(sent).where(sent.c.submission_id == submission_id).values(outcome=text, decided_at=at))


def status_of(s: Session, submission_id: str) -> Status | None:
    row = s.execute(select(sent).where(sent.c.submission_id == submission_id)).first()
    if row is None:
        return None
    return Status(
        row.submission_id,
        as_utc(row.sent_at),
        row.referral_id,
        as_utc(row.decision_due_by) if row.decision_due_by else None,
        row.rejected_reasons,
        row.outcome,
        as_utc(row.decided_at) if row.decided_at else None,
        bool(row.anonymous),
    )
