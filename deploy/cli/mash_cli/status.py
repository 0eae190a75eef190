"""`mash status`: every service's process, readiness (or the partitions it cannot advance) and consumer lag,
and the oldest waiting referral."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from .kafka import ADMIN
from .mesh import SERVICES, Mesh


def http_get(port: int, path: str, timeout: float = 3.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def metric_values(body: str) -> dict[tuple[str, tuple], float]:
    """A Prometheus /metrics page as {(sample name, sorted labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in text_string_to_metric_families(body) for s in m.samples}


async def group_lag(mesh: Mesh) -> dict[str, int | None]:
    """Messages each consumer group has yet to process (end offset minus committed offset, summed)."""
    admin = AIOKafkaAdminClient(**mesh.access.client(ADMIN), request_timeout_ms=5000)
    consumer = AIOKafkaConsumer(**mesh.access.client(ADMIN), request_timeout_ms=5000)
    await admin.start()
    await consumer.start()
    lag: dict[str, int | None] = {}
    try:
        for groups in SERVICES.values():
            for group in groups:
                try:
                    committed = await admin.list_consumer_group_offsets(group)
                    ends = await consumer.end_offsets(list(committed)) if committed else {}
                    lag[group] = sum(max(ends[tp] - meta.offset, 0) for tp, meta in committed.items() if meta.offset >= 0)
                except Exception:
                    lag[group] = None
    finally:
        await consumer.stop()
        await admin.close()
    return lag


def readiness(port: int) -> tuple[str, list[dict]]:
    """A service's readiness as `mash status` shows it (ready, STALLED, NOT READY), with its stalled partitions."""
    code, body = http_get(port, "/health/ready")
    if code == 200:
        return "ready", []
    try:
        state = json.loads(body)
    except ValueError:
        state = {}
    if isinstance(state, dict) and state.get("status") == "stalled":
        return "STALLED", list(state.get("stalled") or [])
    return "NOT READY", []


def status(mesh: Mesh) -> list[str]:
    lines = []
    lag = asyncio.run(group_lag(mesh)) if mesh.access.bootstrap else {}
    for service, groups in SERVICES.items():
        pid, port = mesh.pid(service), mesh.http_port(service)
        ready, stalled = readiness(port) if (pid and port) else ("NOT READY", [])
        lags = ", ".join(f"{g} lag {lag.get(g) if lag.get(g) is not None else '?'}" for g in groups)
        lines.append(f"{service:<15} {f'running (pid {pid})' if pid else 'stopped':<20} {ready:<10} {lags}")
        lines += [
            f"  stalled: {p.get('topic')}[{p.get('partition')}] lag {p.get('lag')}, committed offset "
            f"{p.get('committed_offset')} unmoved since {p.get('since')} ({p.get('stalled_seconds')}s)"
            for p in stalled
        ]
        for instance in mesh.instances(service)[1:]:  # replicas (`mash up --replicas N`): each answers for itself
            pid, port = mesh.pid(service, instance), mesh.http_port(service, instance)
            ready = readiness(port)[0] if (pid and port) else "NOT READY"
            lines.append(f"  instance {instance:<4} {f'running (pid {pid})' if pid else 'stopped':<20} {ready}")
    port = mesh.http_port("decision")
    if mesh.pid("decision") and port:
        code, body = http_get(port, "/metrics")
        if code == 200:
            values = metric_values(body)
            oldest = values.get(("mash_oldest_waiting_seconds", ()), 0)
            waiting = {dict(k[1]).get("rag"): int(v) for k, v in values.items() if k[0] == "mash_referrals_waiting"}
            lines.append(f"referrals waiting: {json.dumps(waiting)}; oldest waiting {oldest:.0f}s")
    return lines
