"""The sealed envelope every personal-data message travels in. docs/envelope.md specifies every byte;
docs/test-vectors/ holds envelopes any implementation must open and reproduce the signature of.

- A fresh AES-256-GCM data key and 12-byte nonce per message; the header is the associated data, so a
  ciphertext moved under another header (another referral, another recipient list) fails to decrypt.
- The data key is wrapped for each recipient with HPKE (X25519, HKDF-SHA256, AES-256-GCM), with the header
  as HPKE info: a wrapped key moved to another envelope does not unwrap.
- The sender signs the canonical JSON of the whole envelope but its signature with its Ed25519 key; recipients
  verify the signature against the key directory before they unwrap anything.
- With a case key (per referral, see casekeys.py) the content key is HKDF(data key || case key, header):
  opening then needs both a recipient's private key and the case key, so shredding the case key erases
  every copy. The header says whether a case key was used, and the header is authenticated. Only messages between
  the hub's own services are case-bound: what goes to an outside agency opens with that agency's own key alone.
Nothing is compressed before encryption. mash-envelope-1 (signed bytes of another layout) is still opened, never sealed.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .keys import HPKE, Directory, KeyCustody, KeyError_

FORMAT = "mash-envelope-2"
FORMAT_1 = "mash-envelope-1"  # opened, for what was sealed before version 2; never sealed any more


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
    case_bound: bool = False

    def as_json(self, format_: str = FORMAT) -> dict[str, Any]:
        body = {**self.__dict__, "recipients": list(self.recipients), "recipient_key_ids": list(self.recipient_key_ids)}
        if format_ == FORMAT_1 and not self.case_bound:  # version 1 left it out when false
            del body["case_bound"]
        return body

    def canonical(self, format_: str = FORMAT) -> bytes:
        """The header's exact bytes: the AES-GCM associated data and the HPKE info."""
        return canonical_json(self.as_json(format_))


def canonical_json(value: object) -> bytes:
    """Keys sorted by code point, no whitespace, every character outside ASCII escaped as \\uXXXX (UTF-16, so a
    character beyond the BMP is a surrogate pair), the rest as JSON's shortest escapes (docs/envelope.md)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signature_input(raw: dict[str, Any]) -> bytes:
    """What the sender signs: version 2 signs the canonical JSON of the envelope without its signature."""
    if raw["format"] == FORMAT_1:
        return _signed_bytes_1(raw)
    return canonical_json({k: raw[k] for k in ("format", "header", "wrapped_keys", "nonce", "ciphertext")})


def _signed_bytes_1(raw: dict[str, Any]) -> bytes:
    header = Header(
        **{
            **raw["header"],
            "recipients": tuple(raw["header"]["recipients"]),
            "recipient_key_ids": tuple(raw["header"]["recipient_key_ids"]),
        }
    ).canonical(FORMAT_1)
    parts = [
        FORMAT_1.encode(),
        header,
        json.dumps(raw["wrapped_keys"], sort_keys=True).encode(),
        raw["nonce"].encode(),
        raw["ciphertext"].encode(),
    ]
    return b"\x1f".join(parts)


def _content_key(data_key: bytes, case_key: bytes | None, aad: bytes) -> bytes:
    if case_key is None:
        return data_key
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mash-case-bound|" + aad).derive(data_key + case_key)


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
    case_key: bytes | None = None,
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
        case_bound=case_key is not None,
    )
    aad = header.canonical()
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(_content_key(data_key, case_key, aad)).encrypt(nonce, plaintext, aad)
    wrapped = {f"{r}/{kid}": _b64(HPKE.encrypt(data_key, key, info=aad)) for r, (kid, key) in zip(recipients, keys, strict=True)}
    body = {
        "format": FORMAT,
        "header": header.as_json(),
        "wrapped_keys": wrapped,
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    return canonical_json({**body, "signature": _b64(custody.sign(signature_input(body)))})


_HEADER_FIELDS = set(Header.__dataclass_fields__)


def header_of(envelope: bytes) -> Header:
    """The header, unverified: for routing and dead-letter reasons only, never for trust."""
    return _parse(envelope)[0]


def _parse(envelope: bytes) -> tuple[Header, dict[str, Any]]:
    """The envelope's header and its whole JSON body, parsed once."""
    try:
        raw = json.loads(envelope)
        if not isinstance(raw, dict) or raw.get("format") not in (FORMAT, FORMAT_1):  # b"0" is valid JSON too
            raise SealError("not a sealed envelope")
        h = raw["header"]
        if raw["format"] == FORMAT:
            _check_v2(raw)
        return Header(**{**h, "recipients": tuple(h["recipients"]), "recipient_key_ids": tuple(h["recipient_key_ids"])}), raw
    except SealError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise SealError(f"malformed envelope: {type(e).__name__}") from None


def _check_v2(raw: dict[str, Any]) -> None:
    """Version 2's types, exactly (docs/envelope.md): what another language's reader refuses, this one refuses too."""
    h = raw["header"]
    if not isinstance(h, dict) or set(h) != _HEADER_FIELDS:  # every member stated, and nothing else
        raise SealError("malformed envelope: the header must have exactly the fields of docs/envelope.md")
    texts = [h[k] for k in ("message_id", "referral_id", "sender", "sender_key_id", "schema", "sealed_at")]
    lists = [h["recipients"], h["recipient_key_ids"]]
    if (
        not all(isinstance(t, str) for t in texts)
        or type(h["schema_version"]) is not int
        or type(h["case_bound"]) is not bool
        or not all(isinstance(xs, list) and all(isinstance(x, str) for x in xs) for xs in lists)
        or len(h["recipients"]) != len(h["recipient_key_ids"])
        or len(set(h["recipients"])) != len(h["recipients"])
        or not isinstance(raw["wrapped_keys"], dict)
        or not all(isinstance(v, str) for v in raw["wrapped_keys"].values())
        or not all(isinstance(raw[k], str) for k in ("nonce", "ciphertext", "signature"))
    ):
        raise SealError("malformed envelope: a member of the wrong type, or recipients and key ids that do not pair")
    try:  # an unpaired surrogate has no UTF-8 form: other readers cannot reproduce the signed bytes
        for t in (*texts, *lists[0], *lists[1], *raw["wrapped_keys"]):
            t.encode("utf-8")
    except UnicodeEncodeError:
        raise SealError("malformed envelope: a string with an unpaired surrogate") from None


def _b64decode(text: str, size: int | None = None) -> bytes:
    data = base64.b64decode(text, validate=True)
    if size is not None and len(data) != size:
        raise ValueError(f"{len(data)} bytes where {size} belong")
    return data


def open_sealed(
    envelope: bytes,
    *,
    custody: KeyCustody,
    directory: Directory,
    expected_senders: Collection[str] | None = None,
    delivered_as: str | None = None,
    case_key_for: Callable[[str], bytes] | None = None,
) -> tuple[Header, bytes]:
    """Verify, then decrypt. Every failure is a SealError naming what failed; nothing is returned unverified.

    delivered_as: the referral id the message arrived under (its Kafka key); an envelope sealed for another
    referral is a replay and is refused. case_key_for(referral_id) returns the case key of a case-bound
    message (raising LookupError when it is gone)."""
    try:
        return _open(envelope, custody, directory, expected_senders, delivered_as, case_key_for)
    except SealError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as e:  # any other shape a hostile record can take
        raise SealError(f"malformed envelope: {type(e).__name__}") from None


def _open(
    envelope: bytes,
    custody: KeyCustody,
    directory: Directory,
    expected_senders: Collection[str] | None,
    delivered_as: str | None,
    case_key_for: Callable[[str], bytes] | None,
) -> tuple[Header, bytes]:
    header, raw = _parse(envelope)
    aad = header.canonical(raw["format"])
    if expected_senders is not None and header.sender not in expected_senders:
        raise SealError(f"sender {header.sender} may not write here")
    if delivered_as is not None and header.referral_id != delivered_as:
        raise SealError(f"sealed for referral {header.referral_id} but delivered as {delivered_as}: replay refused")
    try:
        verify_key = directory.verify_key(header.sender, header.sender_key_id)
        verify_key.verify(_b64decode(raw["signature"], 64), signature_input(raw))
    except (KeyError_, InvalidSignature, ValueError, KeyError) as e:
        raise SealError(f"signature check failed for sender {header.sender}: {type(e).__name__}") from None
    me = custody.service
    if me not in header.recipients:
        raise SealError(f"{me} is not a recipient of this message")
    kid = header.recipient_key_ids[header.recipients.index(me)]
    wrapped = raw["wrapped_keys"].get(f"{me}/{kid}")
    if wrapped is None:
        raise SealError(f"no wrapped key for {me}")
    case_key = None
    if header.case_bound:
        if case_key_for is None:
            raise SealError("case-bound message and no case key custody to open it")
        try:
            case_key = case_key_for(header.referral_id)
        except LookupError as e:
            raise SealError(f"cannot open: {e}") from None
    try:
        data_key = custody.unwrap(kid, _b64decode(wrapped, 80), aad)
        if len(data_key) != 32:
            raise ValueError("the data key is not 32 bytes")
        plaintext = AESGCM(_content_key(data_key, case_key, aad)).decrypt(
            _b64decode(raw["nonce"], 12), _b64decode(raw["ciphertext"]), aad
        )
    except Exception as e:  # InvalidTag, KeyError_, and HPKE's own errors on a bad key or tag
        raise SealError(f"cannot open: {type(e).__name__}") from None
    return header, plaintext
