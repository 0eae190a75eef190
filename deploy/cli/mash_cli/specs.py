"""Published documents for integrators, generated from the code: a JSON Schema per contract (and for the
sealed envelope), and an AsyncAPI 3.0 document of every topic, who sends and who receives. `mash docs`
writes them to docs/; a test fails when the committed files drift from what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from mash_contracts.topics import CATALOGUE, principals

from .paths import REPO

DOCS = REPO / "docs"

ENVELOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "SealedEnvelope",
    "description": (
        "mash-envelope-1: every record on a sealed topic. The plaintext (the topic's message, UTF-8 JSON) is encrypted "
        "with AES-256-GCM under a fresh 256-bit key and 12-byte nonce, with the canonical header (sorted keys, no spaces) "
        "as associated data; for referral-keyed topics the content key is HKDF-SHA256(data key || case key, "
        "info='mash-case-bound|' + header). The data key is wrapped for each recipient with HPKE (RFC 9180: "
        "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode) with the header as info. The sender signs "
        "'mash-envelope-1' 0x1f header 0x1f wrapped_keys (sorted-key JSON) 0x1f nonce 0x1f ciphertext with Ed25519."
    ),
    "type": "object",
    "required": ["format", "header", "wrapped_keys", "nonce", "ciphertext", "signature"],
    "properties": {
        "format": {"const": "mash-envelope-1"},
        "header": {
            "type": "object",
            "required": ["message_id", "referral_id", "sender", "sender_key_id", "recipients", "recipient_key_ids",
                         "schema", "schema_version", "sealed_at"],
            "properties": {
                "message_id": {"type": "string"}, "referral_id": {"type": "string", "description": "The record's key"},
                "sender": {"type": "string"}, "sender_key_id": {"type": "string"},
                "recipients": {"type": "array", "items": {"type": "string"}},
                "recipient_key_ids": {"type": "array", "items": {"type": "string"}},
                "schema": {"type": "string", "description": "The plaintext's message type"},
                "schema_version": {"type": "integer"}, "sealed_at": {"type": "string", "format": "date-time"},
                "case_bound": {"type": "boolean", "description": "Present and true when a per-referral case key is mixed in"},
            },
        },
        "wrapped_keys": {"type": "object", "description": "'<recipient>/<key id>' -> base64 HPKE ciphertext (enc || ct)",
                         "additionalProperties": {"type": "string"}},
        "nonce": {"type": "string", "contentEncoding": "base64"},
        "ciphertext": {"type": "string", "contentEncoding": "base64"},
        "signature": {"type": "string", "contentEncoding": "base64"},
    },
}


def schemas() -> dict[str, dict]:
    out = {"SealedEnvelope": ENVELOPE_SCHEMA}
    for topic in CATALOGUE:
        out.setdefault(topic.message.__name__, topic.message.model_json_schema())
    return out


def asyncapi() -> dict:
    channels, operations, messages = {}, {}, {}
    for t in CATALOGUE:
        cid = t.name.replace(".", "_")
        name = t.message.__name__
        messages[name] = {
            "name": name, "contentType": "application/json",
            "payload": {"$ref": f"schemas/{name}.json"},
            "headers": {"type": "object", "properties": {
                "mash-message-type": {"const": name}, "mash-schema-version": {"type": "string"}}},
        }
        if t.sealed:
            messages[f"Sealed{name}"] = {
                "name": f"Sealed{name}", "contentType": "application/json",
                "summary": f"A {name} sealed for this topic's readers (open it to read the {name} payload)",
                "payload": {"$ref": "schemas/SealedEnvelope.json"},
            }
        wire = f"Sealed{name}" if t.sealed else name
        channels[cid] = {
            "address": t.name, "description": t.description,
            "messages": {wire: {"$ref": f"#/components/messages/{wire}"}},
            "bindings": {"kafka": {"partitions": t.partitions, "replicas": 1, "bindingVersion": "0.5.0",
                                   "topicConfiguration": {"max.message.bytes": t.max_message_bytes}}},
            "x-mash": {"key": t.key, "sealed": t.sealed, "writers": list(t.writers), "readers": list(t.readers)},
        }
        for role, action in (("writers", "send"), ("readers", "receive")):
            for p in getattr(t, role):
                operations[f"{p}_{action}_{cid}"] = {
                    "action": action, "channel": {"$ref": f"#/channels/{cid}"},
                    "summary": f"{p} {'writes' if action == 'send' else 'reads'} {t.name} (Kafka ACL: "
                               f"{'Write' if action == 'send' else 'Read'}; consumer groups named '{p}' or '{p}.*')",
                }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "MASH: Multi-Agency Safeguarding Hub topics", "version": "1.0.0",
                 "description": "Every topic of the hub, generated from libs/contracts/mash_contracts/topics.py. "
                                "Records are keyed as stated; sealed topics carry mash-envelope-1 envelopes."},
        "servers": {"local": {"host": "127.0.0.1:{port}", "protocol": "kafka-secure",
                              "description": "The local broker: SASL/SCRAM-SHA-512 over loopback, one user per principal",
                              "variables": {"port": {"description": "See `./mash kafka status`"}},
                              "security": [{"$ref": "#/components/securitySchemes/scram"}]}},
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {"scram": {"type": "scramSha512", "description": f"Principals: {', '.join(principals())}"}},
        },
    }


def render() -> dict[Path, str]:
    files = {DOCS / "asyncapi.json": json.dumps(asyncapi(), indent=2, sort_keys=False) + "\n"}
    for name, schema in schemas().items():
        files[DOCS / "schemas" / f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def write() -> list[Path]:
    changed = []
    for path, text in render().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed
