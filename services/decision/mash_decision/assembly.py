"""Assembly of a referral's picture: a persistent state machine, so a restarted instance carries on.

    awaiting contributions -> complete (every expected desk answered)
                           -> due (the return deadline passed: missing desks recorded as "no answer", escalated)
    complete | due -> recommended (the model's level needs a manager) -> decided -> routed
    complete | due -> decided -> routed (levels the model may route on its own)

Messages arrive in any order, on several topics, to several instances: every fact is stored once, and each
step is one transaction that also writes its outbox rows and audit entries. A second instance that races
for the same step fails on a primary key and retries, finding the step done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mash_contracts import (
    Agency,
    Alert,
    AlertKind,
    Contribution,
    ContributionStatus,
    Decision,
    Factor,
    Notification,
    Outcome,
    RagChange,
    RagRating,
    ThresholdLevel,
    derived_id,
)
from mash_contracts.topics import ALERTS, DECISIONS, OUTCOMES, products_topic
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.calendar import as_utc
from mash_runtime.errors import TransientError
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, enqueue

from .clock import Clock
from .model import Recommendation, ThresholdModel
from .products import decision_for, outcome_notice, products_for

log = logging.getLogger("mash.decision")
metadata = MetaData()

AWAITING, RECOMMENDED, ROUTED = "awaiting_contributions", "recommended", "routed"

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("notification", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("state", String(32), nullable=False, index=True),
    Column("rag", String(8), nullable=False),
    Column("returns_due_at", DateTime(timezone=True), nullable=False),
    Column("decision_due_at", DateTime(timezone=True), nullable=False),
)
contributions = Table(
    "contributions",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("agency", String(40), primary_key=True),
    Column("contribution", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
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
    Column("decision", Text, nullable=False),
    Column("level", Integer, nullable=False, index=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
alerts = Table(  # one alert of each kind per referral: instances racing to raise it raise it once
    "alerts",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("raised_at", DateTime(timezone=True), nullable=False),
)


class NotPending(ValueError):
    """A manager's confirmation or override for a referral that has no recommendation waiting."""


class Assembly:
    def __init__(self, db: Database, expected_desks: Sequence[Agency], firewall: Firewall, model: ThresholdModel,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.db = db
        self.firewall = firewall
        self.expected = frozenset(expected_desks)
        self.model = model
        self.clock = Clock(model.timescales)
        self.now = now
        self.audit = AuditLog(firewall.custody)

    # -- messages ---------------------------------------------------------------------------------------

    def record_notification(self, notification: Notification) -> bool:
        return self._step(lambda s: self._store_notification(s, notification) or self._advance(s, notification.referral_id))

    def record_contribution(self, contribution: Contribution) -> bool:
        return self._step(lambda s: self._store_contribution(s, contribution) | self._advance(s, contribution.referral_id))

    def _step(self, work: Callable[[Session], bool]) -> bool:
        """One transaction; True when it queued something to publish."""
        try:
            with self.db.transaction() as s:
                return bool(work(s))
        except IntegrityError as e:
            # Another instance stored the same fact or took the same step first: retrying finds it done.
            raise TransientError("concurrent write for the same referral") from e

    def _store_notification(self, s: Session, n: Notification) -> bool:
        if s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == n.referral_id)).first() is not None:
            return False
        s.execute(insert(referrals).values(
            referral_id=n.referral_id, notification=n.model_dump_json(), received_at=n.received_at, state=AWAITING,
            rag=n.rag.value, returns_due_at=self.clock.returns_due(n.received_at, n.rag),
            decision_due_at=self.clock.decision_due(n.received_at),
        ))
        self.audit.append(s, "decrypted", referral_id=n.referral_id, reason="notification opened for assembly",
                          subjects=subject_tokens(self.firewall.pepper, n.subjects), detail={"rag": n.rag.value})
        return False

    def _store_contribution(self, s: Session, c: Contribution) -> bool:
        key = (contributions.c.referral_id == c.referral_id) & (contributions.c.agency == c.agency.value)
        if s.execute(select(contributions.c.agency).where(key)).first() is not None:
            return False
        s.execute(insert(contributions).values(
            referral_id=c.referral_id, agency=c.agency.value, contribution=c.model_dump_json(), received_at=self.now()))
        self.audit.append(s, "decrypted", referral_id=c.referral_id, reason=f"{c.agency.value} contribution opened",
                          detail={"agency": c.agency.value, "status": c.status.value, "items": len(c.items)})
        return self._regrade(s, c.referral_id)

    def _regrade(self, s: Session, referral_id: str) -> bool:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None or row.state != AWAITING:
            return False
        change = self.model.regrade(RagRating(row.rag), self._received(s, referral_id))
        if change is None:
            return False
        new, reason = change
        now = self.now()
        s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(
            rag=new.value, returns_due_at=min(as_utc(row.returns_due_at), self.clock.returns_due(as_utc(row.received_at), new))))
        s.execute(insert(rag_changes).values(referral_id=referral_id, at=now, from_rag=row.rag, to_rag=new.value, reason=reason[:120]))
        return self._alert(s, referral_id, AlertKind.REGRADED, new, None, f"{row.rag} to {new.value}: {reason}"[:120])

    # -- the state machine ------------------------------------------------------------------------------

    def _received(self, s: Session, referral_id: str) -> dict[Agency, Contribution]:
        rows = s.execute(select(contributions.c.agency, contributions.c.contribution).where(contributions.c.referral_id == referral_id))
        return {Agency(r.agency): Contribution.model_validate_json(r.contribution) for r in rows}

    def _advance(self, s: Session, referral_id: str, due: bool = False) -> bool:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None or row.state != AWAITING:
            return False
        received = self._received(s, referral_id)
        missing = self.expected - received.keys()
        if missing and not due:
            return False
        notification = Notification.model_validate_json(row.notification)
        rec = self.model.recommend(notification, received, no_answer=frozenset(missing), today=self.now().date())
        if missing:
            self._alert(s, referral_id, AlertKind.RETURNS_OVERDUE, RagRating(row.rag), as_utc(row.returns_due_at),
                        f"decided without {', '.join(sorted(a.value for a in missing))}: no answer by the deadline")
        if rec.level in self.model.auto_confirm_levels:
            self._route(s, row, notification, received, missing, rec, decided_by="model (auto-confirmed)")
            return True
        s.execute(insert(recommendations).values(
            referral_id=referral_id, recommendation=_recommendation_json(rec), no_answer=sorted(a.value for a in missing),
            recommended_at=self.now()))
        s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(state=RECOMMENDED))
        self._alert(s, referral_id, AlertKind.CONFIRMATION_NEEDED, RagRating(row.rag), as_utc(row.decision_due_at),
                    f"model recommends level {rec.level.value} {rec.level_name}: a manager must confirm")
        return True

    def _route(self, s: Session, row, notification: Notification, received: dict[Agency, Contribution], missing,
               rec: Recommendation, decided_by: str, override: tuple[Recommendation, str] | None = None) -> Decision:
        history = [RagChange(at=as_utc(r.at), from_rag=RagRating(r.from_rag), to_rag=RagRating(r.to_rag), reason=r.reason)
                   for r in s.execute(select(rag_changes).where(rag_changes.c.referral_id == row.referral_id).order_by(rag_changes.c.id))]
        answers = {**{a: c.status for a, c in received.items()}, **{a: ContributionStatus.NO_ANSWER for a in missing}}
        final, rationale = override if override else (rec, None)
        decision = decision_for(
            notification, answers, final, self.model.version, self.now(), decided_by=decided_by, rag=RagRating(row.rag),
            recommended=rec if override else None, rationale=rationale, no_answer=sorted(missing),
            history=history, due_by=as_utc(row.decision_due_at),
        )
        s.execute(insert(decisions).values(referral_id=row.referral_id, decision=decision.model_dump_json(),
                                           level=decision.level.value, decided_at=decision.decided_at))
        s.execute(update(referrals).where(referrals.c.referral_id == row.referral_id).values(state=ROUTED))
        enqueue(s, self.firewall, DECISIONS.name, row.referral_id, decision, str(decision.message_id))
        subjects = subject_tokens(self.firewall.pepper, notification.subjects)
        self.audit.append(s, "overridden" if override else "decided", referral_id=row.referral_id, actor=decided_by, subjects=subjects,
                          reason=f"level {decision.level.value}, {decision.outcome.value}" + (f"; overrode level {rec.level.value}" if override else ""),
                          detail={"level": decision.level.value, "rag": decision.rag.value, "model": decision.model_version})
        notice = outcome_notice(notification, decision)
        enqueue(s, self.firewall, OUTCOMES.name, notification.submission_id, notice, str(notice.message_id))
        for product in products_for(notification, received, decision):
            enqueue(s, self.firewall, products_topic(product.recipient), row.referral_id, product, str(product.message_id))
            self.audit.append(s, "routed", referral_id=row.referral_id, subjects=subjects,
                              reason=f"information product to {product.recipient.value}",
                              detail={"recipient": product.recipient.value, "message_id": str(product.message_id)})
        return decision

    # -- the clock --------------------------------------------------------------------------------------

    def sweep(self) -> bool:
        """Deadlines: decide referrals whose returns are overdue, and raise near and missed alerts.
        Two reads find the referrals with something to do, however long the backlog; each of those is then
        its own transaction, so one failure does not hold up the rest."""
        now = self.now()
        queued = False
        for referral_id in self._needing_attention(now):
            try:
                queued |= self._step(lambda s, r=referral_id: self._sweep_one(s, r, now))
            except TransientError:
                continue  # another instance is on it
            except Exception:  # one referral that cannot be decided must not hold up every other deadline
                log.exception("deadline step failed; it is tried again at the next sweep", extra={"referral_id": referral_id})
        return queued

    def _deadline_work(self, state: str, returns_due: datetime, decision_due: datetime, now: datetime):
        """(decide now?, the alerts due by now with their deadlines) for an open referral."""
        if state == AWAITING and now >= returns_due:
            return True, []
        due = []
        if state == AWAITING and now >= self.clock.alert_at(returns_due):
            due.append((AlertKind.RETURNS_DUE_SOON, returns_due))
        if now >= decision_due:
            due.append((AlertKind.DECISION_OVERDUE, decision_due))
        elif now >= self.clock.alert_at(decision_due):
            due.append((AlertKind.DECISION_DUE_SOON, decision_due))
        return False, due

    def _needing_attention(self, now: datetime) -> list[str]:
        open_ = referrals.c.state != ROUTED
        with self.db.transaction() as s:
            rows = s.execute(select(referrals.c.referral_id, referrals.c.state, referrals.c.returns_due_at,
                                    referrals.c.decision_due_at).where(open_)).all()
            raised = set(s.execute(select(alerts.c.referral_id, alerts.c.kind)
                                   .join(referrals, referrals.c.referral_id == alerts.c.referral_id).where(open_)).all())
        wanted = []
        for r in rows:
            decide, due = self._deadline_work(r.state, as_utc(r.returns_due_at), as_utc(r.decision_due_at), now)
            if decide or any((r.referral_id, kind.value) not in raised for kind, _ in due):
                wanted.append(r.referral_id)
        return wanted

    def _sweep_one(self, s: Session, referral_id: str, now: datetime) -> bool:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None or row.state == ROUTED:
            return False
        decide, due = self._deadline_work(row.state, as_utc(row.returns_due_at), as_utc(row.decision_due_at), now)
        if decide:
            return self._advance(s, referral_id, due=True)
        queued, rag = False, RagRating(row.rag)
        for kind, deadline in due:
            queued |= self._alert(s, referral_id, kind, rag, deadline, self._alert_detail(s, kind, referral_id))
        return queued

    def _alert_detail(self, s: Session, kind: AlertKind, referral_id: str) -> str:
        if kind is AlertKind.RETURNS_DUE_SOON:
            return f"waiting for {', '.join(sorted(a.value for a in self.expected - self._received(s, referral_id).keys()))}"
        if kind is AlertKind.DECISION_OVERDUE:
            return "the one-working-day decision deadline has passed"
        return "decision due within the alert window"

    def _alert(self, s: Session, referral_id: str, kind: AlertKind, rag: RagRating, deadline: datetime | None, detail: str) -> bool:
        if s.execute(select(alerts.c.kind).where((alerts.c.referral_id == referral_id) & (alerts.c.kind == kind.value))).first():
            return False
        now = self.now()
        s.execute(insert(alerts).values(referral_id=referral_id, kind=kind.value, raised_at=now))
        alert = Alert(message_id=derived_id("alert", referral_id, kind.value), referral_id=referral_id, kind=kind, rag=rag,
                      deadline=deadline, detail=detail[:120], raised_at=now)
        enqueue(s, self.firewall, ALERTS.name, referral_id, alert, str(alert.message_id))
        return True

    def decision_count(self) -> int:
        with self.db.transaction() as s:
            return s.execute(select(func.count()).select_from(decisions)).scalar()

    def snapshot(self) -> dict:
        """Counts for metrics and `mash status`: no personal data. Grouped counts, however long the backlog."""
        awaiting_ = referrals.c.state == AWAITING
        with self.db.transaction() as s:
            waiting = dict(s.execute(select(referrals.c.rag, func.count()).where(referrals.c.state != ROUTED).group_by(referrals.c.rag)).all())
            open_count = s.execute(select(func.count()).select_from(referrals).where(awaiting_)).scalar()
            answered = dict(s.execute(select(contributions.c.agency, func.count())
                                      .join(referrals, referrals.c.referral_id == contributions.c.referral_id)
                                      .where(awaiting_).group_by(contributions.c.agency)).all())
            kinds = dict(s.execute(select(alerts.c.kind, func.count()).group_by(alerts.c.kind)).all())
            oldest = s.execute(select(func.min(referrals.c.received_at)).where(referrals.c.state != ROUTED)).scalar()
            levels = dict(s.execute(select(decisions.c.level, func.count()).group_by(decisions.c.level)).all())
        # One contribution per desk per referral (primary key), so those still waiting are the rest.
        awaiting = {a.value: open_count - answered.get(a.value, 0) for a in self.expected}
        age = (self.now() - as_utc(oldest)).total_seconds() if oldest else 0.0
        return {"waiting_by_rag": {r.value: waiting.get(r.value, 0) for r in RagRating}, "awaiting_desk": awaiting,
                "alerts": {k.value: kinds.get(k.value, 0) for k in AlertKind}, "decisions_by_level": {lv.value: levels.get(lv.value, 0) for lv in ThresholdLevel},
                "oldest_waiting_seconds": max(age, 0.0)}

    def state_of(self, referral_id: str) -> str | None:
        with self.db.transaction() as s:
            row = s.execute(select(referrals.c.state).where(referrals.c.referral_id == referral_id)).first()
            return row.state if row else None

    # -- the MASH manager -------------------------------------------------------------------------------

    def pending(self) -> list[dict]:
        with self.db.transaction() as s:
            rows = s.execute(select(recommendations, referrals.c.rag, referrals.c.decision_due_at)
                             .join(referrals, referrals.c.referral_id == recommendations.c.referral_id)
                             .where(referrals.c.state == RECOMMENDED)).all()
        return [{"referral_id": r.referral_id, "rag": r.rag, "decision_due_at": as_utc(r.decision_due_at).isoformat(), **r.recommendation}
                for r in rows]

    def confirm(self, referral_id: str, manager: str) -> Decision:
        return self._manager_decides(referral_id, manager, None)

    def override(self, referral_id: str, manager: str, level: ThresholdLevel, outcome: Outcome,
                 recipients: Sequence[Agency], rationale: str) -> Decision:
        if len(rationale.strip()) < 10:
            raise ValueError("an override needs a recorded rationale (at least a sentence)")
        return self._manager_decides(referral_id, manager, (level, outcome, tuple(recipients), rationale.strip()))

    def _manager_decides(self, referral_id: str, manager: str, change) -> Decision:
        with self.db.transaction() as s:
            row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
            if row is None:
                raise NotPending(f"{referral_id} is not known to the decision service")
            if row.state == ROUTED:
                raise NotPending(f"{referral_id} was already decided and routed: products are not sent twice")
            if row.state != RECOMMENDED:
                raise NotPending(f"{referral_id} is still awaiting contributions; there is no recommendation yet")
            pending = s.execute(select(recommendations).where(recommendations.c.referral_id == referral_id)).first()
            rec = _recommendation_from(pending.recommendation)
            missing = frozenset(Agency(a) for a in pending.no_answer)
            notification = Notification.model_validate_json(row.notification)
            override = None
            if change:
                level, outcome, recipients, rationale = change
                override = (Recommendation(level, self.model.level_name(level), outcome, recipients or self.model.levels[level].recipients,
                                           rec.factors, rec.score), rationale)
            return self._route(s, row, notification, self._received(s, referral_id), missing, rec,
                               decided_by=f"manager {manager}", override=override)


def _recommendation_json(rec: Recommendation) -> dict:
    return {"level": rec.level.value, "level_name": rec.level_name, "outcome": rec.outcome.value,
            "recipients": [a.value for a in rec.recipients], "score": rec.score,
            "factors": [f.model_dump() for f in rec.factors]}


def _recommendation_from(raw: dict) -> Recommendation:
    return Recommendation(ThresholdLevel(raw["level"]), raw["level_name"], Outcome(raw["outcome"]),
                          tuple(Agency(a) for a in raw["recipients"]), tuple(Factor(**f) for f in raw["factors"]), raw["score"])
