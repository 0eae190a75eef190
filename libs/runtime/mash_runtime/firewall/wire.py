"""What each service uses on the wire: seal on publish and open on consume, per the topic catalogue.

A sealed topic's records are envelopes sealed for exactly the topic's readers and signed by one of its
writers; anything else on such a topic (plaintext, a forged or replayed envelope) fails to open and is
dead-lettered by the consumer. Unsealed topics carry no personal data and pass through as JSON. Messages between the hub's own services on topics keyed by referral id are bound to the referral's case key too,
so shredding that key erases the case from the log; what an outside agency is sent opens with its own key alone.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from mash_contracts import encode
from mash_contracts.topics import CATALOGUE

from .casekeys import CaseShredded, FileCaseKeys
from .envelope import SealError, open_sealed, seal
from .keys import Directory, FileCustody, load_pepper

_TOPICS = {t.name: t for t in CATALOGUE}


class Firewall:
    def __init__(self, service: str, keys_dir: Path):
        try:
            self.custody = FileCustody(keys_dir, service)
            self.directory = Directory.load(keys_dir)
            self.pepper = load_pepper(keys_dir)
            self.case_keys = FileCaseKeys(keys_dir)
        except FileNotFoundError as e:
            raise RuntimeError(f"no keys for {service} in {keys_dir}: run `mash keys init` (fails closed)") from e
        self.service = service

    def wrap(self, topic: str, key: str, message: BaseModel, message_id: str | None = None) -> bytes:
        payload = encode(message)
        spec = _TOPICS.get(topic)
        if spec is None or not spec.sealed:
            return payload
        try:
            case_key = self.case_keys.key_for(key, create=True) if spec.case_bound else None
        except CaseShredded as e:
            raise SealError(f"{e}: nothing more is sent about it") from None
        return seal(
            payload, referral_id=key, schema=type(message).__name__, schema_version=getattr(message, "schema_version", 1),
            recipients=list(spec.readers), custody=self.custody, directory=self.directory, message_id=message_id,
            case_key=case_key,
        )

    def seal_for(self, principal: str, key: str, payload: bytes, schema: str) -> bytes:
        """Seal arbitrary bytes for one principal: how a dead letter keeps a sealed topic's original."""
        return seal(payload, referral_id=key, schema=schema, schema_version=1, recipients=[principal],
                    custody=self.custody, directory=self.directory)

    def unwrap(self, topic: str, key: bytes | None, value: bytes | None) -> bytes | None:
        spec = _TOPICS.get(topic)
        if spec is None or not spec.sealed:
            return value
        if value is None:
            raise SealError("empty record on a sealed topic")
        _, plaintext = open_sealed(
            value, custody=self.custody, directory=self.directory, expected_senders=set(spec.writers),
            delivered_as=key.decode(errors="replace") if key is not None else None,
            case_key_for=lambda referral_id: self.case_keys.key_for(referral_id, create=False),
        )
        return plaintext
