"""Assembly of a referral's picture, persisted so a restarted instance carries on where it stopped.

Messages arrive in any order (the notification and the three contributions travel on different topics).
Each one is stored idempotently; when the notification and every expected contribution are present and
no decision exists yet, the decision and its products are written to the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mash_contracts import Agency, Contribution, Notification
from mash_contracts.topics import DECISIONS, products_topic
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.errors import TransientError
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, enqueue

from .products import decision_for, products_for
from .threshold import recommend

metadata = MetaData()

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("notification", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
contributions = Table(
    "contributions",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("agency", String(40), primary_key=True),
    Column("contribution", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
decisions = Table(
    "decisions",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("decision", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)


class Assembly:
    def __init__(self, db: Database, expected_desks: Sequence[Agency], firewall: Firewall):
        self.db = db
        self.firewall = firewall
        self.expected = frozenset(expected_desks)
        self.audit = AuditLog(firewall.custody)

    def record_notification(self, notification: Notification) -> bool:
        return self._record(notification.referral_id, lambda s: self._store_notification(s, notification))

    def record_contribution(self, contribution: Contribution) -> bool:
        return self._record(contribution.referral_id, lambda s: self._store_contribution(s, contribution))

    def _record(self, referral_id: str, store) -> bool:
        """Store one message and decide if the picture is complete. True when a decision was made."""
        try:
            with self.db.transaction() as s:
                store(s)
                return self._decide_if_complete(s, referral_id)
        except IntegrityError as e:
            # Another instance stored the same fact or decided first: retrying re-reads and finds it.
            raise TransientError("concurrent write for the same referral") from e

    def _store_notification(self, s: Session, n: Notification) -> None:
        if s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == n.referral_id)).first() is None:
            s.execute(insert(referrals).values(referral_id=n.referral_id, notification=n.model_dump_json(), received_at=n.received_at))
            self.audit.append(s, "decrypted", referral_id=n.referral_id, reason="notification opened for assembly",
                              subjects=subject_tokens(self.firewall.pepper, n.subjects), detail={"rag": n.rag.value})

    def _store_contribution(self, s: Session, c: Contribution) -> None:
        key = (contributions.c.referral_id == c.referral_id) & (contributions.c.agency == c.agency.value)
        if s.execute(select(contributions.c.agency).where(key)).first() is None:
            s.execute(
                insert(contributions).values(
                    referral_id=c.referral_id, agency=c.agency.value, contribution=c.model_dump_json(), received_at=datetime.now(UTC)
                )
            )
            self.audit.append(s, "decrypted", referral_id=c.referral_id, reason=f"{c.agency.value} contribution opened",
                              detail={"agency": c.agency.value, "status": c.status.value, "items": len(c.items)})

    def _decide_if_complete(self, s: Session, referral_id: str) -> bool:
        if s.execute(select(decisions.c.referral_id).where(decisions.c.referral_id == referral_id)).first():
            return False
        row = s.execute(select(referrals.c.notification).where(referrals.c.referral_id == referral_id)).first()
        if row is None:
            return False
        notification = Notification.model_validate_json(row.notification)
        received = {
            Agency(r.agency): Contribution.model_validate_json(r.contribution)
            for r in s.execute(select(contributions.c.agency, contributions.c.contribution).where(contributions.c.referral_id == referral_id))
        }
        if not self.expected <= received.keys():
            return False
        now = datetime.now(UTC)
        decision = decision_for(notification, received, recommend(notification, received), now)
        s.execute(insert(decisions).values(referral_id=referral_id, decision=decision.model_dump_json(), decided_at=now))
        enqueue(s, self.firewall, DECISIONS.name, referral_id, decision, str(decision.message_id))
        subjects = subject_tokens(self.firewall.pepper, notification.subjects)
        self.audit.append(s, "decided", referral_id=referral_id, actor=decision.decided_by, subjects=subjects,
                          reason=f"level {decision.level.value}, {decision.outcome.value}",
                          detail={"level": decision.level.value, "rag": decision.rag.value, "model": decision.model_version})
        for product in products_for(notification, received, decision):
            enqueue(s, self.firewall, products_topic(product.recipient), referral_id, product, str(product.message_id))
            self.audit.append(s, "routed", referral_id=referral_id, subjects=subjects,
                              reason=f"information product to {product.recipient.value}",
                              detail={"recipient": product.recipient.value, "message_id": str(product.message_id)})
        return True

    def decision_count(self) -> int:
        with self.db.transaction() as s:
            return len(s.execute(select(decisions.c.referral_id)).all())
