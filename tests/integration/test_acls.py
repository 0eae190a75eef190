"""Need-to-know at the broker: every principal tried against every topic, for writing and for reading.

The broker's StandardAuthorizer must allow exactly what the topic catalogue says and refuse the rest with its
own authorisation errors. Runs on a broker of its own, so the probes leave nothing on the mesh's topics.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError

from mash_cli.acls import matrix_markdown
from mash_cli.kafka import Access, LocalKafka
from mash_cli.topics import create_topics
from mash_contracts.topics import CATALOGUE, principals

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[Access]:
    broker = LocalKafka(tmp_path_factory.mktemp("acl-broker") / "kafka")
    access = broker.start()
    try:
        asyncio.run(create_topics(access))
        yield access
    finally:
        broker.stop()


async def _can_write(access: Access, principal: str, topic: str) -> bool:
    # Not idempotent: principals that write nothing must still be able to try.
    producer = AIOKafkaProducer(**access.client(principal), acks="all", request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"acl probe", key=b"probe")
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()


async def _can_read(access: Access, principal: str, topic: str) -> bool:
    # Subscribed (not assigned), so a topic the broker will not even describe raises instead of waiting.
    consumer = AIOKafkaConsumer(topic, **access.client(principal), enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        await consumer.start()
        for _ in range(3):  # the first polls may land before the partitions are assigned
            await consumer.getmany(timeout_ms=200)
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


def test_the_broker_allows_exactly_the_catalogue_matrix(secured: Access):
    async def probe() -> dict[tuple[str, str, str], bool]:
        results = {}
        for principal in principals():
            for topic in CATALOGUE:
                results[(principal, topic.name, "write")] = await _can_write(secured, principal, topic.name)
                results[(principal, topic.name, "read")] = await _can_read(secured, principal, topic.name)
        return results

    results = asyncio.run(probe())
    expected = {
        (p, t.name, op): p in (t.writers if op == "write" else t.readers)
        for p in principals() for t in CATALOGUE for op in ("write", "read")
    }
    wrong = sorted(k for k in expected if results[k] != expected[k])
    assert not wrong, f"the broker disagrees with the catalogue on: {wrong}\nexpected matrix:\n{matrix_markdown()}"
    assert sum(expected.values()) < len(expected) / 4, "the matrix is mostly denials; a broker allowing all would fail"
    print(f"\n{len(results)} probes, {sum(results.values())} allowed, {len(results) - sum(results.values())} denied")


def test_a_principal_cannot_use_another_services_consumer_group(secured: Access):
    async def join(principal: str, group: str) -> None:
        consumer = AIOKafkaConsumer(
            "mash.notifications", **secured.client(principal), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=2000)
            await consumer.commit()
        finally:
            await consumer.stop()

    asyncio.run(join("police_desk", "police_desk"))  # its own group works
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(join("health_desk", "police_desk"))


def test_an_unknown_user_or_a_wrong_password_is_refused(secured: Access):
    async def connect(access: Access, principal: str) -> None:
        producer = AIOKafkaProducer(**access.client(principal), request_timeout_ms=5000)
        try:
            await producer.start()
        finally:
            await producer.stop()

    wrong = dataclasses.replace(secured, passwords={**secured.passwords, "intake": "not-the-password"})
    with pytest.raises(KafkaConnectionError):
        asyncio.run(connect(wrong, "intake"))
    with pytest.raises(KafkaConnectionError):
        asyncio.run(connect(Access(secured.bootstrap, {"intruder": "x"}), "intruder"))
    with pytest.raises(KafkaConnectionError):
        asyncio.run(connect(Access(secured.bootstrap), "nobody"))  # no SASL at all
