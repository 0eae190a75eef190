"""The fault tier on a three-node cluster: referrals flow while the broker leading the busiest partitions is
SIGKILLed, three rounds in one run, and in the first a second broker is killed briefly while the leader is still
down. Every topic keeps three replicas and takes a write only once two hold it, so nothing acknowledged is lost,
and readers deduplicate what a producer sent again. Nothing may be lost or duplicated; how long routing paused
each time is printed, never asserted.

`./mash test -m fault` runs it with the rest of the tier; MASH_FAULT_SEED replays a run's chaos,
MASH_BROKER_FAULT_REFERRALS changes its size.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from mash_cli import audit
from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import LocalKafka
from mash_cli.principals import Principals
from mash_contracts.topics import DECISIONS, PRODUCTS, RESEARCHERS, lanes

from .chaos import (
    ACKS,
    WATCHED,
    BrokerChaos,
    Ledger,
    Referrer,
    Tape,
    copies,
    distinct,
    pauses,
    raise_if_failed,
    referrals,
    routed,
    running_mesh,
    wait_for,
    where_stuck,
)

REFERRALS = int(os.environ.get("MASH_BROKER_FAULT_REFERRALS", "800"))
# Under half of what `mash bench --nodes 3` measures the mesh routing on a three-node cluster on two cores (5.6 a
# second, docs/performance.md): three brokers replicating over TLS take CPU the services would otherwise have, and a
# busy machine must still keep up while leaders move.
RATE = 2.5
SENDING = REFERRALS / RATE
pytestmark = [pytest.mark.fault, pytest.mark.timeout(int(SENDING) + 2400)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster-fault")
    kafka = LocalKafka(root / "kafka", node_count=3)
    with running_mesh(root, kafka, seed=23, families=200, ready_timeout=120) as (mesh, families):
        access = mesh.access
        assert access.replication == 3 and access.min_insync == 2 and access.protocol == "SASL_SSL"
        yield mesh, kafka, families


def test_leaders_killed_mid_flow_three_times_lose_and_duplicate_nothing(cluster, capsys):
    mesh, kafka, families = cluster
    seed = int(os.environ.get("MASH_FAULT_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    principals = Principals(mesh.keys_dir)
    submissions = referrals(families, REFERRALS, seed)
    tape = Tape(mesh.access, WATCHED, principals)
    chaos = BrokerChaos(kafka, mesh.access, rng, rounds=3, spread=SENDING)
    referrer = Referrer(mesh.access, principals)
    from mash_intake.screening import referral_id_for  # the test stands where an operator does

    expected = {referral_id_for(s, DEFAULT_REFERRER) for s in submissions}
    ledger = lambda: Ledger(tape)  # noqa: E731

    async def flow() -> float:
        stop = asyncio.Event()
        reader = asyncio.create_task(tape.run(stop))
        started = time.monotonic()
        faults = asyncio.create_task(asyncio.to_thread(chaos.run))
        referrer.check = lambda: raise_if_failed(faults)
        for i, s in enumerate(submissions):
            await referrer.submit(s)
            raise_if_failed(faults)
            await asyncio.sleep(max(0.0, started + (i + 1) / RATE - time.monotonic()))
        await faults
        await wait_for(
            routed(ledger, expected),
            1500,
            "every referral routed",
            reader,
            tape,
            diagnose=lambda: where_stuck(ledger, expected, mesh, chaos.timeline),
        )
        await asyncio.sleep(10)  # a second decision or product, if there were to be one, has time to arrive
        stop.set()
        await reader
        await referrer.close()
        return time.monotonic() - started

    elapsed = asyncio.run(flow())
    main = ledger()
    stopped = mesh.stop()
    chains_verify = audit.verify(mesh)

    decisions = distinct(main.decisions, lambda d: d.referral_id)
    products = distinct(main.products, lambda p: (p.referral_id, p.recipient))
    contributions = distinct(main.contributions, lambda c: (c.referral_id, c.agency))
    acks = distinct(main.lanes(ACKS), lambda a: a.referral_id)
    by_decision = {d.referral_id: d for d in main.decisions}
    expected_products = {(r, a) for r, d in by_decision.items() for a in d.recipients}
    routed_topics = {t for p in PRODUCTS for t in lanes(p.name)}
    decided_topics = set(lanes(DECISIONS.name))
    product_pauses = pauses(tape.arrivals, routed_topics, chaos.kills)
    decision_pauses = pauses(tape.arrivals, decided_topics, chaos.kills)

    with capsys.disabled():
        print(f"\n\nbroker faults on three nodes (seed {seed}; MASH_FAULT_SEED={seed}): {elapsed:.0f}s")
        print("  chaos:\n    " + "\n    ".join(chaos.timeline))
        print(f"  referrals sent {len(expected)}; resends by the referrer after timeouts {referrer.resends}")
        print(
            f"  acknowledged {len(acks)}; decided {len(decisions)}; contributions {len(contributions)} of "
            f"{len(RESEARCHERS) * len(expected)}; products {len(products)} of {len(expected_products)}"
        )
        print(
            f"  lost: {len(expected - decisions.keys())} undecided, {len(expected_products - products.keys())} products "
            f"missing; duplicates under another id: "
            f"{sum(len(v) - 1 for d in (decisions, products, contributions, acks) for v in d.values())}"
        )
        print(
            f"  republished copies of one message id (readers deduplicate): decisions {copies(main.decisions)}, "
            f"products {copies(main.products)}, contributions {copies(main.contributions)}"
        )
        print(
            "  longest pause after each SIGKILL: products "
            + ", ".join(f"{p:.1f}s" for p in product_pauses)
            + "; decisions "
            + ", ".join(f"{p:.1f}s" for p in decision_pauses)
        )
        print(f"  at the end: {stopped}; audit chains verify: {chains_verify}\n")

    assert len(chaos.kills) == 4, chaos.timeline  # three leaders, and a second node once
    assert decisions.keys() == expected and all(len(ids) == 1 for ids in decisions.values()), "one decision per referral"
    assert products.keys() == expected_products and all(len(ids) == 1 for ids in products.values()), "one product per recipient"
    assert all(len(v) == 1 for v in contributions.values()) and len(contributions) == len(RESEARCHERS) * len(expected), (
        "every desk, and the hub's research, answered once"
    )
    assert acks.keys() == expected and all(len(v) == 1 for v in acks.values()), "one acknowledgement per referral"
    assert all(stopped.values()), f"a service did not stop on SIGTERM: {stopped}"
    assert chains_verify, "an audit chain does not verify"
