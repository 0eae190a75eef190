"""Which referral each submission belongs to, and the keyed digests duplicates are found by: intake's store adapter
for `duplicates.py`. Submission ids are the referrers' own references (no personal data); everything about the
people and the referrer is a keyed digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from mash_runtime.calendar import as_utc

from .duplicates import Fingerprint

metadata = MetaData()

# One row per submission, from the first time it is accepted: a linked one names the referral it joined, so its
# retries and its own updates find that referral rather than opening one under their own reference.
submissions = Table(
    "submissions",
    metadata,
    Column("own_referral_id", String(16), primary_key=True),  # the id the submission would have had on its own
    Column("referral_id", String(16), nullable=False, index=True),
    Column("submission_id", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# One row per person-at-risk key of each accepted revision, with when its referral was opened.
duplicate_keys = Table(
    "duplicate_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person", String(64), nullable=False),
    Column("referrer", String(64), nullable=False),
    Column("categories", JSON, nullable=False),
    Column("referral_id", String(16), nullable=False),
    Column("submission_id", String(64), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Index("ix_duplicate_keys_person_opened", "person", "opened_at"),
)


def referral_of(s: Session, own_referral_id: str) -> str | None:
    return s.execute(select(submissions.c.referral_id).where(submissions.c.own_referral_id == own_referral_id)).scalar()


def references(s: Session, referral_id: str) -> list[str]:
    """Every reference the referral was submitted under, earliest first."""
    return list(
        s.execute(
            select(submissions.c.submission_id)
            .where(submissions.c.referral_id == referral_id)
            .order_by(submissions.c.received_at, submissions.c.submission_id)
        ).scalars()
    )


def candidates(s: Session, new: Fingerprint, window: timedelta) -> list[Fingerprint]:
    """Earlier referrals sharing a person at risk and the referrer, opened within the window either side."""
    if not new.people:
        return []
    rows = s.execute(
        select(duplicate_keys).where(
            duplicate_keys.c.person.in_(sorted(new.people))
            & (duplicate_keys.c.referrer == new.referrer)
            & duplicate_keys.c.opened_at.between(new.opened_at - window, new.opened_at + window)
        )
    ).all()
    found: dict[tuple[str, str], Fingerprint] = {}
    for r in rows:
        key = (r.referral_id, r.submission_id)
        before = found.get(key)
        found[key] = Fingerprint(
            referrer=r.referrer,
            people=(before.people if before else frozenset()) | {r.person},
            categories=(before.categories if before else frozenset()) | frozenset(r.categories),
            opened_at=as_utc(r.opened_at),
            referral_id=r.referral_id,
            submission_id=r.submission_id,
        )
    # The first submission of a referral is the one the referrer is told about: keep it where several match.
    return sorted(found.values(), key=lambda f: (f.referral_id, f.opened_at, f.submission_id))


def remember(s: Session, own_referral_id: str, fp: Fingerprint, received_at: datetime) -> None:
    """Record a newly accepted revision: its submission (the first time) and its keys for later duplicates."""
    if s.execute(select(submissions.c.own_referral_id).where(submissions.c.own_referral_id == own_referral_id)).first() is None:
        s.execute(
            insert(submissions).values(
                own_referral_id=own_referral_id,
                referral_id=fp.referral_id,
                submission_id=fp.submission_id,
                received_at=received_at,
            )
        )
    if fp.people:
        s.execute(
            insert(duplicate_keys),
            [
                {
                    "person": p,
                    "referrer": fp.referrer,
                    "categories": sorted(fp.categories),
                    "referral_id": fp.referral_id,
                    "submission_id": fp.submission_id,
                    "opened_at": fp.opened_at,
                }
                for p in sorted(fp.people)
            ],
        )
