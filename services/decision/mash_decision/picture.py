"""A referral's assembled picture, as the MASH manager reads it before deciding: the notification, each desk's
answer with what it shares and on what footing, the declines and uncertain matches, the recommendation waiting with
its full explanation, the decisions made and the deadlines.

Pure: the facts `queries.picture_facts` reads in, JSON out. Nothing is summarised away: a desk that sent two
differing answers shows both, a desk not yet heard from is named, a possible match the desk would not share as
certain is marked uncertain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mash_contracts import Agency, Contribution, ContributionStatus, Decision, Notification, RagChange, StatutoryFooting
from mash_contracts.threshold import ThresholdModel

from .chronology import GroundsRecord
from .grounds import declines
from .rules import Answers

DECLINED = (ContributionStatus.DECLINED, ContributionStatus.NOT_RESEARCHED)


@dataclass(frozen=True)
class PictureFacts:
    notification: Notification  # the newest revision
    state: str
    rag: str  # as re-graded since screening
    returns_due_at: datetime
    decision_due_at: datetime
    contributions: list[Contribution]  # every distinct answer, in arrival order
    recommendation: dict | None  # waiting for a manager: the stored recommendation with no_answer and recommended_at
    decisions: list[Decision]
    grounds: list[GroundsRecord]
    rag_changes: list[RagChange]


def assembled(facts: PictureFacts, expected: Iterable[Agency], model: ThresholdModel) -> dict:
    n = facts.notification
    answers = Answers.from_arrivals(facts.contributions)
    grounds = [_grounds(g) for g in facts.grounds]
    recommendation = None
    if facts.recommendation is not None:
        recommendation = {**facts.recommendation, "declines": declines(answers.newest), "grounds": grounds}
    return {
        "referral_id": n.referral_id,
        "state": facts.state,
        "revision": n.revision,
        "rag": facts.rag,
        "received_at": n.received_at.isoformat(),
        "returns_due_at": facts.returns_due_at.isoformat(),
        "decision_due_at": facts.decision_due_at.isoformat(),
        "notification": _notification(n),
        "rag_changes": [c.model_dump(mode="json") for c in facts.rag_changes],
        "desks": [
            _desk(c, agency in answers.conflicts, _differing(facts.contributions, c))
            for agency, c in sorted(answers.newest.items())
        ],
        "awaiting": sorted(a.value for a in set(expected) - answers.newest.keys()),
        "recommendation": recommendation,
        "decisions": [d.model_dump(mode="json") for d in sorted(facts.decisions, key=lambda d: (d.decided_at, d.revision))],
        "grounds": grounds,
        # What a manager may override to: the levels of the model this service decides with (for an adult at risk,
        # the Care Act's outcomes, each at its level).
        "model_version": model.version,
        "levels": _adult_levels(model) if n.statutory_footing is StatutoryFooting.CARE_ACT_S42 else _levels(model),
    }


def _levels(model: ThresholdModel) -> list[dict]:
    return [
        {"level": lv.value, "name": level.name, "outcome": level.outcome.value, "recipients": [a.value for a in level.recipients]}
        for lv, level in sorted(model.levels.items())
    ]


def _adult_levels(model: ThresholdModel) -> list[dict]:
    # Two outcomes may share a level (advice, or no further action): one choice of level each, the outcome chosen apart.
    by_level: dict[int, list] = {}
    for outcome, (lv, name) in model.adults.outcomes.items():
        by_level.setdefault(lv.value, []).append((outcome, name))
    return [
        {
            "level": lv,
            "name": " or ".join(name for _, name in chosen),
            "outcome": chosen[0][0].value,
            "recipients": [a.value for a in model.adults.recipients],
        }
        for lv, chosen in sorted(by_level.items())
    ]


def _notification(n: Notification) -> dict:
    return {
        "submission_id": n.submission_id,
        "submitted_at": n.submitted_at.isoformat(),
        "screened_rag": n.rag.value,
        "statutory_footing": n.statutory_footing.value,
        "changes": list(n.changes),
        "linked_submission_ids": list(n.linked_submission_ids),
        "strand": n.strand,
        "related_referral_id": n.related_referral_id,
        # What the referrer knows of an adult at risk: the s42 test's parts and what the adult wants to happen.
        "adult_at_risk": n.concern.adult_at_risk.model_dump(mode="json") if n.concern.adult_at_risk else None,
        # Who referred, as a manager weighs it; their contact details stay with intake and the outcome notice.
        "referrer": {
            "kind": n.referrer.kind.value,
            "agency": n.referrer.agency.value if n.referrer.agency else None,
            "identity_protected": n.referrer.identity_protected,
            "anonymous": n.referrer.anonymous,
        },
        "subjects": [
            {
                "subject_ref": s.subject_ref,
                "role": s.role.value,
                "name": " ".join(p for p in (s.given_name, s.family_name) if p),
                "date_of_birth": s.date_of_birth.isoformat() if s.date_of_birth else None,
                "expected_date_of_birth": s.expected_date_of_birth.isoformat() if s.expected_date_of_birth else None,
            }
            for s in n.subjects
        ],
        "concern": {
            "categories": [c.value for c in n.concern.categories],
            "description": n.concern.description,
            "occurred_at": n.concern.occurred_at.isoformat() if n.concern.occurred_at else None,
            "immediate_danger": n.concern.immediate_danger,
            "protective_factors": [p.value for p in n.concern.protective_factors],
        },
        "consent": {"status": n.consent.status.value, "reason": n.consent.reason},
    }


def _desk(c: Contribution, conflict: bool, differing: Sequence[Contribution]) -> dict:
    return {
        **_answer(c),
        "conflict": conflict,
        "differing_answers": [_answer(d) for d in differing],  # the other answers for the same revision, kept
    }


def _answer(c: Contribution) -> dict:
    declined = c.status in DECLINED
    return {
        "agency": c.agency.value,
        "status": c.status.value,
        "notification_revision": c.notification_revision,
        "researched_at": c.researched_at.isoformat(),
        "due_by": c.due_by.isoformat() if c.due_by else None,
        "late_reason": c.late_reason,
        # The contract's account of the desk's lawful basis: the footing and consent it researched on, what it shared
        # and held back (for a decline, why it would not research), under its sharing policy and disclosure record.
        "rationale": c.rationale,
        "policy_version": c.policy_version,
        "disclosure_id": str(c.disclosure_id) if c.disclosure_id else None,
        "grounds_id": str(c.grounds_id) if c.grounds_id else None,
        "declined": declined,
        "decline_reason": c.rationale if declined else None,
        "items": [
            {
                "record_class": i.record_class,
                "record_ref": i.record_ref,
                "subject_refs": list(i.subject_refs),
                "summary": i.summary,
                "occurred_on": i.occurred_on.isoformat() if i.occurred_on else None,
                "relevance": i.relevance,
                "sensitivity": list(i.sensitivity),
                "signal_only": i.signal_only,
                "match_confidence": i.match_confidence,
            }
            for i in c.items
        ],
        "findings": [{"finding": f, "explanation": c.finding_explanations.get(f)} for f in c.findings],
        "uncertain_matches": [
            {
                "subject_ref": u.subject_ref,
                "confidence": u.confidence,
                "matched_fields": list(u.matched_fields),
                "candidates": u.candidates,
                "uncertain": True,
            }
            for u in c.uncertain_matches
        ],
    }


def _differing(arrivals: Sequence[Contribution], newest: Contribution) -> list[Contribution]:
    return [
        c
        for c in arrivals
        if (c.agency, c.notification_revision, c.grounds_id) == (newest.agency, newest.notification_revision, newest.grounds_id)
        and c != newest
    ]


def _grounds(g: GroundsRecord) -> dict:
    return {
        "grounds_id": g.grounds_id,
        "kind": g.kind,
        "recorded_by": g.recorded_by,
        "recorded_at": g.recorded_at.isoformat(),
        "revision": g.revision,
    }
