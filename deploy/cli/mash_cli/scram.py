"""SCRAM users on the running broker through Kafka's own admin API (AlterUserScramCredentials, KIP-554), so an
agency is enrolled or revoked in a moment, without a JVM. aiokafka has no call for it: the request is built
from its protocol structs, as acls.py does for ACLs.

The password itself never travels: the client sends Hi(password, salt, iterations), the salted password
RFC 5802 defines, and the broker derives its stored and server keys from that.
"""

from __future__ import annotations

import hashlib
import secrets

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, Schema, TaggedFields

SCRAM_SHA_512 = 2  # Kafka's ScramMechanism code
ITERATIONS = 8192  # Kafka's minimum for SHA-512 is 4096


class _Response(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _Struct(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _Response
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterUserScramCredentials(Request[_Struct]):
    API_KEY = 51

    def __init__(self, deletions: list[str], upsertions: dict[str, str]):
        self.deletions = deletions
        self.upsertions = upsertions

    def build(self, request_struct_class):
        ups = []
        for name, password in self.upsertions.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            ups.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))
        return request_struct_class([(n, SCRAM_SHA_512, {}) for n in self.deletions], ups, {})


async def alter(admin_client: dict, *, upsert: dict[str, str] | None = None, delete: list[str] | None = None) -> None:
    """Create or replace (upsert: name -> password) and delete SCRAM-SHA-512 users; raises on any refusal."""
    admin = AIOKafkaAdminClient(**admin_client)
    await admin.start()
    try:
        response = await admin._send_to_controller(_AlterUserScramCredentials(list(delete or ()), dict(upsert or {})))
    finally:
        await admin.close()
    failed = [f"{user}: {code} {message or ''}".strip() for user, code, message, _ in response.results if code != 0]
    if failed:
        raise RuntimeError(f"the broker refused SCRAM credentials: {'; '.join(failed)}")
