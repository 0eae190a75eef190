"""The demo's, the bench's and the tests' view of the wire: they act as the referrers' system (sealing
submissions to intake) and read a sealed topic as one of its readers, with that reader's key."""

from __future__ import annotations

import base64
from pathlib import Path

from pydantic import BaseModel

from mash_contracts import DeadLetter, NotificationSubmission, decode, headers_for
from mash_contracts.topics import (DEAD_LETTERS, NOTIFICATIONS_SUBMITTED, NOTIFICATIONS_SUBMITTED_URGENT, REFERRERS, Topic,
                                   by_name)
from mash_runtime.firewall import Firewall, open_sealed


def submission_lane(submission: NotificationSubmission) -> Topic:
    """A referrer reporting immediate danger uses the front door's urgent lane."""
    return NOTIFICATIONS_SUBMITTED_URGENT if submission.concern.immediate_danger else NOTIFICATIONS_SUBMITTED


class Principals:
    def __init__(self, keys_dir: Path):
        self.keys_dir = keys_dir
        self._firewalls: dict[str, Firewall] = {}

    def firewall(self, principal: str) -> Firewall:
        if principal not in self._firewalls:
            self._firewalls[principal] = Firewall(principal, self.keys_dir)
        return self._firewalls[principal]

    def seal_submission(self, submission: NotificationSubmission) -> bytes:
        return self.firewall(REFERRERS).wrap(NOTIFICATIONS_SUBMITTED.name, submission.submission_id, submission)

    def submission_record(self, submission: NotificationSubmission) -> dict:
        """What a producer sends for one submission (aiokafka send keywords): its lane, sealed, keyed by the
        referrer's reference, with the contract headers."""
        return {"topic": submission_lane(submission).name, "value": self.seal_submission(submission),
                "key": submission.submission_id.encode(), "headers": [(k, v.encode()) for k, v in headers_for(submission).items()]}

    def read(self, topic: str, key: bytes | None, value: bytes | None) -> BaseModel:
        spec = by_name(topic)
        if spec is DEAD_LETTERS:  # a letter carries a whole original: its limit is the topic's, not a message's
            return decode(spec.message, value, max_bytes=spec.max_message_bytes)
        if not spec.sealed:
            return decode(spec.message, value)
        return decode(spec.message, self.firewall(spec.readers[0]).unwrap(topic, key, value))

    def original_of(self, letter: DeadLetter) -> bytes:
        """A dead letter's original bytes, opened as the principal they were sealed for (operations)."""
        raw = base64.b64decode(letter.original_b64)
        if letter.original_sealed_for is None:
            return raw
        fw = self.firewall(letter.original_sealed_for)
        return open_sealed(raw, custody=fw.custody, directory=fw.directory, expected_senders={letter.service})[1]
