"""Thin handlers: translate, call screening, then record and queue in one transaction; the relay publishes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from mash_contracts import Notification, NotificationSubmission, Rejection
from mash_contracts.threshold import ThresholdModel
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_URGENT, REJECTIONS
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Source
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, OutboxRelay, enqueue, first_time

from . import revisions, screening

log = logging.getLogger("mash.intake")


class IntakeHandlers:
    def __init__(self, firewall: Firewall, db: Database, relay: OutboxRelay, model: ThresholdModel | None = None):
        self.model = model or screening.default_model()
        self.firewall = firewall
        self.db = db
        self.relay = relay
        self.audit = AuditLog(firewall.custody)

    def _accept(self, submission: NotificationSubmission, notification: Notification) -> Notification | None:
        # One transaction: the revision (intake's inbox), the audit entry and both messages to publish. No entry
        # means no work. The same content again (a retry, a redelivery) adds nothing; different content under the
        # same submission id is supplementary information and becomes the referral's next revision.
        with self.db.transaction() as s:
            revision = revisions.record(s, notification.referral_id, revisions.part_digests(self.firewall.pepper, submission),
                                        notification.received_at)
            if revision is None:
                return None
            notification = screening.as_revision(notification, revision.number, revision.changes)
            ack = screening.acknowledgement(notification)
            detail = {"submission_id": submission.submission_id, "rag": notification.rag.value,
                      "footing": notification.statutory_footing.value, "model": self.model.version,
                      "categories": sorted(c.value for c in notification.concern.categories)}
            if revision.number > 1:
                detail |= {"revision": revision.number, "changes": list(revision.changes)}
            self.audit.append(
                s, "received", referral_id=notification.referral_id,
                reason=(f"notification from {notification.referrer.agency.value if notification.referrer.agency else 'a member of the public'}"
                        + (f", revision {revision.number}" if revision.number > 1 else "")),
                subjects=subject_tokens(self.firewall.pepper, notification.subjects),
                detail=detail,
            )
            # Red at screening travels the urgent lane: immediate danger, or a category that means significant harm on its own.
            lane = NOTIFICATIONS_URGENT if notification.urgent else NOTIFICATIONS
            enqueue(s, self.firewall, lane.name, notification.referral_id, notification, str(notification.message_id))
            enqueue(s, self.firewall, ACKNOWLEDGEMENTS.name, submission.submission_id, ack, str(ack.message_id))
        return notification

    def _reject(self, rejection: Rejection, record: ConsumerRecord) -> None:
        with self.db.transaction() as s:
            if not first_time(s, str(rejection.message_id), record.topic):
                return
            self.audit.append(
                s, "rejected", reason="unreadable submission",
                detail={"submission_id": rejection.submission_id, "topic": record.topic, "partition": record.partition,
                        "offset": record.offset, "reasons": len(rejection.reasons)},
            )
            enqueue(s, self.firewall, REJECTIONS.name, rejection.submission_id or "unknown", rejection, str(rejection.message_id))

    async def on_submission(self, submission: NotificationSubmission, source: Source) -> None:
        # Received time is the record's own timestamp, so a redelivery reproduces the same notification; the
        # front door's topics have the broker stamp it (the catalogue's stamped_by_broker), never a referrer's clock.
        screening.keyed_by_its_reference(submission, source.key)
        notification = screening.accept(submission, _record_time(source), self.model)
        accepted = await asyncio.to_thread(self._accept, submission, notification)
        if accepted is not None:
            self.relay.wake()
            log.info("accepted as %s revision %d (%s)", accepted.referral_id, accepted.revision, accepted.rag.value,
                     extra={"referral_id": accepted.referral_id})
        else:
            log.info("already accepted as %s (same content)", notification.referral_id, extra={"referral_id": notification.referral_id})

    async def on_unreadable(self, record: ConsumerRecord, reasons: list[str], opened: bytes | None) -> None:
        rejection = Rejection(
            # The record's coordinates make the id, so a redelivered bad record yields the same rejection.
            message_id=uuid.uuid5(uuid.NAMESPACE_URL, f"rejection:{record.topic}:{record.partition}:{record.offset}"),
            submission_id=screening.submission_id_of(opened, record.key),
            reasons=reasons,
            rejected_at=datetime.now(UTC),
        )
        await asyncio.to_thread(self._reject, rejection, record)
        self.relay.wake()


def _record_time(source: Source) -> datetime:
    return datetime.fromtimestamp(source.timestamp_ms / 1000, UTC)
