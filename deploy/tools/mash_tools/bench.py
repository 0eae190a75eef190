"""`mash bench`: figures, not assertions. What a desk's research costs, and what the whole mesh does.

1. Desk research in one process: a police store seeded with a large synthetic population, one referral
   after another (matching, record reads, policy, disclosure record, outbox row), on SQLite.
2. The mesh end to end over the real broker, as deployed locally: the sustained rate (a burst routed from the first
   send to the last product) with CPU per referral; submit-to-routed latency at 25%, 50% and 90% of that rate; the
   urgent lane (immediate-danger referrals sent behind a backlog of routine ones); each process's peak memory.
3. In the same run, the raw relay on the same broker (relay.py), and the mesh's rate as a share of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import LocalKafka
from mash_cli.mesh import SERVICES, UNATTENDED, Mesh
from mash_cli.principals import Principals
from mash_cli.processes import stat_fields
from mash_cli.topics import create_topics
from mash_contracts import ConcernCategory
from mash_contracts.topics import RESEARCHERS

from . import population as pop
from .load import drive, percentile
from .relay import RECORD_BYTES, relay_throughput
from .synthetic import Generator, Scenario, household_notification

ROUTINE = Scenario((ConcernCategory.NEGLECT,), "Child often arrives at school hungry, in the same clothes all week.")
DANGER = Scenario((ConcernCategory.PHYSICAL_ABUSE,), "Child disclosed being hit this morning and is afraid to go home.", True)


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
        f"  {len(timings)} referrals: p50 {percentile(timings, 50):.1f} ms, p95 {percentile(timings, 95):.1f} ms, max {max(timings):.1f} ms, "
        f"{len(timings) / (sum(timings) / 1000):.0f} referrals/s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


LOADS = (0.25, 0.5, 0.9)  # fractions of the measured maximum at which latency is measured
URGENT = 5  # immediate-danger referrals sent behind the backlog


def bench_mesh(
    families: int,
    referrals: int,
    seed: int,
    state: Path,
    json_path: Path | None = None,
    backlog: int = 5000,
    seconds: float = 20,
    nodes: int = 1,
) -> dict:
    """The mesh as deployed locally (SASL and ACLs, sealed and signed, durable commits, audit, tracing), then the raw
    relay on the same broker. Figures printed as they come and, with `json_path`, written as JSON with a chart."""
    shutil.rmtree(state, ignore_errors=True)
    kafka = LocalKafka(state / "kafka", node_count=nodes)
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
        principals = Principals(mesh.keys_dir)
        generator = Generator(seed)
        households = world.families()

        def routine(n: int) -> list:
            return [household_notification(generator, households[i % len(households)], ROUTINE) for i in range(n)]

        print(
            f"mesh end to end (real broker, {nodes} node(s), {len(SERVICES)} services, {families}-family population)", flush=True
        )
        brokers = {"broker" if nodes == 1 else f"broker {n.node_id}": n.pid() for n in kafka.nodes}
        pids = {**{s: pid for s, pid in mesh.running().items() if pid}, **brokers}
        cpu_before = {s: _cpu_seconds(pid) for s, pid in pids.items()}
        burst = asyncio.run(drive(mesh.access, principals, routine(referrals), progress="burst"))
        cpu = {s: (_cpu_seconds(pid) - cpu_before[s]) * 1000 / burst.sent for s, pid in pids.items()}
        top = burst.summary()
        print(
            f"  sustained: a burst of {burst.sent} routed in {burst.wall_s:.1f}s = {top['referrals_per_s']:.1f} referrals/s; "
            f"submit->routed p50 {top['p50_ms']:.0f} ms, p95 {top['p95_ms']:.0f} ms, p99 {top['p99_ms']:.0f} ms"
        )
        print(
            f"  CPU per referral ({sum(cpu.values()):.0f} ms in all): " + ", ".join(f"{s} {ms:.1f} ms" for s, ms in cpu.items()),
            flush=True,
        )
        loads = {}
        for fraction in LOADS:
            rate = fraction * top["referrals_per_s"]
            run = asyncio.run(
                drive(
                    mesh.access, principals, routine(max(10, round(rate * seconds))), rate=rate, progress=f"{fraction:.0%} load"
                )
            )
            loads[fraction] = {"offered_per_s": rate, **run.summary()}
            print(
                f"  at {fraction:.0%} of the maximum ({rate:.1f}/s offered): p50 {loads[fraction]['p50_ms']:.0f} ms, "
                f"p95 {loads[fraction]['p95_ms']:.0f} ms, p99 {loads[fraction]['p99_ms']:.0f} ms",
                flush=True,
            )
        urgent = [household_notification(generator, households[i], DANGER) for i in range(URGENT)]
        behind = asyncio.run(
            drive(
                mesh.access,
                principals,
                routine(backlog) + urgent,
                watch={u.submission_id for u in urgent},
                progress=f"{URGENT} urgent behind {backlog:,} routine",
            )
        )
        lane = behind.summary()
        print(
            f"  urgent lane: {URGENT} immediate-danger referrals sent behind {backlog:,} routine ones routed in "
            f"p50 {lane['p50_ms']:.0f} ms, max {max(behind.latencies_ms):.0f} ms",
            flush=True,
        )
        peaks = {s: _peak_rss(pid) for s, pid in pids.items()}
        print("  peak RSS: " + ", ".join(f"{s} {mib:.0f} MiB" for s, mib in peaks.items()), flush=True)
        mesh.stop()
        mesh = None
        print("raw relay on the same broker ...", flush=True)
        relay_rate = relay_throughput(access, referrals)
        print(
            f"raw relay, same topology and broker ({len(RESEARCHERS) + 2} processes, {RECORD_BYTES}-byte records, "
            f"a commit per batch): {relay_rate:.0f} referrals/s; the mesh carries {top['referrals_per_s'] / relay_rate:.3f} of it"
        )
        figures = {
            "families": families,
            "sustained": top,
            "cpu_ms_per_referral": cpu,
            "offered_loads": {str(f): v for f, v in loads.items()},
            "urgent_behind_backlog": {"backlog": backlog, **lane, "max_ms": max(behind.latencies_ms)},
            "peak_rss_mib": peaks,
            "relay_referrals_per_s": relay_rate,
            "mesh_over_relay": top["referrals_per_s"] / relay_rate,
        }
        if json_path is not None:
            json_path.write_text(json.dumps(figures, indent=1) + "\n")
            chart = json_path.with_suffix(".svg")
            _chart(loads, chart)
            print(f"figures: {json_path}; latency against offered load: {chart}")
        return figures
    finally:
        if mesh is not None:
            mesh.stop()
        kafka.stop()


def _chart(loads: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    offered = [v["offered_per_s"] for v in loads.values()]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for q, style in (("p50_ms", "-o"), ("p95_ms", "--o"), ("p99_ms", ":o")):
        ax.plot(offered, [v[q] for v in loads.values()], style, label=q.replace("_ms", ""))
    ax.set_xlabel("offered load (referrals/s)")
    ax.set_ylabel("submit to routed (ms)")
    ax.set_title("mash bench: latency against offered load")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


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
