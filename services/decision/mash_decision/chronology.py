"""A referral's multi-agency chronology, as a MASH practitioner would otherwise build it by hand: what the hub was
told and shared, in date order (date, source agency, event, outcome), with the reference to follow each entry up.

Pure: the referral's notifications (every revision), every answer the desks sent, its decisions and recorded
grounds in; entries out. `queries.chronology_facts` reads them from the store.

- The latest answer per agency per revision counts, as in assembly (an answer on recorded grounds ranks after a
  plain one); an item shared again for a later revision is listed once.
- An item without a date is listed at the end as undated, never dropped; a signal-only item is listed as
  "information held, contact the desk".
- One child's chronology (`subject`) is the entries naming that subject plus the household-wide ones (naming none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from mash_contracts import Agency, Contribution, ContributionStatus, Decision, Notification, Outcome
from mash_contracts.vocabulary import agency_name

from .rules import in_rank_order

# Practitioners read dates as they happened in England, not in UTC.
LOCAL = ZoneInfo("Europe/London")
HUB = "mash"  # the hub's own acts: decisions, overrides, grounds

OUTCOME_NAMES = {Outcome.CIN_ASSESSMENT: "CIN assessment"}
CHECKS = {  # a desk's answer with nothing to list: still part of the record of who was asked and what they said
    ContributionStatus.NOTHING_RELEVANT: "records held, none relevant to share",
    ContributionStatus.NO_RECORDS_FOUND: "no records found",
    ContributionStatus.DECLINED: "declined to research",
    ContributionStatus.NOT_RESEARCHED: "not researched",
}


class UnknownSubject(ValueError):
    """A subject_ref the referral never named."""

    def __init__(self, subject: str, known: Sequence[str]):
        super().__init__(f"the referral names no subject {subject!r}; its subjects are {', '.join(known)}")
        self.known = list(known)


@dataclass(frozen=True)
class GroundsRecord:
    """s47 grounds a manager recorded (grounds.py), as the chronology lists them."""

    grounds_id: str
    kind: str
    recorded_by: str
    recorded_at: datetime
    revision: int


@dataclass(frozen=True)
class Entry:
    on: date | None  # None: undated
    at: time | None  # the local time, where known
    source: str  # the agency, the referrer's organisation type, or "mash" for the hub's own acts
    event: str
    outcome: str | None = None
    subject_refs: tuple[str, ...] = ()  # empty: household-wide
    reference: str | None = None  # the owning agency's record, the referral, decision or grounds id
    disclosure_id: str | None = None  # the desk's disclosure record for the answer that shared it
    detail: str | None = None
    revision: int | None = None

    def as_json(self) -> dict:
        return {
            "date": self.on.isoformat() if self.on else None,
            "time": self.at.strftime("%H:%M") if self.at else None,
            "undated": self.on is None,
            "source": self.source,
            "event": self.event,
            "outcome": self.outcome,
            "subject_refs": list(self.subject_refs),
            "reference": self.reference,
            "disclosure_id": self.disclosure_id,
            "detail": self.detail,
            "revision": self.revision,
        }


@dataclass(frozen=True)
class Chronology:
    referral_id: str
    subjects: list[dict]  # every subject any revision named: ref, role, name, date of birth
    entries: list[Entry] = field(default_factory=list)
    subject: str | None = None

    def as_json(self) -> dict:
        return {
            "referral_id": self.referral_id,
            "subject": self.subject,
            "subjects": self.subjects,
            "entries": [e.as_json() for e in self.entries],
        }


def chronology(
    notifications: Sequence[Notification],
    contributions: Sequence[Contribution],
    decisions: Sequence[Decision],
    grounds: Sequence[GroundsRecord] = (),
    subject: str | None = None,
) -> Chronology:
    """The referral's entries in date order, undated last. `contributions` in arrival order; `subject` one subject_ref."""
    notifications = sorted(notifications, key=lambda n: n.revision)
    referral_id = notifications[-1].referral_id
    subjects = _subjects(notifications)
    if subject is not None and subject not in {s["subject_ref"] for s in subjects}:
        raise UnknownSubject(subject, [s["subject_ref"] for s in subjects])
    entries = [
        *_referrals(notifications),
        *_shared(_latest_answers(contributions)),
        *_grounds(grounds),
        *(e for d in sorted(decisions, key=lambda d: (d.decided_at, d.revision)) for e in _decided(d)),
    ]
    if subject is not None:
        entries = [e for e in entries if not e.subject_refs or subject in e.subject_refs]
    return Chronology(referral_id, subjects, _in_order(entries), subject)


def _in_order(entries: list[Entry]) -> list[Entry]:
    # A date without a time sorts first on its day; ties keep the order they were assembled in (an override
    # before the decision it made).
    dated = sorted((e for e in entries if e.on), key=lambda e: (e.on, e.at or time.min))
    return dated + [e for e in entries if e.on is None]


def _local(at: datetime) -> tuple[date, time]:
    # Kept to the microsecond so two acts in one minute (grounds recorded just after a decision) sort as they
    # happened; shown to the minute.
    here = at.astimezone(LOCAL)
    return here.date(), here.time()


def _words(value: str) -> str:
    return value.replace("_", " ")


def outcome_name(outcome: Outcome) -> str:
    return OUTCOME_NAMES.get(outcome, _words(outcome.value).capitalize())


def _subjects(notifications: Sequence[Notification]) -> list[dict]:
    found: dict[str, dict] = {}
    for n in notifications:  # the newest revision's particulars win
        for s in n.subjects:
            born = s.date_of_birth or s.expected_date_of_birth
            found[s.subject_ref] = {
                "subject_ref": s.subject_ref,
                "role": s.role.value,
                "name": " ".join(p for p in (s.given_name, s.family_name) if p),
                "date_of_birth": born.isoformat() if born else None,
                "expected": s.date_of_birth is None and s.expected_date_of_birth is not None,
            }
    return list(found.values())


def _referrals(notifications: Sequence[Notification]) -> Iterable[Entry]:
    seen_incidents = set()
    for n in notifications:
        source = n.referrer.agency.value if n.referrer.agency else n.referrer.kind.value
        refs = tuple(s.subject_ref for s in n.subjects)
        concern = ", ".join(_words(c.value) for c in n.concern.categories)
        if n.concern.occurred_at and (n.concern.occurred_at, concern) not in seen_incidents:
            seen_incidents.add((n.concern.occurred_at, concern))
            yield Entry(
                *_local(n.concern.occurred_at),
                source,
                f"Incident reported by the referrer: {concern}",
                subject_refs=refs,
                reference=n.referral_id,
                revision=n.revision,
            )
        if n.revision == 1:
            event = f"Referral received: {concern} ({n.rag.value.capitalize()})"
        else:
            changed = ", ".join(_words(c) for c in n.changes) or "resubmitted"
            event = f"Referral updated (revision {n.revision}; {changed}): {concern} ({n.rag.value.capitalize()})"
        yield Entry(
            *_local(n.received_at),
            source,
            event,
            subject_refs=refs,
            reference=n.referral_id,
            detail=f"referrer's reference {n.submission_id}",
            revision=n.revision,
        )


def _latest_answers(contributions: Sequence[Contribution]) -> list[Contribution]:
    """The latest answer per agency per revision, as assembly counts them: an answer on recorded grounds ranks after
    a plain one for the same revision, whichever arrived first."""
    latest = {(c.agency, c.notification_revision): c for c in in_rank_order(contributions)}
    return sorted(latest.values(), key=lambda c: (c.notification_revision, c.grounds_id is not None, c.agency.value))


def _shared(answers: Sequence[Contribution]) -> Iterable[Entry]:
    items_seen, checks_seen = set(), set()
    for c in answers:
        disclosure = str(c.disclosure_id) if c.disclosure_id else None
        if not c.items and c.status in CHECKS:
            if (c.agency, c.status) not in checks_seen:  # the same "nothing found" for each revision is one entry
                checks_seen.add((c.agency, c.status))
                yield Entry(
                    *_local(c.researched_at),
                    c.agency.value,
                    f"{agency_name(c.agency)}: {CHECKS[c.status]}",
                    reference=disclosure,
                    disclosure_id=disclosure,
                    detail=c.rationale,
                    revision=c.notification_revision,
                )
            continue
        # Desks list their records newest first: taken in reverse, items of the same day keep their own order.
        for item in reversed(c.items):
            key = (c.agency, item.record_class, item.record_ref, item.occurred_on, item.summary, tuple(item.subject_refs))
            if key in items_seen:
                continue
            items_seen.add(key)
            yield Entry(
                item.occurred_on,
                None,
                c.agency.value,
                _item_event(c.agency, item),
                subject_refs=tuple(item.subject_refs),
                reference=item.record_ref or disclosure,
                disclosure_id=disclosure,
                detail=item.summary,
                revision=c.notification_revision,
            )


def _item_event(agency: Agency, item) -> str:
    if item.signal_only:
        return f"{agency_name(agency)}: information held, contact the desk ({_words(item.record_class)})"
    if item.record_class == "earlier_referral":
        return f"Earlier referral {item.record_ref}"
    if item.record_class == "sibling_referral":
        return f"Earlier referral of a sibling {item.record_ref}"
    return f"{agency_name(agency)}: {_words(item.record_class)}"


def _grounds(grounds: Sequence[GroundsRecord]) -> Iterable[Entry]:
    for g in grounds:
        event = "s47 grounds recorded" if g.kind == "s47" else "Strategy discussion decision recorded (s47 enquiries)"
        yield Entry(
            *_local(g.recorded_at),
            HUB,
            event,
            outcome="the desks research again on an s47 footing",
            reference=g.grounds_id,
            detail=f"recorded by {g.recorded_by}",
            revision=g.revision,
        )


def _decided(d: Decision) -> Iterable[Entry]:
    on, at = _local(d.decided_at)
    level = f"Level {d.level.value}" + (f" {d.level_name}" if d.level_name else "")
    reference = f"{d.referral_id} revision {d.revision}" + (f" on grounds {d.grounds_id}" if d.grounds_id else "")
    if d.recommended_level is not None:
        yield Entry(
            on,
            at,
            HUB,
            f"Manager override: the model's Level {d.recommended_level.value} changed to Level {d.level.value}",
            outcome=outcome_name(d.outcome),
            reference=reference,
            detail=f"{d.decided_by}: {d.override_rationale or ''}".strip(),
            revision=d.revision,
        )
    routed = ", ".join(a.value for a in d.recipients) or "nobody"
    yield Entry(
        on,
        at,
        HUB,
        f"Decision: {level}, {outcome_name(d.outcome)}, routed to {routed}",
        outcome=outcome_name(d.outcome),
        reference=reference,
        detail=f"decided by {d.decided_by}",
        revision=d.revision,
    )
