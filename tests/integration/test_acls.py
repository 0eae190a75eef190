"""Need-to-know at the broker: every principal tried against every topic, for writing and for reading.

The broker's StandardAuthorizer must allow exactly what the topic catalogue says, for the hub's principals and
for each enrolled agency, and refuse the rest with its own authorisation errors. Runs on a broker of its own, so
the probes leave nothing on the mesh's topics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError

from mash_cli import agencies
from mash_cli.acls import matrix_markdown
from mash_cli.kafka import Access, LocalKafka
from mash_cli.topics import create_topics, wanted
from mash_contracts.topics import HUB_REFERRERS, REFERRERS, hub_principals, lookup
from mash_runtime.firewall import generate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    return tmp_path_factory.mktemp("acl-broker")


@pytest.fixture(scope="module")
def secured(state) -> Iterator[Access]:
    """The broker with the hub's topics and the simulated agencies enrolled (each with its own Kafka user)."""
    broker = LocalKafka(state / "kafka")
    access = broker.start()
    try:
        asyncio.run(create_topics(access))
        generate(state / "keys", hub_principals())
        yield asyncio.run(agencies.simulate(access, state / "keys", state))
    finally:
        broker.stop()


def allowed(principal: str, topic: str, op: str) -> bool:
    """What the catalogue says, read directly: REFERRERS is each enrolled referrer, and a {referrer} topic is its own."""
    spec = lookup(topic)
    names = spec.writers if op == "write" else spec.readers
    roles = agencies.SIMULATED.get(principal, ())
    hub = principal in hub_principals()
    if principal in names and (hub or agencies.RECIPIENT in roles):
        return True
    if hub and principal not in HUB_REFERRERS:
        return False
    # An enrolled referrer, or the hub's own (the web front door): the front door, and its own per-referrer topics.
    if REFERRERS in names and (agencies.REFERRER in roles or principal in HUB_REFERRERS):
        return not spec.per_referrer or topic == spec.for_referrer(principal)
    return False


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
    everyone = [*hub_principals(), *agencies.SIMULATED]
    topics = [t.name for t in wanted(agencies.SIMULATED)]

    async def probe() -> dict[tuple[str, str, str], bool]:
        results = {}
        for principal in everyone:
            for topic in topics:
                results[(principal, topic, "write")] = await _can_write(secured, principal, topic)
                results[(principal, topic, "read")] = await _can_read(secured, principal, topic)
        return results

    results = asyncio.run(probe())
    expected = {(p, t, op): allowed(p, t, op) for p in everyone for t in topics for op in ("write", "read")}
    assert expected[("northshire_gp", "mash.outcomes.northshire_gp", "read")]
    assert not expected[("northshire_gp", "mash.outcomes.northshire_schools", "read")]
    wrong = sorted(k for k in expected if results[k] != expected[k])
    assert not wrong, f"the broker disagrees with the catalogue on: {wrong}\nexpected matrix:\n{matrix_markdown()}"
    assert sum(expected.values()) < len(expected) / 4, "the matrix is mostly denials; a broker allowing all would fail"
    print(f"\n{len(results)} probes, {sum(results.values())} allowed, {len(results) - sum(results.values())} denied")


def test_a_principal_cannot_use_another_services_consumer_group(secured: Access):
    async def join(principal: str, group: str) -> None:
        consumer = AIOKafkaConsumer("mash.notifications", **secured.client(principal), group_id=group, enable_auto_commit=False)
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
    wrong = dataclasses.replace(secured, passwords={**secured.passwords, "intake": "not-the-password"})
    with pytest.raises(KafkaConnectionError):
        asyncio.run(connect(wrong, "intake"))
    with pytest.raises(KafkaConnectionError):
        asyncio.run(connect(dataclasses.replace(secured, passwords={"intruder": "x"}), "intruder"))
    with pytest.raises(KafkaConnectionError):
        asyncio.run(connect(Access(secured.bootstrap), "nobody"))  # no SASL and no TLS at all


def test_every_listener_speaks_tls_with_a_certificate_the_hub_ca_signed(secured: Access):
    """The right password is not enough: a client must reach the broker over TLS, and a broker whose certificate the
    hub's CA did not sign (a client trusting only the system's authorities cannot verify it) is not talked to."""
    assert secured.ca_file is not None and secured.protocol == "SASL_SSL"
    asyncio.run(connect(secured, "intake"))  # the hub CA's certificate: accepted
    with pytest.raises(KafkaConnectionError):  # the right password over plain TCP
        asyncio.run(connect(dataclasses.replace(secured, ca_file=None), "intake"))
    system_only = dict(secured.client("intake"), ssl_context=ssl.create_default_context())
    with pytest.raises(KafkaConnectionError):  # TLS, but not trusting the hub's CA
        asyncio.run(_start(system_only))
    for line in (secured.ca_file.parent.parent / "server.properties").read_text().splitlines():
        if line.startswith("listener.security.protocol.map="):
            assert {m.split(":")[1] for m in line.split("=", 1)[1].split(",")} == {"SASL_SSL"}


async def connect(access: Access, principal: str) -> None:
    await _start(access.client(principal))


async def _start(client: dict) -> None:
    producer = AIOKafkaProducer(**client, request_timeout_ms=5000)
    try:
        await producer.start()
    finally:
        await producer.stop()


def test_a_revoked_agency_is_refused_by_the_broker_at_once(secured: Access, state):
    """Enrolled from public keys made elsewhere, it reads its own topic; revoked, its user and rights are gone."""
    from mash_runtime.firewall.keys import new_agency_keys

    public = new_agency_keys(state / "elsewhere" / "st_marys_academy")
    config = asyncio.run(agencies.add(secured, state / "keys", "st_marys_academy", ("referrer",), public))
    _, own = agencies.read_client_config(config)
    access = dataclasses.replace(secured, passwords={**secured.passwords, **own})
    assert asyncio.run(_can_read(access, "st_marys_academy", "mash.acknowledgements.st_marys_academy"))
    assert not asyncio.run(_can_read(access, "st_marys_academy", "mash.acknowledgements.northshire_gp"))
    assert "st_marys_academy" in agencies.enrolled(state / "keys")
    assert asyncio.run(agencies.remove(secured, state / "keys", "st_marys_academy"))
    assert "st_marys_academy" not in agencies.enrolled(state / "keys")
    with pytest.raises(KafkaConnectionError):
        asyncio.run(_can_write(access, "st_marys_academy", "mash.notifications.submitted"))
