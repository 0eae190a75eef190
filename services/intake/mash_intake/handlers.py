"""Thin handlers: translate, call screening, record, publish."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from mash_contracts import NotificationSubmission, Rejection
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_URGENT, REJECTIONS
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Source, publish
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database

from . import screening

log = logging.getLogger("mash.intake")


class IntakeHandlers:
    def __init__(self, broker: KafkaBroker, firewall: Firewall, db: Database):
        self.broker = broker
        self.firewall = firewall
        self.db = db
        self.audit = AuditLog(firewall.custody)

    def _record(self, action: str, **entry) -> None:
        # Fail closed: if the entry cannot be written the handler raises and the message is not committed.
        with self.db.transaction() as s:
            self.audit.append(s, action, **entry)

    async def on_submission(self, submission: NotificationSubmission, source: Source) -> None:
        # Received time is the record's own timestamp, so a redelivery reproduces the same notification.
        notification = screening.accept(submission, _record_time(source))
        await asyncio.to_thread(
            self._record, "received", referral_id=notification.referral_id,
            reason=f"notification from {notification.referrer.agency.value if notification.referrer.agency else 'a member of the public'}",
            subjects=subject_tokens(self.firewall.pepper, notification.subjects),
            detail={"submission_id": submission.submission_id, "rag": notification.rag.value,
                    "categories": sorted(c.value for c in notification.concern.categories)},
        )
        lane = NOTIFICATIONS_URGENT if notification.concern.immediate_danger else NOTIFICATIONS
        await publish(self.broker, self.firewall, lane.name, notification.referral_id, notification)
        ack = screening.acknowledgement(notification)
        await publish(self.broker, self.firewall, ACKNOWLEDGEMENTS.name, submission.submission_id, ack)
        log.info("accepted as %s (%s)", notification.referral_id, notification.rag.value, extra={"referral_id": notification.referral_id})

    async def on_unreadable(self, record: ConsumerRecord, reasons: list[str], opened: bytes | None) -> None:
        submission_id = screening.submission_id_of(opened)
        rejection = Rejection(
            message_id=uuid.uuid5(uuid.NAMESPACE_URL, f"rejection:{record.topic}:{record.partition}:{record.offset}"),
            submission_id=submission_id,
            reasons=reasons,
            rejected_at=datetime.now(UTC),
        )
        await asyncio.to_thread(
            self._record, "rejected", reason="unreadable submission",
            detail={"submission_id": submission_id, "topic": record.topic, "partition": record.partition,
                    "offset": record.offset, "reasons": len(reasons)},
        )
        await publish(self.broker, self.firewall, REJECTIONS.name, submission_id or "unknown", rejection)


def _record_time(source: Source) -> datetime:
    return datetime.fromtimestamp(source.timestamp_ms / 1000, UTC)
