"""SCRAM users on the running broker through Kafka's own admin API (AlterUserScramCredentials, KIP-554), so an
agency is enrolled or revoked in a moment, without a JVM. aiokafka has no call for it: the request is built
from its protocol structs, as acls.py does for ACLs.

The password itself never travels: the client sends Hi(password, salt, iterations), the salted password
RFC 5802 defines, and the broker derives its stored and server keys from that.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
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


async def alter(
    admin_client: dict, *, upsert: dict[str, str] | None = None, delete: list[str] | None = None, timeout: float = 30.0
) -> None:
    """Create or replace (upsert: name -> password) and delete SCRAM-SHA-512 users; raises on any refusal. Returns
    once every broker accepts each upserted password: each applies the change from the metadata log on its own time,
    and a service started a moment too soon would be refused by the one that has not."""
    admin = AIOKafkaAdminClient(**admin_client)
    await admin.start()
    try:
        response = await admin._send_to_controller(_AlterUserScramCredentials(list(delete or ()), dict(upsert or {})))
        failed = [f"{user}: {code} {message or ''}".strip() for user, code, message, _ in response.results if code != 0]
        if failed:
            raise RuntimeError(f"the broker refused SCRAM credentials: {'; '.join(failed)}")
        await admin._client.force_metadata_update()
        brokers = [f"{b.host}:{b.port}" for b in admin._client.cluster.brokers()]
    finally:
        await admin.close()
    deadline = time.monotonic() + timeout
    for broker in brokers:
        for name, password in (upsert or {}).items():
            own = admin_client | {"bootstrap_servers": broker, "sasl_plain_username": name, "sasl_plain_password": password}
            while not await _accepted(own):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the broker at {broker} does not accept {name}'s new password after {timeout:.0f}s")
                await asyncio.sleep(0.2)


async def _accepted(client: dict) -> bool:
    probe = AIOKafkaClient(**client)
    try:
        await probe.bootstrap()
        return True
    except KafkaError:
        return False
    finally:
        await probe.close()
