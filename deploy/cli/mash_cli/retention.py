"""Retention by policy: crypto-shred closed cases.

A case whose decision closed it (by default no further action, or advice and signposting) and is older than
the retention period has its case key destroyed, so every message about it between the hub's services, in Kafka,
in outboxes and in backups, can no longer be opened; the hub's own decrypted copies are deleted; and the erasure
is recorded in the decision service's audit chain in the same transaction. The desks' disclosure records are the
owning agencies' to keep or erase under their own retention schedules, and are left alone; so is an information
product already sent to a recipient agency, which opens it with its own key and keeps it under its own retention
(docs/envelope.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from mash_contracts import Decision
from mash_runtime.audit import AuditLog
from mash_runtime.calendar import as_utc
from mash_runtime.firewall import FileCaseKeys, FileCustody
from mash_runtime.identity import StoreRefused, expected
from mash_runtime.store import Database

from .mesh import Mesh

DEFAULT_OUTCOMES = ("no_further_action", "advice_and_signposting")


@dataclass(frozen=True)
class Shredded:
    referral_id: str
    outcome: str
    decided_at: datetime


def run(
    mesh: Mesh,
    *,
    older_than: timedelta,
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES,
    referral_ids: tuple[str, ...] = (),
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Shredded]:
    from mash_decision.tables import contributions, decisions, metadata, notification_revisions, referrals

    url = mesh.database_url("decision")
    if url is None:
        return []
    now = now or datetime.now(UTC)
    try:  # the decision service's own store, never one made here by mistake
        db = Database(url, metadata, identity=expected(mesh.keys_dir, "decision"))
    except StoreRefused as e:
        raise SystemExit(str(e)) from None
    case_keys = FileCaseKeys(mesh.keys_dir)
    audit = AuditLog(FileCustody(mesh.keys_dir, "decision"))
    done: list[Shredded] = []
    try:
        # Named cases, or those decided long enough ago; the outcome is inside the stored decision.
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
        for row in rows:
            decision = Decision.model_validate_json(row.decision)
            if (not referral_ids and decision.outcome.value not in outcomes) or case_keys.shredded(row.referral_id):
                continue
            done.append(Shredded(row.referral_id, decision.outcome.value, decision.decided_at))
            if dry_run:
                continue
            with db.transaction() as s:
                s.execute(delete(contributions).where(contributions.c.referral_id == row.referral_id))
                s.execute(delete(referrals).where(referrals.c.referral_id == row.referral_id))
                s.execute(delete(notification_revisions).where(notification_revisions.c.referral_id == row.referral_id))
                reason = (
                    f"retention: {decision.outcome.value} case closed {decision.decided_at:%Y-%m-%d}"
                    if not referral_ids
                    else "retention: erasure requested for this case"
                )
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
    finally:
        db.dispose()
    return done
