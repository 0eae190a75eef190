"""Writes docs/test-vectors/envelope.json from the hub's own implementation: `python docs/test-vectors/generate.py`.

The keys are derived from fixed seeds and published on purpose: they are test keys, never used by any hub. The
envelopes are sealed once and kept (HPKE's ephemeral key is random, so sealing again gives other bytes); the
unit tests open every envelope here and recompute its header bytes, signature input and signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from mash_runtime.firewall import Directory, seal
from mash_runtime.firewall.keys import PemCustody, key_id

HERE = Path(__file__).parent


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"mash envelope test vector: {label}".encode()).digest()


def _party(name: str) -> dict:
    signing = Ed25519PrivateKey.from_private_bytes(_seed(f"{name} signing"))
    encryption = X25519PrivateKey.from_private_bytes(_seed(f"{name} encryption"))
    pem = serialization.PrivateFormat.PKCS8

    def private(k):
        return k.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption()).decode()

    def public(k):
        return k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def raw(k):
        return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    return {
        "name": name,
        "signing_private_pem": private(signing),
        "encryption_private_pem": private(encryption),
        "public_pem": public(signing) + public(encryption),
        "signing_key_id": key_id("sig", signing.public_key()),
        "encryption_key_id": key_id("enc", encryption.public_key()),
        "signing_public_hex": raw(signing),
        "encryption_public_hex": raw(encryption),
    }


def _directory(*parties: dict) -> dict:
    return {
        p["name"]: {
            "signing": {p["signing_key_id"]: p["signing_public_hex"]},
            "encryption": {p["encryption_key_id"]: p["encryption_public_hex"]},
            "current": {"signing": p["signing_key_id"], "encryption": p["encryption_key_id"]},
        }
        for p in parties
    }


CASES = [
    (
        "a submission from a referrer to intake",
        "vector_referrer",
        ["vector_intake"],
        "GUIDE-0001",
        "NotificationSubmission",
        '{"schema_version":1,"submission_id":"GUIDE-0001","concern":{"description":"Synthetic test text."}}',
        False,
    ),
    (
        "a product for two recipients, non-ASCII in the header and the content",
        "vector_intake",
        ["vector_referrer", "vector_intake"],
        "REF-Ünïcødé-😀",
        "InformationProduct",
        '{"summary":"Zoë Ångström – synthetic 🧪"}',
        False,
    ),
    (
        "a case-bound message between hub services (never sent to an outside agency)",
        "vector_intake",
        ["vector_intake"],
        "REF-0123456789AB",
        "Notification",
        '{"referral_id":"REF-0123456789AB"}',
        True,
    ),
]
CASE_KEY = _seed("case key")


def main() -> None:
    import tempfile

    referrer, intake = _party("vector_referrer"), _party("vector_intake")
    parties = {p["name"]: p for p in (referrer, intake)}
    directory_json = _directory(referrer, intake)
    with tempfile.TemporaryDirectory() as tmp:
        for p in parties.values():
            d = Path(tmp) / p["name"]
            d.mkdir()
            (d / "signing.pem").write_text(p["signing_private_pem"])
            (d / "encryption.pem").write_text(p["encryption_private_pem"])
        directory = Directory.from_json(directory_json)
        cases = []
        for description, sender, recipients, referral, schema, text, case_bound in CASES:
            custody = PemCustody(Path(tmp) / sender, sender)
            envelope = seal(
                text.encode(),
                referral_id=referral,
                schema=schema,
                schema_version=1,
                recipients=recipients,
                custody=custody,
                directory=directory,
                message_id=str(hashlib.sha256(description.encode()).hexdigest()[:32]),
                case_key=CASE_KEY if case_bound else None,
            )
            raw = json.loads(envelope)
            from mash_runtime.firewall.envelope import signature_input

            cases.append(
                {
                    "description": description,
                    "sender": sender,
                    "recipients": recipients,
                    "case_key_hex": CASE_KEY.hex() if case_bound else None,
                    "plaintext_utf8": text,
                    "canonical_header": Header_bytes(raw),
                    "signature_input": signature_input(raw).decode("ascii"),
                    "envelope": envelope.decode("ascii"),
                }
            )
    out = {
        "format": "mash-envelope-2",
        "spec": "docs/envelope.md",
        "about": "Test keys from fixed seeds, published on purpose: never use them for anything but these tests.",
        "parties": parties,
        "directory": directory_json,
        "cases": cases,
    }
    (HERE / "envelope.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {HERE / 'envelope.json'}: {len(cases)} cases", file=sys.stderr)


def Header_bytes(raw: dict) -> str:
    from mash_runtime.firewall.envelope import canonical_json

    return canonical_json(raw["header"]).decode("ascii")


if __name__ == "__main__":
    main()
