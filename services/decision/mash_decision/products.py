"""Building the decision and each recipient's information product: pure functions."""

from __future__ import annotations

from datetime import datetime

from mash_contracts import Agency, Contribution, Decision, InformationProduct, Notification, derived_id

from .threshold import MODEL_VERSION, Recommendation


def decision_for(
    notification: Notification, contributions: dict[Agency, Contribution], rec: Recommendation, now: datetime
) -> Decision:
    return Decision(
        message_id=derived_id("decision", notification.referral_id),
        referral_id=notification.referral_id,
        level=rec.level,
        outcome=rec.outcome,
        rag=notification.rag,
        recipients=list(rec.recipients),
        model_version=MODEL_VERSION,
        explanation=list(rec.factors),
        contributions={a: c.status for a, c in contributions.items()},
        decided_by="model (auto-confirmed)",
        decided_at=now,
    )


def products_for(
    notification: Notification, contributions: dict[Agency, Contribution], decision: Decision
) -> list[InformationProduct]:
    summary = (
        f"Level {decision.level.value} ({decision.level.name.replace('_', ' ').lower()}): "
        f"{decision.outcome.value.replace('_', ' ')}. "
        f"Contributions: {', '.join(f'{a.value} {s.value}' for a, s in sorted(decision.contributions.items()))}."
    )
    return [
        InformationProduct(
            message_id=derived_id("product", notification.referral_id, recipient.value),
            referral_id=notification.referral_id,
            recipient=recipient,
            level=decision.level,
            outcome=decision.outcome,
            rag=decision.rag,
            summary=summary,
            subjects=notification.subjects,
            concern=notification.concern,
            shared_items={a: c.items for a, c in contributions.items() if c.items},
            explanation=decision.explanation,
            decided_at=decision.decided_at,
        )
        for recipient in decision.recipients
    ]
