"""`mash bench`: figures, not assertions. What a desk's research costs, and what the whole mesh does under a burst.

1. Desk research in one process: a police store seeded with a large synthetic population, one referral
   after another (matching, record reads, policy, disclosure record, outbox row), on SQLite.
2. The mesh end to end over the real broker: a burst of referrals submitted at once, each timed from
   submission to its last information product; then each service's peak memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import ADMIN, Access, LocalKafka
from mash_cli.mesh import SERVICES, UNATTENDED, Mesh
from mash_cli.principals import Principals
from mash_cli.processes import stat_fields
from mash_cli.topics import create_topics
from mash_contracts.topics import DECISIONS, PRODUCTS, RESEARCHERS

from . import population as pop
from .relay import RECORD_BYTES, relay_throughput
from .synthetic import Generator, household_notification


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def bench_desk(families: int, referrals: int, seed: int) -> None:
    from mash_contracts import Agency
    from mash_contracts.topics import hub_principals
    from mash_desk import disclosure, discovered
    from mash_desk.records import load_tables
    from mash_desk.service import Desk
    from mash_intake.screening import accept  # the bench stands where an operator does: it may use any package
    from mash_runtime.firewall import Firewall, generate
    from mash_runtime.store import Database

    police = discovered()[Agency.POLICE]
    world = pop.build_population(seed, families)
    home = Path(tempfile.mkdtemp(prefix="mash-bench-"))
    try:
        db = Database(f"sqlite:///{home / 'police.db'}", police.metadata, disclosure.metadata)
        t = time.perf_counter()
        counts = load_tables(db, police.metadata, world.agencies["police"])
        seeded = time.perf_counter() - t
        generate(home / "keys", hub_principals())
        desk = Desk(police, db, relay=None, firewall=Firewall(police.service, home / "keys"))
        generator = Generator(seed)
        notifications = [
            accept(household_notification(generator, h), datetime.now(UTC), referrer_system=DEFAULT_REFERRER)
            for h in world.families()[:referrals]
        ]
        timings = []
        for n in notifications:
            t = time.perf_counter()
            desk.answer(n, datetime.now(UTC))
            timings.append((time.perf_counter() - t) * 1000)
        db.dispose()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(
        f"desk research (police, SQLite): {len(world.people)} people in {families} families; "
        f"store {counts['people']} people, {sum(counts.values()) - counts['people']} records, seeded in {seeded:.2f}s"
    )
    print(
        f"  {len(timings)} referrals: p50 {_pct(timings, 50):.1f} ms, p95 {_pct(timings, 95):.1f} ms, max {max(timings):.1f} ms, "
        f"{len(timings) / (sum(timings) / 1000):.0f} referrals/s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


def bench_mesh(families: int, referrals: int, seed: int, state: Path, json_path: Path | None = None) -> dict:
    shutil.rmtree(state, ignore_errors=True)
    kafka = LocalKafka(state / "kafka")
    mesh = None
    try:
        access = kafka.start()
        asyncio.run(create_topics(access))
        world = pop.build_population(seed, families)
        path = state / "population.json"
        pop.write_population(path, world)
        mesh = Mesh(access, state, extra_env=dict(UNATTENDED))
        mesh.init()
        mesh.enrol_simulated_agencies()
        mesh.seed(path)
        mesh.start()
        mesh.wait_ready()
        time.sleep(3)  # let every group settle so the burst measures work, not start-up
        generator = Generator(seed)
        submissions = [household_notification(generator, h) for h in world.families()[:referrals]]
        pids = {**{s: pid for s, pid in mesh.running().items() if pid}, "broker": kafka.pid()}
        cpu_before = {s: _cpu_seconds(pid) for s, pid in pids.items()}
        latencies, wall = asyncio.run(_burst(mesh.access, submissions, Principals(mesh.keys_dir)))
        cpu = {s: (_cpu_seconds(pid) - cpu_before[s]) * 1000 / len(submissions) for s, pid in pids.items()}
        print(
            f"mesh end to end (real broker, {len(SERVICES)} services, {families}-family population): burst of {len(submissions)} referrals"
        )
        print(
            f"  all routed in {wall:.1f}s = {len(submissions) / wall:.0f} referrals/s; submit->last product: "
            f"p50 {_pct(latencies, 50):.0f} ms, p95 {_pct(latencies, 95):.0f} ms, max {max(latencies):.0f} ms"
        )
        peaks = {s: _peak_rss(pid) for s, pid in mesh.running().items() if pid}
        print(
            f"  CPU per referral ({sum(cpu.values()):.0f} ms in all): " + ", ".join(f"{s} {ms:.1f} ms" for s, ms in cpu.items())
        )
        print(
            "  peak RSS: "
            + ", ".join(f"{s} {mib:.0f} MiB" for s, mib in peaks.items())
            + f", broker {_peak_rss(kafka.pid()):.0f} MiB"
        )
        mesh.stop()
        mesh = None
        relay_rate = relay_throughput(access, len(submissions))
        rate = len(submissions) / wall
        print(
            f"raw relay, same topology and broker ({len(RESEARCHERS) + 2} processes, {RECORD_BYTES}-byte records, "
            f"a commit per batch): {relay_rate:.0f} referrals/s; the mesh carries {rate / relay_rate:.3f} of it"
        )
        figures = {
            "referrals": len(submissions),
            "families": families,
            "mesh_referrals_per_s": rate,
            "latency_ms": {q: _pct(latencies, q) for q in (50, 95, 99)},
            "cpu_ms_per_referral": cpu,
            "peak_rss_mib": peaks,
            "relay_referrals_per_s": relay_rate,
            "mesh_over_relay": rate / relay_rate,
        }
        if json_path is not None:
            json_path.write_text(json.dumps(figures, indent=1) + "\n")
            print(f"figures: {json_path}")
        return figures
    finally:
        if mesh is not None:
            mesh.stop()
        kafka.stop()


async def _burst(access: Access, submissions: list, principals: Principals) -> tuple[list[float], float]:
    consumer = AIOKafkaConsumer(
        DECISIONS.name,
        *(t.name for t in PRODUCTS),
        **access.client(ADMIN),
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**access.client(DEFAULT_REFERRER), acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        from mash_intake.screening import referral_id_for

        sent_at = {referral_id_for(s, DEFAULT_REFERRER): 0.0 for s in submissions}
        started = time.monotonic()
        futures = []
        for s in submissions:
            sent_at[referral_id_for(s, DEFAULT_REFERRER)] = time.monotonic()
            futures.append(await producer.send(**principals.submission_record(s)))
        await asyncio.gather(*futures)
        expected: dict[str, int] = {}
        received: dict[str, int] = {}
        done: dict[str, float] = {}
        while len(done) < len(sent_at) and time.monotonic() - started < 600:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for r in records:
                    if tp.topic == DECISIONS.name:
                        d = principals.read(tp.topic, r.key, r.value)
                        expected[d.referral_id] = len(d.recipients)
                        ref = d.referral_id
                    else:
                        ref = principals.read(tp.topic, r.key, r.value).referral_id
                        received[ref] = received.get(ref, 0) + 1
                    if ref in sent_at and ref in expected and received.get(ref, 0) >= expected[ref] and ref not in done:
                        done[ref] = time.monotonic()
        wall = time.monotonic() - started
        return [(done[r] - sent_at[r]) * 1000 for r in done], wall
    finally:
        await producer.stop()
        await consumer.stop()


def _cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time a process has used so far."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def _peak_rss(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
