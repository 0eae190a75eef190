"""Screening at the front door: pure functions, no Kafka or database imports."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from datetime import date, datetime

from mash_contracts import Acknowledgement, Notification, NotificationSubmission, RagRating, StatutoryFooting, derived_id
from mash_contracts.threshold import Screening, ThresholdModel, load_model
from mash_runtime.calendar import WorkingCalendar
from mash_runtime.errors import Rejected

from . import ages


# Which concerns set the initial RAG rating and the statutory footing is the area's threshold model (its
# [screening] section), the same file the decision service decides with: chosen by MASH_MODEL.
@functools.cache
def default_model() -> ThresholdModel:
    return load_model("default")


def screen(submission: NotificationSubmission, today: date, model: ThresholdModel | None = None) -> Screening:
    return (model or default_model()).screen(submission, today)


def statutory_footing(submission: NotificationSubmission, model: ThresholdModel | None = None) -> StatutoryFooting:
    """The footing the desks research under until a MASH manager changes it."""
    return screen(submission, submission.submitted_at.date(), model).footing


def referral_id_for(submission: NotificationSubmission, referrer_system: str) -> str:
    """The same submission from the same referrer always gets the same referral id (idempotent intake). Each
    enrolled referrer's references are its own: another referrer's submission under the same id is another referral."""
    r = submission.referrer
    origin = r.agency.value if r.agency else r.kind.value
    return (
        "REF-" + derived_id("referral", referrer_system, origin, r.organisation or "", submission.submission_id).hex[:12].upper()
    )


def initial_rag(submission: NotificationSubmission, model: ThresholdModel | None = None) -> RagRating:
    return screen(submission, submission.submitted_at.date(), model).rag


_CALENDAR = WorkingCalendar()


def next_working_day(moment: datetime) -> datetime:
    """The decision promised to the referrer: one working day on, on the hub's working calendar (the same
    one the decision service keeps its deadlines by)."""
    return _CALENDAR.working_days_after(moment, 1)


def hub_day(moment: datetime) -> date:
    """The hub's own calendar day: a baby born just after midnight in London is not yet born in UTC."""
    return moment.astimezone(_CALENDAR.tz).date()


def accept(
    submission: NotificationSubmission, received_at: datetime, model: ThresholdModel | None = None, *, referrer_system: str
) -> Notification:
    today = hub_day(received_at)  # ages are judged on the hub's own day
    if reasons := ages.problems(submission.subjects, today):
        raise Rejected(reasons)
    screening = screen(submission, today, model)
    referral_id = referral_id_for(submission, referrer_system)
    return Notification(
        **submission.model_dump(),
        message_id=derived_id("notification", referral_id),
        referral_id=referral_id,
        referrer_system=referrer_system,
        received_at=received_at,
        rag=screening.rag,
        statutory_footing=screening.footing,
    )


def as_revision(
    notification: Notification,
    number: int,
    changes: tuple[str, ...],
    referral_id: str | None = None,
    references: Sequence[str] = (),
) -> Notification:
    """A changed resubmission, or a duplicate under another reference (`referral_id`: the referral it is linked
    to): supplementary information, the next revision of that referral. `references`: every reference the referral
    was submitted under, when there is more than one."""
    referral_id = referral_id or notification.referral_id
    linked = list(references) if len(references) > 1 else []
    if number == 1:
        return notification.model_copy(update={"linked_submission_ids": linked}) if linked else notification
    return notification.model_copy(
        update={
            "message_id": derived_id("notification", referral_id, str(number)),
            "referral_id": referral_id,
            "revision": number,
            "changes": list(changes),
            "linked_submission_ids": linked,
        }
    )


def acknowledgement(notification: Notification, linked_to: tuple[str, datetime] | None = None) -> Acknowledgement:
    """`linked_to`: the earlier reference and the time of the open referral a duplicate was linked to."""
    due = next_working_day(notification.received_at)
    n = notification.revision
    if linked_to is not None:
        message_id = derived_id("acknowledgement", notification.referral_id, str(n))
        earlier, opened = linked_to
        text = (
            f"Your notification {notification.submission_id} was linked to open referral {notification.referral_id}, "
            f"which you made on {opened:%d %B %Y} under your reference {earlier}: it names the same person at risk "
            f"and concern, so it is added to that referral as revision {n} and not opened as a second case. The MASH "
            f"manager sees both references; a decision will be made by {due:%A %d %B %Y %H:%M} UTC."
        )
    elif n == 1:
        message_id = derived_id("acknowledgement", notification.referral_id)
        text = (
            f"Your notification {notification.submission_id} was received by the MASH as referral "
            f"{notification.referral_id}. A decision on the response will be made by {due:%A %d %B %Y %H:%M} UTC."
        )
    else:
        message_id = derived_id("acknowledgement", notification.referral_id, str(n))
        changed = ", ".join(notification.changes) or "nothing the desks research"
        text = (
            f"Your update to notification {notification.submission_id} was received as supplementary information, "
            f"revision {n} of referral {notification.referral_id} (changed: {changed}). The referral is re-assessed "
            f"with it; a decision will be made by {due:%A %d %B %Y %H:%M} UTC."
        )
    if notification.related_referral_id:
        text += (
            f" It names both children and an adult at risk: the adult's concern is referral "
            f"{notification.related_referral_id}, researched, decided and routed on its own."
        )
    return Acknowledgement(
        message_id=message_id,
        submission_id=notification.submission_id,
        referral_id=notification.referral_id,
        received_at=notification.received_at,
        decision_due_by=due,
        text=text,
        revision=n,
        linked_to_submission_id=linked_to[0] if linked_to else None,
        related_referral_id=notification.related_referral_id,
    )


def keyed_by_its_reference(submission: NotificationSubmission, key: bytes | None) -> None:
    """The front door's records are keyed by the referrer's reference: that key keeps one submission's revisions
    in order on one partition. A record under another key is refused, not taken as a revision of whatever its
    body names."""
    if key is None or key != submission.submission_id.encode():
        shown = "no key" if key is None else "another key"
        raise Rejected([f"record key: the record was sent with {shown}; send it keyed by its submission_id"])


def submission_id_of(raw: bytes | None, key: bytes | None = None) -> str | None:
    """Best-effort read of the referrer's reference for the rejection of bytes that failed validation: the one in
    the opened bytes, else the record's key (the reference a referrer submits under, and all there is when the
    bytes are not even an envelope). Only a reference the contract allows is repeated: the rejection travels
    unsealed, and a refused reference may be anything a person typed, a child's name included."""
    try:
        value = json.loads(raw or b"").get("submission_id")
    except (ValueError, AttributeError):
        value = None
    if _is_reference(value):
        return value
    try:
        keyed = key.decode() if key is not None else None
    except UnicodeDecodeError:
        return None
    return keyed if _is_reference(keyed) else None


def rejection_key(key: bytes | None, submission_id: str | None) -> str:
    """A rejection travels under the record's own key, so a referrer finds it by what it sent: the key as sent when
    it is text the topic can carry back, else the reference read from the record, else `unknown`."""
    try:
        text = key.decode() if key is not None else None
    except UnicodeDecodeError:
        text = None
    if text and len(text) <= 256 and text.isprintable():
        return text
    return submission_id or "unknown"


_REFERENCE = re.compile(
    next(m.pattern for m in NotificationSubmission.model_fields["submission_id"].metadata if getattr(m, "pattern", None))
)


def _is_reference(value: object) -> bool:
    return isinstance(value, str) and _REFERENCE.fullmatch(value) is not None
