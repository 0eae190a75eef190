"""s47 grounds a MASH manager (or screening social worker) records, and what they change in assembly.

Recording "reasonable cause to suspect significant harm" or a strategy discussion's decision is what makes research
without consent lawful for the desks whose footing is significant harm (AB v Haringey [2013] EWHC 416 (Admin)).
One transaction keeps the grounds (the rationale may name people: it stays in this store, never in the audit
record or an alert), sends the desks the referral's current notification on an s47 footing
(`mash.research.grounds`), records the act on the audit chain and re-opens the referral: it waits for each desk's
answer on the grounds until the return deadline, and one already routed needs a manager to re-assess it.

An answer carrying a grounds id supersedes the desk's earlier answer for the same revision (rules.Answers). The
hooks in assembly.py: the fresh answers awaited are those on the pending grounds (`awaited`), a decision names
the grounds it rests on (`pending`), grounds recorded on an earlier revision are sent again with a later one
(`carry_forward`), and the manager's queue shows the desks' declines (`with_declines`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from mash_contracts import (
    Agency,
    AlertKind,
    Contribution,
    ContributionStatus,
    GroundsKind,
    Notification,
    RagRating,
    ResearchGrounds,
    StatutoryFooting,
    derived_id,
)
from mash_contracts.topics import RESEARCH_GROUNDS, desk_service
from mash_runtime.calendar import as_utc
from mash_runtime.store import enqueue

from .rules import AWAITING, ROUTED, Alerted, Answers, manager_name, recorded_rationale
from .tables import contributions, recommendations, referrals
from .tables import research_grounds as grounds


class NoReferral(ValueError):
    """Grounds for a referral the decision service does not hold."""


def record(asm, referral_id: str, recorded_by: str, kind: GroundsKind, rationale: str) -> dict:
    """Record the grounds, tell the desks, re-open the referral. Recording the same grounds twice (a retried
    request) changes nothing and answers the same."""
    rationale = recorded_rationale(rationale, f"{kind.value} grounds")
    recorded_by = manager_name(recorded_by, f"{kind.value} grounds")
    with asm.db.transaction() as s:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None:
            raise NoReferral(f"{referral_id} is not known to the decision service")
        gid = _send(asm, s, Notification.model_validate_json(row.notification), kind, recorded_by, rationale)
        if gid is not None:
            rag = RagRating(row.rag)
            changes = {"state": AWAITING, "returns_due_at": asm.clock.returns_due(asm.now(), rag)}
            if row.state == ROUTED:  # a new decision is owed, and a manager makes it
                changes["decision_due_at"] = asm.clock.decision_due(asm.now())
            s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(**changes))
            s.execute(delete(recommendations).where(recommendations.c.referral_id == referral_id))
            asm.audit.append(
                s,
                "grounds_recorded",
                referral_id=referral_id,
                actor=f"manager {recorded_by}",
                reason=f"{kind.value} grounds recorded: the desks research again on an s47 footing",
                detail={
                    "grounds_id": gid,
                    "kind": kind.value,
                    "rationale_chars": len(rationale),
                    "revision": row.revision,
                    "state_before": row.state,
                },
            )
            after = "after routing: a manager re-assesses" if row.state == ROUTED else "the desks research again"
            asm._raise(
                s,
                referral_id,
                Alerted(AlertKind.GROUNDS_RECORDED, f"{kind.value} grounds recorded by a manager: {after}"),
                row.revision,
                rag=rag,
            )
        state = AWAITING if gid is not None else row.state  # new grounds re-open the referral
        gid = gid or _grounds_id(referral_id, row.revision, kind, recorded_by, rationale)
    return {"referral_id": referral_id, "grounds_id": gid, "kind": kind.value, "recorded_by": recorded_by, "state": state}


def _grounds_id(referral_id: str, revision: int, kind: GroundsKind, recorded_by: str, rationale: str) -> str:
    return str(
        derived_id("grounds", referral_id, str(revision), kind.value, recorded_by, hashlib.sha256(rationale.encode()).hexdigest())
    )


def _send(asm, s: Session, notification: Notification, kind: GroundsKind, recorded_by: str, rationale: str) -> str | None:
    """Keep the grounds for this revision and send the desks its notification on an s47 footing; None when these
    grounds were already recorded for it."""
    gid = _grounds_id(notification.referral_id, notification.revision, kind, recorded_by, rationale)
    if s.execute(select(grounds.c.grounds_id).where(grounds.c.grounds_id == gid)).first() is not None:
        return None
    now = asm.now()
    message = ResearchGrounds(
        message_id=derived_id("research-grounds", gid),
        referral_id=notification.referral_id,
        grounds_id=gid,
        kind=kind,
        recorded_by=recorded_by,
        rationale=rationale,
        recorded_at=now,
        notification=notification.model_copy(update={"statutory_footing": StatutoryFooting.S47}),
    )
    s.execute(
        insert(grounds).values(
            grounds_id=gid,
            referral_id=notification.referral_id,
            revision=notification.revision,
            kind=kind.value,
            recorded_by=recorded_by,
            rationale=rationale,
            recorded_at=now,
        )
    )
    enqueue(s, asm.firewall, RESEARCH_GROUNDS.name, notification.referral_id, message, str(message.message_id))
    return gid


def carry_forward(asm, s: Session, notification: Notification) -> None:
    """A later revision of a referral on recorded grounds: the grounds still stand, so the desks research the new
    revision on them too (they research it on its screening footing as well; the answer on grounds supersedes)."""
    earlier = s.execute(
        select(grounds)
        .where((grounds.c.referral_id == notification.referral_id) & (grounds.c.revision < notification.revision))
        .order_by(grounds.c.revision.desc(), grounds.c.recorded_at.desc())
        .limit(1)
    ).first()
    if earlier is not None and notification.needs_research:
        _send(asm, s, notification, GroundsKind(earlier.kind), earlier.recorded_by, earlier.rationale)


def pending(s: Session, referral_id: str, revision: int) -> str | None:
    """The newest grounds recorded for this revision of the referral."""
    return s.execute(
        select(grounds.c.grounds_id)
        .where((grounds.c.referral_id == referral_id) & (grounds.c.revision == revision))
        .order_by(grounds.c.recorded_at.desc())
        .limit(1)
    ).scalar()


@dataclass(frozen=True)
class OnGrounds(Answers):
    """While grounds are pending, only the answers researched on them are fresh."""

    grounds_id: str = ""

    def fresh(self, research_revision: int) -> frozenset[Agency]:
        # The hub's own research does not turn on the footing (it reads no grounds): its answer to the revision stands.
        return frozenset(
            a
            for a, c in self.newest.items()
            if str(c.grounds_id) == self.grounds_id
            or (desk_service(a) not in RESEARCH_GROUNDS.readers and c.notification_revision >= research_revision)
        )


def awaited(s: Session, referral, answers: Answers) -> Answers:
    """The answers as assessment must see them: on recorded grounds it waits for each desk's answer on them."""
    gid = pending(s, referral.referral_id, referral.revision)
    return answers if gid is None else OnGrounds(answers.newest, answers.conflicts, gid)


def declines(received: Mapping[Agency, Contribution]) -> dict[str, str]:
    """Each desk's decline with its reason, so a manager sees when grounds are needed."""
    return {
        a.value: c.rationale
        for a, c in sorted(received.items())
        if c.status in (ContributionStatus.DECLINED, ContributionStatus.NOT_RESEARCHED)
    }


def with_declines(db, waiting: list[dict]) -> list[dict]:
    """The manager's queue with each desk's declines and the grounds already recorded, so the manager knows
    when grounds are needed."""
    with db.transaction() as s:
        for p in waiting:
            rows = s.execute(
                select(contributions.c.contribution)
                .where(contributions.c.referral_id == p["referral_id"])
                .order_by(contributions.c.id)
            ).scalars()
            p["declines"] = declines(Answers.from_arrivals(Contribution.model_validate_json(c) for c in rows).newest)
            p["grounds"] = [
                {
                    "grounds_id": r.grounds_id,
                    "kind": r.kind,
                    "recorded_by": r.recorded_by,
                    "recorded_at": as_utc(r.recorded_at).isoformat(),
                    "revision": r.revision,
                }
                for r in s.execute(
                    select(grounds).where(grounds.c.referral_id == p["referral_id"]).order_by(grounds.c.recorded_at)
                )
            ]
    return waiting
