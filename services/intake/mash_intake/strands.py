"""A mixed household: one submission naming both children and adults at risk becomes two referrals. Pure functions.

The children's referral keeps the submission's referral id and everyone in it, the adult at risk as an adult of the
household: the desks share about that adult what bears on the children, under the children's footing. The adults'
referral, under an id derived from it, leaves the children out (their records are not the adult's enquiry's
business: their welfare is the children's referral's) and is screened on its own, under the Care Act. Each is
researched, decided and routed on its own, on the same clock, and each names the other.
"""

from __future__ import annotations

from datetime import date

from mash_contracts import Notification, SubjectRole, derived_id
from mash_contracts.threshold import ThresholdModel
from mash_contracts.vocabulary import CHILD_ROLES


def is_mixed(notification: Notification) -> bool:
    roles = {s.role for s in notification.subjects}
    return bool(roles & CHILD_ROLES) and SubjectRole.ADULT_AT_RISK in roles


def adults_referral_id(children_referral_id: str) -> str:
    return "REF-" + derived_id("adults-referral", children_referral_id).hex[:12].upper()


def split(notification: Notification, model: ThresholdModel, today: date) -> list[Notification]:
    """[the notification] when it is not a mixed household's; else [the children's, the adults']."""
    if not is_mixed(notification):
        return [notification]
    own = notification.referral_id
    adults_id = adults_referral_id(own)
    children = notification.model_copy(
        update={
            "subjects": [
                s.model_copy(update={"role": SubjectRole.HOUSEHOLD_MEMBER}) if s.role is SubjectRole.ADULT_AT_RISK else s
                for s in notification.subjects
            ],
            # What the adult wants, and the Care Act test's parts, belong to the adult's own referral.
            "concern": notification.concern.model_copy(update={"adult_at_risk": None}),
            "strand": "children",
            "related_referral_id": adults_id,
        }
    )
    adult_subjects = [s for s in notification.subjects if s.role not in CHILD_ROLES]
    screening = model.screen(notification.model_copy(update={"subjects": adult_subjects}), today)
    revision = (str(notification.revision),) if notification.revision > 1 else ()
    adults = notification.model_copy(
        update={
            "message_id": derived_id("notification", adults_id, *revision),
            "referral_id": adults_id,
            "subjects": adult_subjects,
            "rag": screening.rag,
            "statutory_footing": screening.footing,
            "strand": "adults",
            "related_referral_id": own,
        }
    )
    # model_copy does not validate: both must be notifications a reader accepts.
    return [Notification.model_validate_json(n.model_dump_json()) for n in (children, adults)]
