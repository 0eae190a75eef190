"""Thin handlers: translate, call screening, then record and queue in one transaction; the relay publishes."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord

from mash_contracts import Notification, NotificationSubmission, Rejection
from mash_contracts.threshold import ThresholdModel
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_URGENT, REJECTIONS, by_name
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Source
from mash_runtime.firewall import Firewall, SealError, header_of
from mash_runtime.store import Database, OutboxRelay, enqueue, first_time

from . import duplicates, links, revisions, screening, strands

log = logging.getLogger("mash.intake")


class IntakeHandlers:
    def __init__(
        self,
        firewall: Firewall,
        db: Database,
        relay: OutboxRelay,
        model: ThresholdModel | None = None,
        duplicate_window: timedelta = timedelta(hours=72),
    ):
        self.model = model or screening.default_model()
        self.duplicate_window = duplicate_window
        self.firewall = firewall
        self.db = db
        self.relay = relay
        self.audit = AuditLog(firewall.custody)

    def _accept(self, submission: NotificationSubmission, notification: Notification) -> Notification | None:
        # One transaction: the revision (intake's inbox), the audit entry and both messages to publish. No entry
        # means no work. The same content again (a retry, a redelivery) adds nothing; different content under the
        # same submission id is supplementary information and becomes the referral's next revision, and so does a
        # duplicate under another reference (the same referrer, person at risk and concern within the window).
        own = notification.referral_id
        referrer = notification.referrer_system
        assert referrer is not None  # screening.accept set it: the envelope's verified signer
        with self.db.transaction() as s:
            fp = duplicates.fingerprint(self.firewall.pepper, submission, notification.received_at, own, referrer)
            referral_id, linking = self._referral_for(s, own, fp)
            revision = revisions.record(
                s,
                referral_id,
                revisions.part_digests(self.firewall.pepper, submission),
                notification.received_at,
                linking=linking,
                linked_reference=None if referral_id == own else submission.submission_id,
            )
            if revision is None:
                return None
            opened = revisions.opened_at(s, referral_id) or notification.received_at
            links.remember(s, own, replace(fp, referral_id=referral_id, opened_at=opened), notification.received_at)
            references = links.references(s, referral_id)
            notification = screening.as_revision(notification, revision.number, revision.changes, referral_id, references)
            referrals = strands.split(notification, self.model, screening.hub_day(notification.received_at))
            notification = referrals[0]
            ack = screening.acknowledgement(notification, (references[0], opened) if linking else None)
            for n in referrals:
                self._record(s, n, submission, revision, linking)
            enqueue(s, self.firewall, ACKNOWLEDGEMENTS.for_referrer(referrer), submission.submission_id, ack, str(ack.message_id))
        return notification

    def _record(self, s, notification: Notification, submission: NotificationSubmission, revision, linking: bool) -> None:
        """The audit entry for an accepted referral and the notification to publish (a mixed household's two each)."""
        detail: dict[str, Any] = {
            "submission_id": submission.submission_id,
            "rag": notification.rag.value,
            "footing": notification.statutory_footing.value,
            "model": self.model.version,
            "categories": sorted(c.value for c in notification.concern.categories),
        }
        if revision.number > 1:
            detail |= {"revision": revision.number, "changes": list(revision.changes)}
        if notification.related_referral_id:
            detail |= {"strand": notification.strand, "related_referral_id": notification.related_referral_id}
        self.audit.append(
            s,
            "received",
            referral_id=notification.referral_id,
            reason=(
                f"notification from {notification.referrer.agency.value if notification.referrer.agency else 'a member of the public'}"
                + (f", revision {revision.number}" if revision.number > 1 else "")
                + (", a duplicate linked to the open referral" if linking else "")
                + (f", the {notification.strand}'s referral of a mixed household" if notification.related_referral_id else "")
            ),
            subjects=subject_tokens(self.firewall.pepper, notification.subjects),
            detail=detail,
        )
        # Red at screening travels the urgent lane: immediate danger, or a category that means significant harm on its own.
        lane = NOTIFICATIONS_URGENT if notification.urgent else NOTIFICATIONS
        enqueue(s, self.firewall, lane.name, notification.referral_id, notification, str(notification.message_id))

    def _referral_for(self, s, own: str, fp: duplicates.Fingerprint) -> tuple[str, bool]:
        """(the referral this submission belongs to, whether it is linked to it now)."""
        if (joined := links.referral_of(s, own)) is not None:
            return joined, False  # seen before: a retry or an update, of its own referral or the one it was linked to
        if revisions.opened_at(s, own) is not None:
            return own, False  # accepted before duplicates were recorded
        match = duplicates.duplicate_of(fp, links.candidates(s, fp, self.duplicate_window), self.duplicate_window)
        return (match.referral_id, True) if match else (own, False)

    def _reject(self, rejection: Rejection, record: ConsumerRecord, referrer: str | None, key: str) -> None:
        with self.db.transaction() as s:
            if not first_time(s, str(rejection.message_id), record.topic):
                return
            where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
            if referrer is None:
                # Not an envelope naming an enrolled referrer: nobody to tell. Its bytes are on the dead-letter topic,
                # sealed for operations, whose alerting counts it (mash_dead_letters).
                self.audit.append(
                    s,
                    "unanswered",
                    reason="a record on the front door that names no enrolled referrer",
                    detail={**where, "reasons": len(rejection.reasons)},
                )
                return
            self.audit.append(
                s,
                "rejected",
                reason="unreadable submission",
                detail={
                    "submission_id": rejection.submission_id,
                    "referrer": referrer,
                    **where,
                    "reasons": len(rejection.reasons),
                },
            )
            enqueue(s, self.firewall, REJECTIONS.for_referrer(referrer), key, rejection, str(rejection.message_id))

    async def on_submission(self, submission: NotificationSubmission, source: Source) -> None:
        # Received time is the record's own timestamp, so a redelivery reproduces the same notification; the
        # front door's topics have the broker stamp it (the catalogue's stamped_by_broker), never a referrer's clock.
        screening.keyed_by_its_reference(submission, source.key)
        # The front door is a sealed topic (mash_contracts.topics): a record that opened names its verified signer.
        assert source.sender is not None
        notification = screening.accept(submission, _record_time(source), self.model, referrer_system=source.sender)
        accepted = await self.db.run(self._accept, submission, notification)
        if accepted is not None:
            self.relay.wake()
            log.info(
                "accepted as %s revision %d (%s)",
                accepted.referral_id,
                accepted.revision,
                accepted.rag.value,
                extra={"referral_id": accepted.referral_id},
            )
        else:
            log.info(
                "already accepted as %s (same content)", notification.referral_id, extra={"referral_id": notification.referral_id}
            )

    async def on_unreadable(self, record: ConsumerRecord, reasons: list[str], opened: bytes | None) -> None:
        submission_id = screening.submission_id_of(opened, record.key)
        rejection = Rejection(
            # The record's coordinates make the id, so a redelivered bad record yields the same rejection.
            message_id=uuid.uuid5(uuid.NAMESPACE_URL, f"rejection:{record.topic}:{record.partition}:{record.offset}"),
            submission_id=submission_id,
            reasons=reasons,
            rejected_at=datetime.now(UTC),
        )
        # Opened means the envelope verified: the record's key goes back to the very referrer that sent it. An
        # envelope that did not verify may name a referrer it is not from, so only a key that is a valid reference
        # (never a name someone typed) is repeated to the referrer it names.
        key = screening.rejection_key(record.key, submission_id) if opened is not None else (submission_id or "unknown")
        await self.db.run(self._reject, rejection, record, self._claimed_referrer(record), key)
        self.relay.wake()

    def _claimed_referrer(self, record: ConsumerRecord) -> str | None:
        """Whom to tell about a record that failed: the enrolled referrer its envelope names, even when the
        signature does not verify (a rejection carries nothing of the record but its reference, so one referrer
        naming another gains nothing but a stray rejection on the other's topic). None when it names none."""
        try:
            sender = header_of(record.value or b"").sender
        except SealError:
            return None
        return sender if sender in self.firewall.writers(by_name(record.topic)) else None


def _record_time(source: Source) -> datetime:
    return datetime.fromtimestamp(source.timestamp_ms / 1000, UTC)
