"""Keys: an Ed25519 signing key and an X25519 encryption key per principal, each with a key id.

The hub's own services' keys are generated at setup into the state directory (never committed). An outside
agency makes its own pair with any standard tool and the hub enrols its public keys only (`enrol`): its private
keys never exist on the hub, and its key ids are fingerprints of its public keys (`key_id`). Rotation adds a new current key
and keeps the old private keys, so messages sealed before the rotation stay readable. Public keys are
published in one directory file every service loads. `KeyCustody` is the seam where a KMS or HSM would sit:
the private keys never leave it; callers ask it to sign and to unwrap.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from mash_contracts.topics import AGENCY_NAME, HUB_REFERRERS, REFERRER_ROLE, hub_principals

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


def _raw_public(key: Ed25519PublicKey | X25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()).hex()


def _new_kid(kind: str) -> str:
    return f"{kind}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


def key_id(kind: str, public_key: Ed25519PublicKey | X25519PublicKey) -> str:
    """An enrolled key's id: its kind and the first 16 hex digits of the SHA-256 of its 32 raw public-key bytes,
    so an agency knows its own key ids without asking the hub ("sig-…" signing, "enc-…" encryption)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{kind}-{hashlib.sha256(raw).hexdigest()[:16]}"


class _HeldKeys:
    """Private keys held in this process, by key id: signs with the current signing key, unwraps with any."""

    service: str
    _signing: dict[str, Ed25519PrivateKey]
    _encryption: dict[str, X25519PrivateKey]
    _current_signing: str

    def signing_key_id(self) -> str:
        return self._current_signing

    def sign(self, data: bytes) -> bytes:
        return self._signing[self._current_signing].sign(data)

    def unwrap(self, key_id_: str, wrapped: bytes, info: bytes) -> bytes:
        try:
            key = self._encryption[key_id_]
        except KeyError:
            raise KeyError_(f"{self.service} holds no encryption key {key_id_}") from None
        return HPKE.decrypt(wrapped, key, info=info)


class PemCustody(_HeldKeys):
    """An outside agency's own keys, as its system holds them: PKCS#8 PEM files in one directory (what
    `openssl genpkey` writes). signing.pem signs; every X25519 key there opens (encryption.pem, and the keys it
    replaced, kept under any other .pem name so what was sealed before a rotation stays readable)."""

    def __init__(self, directory: Path, name: str):
        self.service = name
        self._encryption, self._signing = {}, {}
        for path in sorted(directory.glob("*.pem")):
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except ValueError:
                continue  # a public key or another file beside them
            if isinstance(key, X25519PrivateKey):
                self._encryption[key_id("enc", key.public_key())] = key
            elif isinstance(key, Ed25519PrivateKey) and path.name == "signing.pem":
                self._current_signing = key_id("sig", key.public_key())
                self._signing[self._current_signing] = key
        if not self._signing or not self._encryption:
            raise FileNotFoundError(f"{directory} holds no signing.pem (Ed25519) or no X25519 key")


def new_agency_keys(directory: Path) -> bytes:
    """What an agency runs once on its own machine (like `openssl genpkey`): signing.pem and encryption.pem, each
    0600, and the public keys it gives the hub to enrol (returned, and written to public.pem)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    public = b""
    for name, key in (("signing.pem", Ed25519PrivateKey.generate()), ("encryption.pem", X25519PrivateKey.generate())):
        write_secret(
            directory / name,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        )
        public += key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (directory / "public.pem").write_bytes(public)
    return public


class FileCustody(_HeldKeys):
    """A hub service's private keys in files under <keys>/<service>/ (mode 0600); stands in for a KMS."""

    def __init__(self, keys_dir: Path, service: str):
        self.service = service
        self.path = keys_dir / service / "private.json"
        data = json.loads(self.path.read_text())
        self._signing = {kid: Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v)) for kid, v in data["signing"].items()}
        self._encryption = {kid: X25519PrivateKey.from_private_bytes(bytes.fromhex(v)) for kid, v in data["encryption"].items()}
        self._current_signing = data["current"]["signing"]


@dataclass(frozen=True)
class PublicKeys:
    signing: dict[str, Ed25519PublicKey]
    encryption: dict[str, X25519PublicKey]
    current_encryption: str
    roles: tuple[str, ...] = ()  # an enrolled outside agency's: "referrer", "recipient"


class Directory:
    """Every principal's public keys, all versions, and which encryption key is current.

    Loaded from a file, it reads the file again when it changes (looked at once a second at most), so an agency
    enrolled, rotated or revoked while the services run counts from then on without a restart."""

    RECHECK_SECONDS = 1.0

    def __init__(self, entries: dict[str, PublicKeys], path: Path | None = None):
        self._entries = entries
        self._path = path
        self._stamp = self._stat()
        self._checked = time.monotonic()
        self._version = 0

    @classmethod
    def load(cls, keys_dir: Path) -> Directory:
        path = keys_dir / DIRECTORY
        return cls(_entries(json.loads(path.read_text())), path)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Directory:
        return cls(_entries(raw))

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        st = self._path.stat()
        return st.st_mtime_ns, st.st_size, st.st_ino

    @property
    def entries(self) -> dict[str, PublicKeys]:
        self._recheck()
        return self._entries

    @property
    def version(self) -> int:
        """Goes up each time the file is read again with a change: what anything derived from the entries is cached by."""
        self._recheck()
        return self._version

    def _recheck(self) -> None:
        if self._path is not None and time.monotonic() - self._checked >= self.RECHECK_SECONDS:
            self.reload()

    def reload(self) -> bool:
        """Read the file again if it changed; True when it did. Written by replace, so a read sees a whole file; a
        file that does not parse keeps the last good directory."""
        if self._path is None:
            return False
        self._checked = time.monotonic()
        try:
            if (stamp := self._stat()) == self._stamp:
                return False
            self._entries, self._stamp = _entries(json.loads(self._path.read_text())), stamp
            self._version += 1
            return True
        except (OSError, ValueError, KeyError):
            return False

    def with_role(self, role: str) -> set[str]:
        return {name for name, e in self.entries.items() if role in e.roles}

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


def _entries(raw: dict[str, Any]) -> dict[str, PublicKeys]:
    return {
        name: PublicKeys(
            {kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(v)) for kid, v in e["signing"].items()},
            {kid: X25519PublicKey.from_public_bytes(bytes.fromhex(v)) for kid, v in e["encryption"].items()},
            e["current"]["encryption"],
            tuple(e.get("roles", ())),
        )
        for name, e in raw.items()
    }


def parse_public_keys(pem: bytes) -> tuple[Ed25519PublicKey, X25519PublicKey]:
    """Exactly one Ed25519 and one X25519 public key (SubjectPublicKeyInfo PEM, what `openssl pkey -pubout`
    writes), in either order. A private key is refused outright: it must never reach the hub."""
    if b"PRIVATE KEY" in pem:
        raise ValueError("that file holds a private key: send the hub your public keys only (openssl pkey -pubout)")
    blocks = re.findall(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", pem, re.S)
    keys = [serialization.load_pem_public_key(b) for b in blocks]
    signing = [k for k in keys if isinstance(k, Ed25519PublicKey)]
    encryption = [k for k in keys if isinstance(k, X25519PublicKey)]
    if len(signing) != 1 or len(encryption) != 1 or len(keys) != 2:
        raise ValueError(
            f"expected one Ed25519 and one X25519 public key, found {len(signing)} Ed25519, "
            f"{len(encryption)} X25519 and {len(keys) - len(signing) - len(encryption)} other"
        )
    return signing[0], encryption[0]


def check_agency_name(name: str) -> None:
    """The one check of an outside agency's name (its directory entry, its Kafka user, part of its topics' names),
    made by `enrol`; a caller that must refuse before anything else is touched (the CLI, before the broker) asks it too."""
    if not AGENCY_NAME.fullmatch(name):
        raise ValueError("an agency's name is 2-48 characters: lower-case letters, digits and underscores, a letter first")
    if name in hub_principals():
        raise ValueError(f"{name} is one of the hub's own principals, not an outside agency: its keys are made at setup")


def enrol(keys_dir: Path, name: str, roles: tuple[str, ...], public_pem: bytes, *, rotate: bool = False) -> dict[str, Any]:
    """Add an outside agency's public keys to the directory (or, with rotate, make new ones current, keeping the
    old ones so what was signed or sealed before stays verifiable and openable). Returns its entry."""
    check_agency_name(name)
    signing, encryption = parse_public_keys(public_pem)
    path = keys_dir / DIRECTORY
    directory = json.loads(path.read_text()) if path.exists() else {}
    entry = directory.get(name)
    if entry is not None and not entry.get("roles"):
        raise ValueError(f"{name} is one of the hub's own services, not an outside agency")
    if entry is not None and not rotate:
        raise ValueError(f"{name} is already enrolled: rotate its keys, or revoke it first")
    if entry is None and rotate:
        raise ValueError(f"{name} is not enrolled")
    entry = entry or {"signing": {}, "encryption": {}, "current": {}, "roles": list(roles)}
    s_kid, e_kid = key_id("sig", signing), key_id("enc", encryption)
    entry["signing"][s_kid] = _raw_public(signing)
    entry["encryption"][e_kid] = _raw_public(encryption)
    entry["current"] = {"signing": s_kid, "encryption": e_kid}
    entry["roles"] = sorted(set(entry["roles"]) | set(roles))
    directory[name] = entry
    _write_directory(path, directory)
    return entry


def revoke(keys_dir: Path, name: str) -> bool:
    """Remove an outside agency from the directory: nothing it signs is accepted and nothing more is sealed for it."""
    path = keys_dir / DIRECTORY
    directory = json.loads(path.read_text())
    entry = directory.get(name)
    if entry is None:
        return False
    if not entry.get("roles"):
        raise ValueError(f"{name} is one of the hub's own services, not an outside agency")
    del directory[name]
    _write_directory(path, directory)
    return True


def _write_directory(path: Path, directory: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(directory, indent=1, sort_keys=True))
    tmp.replace(path)


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
        private = (
            json.loads(private_path.read_text()) if private_path.exists() else {"signing": {}, "encryption": {}, "current": {}}
        )
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
        if service in HUB_REFERRERS:  # the hub's own front door refers as an enrolled referrer does
            entry["roles"] = [REFERRER_ROLE]
        entry["signing"][s_kid] = _raw_public(signing.public_key())
        entry["encryption"][e_kid] = _raw_public(encryption.public_key())
        entry["current"] = {"signing": s_kid, "encryption": e_kid}
        changed[service] = e_kid
    _write_directory(directory_path, directory)
    return changed


def load_pepper(keys_dir: Path) -> bytes:
    return bytes.fromhex((keys_dir / PEPPER).read_text().strip())


def keyed_digest(pepper: bytes, domain: str, *parts: str) -> str:
    """HMAC-SHA256 of the parts under the service's pepper, separated by 0x1f and prefixed by what they are for, so a
    store can compare identifiers (a blocking key, a referrer) without holding them."""
    return hmac.new(pepper, "\x1f".join((domain, *parts)).encode(), hashlib.sha256).hexdigest()
