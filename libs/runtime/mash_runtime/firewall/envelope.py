"""The sealed envelope every personal-data message travels in.

- A fresh AES-256-GCM data key and 12-byte nonce per message; the header is the associated data, so a
  ciphertext moved under another header (another referral, another recipient list) fails to decrypt.
- The data key is wrapped for each recipient with HPKE (X25519, HKDF-SHA256, AES-256-GCM), with the header
  as HPKE info: a wrapped key moved to another envelope does not unwrap.
- The sender signs header, wrapped keys, nonce and ciphertext with its Ed25519 key; recipients verify the
  signature against the key directory before they unwrap anything.
Nothing is compressed before encryption.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keys import HPKE, Directory, KeyCustody, KeyError_

FORMAT = "mash-envelope-1"


class SealError(ValueError):
    """The envelope cannot be trusted or opened. Permanent: the message is dead-lettered with this reason."""


@dataclass(frozen=True)
class Header:
    message_id: str
    referral_id: str
    sender: str
    sender_key_id: str
    recipients: tuple[str, ...]
    recipient_key_ids: tuple[str, ...]
    schema: str
    schema_version: int
    sealed_at: str

    def canonical(self) -> bytes:
        body = {**self.__dict__, "recipients": list(self.recipients), "recipient_key_ids": list(self.recipient_key_ids)}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _signed_bytes(header: bytes, wrapped: dict[str, str], nonce: str, ciphertext: str) -> bytes:
    return b"\x1f".join([FORMAT.encode(), header, json.dumps(wrapped, sort_keys=True).encode(), nonce.encode(), ciphertext.encode()])


def seal(
    plaintext: bytes,
    *,
    referral_id: str,
    schema: str,
    schema_version: int,
    recipients: list[str],
    custody: KeyCustody,
    directory: Directory,
    message_id: str | None = None,
) -> bytes:
    keys = [directory.encryption_key(r) for r in recipients]
    header = Header(
        message_id=message_id or str(uuid.uuid4()),
        referral_id=referral_id,
        sender=custody.service,
        sender_key_id=custody.signing_key_id(),
        recipients=tuple(recipients),
        recipient_key_ids=tuple(kid for kid, _ in keys),
        schema=schema,
        schema_version=schema_version,
        sealed_at=datetime.now(UTC).isoformat(),
    )
    aad = header.canonical()
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    wrapped = {f"{r}/{kid}": _b64(HPKE.encrypt(data_key, key, info=aad)) for r, (kid, key) in zip(recipients, keys)}
    nonce_b64, ct_b64 = _b64(nonce), _b64(ciphertext)
    signature = custody.sign(_signed_bytes(aad, wrapped, nonce_b64, ct_b64))
    return json.dumps({
        "format": FORMAT, "header": json.loads(aad), "wrapped_keys": wrapped, "nonce": nonce_b64,
        "ciphertext": ct_b64, "signature": _b64(signature),
    }).encode()


def header_of(envelope: bytes) -> Header:
    """The header, unverified: for routing and dead-letter reasons only, never for trust."""
    try:
        raw = json.loads(envelope)
        if raw.get("format") != FORMAT:
            raise SealError("not a sealed envelope")
        h = raw["header"]
        return Header(**{**h, "recipients": tuple(h["recipients"]), "recipient_key_ids": tuple(h["recipient_key_ids"])})
    except (ValueError, KeyError, TypeError) as e:
        raise SealError(f"malformed envelope: {type(e).__name__}") from None


def open_sealed(
    envelope: bytes,
    *,
    custody: KeyCustody,
    directory: Directory,
    expected_senders: set[str] | None = None,
    delivered_as: str | None = None,
) -> tuple[Header, bytes]:
    """Verify, then decrypt. Every failure is a SealError naming what failed; nothing is returned unverified.

    delivered_as: the referral id the message arrived under (its Kafka key); an envelope sealed for another
    referral is a replay and is refused."""
    header = header_of(envelope)
    raw = json.loads(envelope)
    aad = header.canonical()
    if expected_senders is not None and header.sender not in expected_senders:
        raise SealError(f"sender {header.sender} may not write here")
    if delivered_as is not None and header.referral_id != delivered_as:
        raise SealError(f"sealed for referral {header.referral_id} but delivered as {delivered_as}: replay refused")
    try:
        verify_key = directory.verify_key(header.sender, header.sender_key_id)
        verify_key.verify(base64.b64decode(raw["signature"]), _signed_bytes(aad, raw["wrapped_keys"], raw["nonce"], raw["ciphertext"]))
    except (KeyError_, InvalidSignature, ValueError, KeyError) as e:
        raise SealError(f"signature check failed for sender {header.sender}: {type(e).__name__}") from None
    me = custody.service
    if me not in header.recipients:
        raise SealError(f"{me} is not a recipient of this message")
    kid = header.recipient_key_ids[header.recipients.index(me)]
    wrapped = raw["wrapped_keys"].get(f"{me}/{kid}")
    if wrapped is None:
        raise SealError(f"no wrapped key for {me}")
    try:
        data_key = custody.unwrap(kid, base64.b64decode(wrapped), aad)
        plaintext = AESGCM(data_key).decrypt(base64.b64decode(raw["nonce"]), base64.b64decode(raw["ciphertext"]), aad)
    except (InvalidTag, KeyError_, ValueError, Exception) as e:  # HPKE raises its own errors on a bad key or tag
        raise SealError(f"cannot open: {type(e).__name__}") from None
    return header, plaintext
