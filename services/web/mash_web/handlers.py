"""Thin handlers: send a referral (recorded and queued in one transaction; the relay publishes it sealed for intake),
and keep what the hub answers about it."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from mash_contracts import Acknowledgement, NotificationSubmission, OutcomeNotice, Rejection
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED, NOTIFICATIONS_SUBMITTED_URGENT
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Source
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, OutboxRelay, enqueue, first_time

from . import returns, sent
from .people import SignedIn

log = logging.getLogger("mash.web")


def new_reference() -> str:
    """A reference nobody can guess: the confirmation page is found by it, with no sign-in."""
    return "WEB-" + uuid.uuid4().hex[:20].upper()


class WebHandlers:
    def __init__(self, firewall: Firewall, db: Database, relay: OutboxRelay):
        self.firewall = firewall
        self.db = db
        self.relay = relay
        self.audit = AuditLog(firewall.custody)

    def send(
        self, submission: NotificationSubmission, channel: str, actor: str | None = None, saved_form: str | None = None
    ) -> None:
        """Record and queue the referral; immediate danger goes on the front door's urgent lane. `saved_form`: the
        save-and-return code it was resumed from, whose saved answers go with it."""
        lane = NOTIFICATIONS_SUBMITTED_URGENT if submission.concern.immediate_danger else NOTIFICATIONS_SUBMITTED
        with self.db.transaction() as s:
            if saved_form:
                returns.forget(s, saved_form)
            sent.record_sent(s, submission.submission_id, channel, datetime.now(UTC), submission.referrer.anonymous)
            self.audit.append(
                s,
                "submitted",
                actor=actor,
                reason=f"referral taken by {'phone' if channel == 'phone' else 'the web form'} and sent to intake",
                subjects=subject_tokens(self.firewall.pepper, submission.subjects),
                detail={"submission_id": submission.submission_id, "urgent": submission.concern.immediate_danger},
            )
            message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"web-submission:{submission.submission_id}"))
            enqueue(s, self.firewall, lane.name, submission.submission_id, submission, message_id)
        self.relay.wake()
        log.info("referral sent to intake", extra={"outcome": channel})

    def viewed(self, who: SignedIn, referral_id: str, what: str) -> None:
        """A person saw a referral's personal data: on the record, so "who has seen this child" names people too."""
        with self.db.transaction() as s:
            self.audit.append(
                s,
                "viewed",
                referral_id=referral_id,
                actor=who.person.username,
                reason=f"{what} viewed by {who.person.role.value} {who.person.username}",
            )

    def status(self, submission_id: str) -> sent.Status | None:
        with self.db.transaction() as s:
            return sent.status_of(s, submission_id)

    async def on_acknowledgement(self, ack: Acknowledgement, source: Source) -> None:
        await self.db.run(
            self._keep,
            ack,
            source,
            lambda s: sent.acknowledged(s, ack.submission_id, ack.referral_id, ack.received_at, ack.decision_due_by),
        )

    async def on_rejection(self, rejection: Rejection, source: Source) -> None:
        if rejection.submission_id is None:
            return  # nothing of ours to mark: the dead letter at intake keeps it
        await self.db.run(self._keep, rejection, source, lambda s: sent.rejected(s, rejection.submission_id, rejection.reasons))

    async def on_outcome(self, outcome: OutcomeNotice, source: Source) -> None:
        await self.db.run(
            self._keep, outcome, source, lambda s: sent.decided(s, outcome.submission_id, outcome.text, outcome.decided_at)
        )

    def _keep(self, message, source: Source, change) -> None:
        with self.db.transaction() as s:
            if first_time(s, str(message.message_id), source.topic):
                change(s)
