"""Wire encoding: UTF-8 JSON, one message per Kafka record, with type and version in the headers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

MAX_MESSAGE_BYTES = 256 * 1024
CONTENT_TYPE = "application/json"
HEADER_TYPE = "mash-message-type"
HEADER_VERSION = "mash-schema-version"

M = TypeVar("M", bound=BaseModel)

# Derived ids: a redelivered input must produce the same output ids, so downstream can deduplicate.
_NAMESPACE = uuid.UUID("6f1c1c1e-2b7a-4d0e-9d7e-6a1b0c0d5a11")


class UnreadableMessage(ValueError):
    """The bytes are not a valid message of the expected type. Permanent: never retried."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def derived_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "\x1f".join(parts))


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


def headers_for(message: BaseModel) -> dict[str, str]:
    return {
        "content-type": CONTENT_TYPE,
        HEADER_TYPE: type(message).__name__,
        HEADER_VERSION: str(getattr(message, "schema_version", 1)),
    }


def describe(error: ValidationError) -> list[str]:
    """Readable reasons that never echo the input (it may hold personal data)."""
    reasons = []
    for e in error.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "message"
        reasons.append(f"{where}: {e['msg']}")
    return reasons


# Upcasters, per message type: {from_version: function(dict) -> dict of from_version + 1}. A consumer on a
# newer version of a contract reads older messages through them; a consumer on an older version reads
# newer messages because contracts only ever add optional fields and unknown fields are ignored.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[str, dict[int, Upcaster]] = {}


def upcaster(message_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS.setdefault(message_type, {})[from_version] = fn
        return fn

    return register


def _upcast(model: type[BaseModel], data: object) -> object:
    current = getattr(model, "SCHEMA_VERSION", 1)
    name = getattr(model, "CONTRACT_NAME", model.__name__)
    steps = UPCASTERS.get(name, {})
    if not isinstance(data, dict):
        return data
    version = data.get("schema_version", 1)
    # A newer version is read as it is (its additions are optional and ignored); a version that is no version
    # at all is left for validation to refuse with its reason.
    if not isinstance(version, int) or version < 1 or version >= current:
        return data
    for step in range(version, current):
        if step not in steps:
            # Carrying on would validate a message that never went through the missing step as if it had.
            raise UnreadableMessage(
                [f"schema_version: no upcaster from version {step} of {name} (this reader is at version {current})"]
            )
        data = {**steps[step](dict(data)), "schema_version": step + 1}
    return data


def decode(model: type[M], raw: bytes | None, max_bytes: int = MAX_MESSAGE_BYTES) -> M:
    """The message, or UnreadableMessage with every reason. max_bytes is for the operator's own tools reading
    dead letters, which carry a whole original and may be larger than any message."""
    if raw is None:
        raise UnreadableMessage(["message: empty record (tombstone) where a message was expected"])
    if len(raw) > max_bytes:
        raise UnreadableMessage([f"message: {len(raw)} bytes exceeds the {max_bytes} byte limit"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableMessage([f"message: not UTF-8 ({e.reason} at byte {e.start})"]) from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UnreadableMessage([f"message: not JSON ({e})"]) from None
    try:
        return model.model_validate(_upcast(model, data))
    except ValidationError as e:
        raise UnreadableMessage(describe(e)) from None
