"""Service keys: an Ed25519 signing key and an X25519 encryption key per service, each with a key id.

Keys are generated at setup into the state directory (never committed). Rotation adds a new current key
and keeps the old private keys, so messages sealed before the rotation stay readable. Public keys are
published in one directory file every service loads. `KeyCustody` is the seam where a KMS or HSM would sit:
the private keys never leave it; callers ask it to sign and to unwrap.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

HPKE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
DIRECTORY = "directory.json"
PEPPER = "subject-pepper"  # the hub's secret for subject tokens in the audit log (keyed hashes, not names)


class KeyError_(LookupError):
    """A key that is not in the directory or the custody: the message cannot be trusted or opened."""


class KeyCustody(Protocol):
    service: str

    def signing_key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...

    def unwrap(self, key_id: str, wrapped: bytes, info: bytes) -> bytes: ...


def _raw_public(key) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _raw_private(key) -> str:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()).hex()


def _new_kid(kind: str) -> str:
    return f"{kind}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


class FileCustody:
    """Private keys in files under <keys>/<service>/ (mode 0600); stands in for a KMS."""

    def __init__(self, keys_dir: Path, service: str):
        self.service = service
        self.path = keys_dir / service / "private.json"
        data = json.loads(self.path.read_text())
        self._signing = {kid: Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v)) for kid, v in data["signing"].items()}
        self._encryption = {kid: X25519PrivateKey.from_private_bytes(bytes.fromhex(v)) for kid, v in data["encryption"].items()}
        self._current_signing = data["current"]["signing"]

    def signing_key_id(self) -> str:
        return self._current_signing

    def sign(self, data: bytes) -> bytes:
        return self._signing[self._current_signing].sign(data)

    def unwrap(self, key_id: str, wrapped: bytes, info: bytes) -> bytes:
        try:
            key = self._encryption[key_id]
        except KeyError:
            raise KeyError_(f"{self.service} holds no encryption key {key_id}") from None
        return HPKE.decrypt(wrapped, key, info=info)


@dataclass(frozen=True)
class PublicKeys:
    signing: dict[str, Ed25519PublicKey]
    encryption: dict[str, X25519PublicKey]
    current_encryption: str


class Directory:
    """Every service's public keys, all versions, and which encryption key is current."""

    def __init__(self, entries: dict[str, PublicKeys]):
        self.entries = entries

    @classmethod
    def load(cls, keys_dir: Path) -> Directory:
        raw = json.loads((keys_dir / DIRECTORY).read_text())
        return cls({
            service: PublicKeys(
                {kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(v)) for kid, v in e["signing"].items()},
                {kid: X25519PublicKey.from_public_bytes(bytes.fromhex(v)) for kid, v in e["encryption"].items()},
                e["current"]["encryption"],
            )
            for service, e in raw.items()
        })

    def verify_key(self, service: str, key_id: str) -> Ed25519PublicKey:
        try:
            return self.entries[service].signing[key_id]
        except KeyError:
            raise KeyError_(f"no signing key {key_id} for {service} in the directory") from None

    def encryption_key(self, service: str) -> tuple[str, X25519PublicKey]:
        try:
            entry = self.entries[service]
        except KeyError:
            raise KeyError_(f"{service} is not in the key directory") from None
        return entry.current_encryption, entry.encryption[entry.current_encryption]


def write_secret(path: Path, text: str) -> None:
    """Replace a file atomically with one only its owner can read, from its first byte (no chmod window)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(text)
    tmp.replace(path)


def generate(keys_dir: Path, services: list[str], rotate: bool = False) -> dict[str, str]:
    """Create (or, with rotate, add) a signing and an encryption key for each service; update the directory.

    Idempotent without rotate: a service that already has keys keeps them."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    pepper_path = keys_dir / PEPPER
    if not pepper_path.exists():
        write_secret(pepper_path, secrets.token_hex(32))
    directory_path = keys_dir / DIRECTORY
    directory = json.loads(directory_path.read_text()) if directory_path.exists() else {}
    changed = {}
    for service in services:
        private_path = keys_dir / service / "private.json"
        private = json.loads(private_path.read_text()) if private_path.exists() else {"signing": {}, "encryption": {}, "current": {}}
        if private["current"] and not rotate:
            continue
        signing, encryption = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
        s_kid, e_kid = _new_kid("sig"), _new_kid("enc")
        private["signing"][s_kid] = _raw_private(signing)
        private["encryption"][e_kid] = _raw_private(encryption)
        private["current"] = {"signing": s_kid, "encryption": e_kid}
        private_path.parent.mkdir(parents=True, exist_ok=True)
        private_path.parent.chmod(0o700)
        write_secret(private_path, json.dumps(private))
        entry = directory.setdefault(service, {"signing": {}, "encryption": {}, "current": {}})
        entry["signing"][s_kid] = _raw_public(signing.public_key())
        entry["encryption"][e_kid] = _raw_public(encryption.public_key())
        entry["current"] = {"signing": s_kid, "encryption": e_kid}
        changed[service] = e_kid
    tmp = directory_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(directory, indent=1, sort_keys=True))
    tmp.replace(directory_path)
    return changed


def load_pepper(keys_dir: Path) -> bytes:
    return bytes.fromhex((keys_dir / PEPPER).read_text().strip())


def keyed_digest(pepper: bytes, domain: str, *parts: str) -> str:
    """HMAC-SHA256 of the parts under the service's pepper, separated by 0x1f and prefixed by what they are for, so a
    store can compare identifiers (a blocking key, a referrer) without holding them."""
    return hmac.new(pepper, "\x1f".join((domain, *parts)).encode(), hashlib.sha256).hexdigest()
