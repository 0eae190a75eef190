"""Assembly of a referral's picture: the decision service's store adapter. Each message or tick is one
transaction: read the referral's facts, apply the pure state rules (`rules.py`), write what they return with its
outbox rows and audit entries. A restarted instance carries on from the store.

Messages arrive in any order, on several topics, to several instances: every fact is stored once. A second
instance that races for the same step fails on a unique key; the store raises that as a transient error and the
retry finds the step done.

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

import base64
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from mash_contracts import (
    AdultRoute,
    Agency,
    Alert,
    AlertKind,
    Contribution,
    ContributionStatus,
    DeadLetter,
    Decision,
    DeskReturn,
    Factor,
    GroundsKind,
    Notification,
    Outcome,
    RagChange,
    RagRating,
    ThresholdLevel,
    derived_id,
)
from mash_contracts.threshold import Recommendation, ThresholdModel
from mash_contracts.topics import ALERTS, DEAD_LETTERS, DECISIONS, OPERATIONS, OUTCOMES, products_topic
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.calendar import as_utc
from mash_runtime.errors import Rejected, TransientError
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, enqueue

from . import grounds, queries, rules
from .clock import Clock
from .products import decision_for, outcome_notice, products_for
from .rules import AWAITING, RECOMMENDED, ROUTED, Alerted, Answers
from .tables import alerts, contributions, decisions, metadata, notification_revisions, rag_changes, recommendations, referrals

__all__ = ["Assembly", "NotPending", "metadata"]
log = logging.getLogger("mash.decision")


class NotPending(ValueError):
    """A manager's confirmation or override for a referral that has no recommendation waiting."""


class NotTheirs(NotPending):
    """A Safeguarding Adults Practice Consultant deciding a referral that is not routed to an allocated team."""


# Who may confirm or override, as the decision records them. A practice consultant decides only the adults routed to
# an allocated worker's team; a MASH manager may decide any (the hub's queue shows both routes).
DECIDERS = {"manager": "manager", "practice_consultant": "practice consultant"}


class Assembly:
    def __init__(
        self,
        db: Database,
        expected_desks: Sequence[Agency],
        firewall: Firewall,
        model: ThresholdModel,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        declared_findings: Mapping[Agency, frozenset[str]],
        hold: timedelta = timedelta(hours=1),
    ):
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
        return self._step(lambda s: self._take_answer(s, contribution, original, topic))

    def _take_answer(self, s: Session, c: Contribution, original: bytes | None, topic: str | None) -> bool:
        """Store a desk's answer, then re-grade and advance on the answers read once."""
        if not self._store_contribution(s, c, original, topic):
            return False  # the same answer again (a redelivery): its effects were committed with it
        answers = self._answers(s, c.referral_id)
        queued = False
        if c.agency in answers.conflicts:
            queued = self._raise(
                s,
                c.referral_id,
                Alerted(
                    AlertKind.CONTRIBUTION_CONFLICT,
                    f"{c.agency.value} sent differing answers for revision {c.notification_revision}: "
                    "both kept, a manager decides",
                ),
                c.notification_revision,
            )
        regraded, r = self._regrade(s, self._referral(s, c.referral_id), answers)
        return regraded | queued | self._advance(s, c.referral_id, answers=answers, r=r)

    def _check_findings(self, c: Contribution) -> None:
        # Each finding is one desk's to report (an open CP plan is social care's): a desk that reports another's
        # is misconfigured or compromised, and the model must not score it.
        undeclared = sorted(set(c.findings) - self.declared.get(c.agency, frozenset()))
        if undeclared:
            raise Rejected(
                [
                    f"{c.agency.value} may not report {', '.join(undeclared)}: not among the findings its sharing "
                    f"policy declares ({', '.join(sorted(self.declared.get(c.agency, ()))) or 'none declared'})"
                ]
            )

    def _step(self, work: Callable[[Session], bool]) -> bool:
        """One transaction; True when it queued something to publish. Another instance storing the same fact or
        taking the same step first makes it raise ConcurrentWrite (transient, from the store): retrying finds it done."""
        with self.db.transaction() as s:
            return bool(work(s))

    def _referral(self, s: Session, referral_id: str) -> rules.Referral | None:
        row = s.execute(select(referrals).where(referrals.c.referral_id == referral_id)).first()
        if row is None:
            return None
        decided = s.execute(select(decisions.c.revision).where(decisions.c.referral_id == referral_id)).first() is not None
        return rules.Referral(
            row.referral_id,
            row.state,
            row.revision,
            row.research_revision,
            RagRating(row.rag),
            as_utc(row.received_at),
            as_utc(row.returns_due_at),
            as_utc(row.decision_due_at),
            decided,
        )

    def _notification(self, s: Session, referral_id: str) -> Notification:
        return Notification.model_validate_json(
            s.execute(select(referrals.c.notification).where(referrals.c.referral_id == referral_id)).scalar_one()
        )

    def _store_notification(self, s: Session, n: Notification) -> bool:
        r = self._referral(s, n.referral_id)
        self._keep_revision(s, n)
        if r is None:
            s.execute(
                insert(referrals).values(
                    referral_id=n.referral_id,
                    notification=n.model_dump_json(),
                    received_at=n.received_at,
                    state=AWAITING,
                    rag=n.rag.value,
                    returns_due_at=self.clock.returns_due(n.received_at, n.rag),
                    decision_due_at=self.clock.decision_due(n.received_at),
                    revision=n.revision,
                    # A later revision that arrives first (it travelled another lane) asks for research only if it
                    # changed something researched; the first revision always does.
                    research_revision=n.revision if n.needs_research else 1,
                )
            )
            self._audit_opened(s, n)
            return False
        step = rules.supplement(r, n, self.clock)
        if step is None:
            return False  # a redelivery, or an older revision overtaken by a newer one: the newest stands
        s.execute(update(referrals).where(referrals.c.referral_id == n.referral_id).values(**step.changes))
        s.execute(delete(recommendations).where(recommendations.c.referral_id == n.referral_id))
        if step.rag_raised_from is not None:
            s.execute(
                insert(rag_changes).values(
                    referral_id=n.referral_id,
                    at=self.now(),
                    from_rag=step.rag_raised_from.value,
                    to_rag=step.changes["rag"],
                    reason=f"revision {n.revision} from the referrer",
                )
            )
        self._audit_opened(s, n)
        if step.alert is not None:
            self._raise(s, n.referral_id, step.alert, n.revision)
        grounds.carry_forward(self, s, n)  # s47 grounds recorded on an earlier revision still stand
        return True

    def _keep_revision(self, s: Session, n: Notification) -> None:
        """Every revision the referrer sent, even one overtaken by a newer: the chronology lists each."""
        mine = (notification_revisions.c.referral_id == n.referral_id) & (notification_revisions.c.revision == n.revision)
        if s.execute(select(notification_revisions.c.revision).where(mine)).first() is None:
            s.execute(
                insert(notification_revisions).values(
                    referral_id=n.referral_id, revision=n.revision, notification=n.model_dump_json()
                )
            )

    def _audit_opened(self, s: Session, n: Notification) -> None:
        self.audit.append(
            s,
            "decrypted",
            referral_id=n.referral_id,
            reason="notification opened for assembly",
            subjects=subject_tokens(self.firewall.pepper, n.subjects),
            detail={"rag": n.rag.value, "revision": n.revision},
        )

    def _store_contribution(self, s: Session, c: Contribution, original: bytes | None, topic: str | None) -> bool:
        """Keep every distinct answer; False when this one is already kept."""
        body = c.model_dump_json()
        digest = hashlib.sha256(body.encode()).hexdigest()
        mine = (contributions.c.referral_id == c.referral_id) & (contributions.c.agency == c.agency.value)
        if s.execute(select(contributions.c.id).where(mine & (contributions.c.digest == digest))).first() is not None:
            return False
        known = s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == c.referral_id)).first() is not None
        s.execute(
            insert(contributions).values(
                referral_id=c.referral_id,
                agency=c.agency.value,
                revision=c.notification_revision,
                digest=digest,
                contribution=body,
                received_at=self.now(),
                source_topic=topic,
                original=None if known else original,
            )
        )
        self.audit.append(
            s,
            "decrypted",
            referral_id=c.referral_id,
            reason=f"{c.agency.value} contribution opened",
            detail={
                "agency": c.agency.value,
                "status": c.status.value,
                "items": len(c.items),
                "revision": c.notification_revision,
                **({} if known else {"held": "referral not yet received"}),
            },
        )
        return True

    def _regrade(self, s: Session, r: rules.Referral | None, answers: Answers) -> tuple[bool, rules.Referral | None]:
        """(whether an alert was queued, the referral as it now stands)."""
        if r is None or r.state != AWAITING:
            return False, r
        change = self.model.regrade(r.rag, answers.newest)
        if change is None:
            return False, r
        new, reason = change
        referral_id = r.referral_id
        returns_due = min(r.returns_due, self.clock.returns_due(r.received_at, new))
        s.execute(
            update(referrals).where(referrals.c.referral_id == referral_id).values(rag=new.value, returns_due_at=returns_due)
        )
        s.execute(
            insert(rag_changes).values(
                referral_id=referral_id, at=self.now(), from_rag=r.rag.value, to_rag=new.value, reason=rules.short(reason)
            )
        )
        alerted = self._raise(
            s, referral_id, Alerted(AlertKind.REGRADED, f"{r.rag.value} to {new.value}: {reason}"), r.revision, rag=new
        )
        return alerted, replace(r, rag=new, returns_due=returns_due)

    # -- the state machine ------------------------------------------------------------------------------

    def _answers(self, s: Session, referral_id: str) -> Answers:
        rows = s.execute(
            select(contributions.c.contribution).where(contributions.c.referral_id == referral_id).order_by(contributions.c.id)
        ).scalars()
        return Answers.from_arrivals(Contribution.model_validate_json(c) for c in rows)

    def _advance(
        self, s: Session, referral_id: str, due: bool = False, answers: Answers | None = None, r: rules.Referral | None = None
    ) -> bool:
        r = r or self._referral(s, referral_id)
        if r is None or r.state != AWAITING:
            return False
        answers = answers if answers is not None else self._answers(s, referral_id)
        answers = grounds.awaited(s, r, answers)  # on recorded s47 grounds: their answers
        if rules.waiting(r, answers, self.expected, due):
            return False  # most answers arrive to find others still awaited: the notification is not read for them
        notification = self._notification(s, referral_id)
        done = rules.assess(r, answers, notification, self.expected, self.model, self.now(), due=due)
        if done is None:
            return False
        for alert in done.alerts:
            self._raise(s, referral_id, alert, r.revision)
        if done.route_now:
            self._route(s, r, notification, answers, done.no_answer, done.recommendation, decided_by="model (auto-confirmed)")
            return True
        s.execute(
            insert(recommendations).values(
                referral_id=referral_id,
                recommendation=_recommendation_json(done.recommendation)
                | {"conflicts": sorted(a.value for a in answers.conflicts), "revision": r.revision},
                no_answer=sorted(a.value for a in done.no_answer),
                recommended_at=self.now(),
            )
        )
        s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(state=RECOMMENDED))
        return True

    def _route(
        self,
        s: Session,
        r: rules.Referral,
        notification: Notification,
        answers: Answers,
        missing,
        rec: Recommendation,
        decided_by: str,
        override: tuple[Recommendation, str] | None = None,
    ) -> Decision:
        history = [
            RagChange(at=as_utc(c.at), from_rag=RagRating(c.from_rag), to_rag=RagRating(c.to_rag), reason=c.reason)
            for c in s.execute(select(rag_changes).where(rag_changes.c.referral_id == r.referral_id).order_by(rag_changes.c.id))
        ]
        received = answers.newest
        statuses = {**{a: c.status for a, c in received.items()}, **{a: ContributionStatus.NO_ANSWER for a in missing}}
        final, rationale = override if override else (rec, None)
        decision = decision_for(
            notification,
            statuses,
            final,
            self.model.version,
            self.now(),
            decided_by=decided_by,
            rag=r.rag,
            recommended=rec if override else None,
            rationale=rationale,
            no_answer=sorted(missing),
            history=history,
            due_by=r.decision_due,
            conflicts=sorted(answers.conflicts),
            grounds_id=grounds.pending(s, r.referral_id, r.revision),
            returns=[
                DeskReturn(agency=a, status=c.status, due_by=c.due_by, researched_at=c.researched_at)
                for a, c in sorted(received.items())
            ],
        )
        s.execute(
            insert(decisions).values(
                referral_id=r.referral_id,
                revision=notification.revision,
                grounds_id=str(decision.grounds_id or ""),
                decision=decision.model_dump_json(),
                level=decision.level.value,
                decided_at=decision.decided_at,
            )
        )
        s.execute(update(referrals).where(referrals.c.referral_id == r.referral_id).values(state=ROUTED))
        enqueue(s, self.firewall, DECISIONS.name, r.referral_id, decision, str(decision.message_id))
        subjects = subject_tokens(self.firewall.pepper, notification.subjects)
        self.audit.append(
            s,
            "overridden" if override else "decided",
            referral_id=r.referral_id,
            actor=decided_by,
            subjects=subjects,
            reason=f"level {decision.level.value}, {decision.outcome.value}"
            + (f"; overrode level {rec.level.value}" if override else ""),
            detail={
                "level": decision.level.value,
                "rag": decision.rag.value,
                "model": decision.model_version,
                "revision": notification.revision,
            },
        )
        referrer = notification.referrer_system
        if referrer is None:  # accepted before referrers had identities of their own: no topic to answer on
            self.audit.append(s, "unanswered", referral_id=r.referral_id, reason="no referrer system on the notification")
        else:
            for reference in notification.linked_submission_ids or [notification.submission_id]:
                notice = outcome_notice(notification, decision, reference)  # a linked duplicate's reference is answered too
                enqueue(s, self.firewall, OUTCOMES.for_referrer(referrer), reference, notice, str(notice.message_id))
        for product in products_for(notification, received, decision):
            enqueue(s, self.firewall, products_topic(product.recipient), r.referral_id, product, str(product.message_id))
            self.audit.append(
                s,
                "routed",
                referral_id=r.referral_id,
                subjects=subjects,
                reason=f"information product to {product.recipient.value}",
                detail={"recipient": product.recipient.value, "message_id": str(product.message_id)},
            )
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
            queued |= self._sweep_step(self._deadline_work(referral_id, now), referral_id)
        for held_id in queries.held_too_long(self.db, now - self.hold):
            queued |= self._sweep_step(self._held_work(held_id), None)
        return queued

    def _deadline_work(self, referral_id: str, now: datetime) -> Callable[[Session], bool]:
        return lambda s: self._sweep_one(s, referral_id, now)

    def _held_work(self, held_id: int) -> Callable[[Session], bool]:
        return lambda s: self._give_up_held(s, held_id)

    def _sweep_step(self, work: Callable[[Session], bool], referral_id: str | None) -> bool:
        try:
            return self._step(work)
        except TransientError:
            return False  # another instance is on it
        except Exception:  # one referral that cannot be decided must not hold up every other deadline
            log.exception("deadline step failed; it is tried again at the next sweep", extra={"referral_id": referral_id})
            return False

    def _needing_attention(self, now: datetime) -> list[str]:
        wanted = []
        open_, raised = queries.open_deadlines(self.db)
        for referral_id, state, returns_due, decision_due in open_:
            decide, due = rules.deadline_work(state, returns_due, decision_due, now, self.clock)
            if decide or any((referral_id, kind.value) not in raised for kind, _ in due):
                wanted.append(referral_id)
        return wanted

    def _sweep_one(self, s: Session, referral_id: str, now: datetime) -> bool:
        r = self._referral(s, referral_id)
        if r is None or r.state == ROUTED:
            return False
        decide, due = rules.deadline_work(r.state, r.returns_due, r.decision_due, now, self.clock)
        if decide:
            return self._advance(s, referral_id, due=True)
        queued = False
        for kind, deadline in due:
            queued |= self._raise(s, referral_id, Alerted(kind, self._alert_detail(s, kind, referral_id), deadline), r.revision)
        return queued

    def _give_up_held(self, s: Session, held_id: int) -> bool:
        """A contribution whose referral never arrived: set aside for operations with its sealed original, and an
        alert, rather than kept for ever or dropped."""
        row = s.execute(select(contributions).where(contributions.c.id == held_id)).first()
        if row is None or s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == row.referral_id)).first():
            return False
        original = (
            row.original
            if row.original is not None
            else self.firewall.seal_for(OPERATIONS, row.referral_id, row.contribution.encode(), "DeadLetterOriginal")
        )
        letter = DeadLetter(
            dead_letter_id=uuid.uuid5(uuid.NAMESPACE_URL, f"held-contribution:{row.referral_id}:{row.agency}:{row.digest}"),
            service="decision",
            source_topic=row.source_topic or "unknown",
            source_partition=-1,
            source_offset=-1,
            source_key_b64=base64.b64encode(row.referral_id.encode()).decode(),
            original_b64=base64.b64encode(original).decode(),
            original_sealed_for=None if row.original is not None else OPERATIONS,
            error_type="ContributionWithoutReferral",
            error=f"{row.agency} contribution for {row.referral_id} held {self.hold} and no notification arrived",
            attempts=1,
            failed_at=self.now(),
        )
        s.execute(delete(contributions).where(contributions.c.id == held_id))
        enqueue(s, self.firewall, DEAD_LETTERS.name, row.referral_id, letter, str(letter.dead_letter_id))
        self.audit.append(
            s,
            "dead_lettered",
            referral_id=row.referral_id,
            reason="contribution held past its limit without a referral",
            detail={"agency": row.agency, "dead_letter_id": str(letter.dead_letter_id)},
        )
        self._raise(
            s,
            row.referral_id,
            Alerted(
                AlertKind.CONTRIBUTION_WITHOUT_REFERRAL, f"{row.agency} answered a referral the hub never received; dead-lettered"
            ),
            row.revision,
        )
        return True

    def _alert_detail(self, s: Session, kind: AlertKind, referral_id: str) -> str:
        if kind is AlertKind.RETURNS_DUE_SOON:
            return (
                f"waiting for {', '.join(sorted(a.value for a in self.expected - self._answers(s, referral_id).newest.keys()))}"
            )
        if kind is AlertKind.DECISION_OVERDUE:
            return "the one-working-day decision deadline has passed"
        return "decision due within the alert window"

    def _raise(self, s: Session, referral_id: str, alert: Alerted, revision: int, rag: RagRating | None = None) -> bool:
        """Raise an alert once per kind and revision of a referral; True when it was queued."""
        key = (alerts.c.referral_id == referral_id) & (alerts.c.kind == alert.kind.value) & (alerts.c.revision == revision)
        if s.execute(select(alerts.c.kind).where(key)).first():
            return False
        now = self.now()
        s.execute(insert(alerts).values(referral_id=referral_id, kind=alert.kind.value, revision=revision, raised_at=now))
        if rag is None:
            current = s.execute(select(referrals.c.rag).where(referrals.c.referral_id == referral_id)).scalar()
            rag = RagRating(current) if current else RagRating.AMBER  # no referral yet: not routine until someone looks
        ids = (referral_id, alert.kind.value) if revision == 1 else (referral_id, alert.kind.value, str(revision))
        message = Alert(
            message_id=derived_id("alert", *ids),
            referral_id=referral_id,
            kind=alert.kind,
            rag=rag,
            deadline=alert.deadline,
            detail=rules.short(alert.detail),
            raised_at=now,
        )
        enqueue(s, self.firewall, ALERTS.name, referral_id, message, str(message.message_id))
        return True

    # -- what operations and the manager read -----------------------------------------------------------

    def decision_count(self) -> int:
        return queries.decision_count(self.db)

    def snapshot(self) -> dict:
        """Counts for metrics and `mash status`: no personal data. Grouped counts, however long the backlog."""
        return queries.snapshot(self.db, self.expected, self.now())

    def state_of(self, referral_id: str) -> str | None:
        return queries.state_of(self.db, referral_id)

    def contributions_of(self, referral_id: str) -> list[Contribution]:
        """Every answer the desks sent for a referral, in arrival order (conflicting ones included)."""
        return queries.contributions_of(self.db, referral_id)

    def pending(self) -> list[dict]:
        return grounds.with_declines(self.db, queries.pending(self.db))

    def record_grounds(self, referral_id: str, recorded_by: str, kind: GroundsKind, rationale: str) -> dict:
        """s47 grounds or a strategy discussion's decision, recorded by a manager: see grounds.py."""
        return grounds.record(self, referral_id, recorded_by, kind, rationale)

    # -- the MASH manager -------------------------------------------------------------------------------

    def confirm(self, referral_id: str, manager: str, role: str = "manager") -> Decision:
        return self._manager_decides(referral_id, rules.manager_name(manager, "a confirmation"), None, role)

    def override(
        self,
        referral_id: str,
        manager: str,
        level: ThresholdLevel,
        outcome: Outcome,
        recipients: Sequence[Agency],
        rationale: str,
        role: str = "manager",
    ) -> Decision:
        rationale = rules.recorded_rationale(rationale, "an override")
        return self._manager_decides(
            referral_id, rules.manager_name(manager, "an override"), (level, outcome, tuple(recipients), rationale), role
        )

    def _manager_decides(self, referral_id: str, manager: str, change, role: str = "manager") -> Decision:
        if role not in DECIDERS:
            raise ValueError(f"role must be one of {', '.join(DECIDERS)}")
        with self.db.transaction() as s:
            r = self._referral(s, referral_id)
            if r is None:
                raise NotPending(f"{referral_id} is not known to the decision service")
            if r.state == ROUTED:
                raise NotPending(f"{referral_id} was already decided and routed: products are not sent twice")
            if r.state != RECOMMENDED:
                raise NotPending(f"{referral_id} is still awaiting contributions; there is no recommendation yet")
            pending = s.execute(select(recommendations).where(recommendations.c.referral_id == referral_id)).first()
            if pending is None:  # a recommended referral keeps its recommendation until it is routed or revised
                raise NotPending(f"{referral_id} has no recommendation to confirm")
            rec = _recommendation_from(pending.recommendation)
            if role == "practice_consultant" and rec.route is not AdultRoute.ALLOCATED_TEAM:
                raise NotTheirs(
                    f"{referral_id} is not routed to an allocated team: a MASH manager decides it, not a practice consultant"
                )
            missing = frozenset(Agency(a) for a in pending.no_answer)
            override = None
            if change:
                level, outcome, recipients, rationale = change
                adult = rec.route is not None  # an adult at risk: the Care Act's outcomes, names and recipients
                override = (
                    Recommendation(
                        level,
                        self.model.adults.outcomes[outcome][1]
                        if adult and outcome in self.model.adults.outcomes
                        else self.model.level_name(level),
                        outcome,
                        recipients or (self.model.adults.recipients if adult else self.model.levels[level].recipients),
                        rec.factors,
                        rec.score,
                        rec.route,
                        rec.route_detail,
                    ),
                    rationale,
                )
            return self._route(
                s,
                r,
                self._notification(s, referral_id),
                self._answers(s, referral_id),
                missing,
                rec,
                decided_by=f"{DECIDERS[role]} {manager}",
                override=override,
            )


def _recommendation_json(rec: Recommendation) -> dict:
    return {
        "level": rec.level.value,
        "level_name": rec.level_name,
        "outcome": rec.outcome.value,
        "recipients": [a.value for a in rec.recipients],
        "score": rec.score,
        "factors": [f.model_dump(mode="json") for f in rec.factors],
        "route": rec.route.value if rec.route else None,
        "route_detail": rec.route_detail,
    }


def _recommendation_from(raw: dict) -> Recommendation:
    return Recommendation(
        ThresholdLevel(raw["level"]),
        raw["level_name"],
        Outcome(raw["outcome"]),
        tuple(Agency(a) for a in raw["recipients"]),
        tuple(Factor(**f) for f in raw["factors"]),
        raw["score"],
        AdultRoute(raw["route"]) if raw.get("route") else None,  # kept before adults had routes: none
        raw.get("route_detail"),
    )
