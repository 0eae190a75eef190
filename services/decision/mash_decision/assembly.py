"""Assembly of a referral's picture: a persistent state machine, so a restarted instance carries on.

    awaiting contributions -> complete (every expected desk answered)
                           -> due (the return deadline passed: missing desks recorded as "no answer", escalated)
    complete | due -> recommended (the model's level needs a manager) -> decided -> routed
    complete | due -> decided -> routed (levels the model may route on its own)

Messages arrive in any order, on several topics, to several instances: every fact is stored once, and each
step is one transaction that also writes its outbox rows and audit entries. A second instance that races
for the same step fails on a primary key and retries, finding the step done.

Nothing is dropped without a signal:
- a later revision of the notification (the referrer's supplementary information) re-opens the referral: the
  desks re-research when it changed what they research, the model re-assesses, and a referral already decided
  needs a manager again (an alert says so); each revision is decided and routed once;
- a contribution for a referral not yet seen is held; past the hold it is dead-lettered and alerted;
- a desk's second, different answer for the same revision is kept beside the first, shown as a conflict, and
  a manager must decide;
- a finding outside the desk's declared findings is refused (dead letter with the reason).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import base64
import hashlib
import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import (JSON, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint, delete,
                        func, insert, select, update)
from sqlalchemy.orm import Session

from mash_contracts import (
    Agency,
    Alert,
    AlertKind,
    Contribution,
    DeadLetter,
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
from mash_contracts.topics import ALERTS, DEAD_LETTERS, DECISIONS, OPERATIONS, OUTCOMES, products_topic
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.calendar import as_utc
from mash_runtime.errors import Rejected, TransientError
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
    Column("notification", Text, nullable=False),  # the newest revision
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("state", String(32), nullable=False, index=True),
    Column("rag", String(8), nullable=False),
    Column("returns_due_at", DateTime(timezone=True), nullable=False),
    Column("decision_due_at", DateTime(timezone=True), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("research_revision", Integer, nullable=False),  # answers to an earlier revision are not fresh
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


class NotPending(ValueError):
    """A manager's confirmation or override for a referral that has no recommendation waiting."""


class Assembly:
    def __init__(self, db: Database, expected_desks: Sequence[Agency], firewall: Firewall, model: ThresholdModel,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 declared_findings: Mapping[Agency, frozenset[str]], hold: timedelta = timedelta(hours=1)):
        self.db = db
        self.firewall = firewall
        self.expected = frozenset(expected_desks)
        self.model = model
        self.clock = Clock(model.timescales)
        self.now = now
        self.audit = AuditLog(firewall.custody)
        self.declared = {Agency(a): frozenset(f) for a, f in declared_findings.items()}
        self.hold = hold

    # -- messages ---------------------------------------------------------------------------------------

    def record_notification(self, notification: Notification) -> bool:
        return self._step(lambda s: self._store_notification(s, notification) | self._advance(s, notification.referral_id))

    def record_contribution(self, contribution: Contribution, original: bytes | None = None, topic: str | None = None) -> bool:
        self._check_findings(contribution)
        return self._step(lambda s: self._store_contribution(s, contribution, original, topic) | self._advance(s, contribution.referral_id))

    def _check_findings(self, c: Contribution) -> None:
        # Each finding is one desk's to report (an open CP plan is social care's): a desk that reports another's
        # is misconfigured or compromised, and the model must not score it.
        undeclared = sorted(set(c.findings) - self.declared.get(c.agency, frozenset()))
        if undeclared:
            raise Rejected([f"{c.agency.value} may not report {', '.join(undeclared)}: not among the findings its sharing "
                            f"policy declares ({', '.join(sorted(self.declared.get(c.agency, ()))) or 'none declared'})"])

    def _step(self, work: Callable[[Session], bool]) -> bool:
        """One transaction; True when it queued something to publish. Another instance storing the same fact or
        taking the same step first makes it raise ConcurrentWrite (transient, from the store): retrying finds it done."""
        with self.db.transaction() as s:
            return bool(work(s))

    def _store_notification(self, s: Session, n: Notification) -> bool:
        row = s.execute(select(referrals).where(referrals.c.referral_id == n.referral_id)).first()
        if row is None:
            s.execute(insert(referrals).values(
                referral_id=n.referral_id, notification=n.model_dump_json(), received_at=n.received_at, state=AWAITING,
                rag=n.rag.value, returns_due_at=self.clock.returns_due(n.received_at, n.rag),
                decision_due_at=self.clock.decision_due(n.received_at), revision=n.revision,
                # A later revision that arrives first (it travelled another lane) asks for research only if it
                # changed something researched; the first revision always does.
                research_revision=n.revision if n.needs_research else 1,
            ))
            self._audit_opened(s, n)
            return False
        if n.revision <= row.revision:
            return False  # a redelivery, or an older revision overtaken by a newer one: the newest stands
        return self._supplement(s, row, n)

    def _supplement(self, s: Session, row, n: Notification) -> bool:
        """Supplementary information from the referrer: the referral re-opens at the new revision."""
        was = row.state
        rag = max(RagRating(row.rag), n.rag, key=_RAG_ORDER.index)
        changes: dict = {"notification": n.model_dump_json(), "revision": n.revision, "state": AWAITING, "rag": rag.value}
        if n.needs_research:
            changes |= {"research_revision": n.revision,
                        "returns_due_at": min(as_utc(row.returns_due_at), self.clock.returns_due(n.received_at, rag))
                        if was == AWAITING else self.clock.returns_due(n.received_at, rag)}
        if was == ROUTED:  # a new decision is owed to the referrer and the recipients
            changes["decision_due_at"] = self.clock.decision_due(n.received_at)
        s.execute(update(referrals).where(referrals.c.referral_id == n.referral_id).values(**changes))
        s.execute(delete(recommendations).where(recommendations.c.referral_id == n.referral_id))
        if rag != RagRating(row.rag):
            s.execute(insert(rag_changes).values(referral_id=n.referral_id, at=self.now(), from_rag=row.rag, to_rag=rag.value,
                                                 reason=f"revision {n.revision} from the referrer"))
        self._audit_opened(s, n)
        after = {ROUTED: "after the decision was routed: the re-assessment needs a manager",
                 RECOMMENDED: "while a recommendation waited: it is re-assessed"}.get(was, "before the decision")
        changed = ", ".join(n.changes) or "nothing the desks research"
        self._alert(s, n.referral_id, AlertKind.REFERRAL_UPDATED, rag, None,
                    f"revision {n.revision} ({changed}) {after}", revision=n.revision)
        return True

    def _audit_opened(self, s: Session, n: Notification) -> None:
        self.audit.append(s, "decrypted", referral_id=n.referral_id, reason="notification opened for assembly",
                          subjects=subject_tokens(self.firewall.pepper, n.subjects),
                          detail={"rag": n.rag.value, "revision": n.revision})

    def _store_contribution(self, s: Session, c: Contribution, original: bytes | None, topic: str | None) -> bool:
        body = c.model_dump_json()
        digest = hashlib.sha256(body.encode()).hexdigest()
        mine = (contributions.c.referral_id == c.referral_id) & (contributions.c.agency == c.agency.value)
        if s.execute(select(contributions.c.id).where(mine & (contributions.c.digest == digest))).first() is not None:
            return False  # the same answer again (a redelivery)
        known = s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == c.referral_id)).first() is not None
        s.execute(insert(contributions).values(
            referral_id=c.referral_id, agency=c.agency.value, revision=c.notification_revision, digest=digest, contribution=body,
            received_at=self.now(), source_topic=topic, original=None if known else original))
        self.audit.append(s, "decrypted", referral_id=c.referral_id, reason=f"{c.agency.value} contribution opened",
                          detail={"agency": c.agency.value, "status": c.status.value, "items": len(c.items),
                                  "revision": c.notification_revision, **({} if known else {"held": "referral not yet received"})})
        queued = False
        if s.execute(select(func.count()).select_from(contributions)
                     .where(mine & (contributions.c.revision == c.notification_revision))).scalar() > 1:
            queued = self._alert(s, c.referral_id, AlertKind.CONTRIBUTION_CONFLICT, None, None,
                                 f"{c.agency.value} sent differing answers for revision {c.notification_revision}: both kept, "
                                 "a manager decides", revision=c.notification_revision)
        return self._regrade(s, c.referral_id) | queued

    def _regrade(self, s: Session, referral_id: str) -> bool:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None or row.state != AWAITING:
            return False
        change = self.model.regrade(RagRating(row.rag), self._received(s, referral_id)[0])
        if change is None:
            return False
        new, reason = change
        now = self.now()
        s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(
            rag=new.value, returns_due_at=min(as_utc(row.returns_due_at), self.clock.returns_due(as_utc(row.received_at), new))))
        s.execute(insert(rag_changes).values(referral_id=referral_id, at=now, from_rag=row.rag, to_rag=new.value, reason=reason[:120]))
        return self._alert(s, referral_id, AlertKind.REGRADED, new, None, f"{row.rag} to {new.value}: {reason}"[:120], revision=row.revision)

    # -- the state machine ------------------------------------------------------------------------------

    def _received(self, s: Session, referral_id: str) -> tuple[dict[Agency, Contribution], frozenset[Agency]]:
        """Each desk's newest answer (highest revision, then latest to arrive), and the desks that sent two
        different answers for the same revision."""
        rows = s.execute(select(contributions.c.agency, contributions.c.revision, contributions.c.contribution)
                         .where(contributions.c.referral_id == referral_id).order_by(contributions.c.revision, contributions.c.id)).all()
        newest = {Agency(r.agency): r.contribution for r in rows}
        seen, conflicts = set(), set()
        for r in rows:
            conflicts.update({Agency(r.agency)} if (r.agency, r.revision) in seen else set())
            seen.add((r.agency, r.revision))
        return {a: Contribution.model_validate_json(c) for a, c in newest.items()}, frozenset(conflicts)

    def _advance(self, s: Session, referral_id: str, due: bool = False) -> bool:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None or row.state != AWAITING:
            return False
        received, conflicts = self._received(s, referral_id)
        fresh = {a for a, c in received.items() if c.notification_revision >= row.research_revision}
        if self.expected - fresh and not due:
            return False
        # At the deadline an answer to an earlier revision is used rather than none; a desk with no answer at all
        # is recorded as such.
        missing = self.expected - received.keys()
        notification = Notification.model_validate_json(row.notification)
        rec = self.model.recommend(notification, received, no_answer=frozenset(missing), today=self.now().date())
        if missing:
            self._alert(s, referral_id, AlertKind.RETURNS_OVERDUE, RagRating(row.rag), as_utc(row.returns_due_at),
                        f"decided without {', '.join(sorted(a.value for a in missing))}: no answer by the deadline", revision=row.revision)
        redecided = s.execute(select(decisions.c.revision).where(decisions.c.referral_id == referral_id)).first() is not None
        if rec.level in self.model.auto_confirm_levels and not conflicts and not redecided:
            self._route(s, row, notification, received, missing, rec, decided_by="model (auto-confirmed)", conflicts=conflicts)
            return True
        s.execute(insert(recommendations).values(
            referral_id=referral_id, recommendation=_recommendation_json(rec) | {"conflicts": sorted(a.value for a in conflicts),
                                                                                 "revision": row.revision},
            no_answer=sorted(a.value for a in missing), recommended_at=self.now()))
        s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(state=RECOMMENDED))
        why = [f"model recommends level {rec.level.value} {rec.level_name}: a manager must confirm"]
        if conflicts:
            why.append(f"conflicting answers from {', '.join(sorted(a.value for a in conflicts))}")
        if redecided:
            why.append(f"re-assessment of revision {row.revision}")
        self._alert(s, referral_id, AlertKind.CONFIRMATION_NEEDED, RagRating(row.rag), as_utc(row.decision_due_at), "; ".join(why),
                    revision=row.revision)
        return True

    def _route(self, s: Session, row, notification: Notification, received: dict[Agency, Contribution], missing,
               rec: Recommendation, decided_by: str, override: tuple[Recommendation, str] | None = None,
               conflicts: frozenset[Agency] = frozenset()) -> Decision:
        history = [RagChange(at=as_utc(r.at), from_rag=RagRating(r.from_rag), to_rag=RagRating(r.to_rag), reason=r.reason)
                   for r in s.execute(select(rag_changes).where(rag_changes.c.referral_id == row.referral_id).order_by(rag_changes.c.id))]
        answers = {**{a: c.status for a, c in received.items()}, **{a: ContributionStatus.NO_ANSWER for a in missing}}
        final, rationale = override if override else (rec, None)
        decision = decision_for(
            notification, answers, final, self.model.version, self.now(), decided_by=decided_by, rag=RagRating(row.rag),
            recommended=rec if override else None, rationale=rationale, no_answer=sorted(missing),
            history=history, due_by=as_utc(row.decision_due_at), conflicts=sorted(conflicts),
        )
        s.execute(insert(decisions).values(referral_id=row.referral_id, revision=notification.revision, decision=decision.model_dump_json(),
                                           level=decision.level.value, decided_at=decision.decided_at))
        s.execute(update(referrals).where(referrals.c.referral_id == row.referral_id).values(state=ROUTED))
        enqueue(s, self.firewall, DECISIONS.name, row.referral_id, decision, str(decision.message_id))
        subjects = subject_tokens(self.firewall.pepper, notification.subjects)
        self.audit.append(s, "overridden" if override else "decided", referral_id=row.referral_id, actor=decided_by, subjects=subjects,
                          reason=f"level {decision.level.value}, {decision.outcome.value}" + (f"; overrode level {rec.level.value}" if override else ""),
                          detail={"level": decision.level.value, "rag": decision.rag.value, "model": decision.model_version,
                                  "revision": notification.revision})
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
        """Deadlines: decide referrals whose returns are overdue, raise near and missed alerts, and give up on
        contributions held too long for a referral that never came. Two reads find the referrals with something
        to do, however long the backlog; each of those is then its own transaction, so one failure does not hold
        up the rest."""
        now = self.now()
        queued = False
        for referral_id in self._needing_attention(now):
            queued |= self._sweep_step(lambda s, r=referral_id: self._sweep_one(s, r, now), referral_id)
        for held_id in self._held_too_long(now):
            queued |= self._sweep_step(lambda s, h=held_id: self._give_up_held(s, h), None)
        return queued

    def _sweep_step(self, work: Callable[[Session], bool], referral_id: str | None) -> bool:
        try:
            return self._step(work)
        except TransientError:
            return False  # another instance is on it
        except Exception:  # one referral that cannot be decided must not hold up every other deadline
            log.exception("deadline step failed; it is tried again at the next sweep", extra={"referral_id": referral_id})
            return False

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
                                   .join(referrals, (referrals.c.referral_id == alerts.c.referral_id) & (referrals.c.revision == alerts.c.revision))
                                   .where(open_)).all())
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
            queued |= self._alert(s, referral_id, kind, rag, deadline, self._alert_detail(s, kind, referral_id), revision=row.revision)
        return queued

    def _held_too_long(self, now: datetime) -> list[int]:
        with self.db.transaction() as s:
            return list(s.execute(select(contributions.c.id)
                                  .outerjoin(referrals, referrals.c.referral_id == contributions.c.referral_id)
                                  .where(referrals.c.referral_id.is_(None) & (contributions.c.received_at < now - self.hold))).scalars())

    def _give_up_held(self, s: Session, held_id: int) -> bool:
        """A contribution whose referral never arrived: set aside for operations with its sealed original, and an
        alert, rather than kept for ever or dropped."""
        row = s.execute(select(contributions).where(contributions.c.id == held_id)).first()
        if row is None or s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == row.referral_id)).first():
            return False
        original = row.original if row.original is not None else self.firewall.seal_for(
            OPERATIONS, row.referral_id, row.contribution.encode(), "DeadLetterOriginal")
        letter = DeadLetter(
            dead_letter_id=uuid.uuid5(uuid.NAMESPACE_URL, f"held-contribution:{row.referral_id}:{row.agency}:{row.digest}"),
            service="decision", source_topic=row.source_topic or "unknown", source_partition=-1, source_offset=-1,
            source_key_b64=base64.b64encode(row.referral_id.encode()).decode(), original_b64=base64.b64encode(original).decode(),
            original_sealed_for=None if row.original is not None else OPERATIONS, error_type="ContributionWithoutReferral",
            error=f"{row.agency} contribution for {row.referral_id} held {self.hold} and no notification arrived",
            attempts=1, failed_at=self.now())
        s.execute(delete(contributions).where(contributions.c.id == held_id))
        enqueue(s, self.firewall, DEAD_LETTERS.name, row.referral_id, letter, str(letter.dead_letter_id))
        self.audit.append(s, "dead_lettered", referral_id=row.referral_id, reason="contribution held past its limit without a referral",
                          detail={"agency": row.agency, "dead_letter_id": str(letter.dead_letter_id)})
        self._alert(s, row.referral_id, AlertKind.CONTRIBUTION_WITHOUT_REFERRAL, None, None,
                    f"{row.agency} answered a referral the hub never received; dead-lettered", revision=row.revision)
        return True

    def _alert_detail(self, s: Session, kind: AlertKind, referral_id: str) -> str:
        if kind is AlertKind.RETURNS_DUE_SOON:
            return f"waiting for {', '.join(sorted(a.value for a in self.expected - self._received(s, referral_id)[0].keys()))}"
        if kind is AlertKind.DECISION_OVERDUE:
            return "the one-working-day decision deadline has passed"
        return "decision due within the alert window"

    def _alert(self, s: Session, referral_id: str, kind: AlertKind, rag: RagRating | None, deadline: datetime | None, detail: str,
               *, revision: int = 1) -> bool:
        key = (alerts.c.referral_id == referral_id) & (alerts.c.kind == kind.value) & (alerts.c.revision == revision)
        if s.execute(select(alerts.c.kind).where(key)).first():
            return False
        now = self.now()
        s.execute(insert(alerts).values(referral_id=referral_id, kind=kind.value, revision=revision, raised_at=now))
        if rag is None:
            row = s.execute(select(referrals.c.rag).where(referrals.c.referral_id == referral_id)).first()
            rag = RagRating(row.rag) if row else RagRating.AMBER  # no referral yet: not routine until someone looks
        alert = Alert(message_id=derived_id("alert", referral_id, kind.value) if revision == 1 else derived_id("alert", referral_id, kind.value, str(revision)),
                      referral_id=referral_id, kind=kind, rag=rag, deadline=deadline, detail=detail[:120], raised_at=now)
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
            answered = dict(s.execute(select(contributions.c.agency, func.count(func.distinct(contributions.c.referral_id)))
                                      .join(referrals, (referrals.c.referral_id == contributions.c.referral_id)
                                            & (contributions.c.revision >= referrals.c.research_revision))
                                      .where(awaiting_).group_by(contributions.c.agency)).all())
            kinds = dict(s.execute(select(alerts.c.kind, func.count()).group_by(alerts.c.kind)).all())
            oldest = s.execute(select(func.min(referrals.c.received_at)).where(referrals.c.state != ROUTED)).scalar()
            levels = dict(s.execute(select(decisions.c.level, func.count()).group_by(decisions.c.level)).all())
            held = s.execute(select(func.count()).select_from(contributions)
                             .outerjoin(referrals, referrals.c.referral_id == contributions.c.referral_id)
                             .where(referrals.c.referral_id.is_(None))).scalar()
        # Those still waiting for a desk are the open referrals without a fresh answer from it.
        awaiting = {a.value: open_count - answered.get(a.value, 0) for a in self.expected}
        age = (self.now() - as_utc(oldest)).total_seconds() if oldest else 0.0
        return {"waiting_by_rag": {r.value: waiting.get(r.value, 0) for r in RagRating}, "awaiting_desk": awaiting,
                "alerts": {k.value: kinds.get(k.value, 0) for k in AlertKind}, "decisions_by_level": {lv.value: levels.get(lv.value, 0) for lv in ThresholdLevel},
                "oldest_waiting_seconds": max(age, 0.0), "held_contributions": held}

    def state_of(self, referral_id: str) -> str | None:
        with self.db.transaction() as s:
            row = s.execute(select(referrals.c.state).where(referrals.c.referral_id == referral_id)).first()
            return row.state if row else None

    def contributions_of(self, referral_id: str) -> list[Contribution]:
        """Every answer the desks sent for a referral, in arrival order (conflicting ones included)."""
        with self.db.transaction() as s:
            rows = s.execute(select(contributions.c.contribution).where(contributions.c.referral_id == referral_id)
                             .order_by(contributions.c.id)).scalars()
            return [Contribution.model_validate_json(r) for r in rows]

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
            received, conflicts = self._received(s, referral_id)
            override = None
            if change:
                level, outcome, recipients, rationale = change
                override = (Recommendation(level, self.model.level_name(level), outcome, recipients or self.model.levels[level].recipients,
                                           rec.factors, rec.score), rationale)
            return self._route(s, row, notification, received, missing, rec,
                               decided_by=f"manager {manager}", override=override, conflicts=conflicts)


_RAG_ORDER = [RagRating.BLUE, RagRating.GREEN, RagRating.AMBER, RagRating.RED]


def _recommendation_json(rec: Recommendation) -> dict:
    return {"level": rec.level.value, "level_name": rec.level_name, "outcome": rec.outcome.value,
            "recipients": [a.value for a in rec.recipients], "score": rec.score,
            "factors": [f.model_dump() for f in rec.factors]}


def _recommendation_from(raw: dict) -> Recommendation:
    return Recommendation(ThresholdLevel(raw["level"]), raw["level_name"], Outcome(raw["outcome"]),
                          tuple(Agency(a) for a in raw["recipients"]), tuple(Factor(**f) for f in raw["factors"]), raw["score"])
