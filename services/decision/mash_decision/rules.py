"""A referral's state rules as pure functions: what the hub knows about one referral, and the time, in; the
next state and its effects out. No database, no Kafka: `assembly.py` reads the facts, calls these, and writes
what they return in one transaction.

    awaiting contributions -> (every expected desk answered this revision) -> routed, or recommended for a manager
                           -> (the return deadline passed) the same, with the desks that never answered as no answer
    recommended -> (a manager confirms or overrides) -> routed
    any state -> (a later revision, supplementary information) -> awaiting contributions again
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mash_contracts import AdultRoute, Agency, AlertKind, Contribution, Notification, RagRating
from mash_contracts.threshold import Recommendation, ThresholdModel

from .clock import Clock

AWAITING, RECOMMENDED, ROUTED = "awaiting_contributions", "recommended", "routed"
OPEN_STATES = (AWAITING, RECOMMENDED)
RAG_ORDER = (RagRating.BLUE, RagRating.GREEN, RagRating.AMBER, RagRating.RED)


@dataclass(frozen=True)
class Answers:
    """Each desk's newest answer (highest revision answered, then latest to arrive), and the desks that sent
    two different answers for the same revision."""

    newest: dict[Agency, Contribution]
    conflicts: frozenset[Agency] = frozenset()

    @classmethod
    def from_arrivals(cls, arrivals: Iterable[Contribution]) -> Answers:
        """From every distinct answer, in arrival order."""
        newest, seen, conflicts = {}, set(), set()
        for c in in_rank_order(arrivals):
            slot = (c.agency, c.notification_revision, _superseding(c))
            if slot in seen:
                conflicts.add(c.agency)
            seen.add(slot)
            newest[c.agency] = c
        return cls(newest, frozenset(conflicts))

    def fresh(self, research_revision: int) -> frozenset[Agency]:
        """Desks whose newest answer is to the revision they were last asked to research, or a later one."""
        return frozenset(a for a, c in self.newest.items() if c.notification_revision >= research_revision)


def in_rank_order(arrivals: Iterable[Contribution]) -> list[Contribution]:
    """Every distinct answer (given in arrival order), the one that counts last: by revision, and within a revision an
    answer on recorded grounds after a plain one, whichever arrived first (it is the desk's research under the footing
    the manager recorded)."""
    ordered = sorted(enumerate(arrivals), key=lambda ic: (ic[1].notification_revision, _superseding(ic[1]) is not None, ic[0]))
    return [c for _, c in ordered]


def _superseding(c: Contribution) -> str | None:
    # An answer given on newly recorded grounds replaces the desk's earlier answer to the same revision rather
    # than conflicting with it.
    return str(c.grounds_id) if c.grounds_id else None


@dataclass(frozen=True)
class Referral:
    """The facts the store holds about one referral."""

    referral_id: str
    state: str
    revision: int
    research_revision: int
    rag: RagRating
    received_at: datetime
    returns_due: datetime
    decision_due: datetime
    decided_before: bool = False


@dataclass(frozen=True)
class Alerted:
    kind: AlertKind
    detail: str
    deadline: datetime | None = None


@dataclass(frozen=True)
class Assessed:
    """The model's recommendation and what to do with it."""

    recommendation: Recommendation
    no_answer: frozenset[Agency]
    route_now: bool  # False: a manager must confirm
    alerts: tuple[Alerted, ...] = ()


def waiting(r: Referral, answers: Answers, expected: frozenset[Agency], due: bool = False) -> bool:
    """Nothing to assess yet: the referral is not awaiting answers, or fresh ones are still due and the deadline has
    not come."""
    return r.state != AWAITING or bool(expected - answers.fresh(r.research_revision) and not due)


def assess(
    r: Referral,
    answers: Answers,
    notification: Notification,
    expected: frozenset[Agency],
    model: ThresholdModel,
    now: datetime,
    due: bool = False,
) -> Assessed | None:
    """None while fresh answers are still awaited and the deadline has not come; else the assessment."""
    if waiting(r, answers, expected, due):
        return None
    # At the deadline an answer to an earlier revision is used rather than none; a desk with no answer at all is
    # recorded as such.
    missing = expected - answers.newest.keys()
    rec = model.recommend(notification, answers.newest, no_answer=missing, today=now.date())
    alerts = []
    if missing:
        alerts.append(
            Alerted(
                AlertKind.RETURNS_OVERDUE,
                f"decided without {', '.join(sorted(a.value for a in missing))}: no answer by the deadline",
                r.returns_due,
            )
        )
    route_now = rec.level in model.auto_confirm_levels and not answers.conflicts and not r.decided_before
    if not route_now:
        who = (
            "the allocated team's Safeguarding Adults Practice Consultant"
            if rec.route is AdultRoute.ALLOCATED_TEAM
            else "a manager"
        )
        why = [f"model recommends level {rec.level.value} {rec.level_name}: {who} must confirm"]
        if answers.conflicts:
            why.append(f"conflicting answers from {', '.join(sorted(a.value for a in answers.conflicts))}")
        if r.decided_before:
            why.append(f"re-assessment of revision {r.revision}")
        alerts.append(Alerted(AlertKind.CONFIRMATION_NEEDED, "; ".join(why), r.decision_due))
    return Assessed(rec, missing, route_now, tuple(alerts))


@dataclass(frozen=True)
class Supplement:
    """A later revision: the columns that change and the alert that says so."""

    changes: dict = field(default_factory=dict)
    rag_raised_from: RagRating | None = None
    alert: Alerted | None = None


def supplement(r: Referral, n: Notification, clock: Clock) -> Supplement | None:
    """Supplementary information from the referrer re-opens the referral at the new revision; None for a
    redelivery or an older revision overtaken by a newer one (the newest stands)."""
    if n.revision <= r.revision:
        return None
    rag = max(r.rag, n.rag, key=RAG_ORDER.index)  # new information can raise the rating, never lower it
    changes: dict = {"notification": n.model_dump_json(), "revision": n.revision, "state": AWAITING, "rag": rag.value}
    if n.needs_research:
        fresh_due = clock.returns_due(n.received_at, rag)
        changes |= {
            "research_revision": n.revision,
            "returns_due_at": min(r.returns_due, fresh_due) if r.state == AWAITING else fresh_due,
        }
    if r.state == ROUTED:  # a new decision is owed to the referrer and the recipients
        changes["decision_due_at"] = clock.decision_due(n.received_at)
    after = {
        ROUTED: "after the decision was routed: the re-assessment needs a manager",
        RECOMMENDED: "while a recommendation waited: it is re-assessed",
    }.get(r.state, "before the decision")
    detail = f"revision {n.revision} ({', '.join(n.changes) or 'nothing the desks research'}) {after}"
    return Supplement(changes, r.rag if rag != r.rag else None, Alerted(AlertKind.REFERRAL_UPDATED, detail))


def deadline_work(
    state: str, returns_due: datetime, decision_due: datetime, now: datetime, clock: Clock
) -> tuple[bool, list[tuple[AlertKind, datetime]]]:
    """(decide now?, the alerts due by now with their deadlines) for an open referral."""
    if state == AWAITING and now >= returns_due:
        return True, []
    due = []
    if state == AWAITING and now >= clock.alert_at(returns_due):
        due.append((AlertKind.RETURNS_DUE_SOON, returns_due))
    if now >= decision_due:
        due.append((AlertKind.DECISION_OVERDUE, decision_due))
    elif now >= clock.alert_at(decision_due):
        due.append((AlertKind.DECISION_DUE_SOON, decision_due))
    return False, due


def short(text: str, limit: int = 120) -> str:
    """A one-line detail for fields with a length limit: cut at a word, with an ellipsis, never mid-word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


MIN_RATIONALE_WORDS = 3
MAX_RATIONALE = 8000  # a rationale travels to the desks as LongText
MAX_MANAGER = 100  # "manager NAME" must fit a decision's decided_by (120)


def recorded_rationale(text: object, act: str) -> str:
    """A manager's rationale as it may be recorded. One word ("concerning") records a feeling, not reasons the
    desks, a court or a family could be shown, so a sentence is asked for."""
    if not isinstance(text, str):
        raise ValueError(f"{act} needs a recorded rationale as text")
    text = text.strip()
    if len(text) < 10 or len(text.split()) < MIN_RATIONALE_WORDS:
        raise ValueError(f"{act} needs a recorded rationale (at least a sentence giving the reasons, not a word)")
    if len(text) > MAX_RATIONALE:
        raise ValueError(f"{act} needs a rationale of at most {MAX_RATIONALE} characters")
    return text


def manager_name(name: object, act: str) -> str:
    """Who is recorded as having acted: a name, never a placeholder made from a missing value."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{act} needs the name of the manager or social worker recording it")
    if len(name.strip()) > MAX_MANAGER:
        raise ValueError(f"{act} needs a manager's name of at most {MAX_MANAGER} characters")
    return name.strip()
