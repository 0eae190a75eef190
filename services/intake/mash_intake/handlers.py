"""Thin handlers: translate, call screening, then record and queue in one transaction; the relay publishes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from mash_contracts import Acknowledgement, Notification, NotificationSubmission, Rejection
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_URGENT, REJECTIONS
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Source
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, OutboxRelay, enqueue, first_time

from . import screening

log = logging.getLogger("mash.intake")


class IntakeHandlers:
    def __init__(self, firewall: Firewall, db: Database, relay: OutboxRelay):
        self.firewall = firewall
        self.db = db
        self.relay = relay
        self.audit = AuditLog(firewall.custody)

    def _accept(self, notification: Notification, ack: Acknowledgement, submission_id: str, topic: str) -> bool:
        # One transaction: the inbox entry, the audit entry and both messages to publish. No entry means no
        # work; a redelivered or resubmitted submission finds its notification id in the inbox and adds nothing.
        with self.db.transaction() as s:
            if not first_time(s, str(notification.message_id), topic):
                return False
            self.audit.append(
                s, "received", referral_id=notification.referral_id,
                reason=f"notification from {notification.referrer.agency.value if notification.referrer.agency else 'a member of the public'}",
                subjects=subject_tokens(self.firewall.pepper, notification.subjects),
                detail={"submission_id": submission_id, "rag": notification.rag.value,
                        "categories": sorted(c.value for c in notification.concern.categories)},
            )
            lane = NOTIFICATIONS_URGENT if notification.concern.immediate_danger else NOTIFICATIONS
            enqueue(s, self.firewall, lane.name, notification.referral_id, notification, str(notification.message_id))
            enqueue(s, self.firewall, ACKNOWLEDGEMENTS.name, submission_id, ack, str(ack.message_id))
        return True

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
        # Received time is the record's own timestamp, so a redelivery reproduces the same notification.
        notification = screening.accept(submission, _record_time(source))
        ack = screening.acknowledgement(notification)
        if await asyncio.to_thread(self._accept, notification, ack, submission.submission_id, source.topic):
            self.relay.wake()
            log.info("accepted as %s (%s)", notification.referral_id, notification.rag.value, extra={"referral_id": notification.referral_id})
        else:
            log.info("already accepted as %s", notification.referral_id, extra={"referral_id": notification.referral_id})

    async def on_unreadable(self, record: ConsumerRecord, reasons: list[str], opened: bytes | None) -> None:
        rejection = Rejection(
            # The record's coordinates make the id, so a redelivered bad record yields the same rejection.
            message_id=uuid.uuid5(uuid.NAMESPACE_URL, f"rejection:{record.topic}:{record.partition}:{record.offset}"),
            submission_id=screening.submission_id_of(opened),
            reasons=reasons,
            rejected_at=datetime.now(UTC),
        )
        await asyncio.to_thread(self._reject, rejection, record)
        self.relay.wake()


def _record_time(source: Source) -> datetime:
    return datetime.fromtimestamp(source.timestamp_ms / 1000, UTC)
