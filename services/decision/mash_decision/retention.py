"""Retention by policy: crypto-shred closed cases.

A case whose decision closed it (by default no further action, or advice and signposting) and is older than
the retention period has its case key destroyed, so every message about it between the hub's services, in Kafka,
in outboxes and in backups, can no longer be opened; the hub's own decrypted copies are deleted; and the erasure
is recorded in the decision service's audit chain in the same transaction. The desks' disclosure records are the
owning agencies' to keep or erase under their own retention schedules, and are left alone; so is an information
product already sent to a recipient agency, which opens it with its own key and keeps it under its own retention
(docs/envelope.md). Run through the service's API (`POST /retention`, `mash retention`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from mash_contracts import Decision, Outcome
from mash_runtime.audit import AuditLog
from mash_runtime.calendar import as_utc
from mash_runtime.firewall import FileCaseKeys
from mash_runtime.store import Database

from .tables import contributions, decisions, notification_revisions, referrals

DEFAULT_OUTCOMES = (Outcome.NO_FURTHER_ACTION.value, Outcome.ADVICE_AND_SIGNPOSTING.value)


@dataclass(frozen=True)
class Shredded:
    referral_id: str
    outcome: str
    decided_at: datetime

    def as_json(self) -> dict:
        return {"referral_id": self.referral_id, "outcome": self.outcome, "decided_at": self.decided_at.isoformat()}


def shred(
    db: Database,
    case_keys: FileCaseKeys,
    audit: AuditLog,
    *,
    older_than: timedelta,
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES,
    referral_ids: tuple[str, ...] = (),
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Shredded]:
    """Shred the named cases (whatever their outcome), or every case closed with one of `outcomes` and last decided
    longer ago than `older_than`. A case already shredded is left out. `dry_run` says which, and changes nothing."""
    now = now or datetime.now(UTC)
    chosen = decisions.c.referral_id.in_(referral_ids) if referral_ids else decisions.c.decided_at <= now - older_than
    with db.transaction() as s:
        ids = select(decisions.c.referral_id).where(chosen).distinct()
        every = s.execute(
            select(decisions.c.referral_id, decisions.c.decision, decisions.c.decided_at)
            .where(decisions.c.referral_id.in_(ids))
            .order_by(decisions.c.revision, decisions.c.decided_at)
        ).all()
    # A referral re-decided on supplementary information is as old as its newest decision.
    newest = {r.referral_id: r for r in every}
    rows = [r for r in newest.values() if referral_ids or as_utc(r.decided_at) <= now - older_than]
    done: list[Shredded] = []
    for row in rows:
        decision = Decision.model_validate_json(row.decision)
        if (not referral_ids and decision.outcome.value not in outcomes) or case_keys.shredded(row.referral_id):
            continue
        done.append(Shredded(row.referral_id, decision.outcome.value, decision.decided_at))
        if dry_run:
            continue
        reason = (
            f"retention: {decision.outcome.value} case closed {decision.decided_at:%Y-%m-%d}"
            if not referral_ids
            else "retention: erasure requested for this case"
        )
        with db.transaction() as s:
            s.execute(delete(contributions).where(contributions.c.referral_id == row.referral_id))
            s.execute(delete(referrals).where(referrals.c.referral_id == row.referral_id))
            s.execute(delete(notification_revisions).where(notification_revisions.c.referral_id == row.referral_id))
            audit.append(
                s,
                "shredded",
                referral_id=row.referral_id,
                actor="retention",
                reason=reason,
                detail={"outcome": decision.outcome.value, "older_than_days": older_than.days},
            )
            # Inside the transaction: if the key cannot be destroyed, nothing is recorded as erased.
            case_keys.shred(row.referral_id, reason)
    return done
