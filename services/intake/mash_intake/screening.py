"""Screening at the front door: pure functions, no Kafka or database imports."""

from __future__ import annotations

import json
from datetime import datetime

from mash_contracts import (
    Acknowledgement,
    ConcernCategory,
    Notification,
    NotificationSubmission,
    RagRating,
    StatutoryFooting,
    SubjectRole,
    derived_id,
)
from mash_runtime.calendar import WorkingCalendar
from mash_runtime.errors import Rejected

from . import ages

# Categories that on their own mean significant harm may be happening: Amber at least until researched.
_SERIOUS = frozenset(
    {
        ConcernCategory.SEXUAL_ABUSE,
        ConcernCategory.PHYSICAL_ABUSE,
        ConcernCategory.CHILD_SEXUAL_EXPLOITATION,
        ConcernCategory.CHILD_CRIMINAL_EXPLOITATION,
        ConcernCategory.FGM,
        ConcernCategory.FORCED_MARRIAGE,
        ConcernCategory.HONOUR_BASED_ABUSE,
        ConcernCategory.TRAFFICKING,
        ConcernCategory.FABRICATED_ILLNESS,
        ConcernCategory.MISSING,
        ConcernCategory.DOMESTIC_ABUSE,
    }
)


# Concerns that on their face give reasonable cause to suspect significant harm (Children Act 1989 s47).
_S47_GROUNDS = frozenset(
    {
        ConcernCategory.SEXUAL_ABUSE,
        ConcernCategory.PHYSICAL_ABUSE,
        ConcernCategory.CHILD_SEXUAL_EXPLOITATION,
        ConcernCategory.CHILD_CRIMINAL_EXPLOITATION,
        ConcernCategory.FGM,
        ConcernCategory.FORCED_MARRIAGE,
        ConcernCategory.HONOUR_BASED_ABUSE,
        ConcernCategory.TRAFFICKING,
        ConcernCategory.FABRICATED_ILLNESS,
    }
)


def statutory_footing(submission: NotificationSubmission) -> StatutoryFooting:
    """The footing the desks research under until a MASH manager changes it."""
    if not any(s.role in (SubjectRole.CHILD, SubjectRole.UNBORN_CHILD) for s in submission.subjects):
        return StatutoryFooting.CARE_ACT_S42
    if submission.concern.immediate_danger or _S47_GROUNDS.intersection(submission.concern.categories):
        return StatutoryFooting.S47
    return StatutoryFooting.S17


def referral_id_for(submission: NotificationSubmission) -> str:
    """The same submission from the same referrer always gets the same referral id (idempotent intake)."""
    r = submission.referrer
    origin = r.agency.value if r.agency else r.kind.value
    return "REF-" + derived_id("referral", origin, r.organisation or "", submission.submission_id).hex[:12].upper()


def initial_rag(submission: NotificationSubmission) -> RagRating:
    if submission.concern.immediate_danger:
        return RagRating.RED
    if _SERIOUS.intersection(submission.concern.categories):
        return RagRating.AMBER
    return RagRating.GREEN


_CALENDAR = WorkingCalendar()


def next_working_day(moment: datetime) -> datetime:
    """The decision promised to the referrer: one working day on, on the hub's working calendar (the same
    one the decision service keeps its deadlines by)."""
    return _CALENDAR.working_days_after(moment, 1)


def accept(submission: NotificationSubmission, received_at: datetime) -> Notification:
    # Ages are judged on the hub's own calendar day: a baby born just after midnight in London is not yet born in UTC.
    if reasons := ages.problems(submission.subjects, received_at.astimezone(_CALENDAR.tz).date()):
        raise Rejected(reasons)
    referral_id = referral_id_for(submission)
    return Notification(
        **submission.model_dump(),
        message_id=derived_id("notification", referral_id),
        referral_id=referral_id,
        received_at=received_at,
        rag=initial_rag(submission),
        statutory_footing=statutory_footing(submission),
    )


def as_revision(notification: Notification, number: int, changes: tuple[str, ...]) -> Notification:
    """A changed resubmission: supplementary information, the next revision of the same referral."""
    if number == 1:
        return notification
    return notification.model_copy(update={
        "message_id": derived_id("notification", notification.referral_id, str(number)),
        "revision": number, "changes": list(changes)})


def acknowledgement(notification: Notification) -> Acknowledgement:
    due = next_working_day(notification.received_at)
    n = notification.revision
    if n == 1:
        message_id = derived_id("acknowledgement", notification.referral_id)
        text = (f"Your notification {notification.submission_id} was received by the MASH as referral "
                f"{notification.referral_id}. A decision on the response will be made by {due:%A %d %B %Y %H:%M} UTC.")
    else:
        message_id = derived_id("acknowledgement", notification.referral_id, str(n))
        changed = ", ".join(notification.changes) or "nothing the desks research"
        text = (f"Your update to notification {notification.submission_id} was received as supplementary information, "
                f"revision {n} of referral {notification.referral_id} (changed: {changed}). The referral is re-assessed "
                f"with it; a decision will be made by {due:%A %d %B %Y %H:%M} UTC.")
    return Acknowledgement(message_id=message_id, submission_id=notification.submission_id, referral_id=notification.referral_id,
                           received_at=notification.received_at, decision_due_by=due, text=text, revision=n)


def submission_id_of(raw: bytes | None) -> str | None:
    """Best-effort read of the referrer's reference from bytes that failed validation, for the rejection."""
    try:
        value = json.loads(raw or b"").get("submission_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None
