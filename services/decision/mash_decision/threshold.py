"""Placeholder threshold model: pure functions over the assembled picture.

A walking-skeleton rule set, kept deliberately small and explained; the agreed, versioned model (levels,
risk factors and weights as data) replaces it. It already returns the shape the real model will: a level,
an outcome, recipients and the factors that fired, each with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from mash_contracts import (
    Agency,
    ConcernCategory,
    Contribution,
    Factor,
    Notification,
    Outcome,
    SubjectRole,
    ThresholdLevel,
)

MODEL_VERSION = "skeleton-0"

_PROTECTION = {
    ConcernCategory.SEXUAL_ABUSE, ConcernCategory.PHYSICAL_ABUSE, ConcernCategory.CHILD_SEXUAL_EXPLOITATION,
    ConcernCategory.CHILD_CRIMINAL_EXPLOITATION, ConcernCategory.FGM, ConcernCategory.TRAFFICKING,
    ConcernCategory.FORCED_MARRIAGE, ConcernCategory.HONOUR_BASED_ABUSE, ConcernCategory.FABRICATED_ILLNESS,
}
_NEED = {ConcernCategory.DOMESTIC_ABUSE, ConcernCategory.NEGLECT, ConcernCategory.MISSING, ConcernCategory.EMOTIONAL_ABUSE}
_EARLY = {ConcernCategory.PARENTAL_MENTAL_HEALTH, ConcernCategory.PARENTAL_SUBSTANCE_MISUSE, ConcernCategory.YOUNG_CARER}


@dataclass(frozen=True)
class Recommendation:
    level: ThresholdLevel
    outcome: Outcome
    recipients: tuple[Agency, ...]
    factors: tuple[Factor, ...]


def recommend(notification: Notification, contributions: dict[Agency, Contribution]) -> Recommendation:
    cats = set(notification.concern.categories)
    factors: list[Factor] = []
    about_children = any(s.role in (SubjectRole.CHILD, SubjectRole.UNBORN_CHILD) for s in notification.subjects)

    if notification.concern.immediate_danger:
        factors.append(Factor(name="immediate danger reported", source="notification", weight=100))
    factors += [Factor(name=f"concern: {c.value}", source="notification", weight=40) for c in sorted(cats & _PROTECTION)]
    factors += [Factor(name=f"concern: {c.value}", source="notification", weight=20) for c in sorted(cats & _NEED)]
    factors += [Factor(name=f"concern: {c.value}", source="notification", weight=10) for c in sorted(cats & _EARLY)]
    for agency, c in sorted(contributions.items()):
        factors += [Factor(name=f"finding: {f}", source=agency.value, weight=20) for f in c.findings]

    if not about_children:
        return Recommendation(ThresholdLevel.CHILD_IN_NEED, Outcome.ADULT_SAFEGUARDING, (Agency.ADULT_SOCIAL_CARE,), tuple(factors))
    score = sum(f.weight for f in factors)
    if notification.concern.immediate_danger or cats & _PROTECTION:
        return Recommendation(
            ThresholdLevel.CHILD_PROTECTION, Outcome.STRATEGY_DISCUSSION,
            (Agency.CHILDRENS_SOCIAL_CARE, Agency.POLICE), tuple(factors),
        )
    if score >= 20:
        return Recommendation(ThresholdLevel.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, (Agency.CHILDRENS_SOCIAL_CARE,), tuple(factors))
    if score >= 10:
        return Recommendation(ThresholdLevel.EARLY_HELP, Outcome.EARLY_HELP, (Agency.EARLY_HELP,), tuple(factors))
    return Recommendation(ThresholdLevel.UNIVERSAL, Outcome.ADVICE_AND_SIGNPOSTING, (Agency.EARLY_HELP,), tuple(factors))
