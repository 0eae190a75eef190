"""The revisions of each referral that intake has accepted, kept as keyed digests of their parts.

A resubmission under the same submission id is compared part by part with the newest revision: identical
content is a retry (idempotent), different content is supplementary information and becomes the next
revision. Only keyed digests are stored, never the content: intake's store holds no personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, UniqueConstraint, insert, select
from sqlalchemy.orm import Session

from mash_contracts import NotificationSubmission

from .duplicates import LINKED

metadata = MetaData()

# The parts a referrer may change (Notification.needs_research says which send the desks back to research).
PARTS = ("subjects", "concern", "consent", "referrer")

revisions = Table(
    "revisions",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("parts", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("referral_id", "digest"),
)


def part_digests(pepper: bytes, submission: NotificationSubmission) -> dict[str, str]:
    """Keyed digests of each part. The referrer's own send time is left out: a retry stamped anew is the same
    submission."""
    data = submission.model_dump(mode="json")
    return {part: hmac.new(pepper, json.dumps(data[part], sort_keys=True).encode(), hashlib.sha256).hexdigest() for part in PARTS}


def whole(parts: dict[str, str]) -> str:
    return hashlib.sha256("".join(parts[p] for p in PARTS).encode()).hexdigest()


@dataclass(frozen=True)
class Revision:
    number: int
    changes: tuple[str, ...]  # the parts that differ from the previous revision; empty for the first


def record(
    session: Session,
    referral_id: str,
    parts: dict[str, str],
    received_at: datetime | None = None,
    *,
    linked_reference: str | None = None,
    linking: bool = False,
) -> Revision | None:
    """The revision this content is, recorded in the caller's transaction; None when it was seen before.

    A submission linked to this referral as a duplicate (`linked_reference`: a keyed digest of its reference) is
    told apart from the referral's own revisions even when its content is the same: the same notification sent
    under a second reference is linked, never absorbed as a retry. `linking` marks the revision that links it."""
    digest = whole(parts) if linked_reference is None else hashlib.sha256((whole(parts) + linked_reference).encode()).hexdigest()
    rows = session.execute(
        select(revisions.c.revision, revisions.c.digest, revisions.c.parts)
        .where(revisions.c.referral_id == referral_id)
        .order_by(revisions.c.revision)
    ).all()
    if any(r.digest == digest for r in rows):
        return None
    number = rows[-1].revision + 1 if rows else 1
    changes = tuple(p for p in PARTS if rows and rows[-1].parts.get(p) != parts[p]) + ((LINKED,) if linking else ())
    # Two instances racing to record the same revision collide on the primary key: the store turns that into
    # a transient error, and the retry finds the content recorded.
    session.execute(
        insert(revisions).values(
            referral_id=referral_id, revision=number, digest=digest, parts=parts, received_at=received_at or datetime.now(UTC)
        )
    )
    return Revision(number, changes)


def opened_at(session: Session, referral_id: str) -> datetime | None:
    """When the referral's first revision was received."""
    value = session.execute(
        select(revisions.c.received_at).where((revisions.c.referral_id == referral_id) & (revisions.c.revision == 1))
    ).scalar()
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))
