"""What an agency system needs besides a Kafka client: its connection settings, and sealing and opening
envelopes with its own keys (docs/envelope.md; clients/go is the reference client in another language).
kcat (Debian's package) is installed on demand for the integration guide."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from mash_contracts import decode
from mash_contracts.topics import by_name
from mash_runtime.firewall import Firewall
from mash_runtime.firewall.keys import write_secret

from .kafka import LocalKafka
from .processes import apt_install


def client_config(broker: LocalKafka, principal: str) -> str:
    """librdkafka properties (kcat -F) for one of the hub's own principals. An outside agency's password is not
    kept by the hub: it is in the configuration `mash agency add` wrote (`mash agency password` issues a new one)."""
    access = broker.access
    try:
        password = access.passwords[principal]
    except KeyError:
        raise SystemExit(
            f"{principal} is not one of the hub's principals; an enrolled agency's configuration comes "
            f"from `mash agency add` (or a new password from `mash agency password {principal}`)"
        ) from None
    return access.librdkafka(principal, password)


CA_NAME = "mash-hub-ca.pem"


def write_client_config(text: str, output: Path | None) -> None:
    """To a file only its owner can read, from its first byte: it holds the principal's password. The hub CA's
    certificate the configuration names goes beside it (mash-hub-ca.pem, public), so the two travel together to the
    agency's machine. To stdout otherwise; a shell redirect there creates the file world-readable, so it is narrowed
    before anything is written."""
    if output is not None:
        write_secret(output, _with_ca_beside(text, output))
        return
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (captured, say): nothing on disk to narrow
        fd = None
    if fd is not None and stat.S_ISREG(os.fstat(fd).st_mode):
        os.fchmod(fd, 0o600)
    sys.stdout.write(text)


def _with_ca_beside(text: str, output: Path) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("ssl.ca.location="):
            source = Path(line.split("=", 1)[1])
            beside = output.resolve().with_name(CA_NAME)
            if source.resolve() != beside:
                beside.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, beside)
            lines[i] = f"ssl.ca.location={beside}"
    return "\n".join(lines) + "\n"


def _firewall(keys_dir: Path, principal: str, agency_dir: Path | None) -> Firewall:
    return Firewall.for_agency(principal, agency_dir) if agency_dir is not None else Firewall(principal, keys_dir)


def seal(keys_dir: Path, principal: str, topic: str, key: str, plaintext: bytes, agency_dir: Path | None = None) -> bytes:
    """Validate the plaintext against the topic's contract, then seal it for the topic's readers."""
    spec = by_name(topic)
    message = decode(spec.message, plaintext)
    return _firewall(keys_dir, principal, agency_dir).wrap(topic, key, message)


def open_(keys_dir: Path, principal: str, topic: str, key: str, envelope: bytes, agency_dir: Path | None = None) -> bytes:
    return _firewall(keys_dir, principal, agency_dir).unwrap(topic, key.encode(), envelope)


def ensure_kcat() -> str:
    found = shutil.which("kcat")
    if found:
        return found
    apt_install("kcat")
    return shutil.which("kcat") or "kcat"
