"""Operations: metrics that count what the test did, readiness that tells the truth, `mash status`."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from mash_cli.kafka import LocalKafka
from mash_cli.mesh import DESKS, SERVICES, Mesh
from mash_cli.status import http_get, metric_values, status
from mash_cli.topics import create_topics
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_tools.synthetic import Generator

from .test_mesh import FLOW, referral_ids, routed
from .watch import run

pytestmark = pytest.mark.integration


def scrape(mesh: Mesh, service: str) -> dict[tuple[str, tuple], float]:
    code, body = http_get(mesh.http_port(service), "/metrics")
    assert code == 200, f"{service} /metrics answered {code}"
    return metric_values(body)


def total(metrics: dict, name: str, **labels) -> float:
    return sum(v for (n, lab), v in metrics.items() if n == name and all(dict(lab).get(k) == want for k, want in labels.items()))


def test_metrics_count_what_the_mesh_did(mesh, watcher):
    before = {s: scrape(mesh, s) for s in SERVICES}
    generator = Generator(seed=uuid.uuid4().int)
    submissions = [generator.notification() for _ in range(4)]
    submissions = [
        s.model_copy(update={"concern": s.concern.model_copy(update={"immediate_danger": False})}) for s in submissions
    ]
    run(watcher.submit(*submissions, raw=[b"not an envelope"]))
    ours = {s.submission_id for s in submissions}
    run(watcher.read_until(FLOW, lambda s: len(referral_ids(s, ours)) == 4 and routed(s, referral_ids(s, ours)), settle=2))
    time.sleep(1)
    after = {s: scrape(mesh, s) for s in SERVICES}

    received = "mash_received_messages_total"
    assert (
        total(after["intake"], received, handler=NOTIFICATIONS_SUBMITTED.name)
        - total(before["intake"], received, handler=NOTIFICATIONS_SUBMITTED.name)
        == 5
    )
    for desk in DESKS:
        assert total(after[desk], received) - total(before[desk], received) >= 4, f"{desk} counted the notifications"
    assert (
        total(after["intake"], "mash_dead_letters_total", error_type="SealError")
        - total(before["intake"], "mash_dead_letters_total", error_type="SealError")
        == 1
    )
    assert total(after["decision"], "mash_decisions") - total(before["decision"], "mash_decisions") == 4
    assert ("mash_oldest_waiting_seconds", ()) in after["decision"]
    assert total(after["intake"], "mash_received_processed_messages_duration_seconds_count") > 0, "handler latency is measured"
    for service in SERVICES:
        assert any(n == "mash_consumer_lag" for n, _ in after[service]), f"{service} reports its consumer lag"
        assert total(after[service], "mash_consumer_lag") == 0, f"{service} has caught up"
        assert ("mash_outbox_unsent", ()) in after[service] and total(after[service], "mash_outbox_unsent") == 0, (
            f"{service} has published everything it committed"
        )


def as_admin(access):
    """A client's settings for the test broker, as its administrator."""
    from mash_cli.kafka import ADMIN
    from mash_runtime.settings import KafkaSettings

    creds = (
        {
            "username": ADMIN,
            "password": access.passwords[ADMIN],
            "security_protocol": access.protocol,
            "ssl_ca_file": access.ca_file,
        }
        if access.secured
        else {}
    )
    return KafkaSettings(bootstrap_servers=access.bootstrap, **creds)


async def create_topic(access, name: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from mash_cli.kafka import ADMIN

    admin = AIOKafkaAdminClient(**access.client(ADMIN))
    await admin.start()
    await admin.create_topics([NewTopic(name, partitions, 1)])
    await admin.close()


def test_consumer_lag_shows_a_stuck_handler_backlog_and_its_drain(topics):
    """The lag metric on a real broker: records behind a handler that is held up are counted as waiting."""
    from prometheus_client import CollectorRegistry

    from mash_runtime.broker import make_broker
    from mash_runtime.lag import ConsumerLag

    topic = f"test.lag.{uuid.uuid4().hex[:8]}"
    settings = as_admin(topics)

    async def lag_when(lag: ConsumerLag, registry: CollectorRegistry, want) -> float | None:
        value, deadline = None, time.monotonic() + 30
        while time.monotonic() < deadline:
            await lag.refresh()
            value = registry.get_sample_value("mash_consumer_lag", {"topic": topic, "partition": "0"})
            if value is not None and want(value):
                break
            await asyncio.sleep(0.5)
        return value

    async def scenario() -> tuple[float | None, float | None]:
        await create_topic(topics, topic, 1)
        release = asyncio.Event()
        registry = CollectorRegistry()
        broker = make_broker("lag-test", settings)

        @broker.subscriber(topic, group_id=f"lag-{topic}", auto_offset_reset="earliest")
        async def held_up(body) -> None:
            await release.wait()

        lag = ConsumerLag(broker, registry)
        async with broker:
            await broker.start()
            for i in range(5):
                await broker.publish(f"{i}".encode(), topic)
            stuck = await lag_when(lag, registry, lambda v: v == 5)
            release.set()
            drained = await lag_when(lag, registry, lambda v: v == 0)
        return stuck, drained

    assert asyncio.run(scenario()) == (5, 0)


def test_mash_status_shows_every_service_ready_with_its_lag(mesh):
    lines = status(mesh)
    for service in SERVICES:
        [line] = [line for line in lines if line.startswith(service + " ")]
        assert "running" in line and " ready" in line and f"{service} lag" in line, line
    assert any(line.startswith("referrals waiting:") for line in lines)


def test_readiness_flips_when_the_broker_stops(tmp_path):
    broker = LocalKafka(tmp_path / "kafka")
    access = broker.start()
    asyncio.run(create_topics(access))
    mesh = Mesh(access, tmp_path)
    mesh.init("intake")
    mesh.start("intake")
    try:
        port = mesh.http_port("intake")

        def ready(expected: int, within: float) -> bool:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                if http_get(port, "/health/ready")[0] == expected:
                    return True
                time.sleep(0.5)
            return False

        assert ready(200, 60), "intake never became ready"
        assert http_get(port, "/health/live")[0] == 200
        broker.stop()
        assert ready(503, 30), "readiness stayed up with the broker gone"
        assert http_get(port, "/health/live")[0] == 200, "still alive: it waits for the broker rather than dying"
        started = time.monotonic()
        assert http_get(port, "/metrics", timeout=10)[0] == 200 and time.monotonic() - started < 10, (
            "metrics answer inside a scrape timeout"
        )
        broker.start()
        assert ready(200, 60), "readiness did not come back with the broker"
    finally:
        mesh.stop("intake")
        broker.stop()


def test_a_stalled_partition_fails_readiness_sets_its_metric_logs_an_alert_and_recovers(topics, keys_dir, caplog):
    """A handler that never returns, on the runtime's own guarded consumer: readiness, /metrics and the log
    name the partition once its committed offset has stood still past MASH_STALL_SECONDS, and let it go
    once the handler is released."""
    import logging

    from prometheus_client import CollectorRegistry
    from pydantic import BaseModel

    from mash_runtime.broker import make_broker
    from mash_runtime.consuming import Route, subscribe
    from mash_runtime.firewall import Firewall
    from mash_runtime.http import serve, standard_routes
    from mash_runtime.service import make_app

    class Probe(BaseModel):
        n: int

    topic = f"test.stall.{uuid.uuid4().hex[:8]}"
    settings = as_admin(topics)
    labels = {"topic": topic, "partition": "1"}

    async def call(route) -> tuple[int, bytes]:
        sent = []

        async def send(message):
            sent.append(message)

        await route({"type": "http", "path": ""}, None, send)
        return sent[0]["status"], sent[1]["body"]

    async def until(what, within: float = 60.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if found := await what():
                return found
            await asyncio.sleep(0.25)
        return None

    def logged(level: int, text: str):
        async def look():
            return [r for r in caplog.records if r.name == "mash.lag" and r.levelno == level and text in r.getMessage()]

        return look

    async def scenario() -> None:
        await create_topic(topics, topic, 2)
        release = asyncio.Event()
        registry = CollectorRegistry()
        broker = make_broker("stall-test", settings, registry=registry)

        async def held(message: Probe, source) -> None:
            await release.wait()

        subscribe(
            broker,
            routes={topic: Route(Probe, held)},
            group_id=f"stall-{topic}",
            service="stall-test",
            firewall=Firewall("intake", keys_dir),
        )
        routes = standard_routes(broker, None, registry, stall_seconds=3)
        app = make_app(broker, "stall-test")
        serve(app, "127.0.0.1", None, routes)  # no HTTP here: the routes are called directly; the watch runs
        ready, metrics = dict(routes)["/health/ready"], dict(routes)["/metrics"]
        await app.start()
        try:
            for n in range(3):
                await broker.publish(Probe(n=n).model_dump_json().encode(), topic, partition=1)

            # The watch raises the alert by itself: nothing has probed or scraped yet.
            [alert] = await until(logged(logging.ERROR, f"partition {topic}[1] stalled"))
            assert (alert.topic, alert.partition, alert.lag) == (topic, 1, 3)

            code, body = await call(ready)
            state = json.loads(body)
            assert code == 503 and state["status"] == "stalled", state
            [stall] = state["stalled"]
            assert (stall["topic"], stall["partition"], stall["lag"], stall["committed_offset"]) == (topic, 1, 3, 0)
            assert stall["stalled_seconds"] >= 3 and stall["since"]

            page = metric_values((await call(metrics))[1].decode())
            assert page[("mash_partition_stalled", tuple(sorted(labels.items())))] == 1
            assert page[("mash_partition_stalled", tuple(sorted({**labels, "partition": "0"}.items())))] == 0
            assert page[("mash_partition_stalled_seconds", tuple(sorted(labels.items())))] >= 3

            release.set()

            async def ready_again():
                code, body = await call(ready)
                return code == 200 and json.loads(body) == {"status": "ready"}

            assert await until(ready_again), "readiness did not recover when the handler was released"

            async def caught_up():
                # Offsets are committed a batch at a time: ready again once the partition moves, level once all is in.
                page = metric_values((await call(metrics))[1].decode())
                return page if page[("mash_consumer_lag", tuple(sorted(labels.items())))] == 0 else None

            page = await until(caught_up)
            assert page, "the lag did not come back to zero once the held records were handled"
            assert page[("mash_partition_stalled", tuple(sorted(labels.items())))] == 0
            assert await until(logged(logging.WARNING, f"partition {topic}[1] no longer stalled"))
        finally:
            release.set()
            await app.stop()

    with caplog.at_level(logging.INFO, logger="mash.lag"):
        asyncio.run(scenario())
