"""The demo's, the bench's and the tests' view of the wire: they act as the simulated agencies (a referrer sealing
submissions to intake with its own keys, a recipient opening its products with its own) and as the hub's managers
and operations team, each reading a sealed topic with that reader's own key."""

from __future__ import annotations

import base64
from pathlib import Path

from pydantic import BaseModel

from mash_contracts import DeadLetter, NotificationSubmission, decode, headers_for
from mash_contracts.topics import (
    DEAD_LETTERS,
    NOTIFICATIONS_SUBMITTED,
    NOTIFICATIONS_SUBMITTED_URGENT,
    OUTSIDE_PARTIES,
    Topic,
    by_name,
)
from mash_runtime.firewall import Firewall, open_sealed, seal

from .agencies import DEFAULT_REFERRER


def submission_lane(submission: NotificationSubmission) -> Topic:
    """A referrer reporting immediate danger uses the front door's urgent lane."""
    return NOTIFICATIONS_SUBMITTED_URGENT if submission.concern.immediate_danger else NOTIFICATIONS_SUBMITTED


class Principals:
    def __init__(self, keys_dir: Path, agencies_dir: Path | None = None):
        self.keys_dir = keys_dir
        self.agencies_dir = agencies_dir or keys_dir.parent / "agencies"  # the simulated agencies' own machines
        self._firewalls: dict[str, Firewall] = {}

    def firewall(self, principal: str) -> Firewall:
        """A hub principal's with the hub's keys; an outside agency's with only what that agency holds."""
        if principal not in self._firewalls:
            own = self.agencies_dir / principal
            outside = principal in OUTSIDE_PARTIES or own.is_dir()
            self._firewalls[principal] = Firewall.for_agency(principal, own) if outside else Firewall(principal, self.keys_dir)
        return self._firewalls[principal]

    def seal_submission(self, submission: NotificationSubmission, referrer: str = DEFAULT_REFERRER) -> bytes:
        return self.firewall(referrer).wrap(NOTIFICATIONS_SUBMITTED.name, submission.submission_id, submission)

    def submission_record(self, submission: NotificationSubmission, referrer: str = DEFAULT_REFERRER) -> dict:
        """What a producer sends for one submission (aiokafka send keywords): its lane, sealed by the referrer, keyed
        by the referrer's reference, with the contract headers."""
        return {
            "topic": submission_lane(submission).name,
            "value": self.seal_submission(submission, referrer),
            "key": submission.submission_id.encode(),
            "headers": [(k, v.encode()) for k, v in headers_for(submission).items()],
        }

    def seal_raw(self, referrer: str, key: str, payload: bytes) -> bytes:
        """Any bytes sealed by a referrer for the front door: how the demo and tests send a sealed submission the
        contract refuses."""
        fw = self.firewall(referrer)
        return seal(
            payload,
            referral_id=key,
            schema="NotificationSubmission",
            schema_version=1,
            recipients=list(NOTIFICATIONS_SUBMITTED.readers),
            custody=fw.custody,
            directory=fw.directory,
        )

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
