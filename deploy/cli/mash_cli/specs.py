"""Published documents for integrators, generated from the code: a JSON Schema per contract (and for the
sealed envelope), and an AsyncAPI 3.0 document of every topic, who sends and who receives. `mash docs`
writes them to docs/; a test fails when the committed files drift from what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from mash_contracts.topics import CATALOGUE, PRODUCT_RECIPIENTS, hub_principals

from .paths import REPO

DOCS = REPO / "docs"
README = REPO / "README.md"

ENVELOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "SealedEnvelope",
    "description": (
        "mash-envelope-2, specified byte by byte in docs/envelope.md with test vectors in docs/test-vectors/. The plaintext "
        "(the topic's message, UTF-8 JSON) is encrypted with AES-256-GCM under a fresh 256-bit data key and 12-byte nonce, "
        "with H, the header's canonical JSON, as associated data; the data key is wrapped for each recipient with HPKE "
        "(RFC 9180 base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) with info H and empty aad. The sender "
        "signs the canonical JSON of the envelope without its signature with Ed25519. Canonical JSON: keys sorted, no "
        "whitespace, non-ASCII escaped as lower-case \\uXXXX. Only messages between the hub's own services are case-bound."
    ),
    "type": "object",
    "required": ["format", "header", "wrapped_keys", "nonce", "ciphertext", "signature"],
    "properties": {
        "format": {"const": "mash-envelope-2"},
        "header": {
            "type": "object",
            "required": [
                "message_id",
                "referral_id",
                "sender",
                "sender_key_id",
                "recipients",
                "recipient_key_ids",
                "schema",
                "schema_version",
                "sealed_at",
                "case_bound",
            ],
            "additionalProperties": False,
            "properties": {
                "message_id": {"type": "string"},
                "referral_id": {
                    "type": "string",
                    "description": "The record's Kafka key, exactly (a replay under another key is refused)",
                },
                "sender": {"type": "string"},
                "sender_key_id": {"type": "string"},
                "recipients": {"type": "array", "items": {"type": "string"}},
                "recipient_key_ids": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "recipient_key_ids[i] is the encryption key id used for recipients[i]",
                },
                "schema": {"type": "string", "description": "The plaintext's message type"},
                "schema_version": {"type": "integer"},
                "sealed_at": {"type": "string", "format": "date-time"},
                "case_bound": {
                    "type": "boolean",
                    "description": "True only between the hub's own services: the hub's "
                    "per-referral case key is mixed into the content key. Always false for an outside agency",
                },
            },
        },
        "wrapped_keys": {
            "type": "object",
            "description": "'<recipient>/<key id>' -> base64 of HPKE enc (32 bytes) || ct (48 bytes)",
            "additionalProperties": {"type": "string"},
        },
        "nonce": {"type": "string", "contentEncoding": "base64"},
        "ciphertext": {"type": "string", "contentEncoding": "base64", "description": "AES-256-GCM ciphertext || 16-byte tag"},
        "signature": {
            "type": "string",
            "contentEncoding": "base64",
            "description": "Ed25519 over the canonical JSON of {ciphertext, format, header, nonce, wrapped_keys}",
        },
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
            "name": name,
            "contentType": "application/json",
            "payload": {"$ref": f"schemas/{name}.json"},
            "headers": {
                "type": "object",
                "properties": {"mash-message-type": {"const": name}, "mash-schema-version": {"type": "string"}},
            },
        }
        if t.sealed:
            messages[f"Sealed{name}"] = {
                "name": f"Sealed{name}",
                "contentType": "application/json",
                "summary": f"A {name} sealed for this topic's readers (open it to read the {name} payload)",
                "payload": {"$ref": "schemas/SealedEnvelope.json"},
            }
        wire = f"Sealed{name}" if t.sealed else name
        parameters = (
            {
                "parameters": {
                    "referrer": {
                        "description": "The enrolled referrer's name: the broker lets only that referrer read this topic"
                    }
                }
            }
            if t.per_referrer
            else {}
        )
        channels[cid] = {
            "address": t.address,
            "description": t.description,
            **parameters,
            "messages": {wire: {"$ref": f"#/components/messages/{wire}"}},
            "bindings": {
                "kafka": {
                    "partitions": t.partitions,
                    "replicas": 1,
                    "bindingVersion": "0.5.0",
                    "topicConfiguration": {"max.message.bytes": t.max_message_bytes},
                }
            },
            "x-mash": {"key": t.key, "sealed": t.sealed, "writers": list(t.writers), "readers": list(t.readers)},
        }
        for role, action in (("writers", "send"), ("readers", "receive")):
            for p in getattr(t, role):
                operations[f"{p}_{action}_{cid}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "summary": f"{p} {'writes' if action == 'send' else 'reads'} {t.name} (Kafka ACL: "
                    f"{'Write' if action == 'send' else 'Read'}; consumer groups named '{p}' or '{p}.*')",
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "MASH: Multi-Agency Safeguarding Hub topics",
            "version": "1.0.0",
            "description": "Every topic of the hub, generated from libs/contracts/mash_contracts/topics.py. "
            "Records are keyed as stated; sealed topics carry mash-envelope-2 envelopes "
            "(docs/envelope.md). `referrers` is each enrolled referrer (`mash agency add`).",
        },
        "servers": {
            "local": {
                "host": "127.0.0.1:{port}",
                "protocol": "kafka-secure",
                "description": "The local broker: SASL/SCRAM-SHA-512 over loopback, one user per principal",
                "variables": {"port": {"description": "See `./mash kafka status`"}},
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": (
                        f"The hub's principals: {', '.join(hub_principals())}; and each enrolled outside agency under its own "
                        f"name (a referrer, or a recipient: {', '.join(a.value for a in PRODUCT_RECIPIENTS)})"
                    ),
                }
            },
        },
    }


GENERATED_BEGIN, GENERATED_END = "<!-- generated: ", "<!-- end generated -->"


def readme() -> str:
    """The README with its generated tables (the topic catalogue and the ACL matrix) as the code has them now, each
    between its markers (HTML comments, unseen when the README is rendered)."""
    from mash_contracts.topics import markdown_table

    from .acls import matrix_markdown

    text = README.read_text()
    for name, table in (("topics", markdown_table()), ("acls", matrix_markdown())):
        text = between_markers(text, name, table)
    return text


def between_markers(text: str, name: str, content: str) -> str:
    """`text` with what lies between `<!-- generated: NAME -->` and the next `<!-- end generated -->` replaced by
    `content`; a marker missing (or the start one twice) is an error, never a table written in the wrong place."""
    begin = f"{GENERATED_BEGIN}{name} -->"
    start = text.find(begin) + len(begin)
    end = text.find(GENERATED_END, start)
    # Another table's start before this one's end means this end is missing: replacing up to it would swallow that table.
    if text.count(begin) != 1 or end < 0 or GENERATED_BEGIN in text[start:end]:
        raise ValueError(f"{README.name} needs one `{begin}` followed by `{GENERATED_END}` around its generated {name} table")
    return f"{text[:start]}\n\n{content}\n\n{text[end:]}"


def render() -> dict[Path, str]:
    from . import compose, k8s

    files = {
        DOCS / "asyncapi.json": json.dumps(asyncapi(), indent=2, sort_keys=False) + "\n",
        compose.PATH: compose.render(),
        **k8s.render(),
        README: readme(),
    }
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
