"""The decision, each recipient's view of the picture, and the referrer's outcome notice: pure functions.

Each recipient gets only what it needs to act (the Caldicott minimum): children's and adult social care
assess, so they get the whole picture; early help gets a summary and no agency records; police and
health get what their own desk shared plus what bears on a crime or on health respectively.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mash_contracts import (
    AdultRoute,
    Agency,
    Contribution,
    ContributionStatus,
    Decision,
    DeskReturn,
    InformationProduct,
    Notification,
    OutcomeNotice,
    RagChange,
    RagRating,
    derived_id,
)
from mash_contracts.threshold import Recommendation

FULL = "full picture"
SUMMARY = "summary"
# Recipient -> the agencies whose shared items it sees (FULL: all; SUMMARY: none).
VIEWS: dict[Agency, str | set[Agency]] = {
    Agency.CHILDRENS_SOCIAL_CARE: FULL,
    Agency.ADULT_SOCIAL_CARE: FULL,
    Agency.EARLY_HELP: SUMMARY,
    Agency.POLICE: {Agency.POLICE},
    Agency.HEALTH: {Agency.HEALTH},
}
# Record classes that bear on a crime: the police view includes them whichever desk shared them.
CRIME_RELEVANT = {"domestic_abuse_incident", "other_incident", "missing_person_report", "arrest", "offence", "bail_conditions"}


def decision_for(
    notification: Notification,
    answers: dict[Agency, ContributionStatus],
    rec: Recommendation,
    model_version: str,
    now: datetime,
    *,
    decided_by: str,
    rag: RagRating,
    recommended: Recommendation | None = None,
    rationale: str | None = None,
    no_answer: Sequence[Agency] = (),
    history: Sequence[RagChange] = (),
    due_by: datetime | None = None,
    conflicts: Sequence[Agency] = (),
    grounds_id: str | None = None,
    returns: Sequence[DeskReturn] = (),
) -> Decision:
    return Decision(
        message_id=_revision_id("decision", notification, *_on_grounds(grounds_id)),
        referral_id=notification.referral_id,
        level=rec.level,
        level_name=rec.level_name,
        outcome=rec.outcome,
        rag=rag,
        recipients=list(rec.recipients),
        model_version=model_version,
        explanation=list(rec.factors),
        score=rec.score,
        contributions=dict(answers),
        decided_by=decided_by,
        decided_at=now,
        recommended_level=recommended.level if recommended else None,
        override_rationale=rationale,
        no_answer=list(no_answer),
        rag_history=list(history),
        decision_due_by=due_by,
        revision=notification.revision,
        conflicts=list(conflicts),
        grounds_id=grounds_id,
        linked_submission_ids=list(notification.linked_submission_ids),
        returns=list(returns),
        route=rec.route,
        route_detail=rec.route_detail,
        related_referral_id=notification.related_referral_id,
    )


def _on_grounds(grounds_id) -> tuple[str, ...]:
    # A revision re-decided on recorded s47 grounds is a new decision, with products and a notice of its own.
    return ("grounds", str(grounds_id)) if grounds_id else ()


def _revision_id(kind: str, notification: Notification, *parts: str):
    """Each revision of a referral is decided once: its decision, products and notice have ids of their own."""
    extra = (str(notification.revision),) if notification.revision > 1 else ()
    return derived_id(kind, notification.referral_id, *parts, *extra)


def _summary(decision: Decision) -> str:
    name = decision.level_name or decision.level.name.replace("_", " ").lower()
    gaps = f" No answer from: {', '.join(a.value for a in decision.no_answer)}." if decision.no_answer else ""
    route = ""
    if decision.route is AdultRoute.ALLOCATED_TEAM:
        route = f" For the allocated team's Safeguarding Adults Practice Consultant: {decision.route_detail}."
    elif decision.route is AdultRoute.MASH:
        route = " No allocated worker: decided through the MASH."
    related = f" The household's other referral: {decision.related_referral_id}." if decision.related_referral_id else ""
    return (
        f"Level {decision.level.value} ({name}): {decision.outcome.value.replace('_', ' ')}. RAG {decision.rag.value}. "
        f"Contributions: {', '.join(f'{a.value} {s.value}' for a, s in sorted(decision.contributions.items()))}.{gaps}"
        f"{route}{related}"
    )


def _view_name(recipient: Agency) -> str:
    view = VIEWS.get(recipient, SUMMARY)
    return view if isinstance(view, str) else "own and relevant records"


def _items_for(recipient: Agency, contributions: dict[Agency, Contribution]) -> dict:
    view = VIEWS.get(recipient, SUMMARY)
    if view == FULL:
        return {a: c.items for a, c in contributions.items() if c.items}
    if view == SUMMARY:
        return {}
    out = {}
    for a, c in contributions.items():
        items = [i for i in c.items if a in view or (recipient is Agency.POLICE and i.record_class in CRIME_RELEVANT)]
        if items:
            out[a] = items
    return out


def products_for(
    notification: Notification, contributions: dict[Agency, Contribution], decision: Decision
) -> list[InformationProduct]:
    summary = _summary(decision)
    return [
        InformationProduct(
            message_id=_revision_id("product", notification, recipient.value, *_on_grounds(decision.grounds_id)),
            referral_id=notification.referral_id,
            recipient=recipient,
            level=decision.level,
            outcome=decision.outcome,
            rag=decision.rag,
            summary=f"{summary} View: {_view_name(recipient)}.",
            subjects=notification.subjects,
            concern=notification.concern,
            shared_items=_items_for(recipient, contributions),
            explanation=decision.explanation,
            decided_at=decision.decided_at,
            revision=decision.revision,
            level_name=decision.level_name,
            route=decision.route,
            route_detail=decision.route_detail,
            related_referral_id=decision.related_referral_id,
        )
        for recipient in decision.recipients
    ]


def outcome_notice(notification: Notification, decision: Decision, submission_id: str | None = None) -> OutcomeNotice:
    """No levels, findings or agency records: the referrer learns that the hub acted and who leads. A referral
    submitted under several references (a duplicate linked to it) sends a notice under each (`submission_id`),
    each naming them all."""
    to = submission_id or notification.submission_id
    references = notification.linked_submission_ids or [notification.submission_id]
    yours = (
        f"notification {references[0]}"
        if len(references) == 1
        else f"notifications {', '.join(references[:-1])} and {references[-1]}"
    )
    lead = {
        Agency.CHILDRENS_SOCIAL_CARE: "children's social care",
        Agency.EARLY_HELP: "the early help service",
        Agency.ADULT_SOCIAL_CARE: "adult social care",
        Agency.POLICE: "the police",
        Agency.HEALTH: "health services",
    }
    who = lead.get(decision.recipients[0], "the responsible agency") if decision.recipients else "the responsible agency"
    return OutcomeNotice(
        message_id=_revision_id(
            "outcome-notice",
            notification,
            *_on_grounds(decision.grounds_id),
            *(() if to == notification.submission_id else ("to", to)),
        ),
        submission_id=to,
        referral_id=notification.referral_id,
        decided_at=decision.decided_at,
        revision=decision.revision,
        text=(
            f"The MASH has considered your {yours} (referral {notification.referral_id}) "
            f"and decided the response; {who} will take it forward. Please continue to share any new concerns."
        ),
    )
