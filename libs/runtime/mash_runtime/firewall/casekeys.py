"""Per-referral case keys: the hub's means of erasing a case from an immutable Kafka log.

Every sealed message about a referral is encrypted under a key derived from its own data key AND the
referral's case key, so a recipient's private key alone no longer opens it. Destroying the case key
(crypto-shredding) makes every copy unreadable: on the topics, in outboxes, in backups. A shredded case
leaves a tombstone, so a late message cannot quietly create a fresh key for it.
`CaseKeys` is the seam where a KMS would sit; `FileCaseKeys` keeps one 0600 file per case.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class CaseShredded(LookupError):
    """The case's key was destroyed by retention: its messages can no longer be opened."""


class CaseKeys(Protocol):
    def key_for(self, referral_id: str, *, create: bool) -> bytes: ...

    def shred(self, referral_id: str, reason: str) -> bool: ...

    def shredded(self, referral_id: str) -> dict[str, Any] | None: ...


class FileCaseKeys:
    def __init__(self, keys_dir: Path):
        self.root = keys_dir / "cases"

    def _path(self, referral_id: str, suffix: str = ".key") -> Path:
        if not _SAFE.match(referral_id):
            raise ValueError("not a referral id")
        return self.root / f"{referral_id}{suffix}"

    def key_for(self, referral_id: str, *, create: bool) -> bytes:
        path = self._path(referral_id)
        if self._path(referral_id, ".shredded").exists():
            raise CaseShredded(f"case {referral_id} was shredded")
        try:
            return bytes.fromhex(path.read_text())
        except FileNotFoundError:
            if not create:
                raise LookupError(f"no case key for {referral_id}") from None
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:  # O_EXCL: two services sealing the first messages of a case at once agree on one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return bytes.fromhex(path.read_text())
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
            f.flush()
            os.fsync(f.fileno())
        return key

    def shred(self, referral_id: str, reason: str) -> bool:
        """Destroy the key (overwritten, then removed) and leave a tombstone. False when there was no key."""
        path = self._path(referral_id)
        tombstone = self._path(referral_id, ".shredded")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        tombstone.write_text(
            json.dumps({"referral_id": referral_id, "shredded_at": datetime.now(UTC).isoformat(), "reason": reason})
        )
        if not path.exists():
            return False
        with open(path, "r+b") as f:
            f.write(secrets.token_bytes(max(64, path.stat().st_size)))
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
        return True

    def shredded(self, referral_id: str) -> dict[str, Any] | None:
        tombstone = self._path(referral_id, ".shredded")
        return json.loads(tombstone.read_text()) if tombstone.exists() else None
