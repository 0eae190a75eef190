"""What operations and the MASH manager read from the decision service's store: grouped counts, open
deadlines, the queue of recommendations. Reads only; no personal data leaves in the counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mash_contracts import Agency, AlertKind, Contribution, Decision, Notification, RagChange, RagRating, ThresholdLevel
from mash_runtime.calendar import as_utc
from mash_runtime.store import Database

from .chronology import GroundsRecord
from .picture import PictureFacts
from .rules import AWAITING, OPEN_STATES, RECOMMENDED
from .tables import (
    alerts,
    contributions,
    decisions,
    notification_revisions,
    rag_changes,
    recommendations,
    referrals,
    research_grounds,
)


def open_deadlines(db: Database) -> tuple[list[tuple[str, str, datetime, datetime]], set[tuple[str, str]]]:
    """Every open referral's (id, state, returns due, decision due), and the alerts already raised for its
    current revision: two reads, however long the backlog."""
    # The open states by name, so the state index finds them: "not routed" would read every referral ever kept, each
    # with its notification, every sweep.
    open_ = referrals.c.state.in_(OPEN_STATES)
    with db.transaction() as s:
        rows = s.execute(
            select(referrals.c.referral_id, referrals.c.state, referrals.c.returns_due_at, referrals.c.decision_due_at).where(
                open_
            )
        ).all()
        raised = set(
            s.execute(
                select(alerts.c.referral_id, alerts.c.kind)
                .join(referrals, (referrals.c.referral_id == alerts.c.referral_id) & (referrals.c.revision == alerts.c.revision))
                .where(open_)
            )
            .tuples()
            .all()
        )
    return [(r.referral_id, r.state, as_utc(r.returns_due_at), as_utc(r.decision_due_at)) for r in rows], raised


def _held():
    return (
        select(contributions.c.id)
        .outerjoin(referrals, referrals.c.referral_id == contributions.c.referral_id)
        .where(referrals.c.referral_id.is_(None))
    )


def held_too_long(db: Database, received_before: datetime) -> list[int]:
    """Contributions for referrals never received, held since before the given time."""
    with db.transaction() as s:
        return list(s.execute(_held().where(contributions.c.received_at < received_before)).scalars())


def decision_count(db: Database) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(decisions)).scalar_one()


def snapshot(db: Database, expected: frozenset[Agency], now: datetime) -> dict:
    """Counts for metrics and `mash status`. Grouped counts, however long the backlog."""
    awaiting_ = referrals.c.state == AWAITING
    with db.transaction() as s:
        waiting: dict[str, int] = dict(
            s.execute(select(referrals.c.rag, func.count()).where(referrals.c.state.in_(OPEN_STATES)).group_by(referrals.c.rag))
            .tuples()
            .all()
        )
        open_count = s.execute(select(func.count()).select_from(referrals).where(awaiting_)).scalar_one()
        answered: dict[str, int] = dict(
            s.execute(
                select(contributions.c.agency, func.count(func.distinct(contributions.c.referral_id)))
                .join(
                    referrals,
                    (referrals.c.referral_id == contributions.c.referral_id)
                    & (contributions.c.revision >= referrals.c.research_revision),
                )
                .where(awaiting_)
                .group_by(contributions.c.agency)
            )
            .tuples()
            .all()
        )
        kinds: dict[str, int] = dict(s.execute(select(alerts.c.kind, func.count()).group_by(alerts.c.kind)).tuples().all())
        oldest = s.execute(select(func.min(referrals.c.received_at)).where(referrals.c.state.in_(OPEN_STATES))).scalar()
        levels: dict[int, int] = dict(
            s.execute(select(decisions.c.level, func.count()).group_by(decisions.c.level)).tuples().all()
        )
        held = s.execute(select(func.count()).select_from(_held().subquery())).scalar()
    # Those still waiting for a desk are the open referrals without a fresh answer from it.
    awaiting = {a.value: open_count - answered.get(a.value, 0) for a in expected}
    age = (now - as_utc(oldest)).total_seconds() if oldest else 0.0
    return {
        "waiting_by_rag": {r.value: waiting.get(r.value, 0) for r in RagRating},
        "awaiting_desk": awaiting,
        "alerts": {k.value: kinds.get(k.value, 0) for k in AlertKind},
        "decisions_by_level": {lv.value: levels.get(lv.value, 0) for lv in ThresholdLevel},
        "oldest_waiting_seconds": max(age, 0.0),
        "held_contributions": held,
    }


def state_of(db: Database, referral_id: str) -> str | None:
    with db.transaction() as s:
        return s.execute(select(referrals.c.state).where(referrals.c.referral_id == referral_id)).scalar()


def contributions_of(db: Database, referral_id: str) -> list[Contribution]:
    with db.transaction() as s:
        rows = s.execute(
            select(contributions.c.contribution).where(contributions.c.referral_id == referral_id).order_by(contributions.c.id)
        ).scalars()
        return [Contribution.model_validate_json(r) for r in rows]


def pending(db: Database) -> list[dict]:
    """Recommendations waiting for a manager, with their RAG and deadline."""
    with db.transaction() as s:
        rows = s.execute(
            select(recommendations, referrals.c.rag, referrals.c.decision_due_at)
            .join(referrals, referrals.c.referral_id == recommendations.c.referral_id)
            .where(referrals.c.state == RECOMMENDED)
        ).all()
    return [
        {"referral_id": r.referral_id, "rag": r.rag, "decision_due_at": as_utc(r.decision_due_at).isoformat(), **r.recommendation}
        for r in rows
    ]


@dataclass(frozen=True)
class ChronologyFacts:
    notifications: list[Notification]  # every revision received
    contributions: list[Contribution]  # every distinct answer, in arrival order
    decisions: list[Decision]
    grounds: list[GroundsRecord]


def chronology_facts(db: Database, referral_id: str) -> ChronologyFacts | None:
    """What the chronology is assembled from; None for a referral this service does not hold."""
    with db.transaction() as s:
        newest = s.execute(select(referrals.c.notification).where(referrals.c.referral_id == referral_id)).scalar()
        if newest is None:
            return None
        kept = (
            s.execute(select(notification_revisions.c.notification).where(notification_revisions.c.referral_id == referral_id))
            .scalars()
            .all()
        )
        answers = _answers_of(s, referral_id)
        decided = s.execute(select(decisions.c.decision).where(decisions.c.referral_id == referral_id)).scalars().all()
        grounds = s.execute(select(research_grounds).where(research_grounds.c.referral_id == referral_id)).all()
        # A store from before revisions were kept holds only the newest on the referral.
        revisions = {n.revision: n for n in (Notification.model_validate_json(raw) for raw in [*kept, newest])}
        return ChronologyFacts(
            list(revisions.values()),
            [Contribution.model_validate_json(c) for c in answers],
            [Decision.model_validate_json(d) for d in decided],
            [GroundsRecord(g.grounds_id, g.kind, g.recorded_by, as_utc(g.recorded_at), g.revision) for g in grounds],
        )


def picture_facts(db: Database, referral_id: str) -> PictureFacts | None:
    """What a referral's assembled picture is built from; None for a referral this service does not hold."""
    with db.transaction() as s:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None:
            return None
        answers = _answers_of(s, referral_id)
        waiting = None
        if row.state == RECOMMENDED:  # a routed referral keeps its last recommendation: only one waiting is pending
            rec = s.execute(select(recommendations).where(recommendations.c.referral_id == referral_id)).first()
            if rec is not None:
                waiting = {
                    **rec.recommendation,
                    "no_answer": list(rec.no_answer),
                    "recommended_at": as_utc(rec.recommended_at).isoformat(),
                }
        decided = s.execute(select(decisions.c.decision).where(decisions.c.referral_id == referral_id)).scalars().all()
        grounds = s.execute(
            select(research_grounds).where(research_grounds.c.referral_id == referral_id).order_by(research_grounds.c.recorded_at)
        ).all()
        regraded = s.execute(select(rag_changes).where(rag_changes.c.referral_id == referral_id).order_by(rag_changes.c.id)).all()
        return PictureFacts(
            notification=Notification.model_validate_json(row.notification),
            state=row.state,
            rag=row.rag,
            returns_due_at=as_utc(row.returns_due_at),
            decision_due_at=as_utc(row.decision_due_at),
            contributions=[Contribution.model_validate_json(c) for c in answers],
            recommendation=waiting,
            decisions=[Decision.model_validate_json(d) for d in decided],
            grounds=[GroundsRecord(g.grounds_id, g.kind, g.recorded_by, as_utc(g.recorded_at), g.revision) for g in grounds],
            rag_changes=[
                RagChange(at=as_utc(c.at), from_rag=RagRating(c.from_rag), to_rag=RagRating(c.to_rag), reason=c.reason)
                for c in regraded
            ],
        )


def _answers_of(s: Session, referral_id: str) -> list[str]:
    """Every answer the desks sent about a referral, in the order they arrived, as stored."""
    return list(
        s.execute(
            select(contributions.c.contribution).where(contributions.c.referral_id == referral_id).order_by(contributions.c.id)
        ).scalars()
    )
