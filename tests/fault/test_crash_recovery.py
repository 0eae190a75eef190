"""The fault tier: 5,000 referrals through the real mesh while every service is SIGKILLed in turn and the
broker is stopped and restarted, then a desk that stays down. Nothing may be lost or duplicated.

Run on its own with `./mash test -m fault`; MASH_FAULT_SEED replays a run's chaos, MASH_FAULT_REFERRALS
changes its size. `./mash test` (CI) runs it with the rest.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter

import pytest

from mash_cli import audit
from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import LocalKafka
from mash_cli.principals import Principals
from mash_contracts import Agency, AlertKind, ContributionStatus, DeadLetter
from mash_contracts.topics import ALERTS, DEAD_LETTERS, RESEARCHERS
from mash_runtime.firewall import seal

from .chaos import (
    ACKS,
    REJECTED,
    WATCHED,
    Chaos,
    Ledger,
    Referrer,
    Tape,
    copies,
    distinct,
    raise_if_failed,
    referrals,
    routed,
    running_mesh,
    wait_for,
    where_stuck,
)

REFERRALS = int(os.environ.get("MASH_FAULT_REFERRALS", "5000"))
MALFORMED = 10
STAYS_DOWN = "education_desk"
WHILE_DOWN = 20
# Referrals per second offered: half of what `mash bench` measures the mesh routing on two cores (10 a second with
# every desk and TLS, docs/performance.md), so a busy machine still keeps up, and the chaos meets a live flow from
# start to end.
RATE = 5.0
SENDING = REFERRALS / RATE
# Its own limit, not the suite's 300 s: sending takes SENDING seconds, and every wait after it is bounded on its own
# (routing what is left, the desk that stays down): the limit is only for a wait that is not.
pytestmark = [pytest.mark.fault, pytest.mark.timeout(int(SENDING) + 3600)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("fault")
    kafka = LocalKafka(root / "kafka")
    with running_mesh(root, kafka, seed=17, families=300) as (mesh, families):
        yield mesh, kafka, families


def malformed(principals: Principals, n: int) -> list[tuple[bytes, bytes]]:
    """Half plain bytes on a sealed topic (they name no referrer: dead-lettered for operations, answered to nobody), half
    sealed properly by a referrer's system but not a submission (dead-lettered and rejected to that referrer)."""
    fw = principals.firewall(DEFAULT_REFERRER)
    out = []
    for i in range(n):
        if i % 2:
            out.append((f"BAD-{i}".encode(), b"\x00not an envelope"))
        else:
            out.append(
                (
                    f"BAD-{i}".encode(),
                    seal(
                        b'{"submission_id": "BAD-%d", "concern": 7}' % i,
                        referral_id=f"BAD-{i}",
                        schema="NotificationSubmission",
                        schema_version=1,
                        recipients=["intake"],
                        custody=fw.custody,
                        directory=fw.directory,
                    ),
                )
            )
    return out


def test_five_thousand_referrals_survive_crashes_and_a_broker_restart_with_nothing_lost_or_duplicated(world, capsys):
    mesh, kafka, families = world
    seed = int(os.environ.get("MASH_FAULT_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    principals = Principals(mesh.keys_dir)
    submissions = referrals(families, REFERRALS, seed)
    bad = malformed(principals, MALFORMED)
    bad_at = set(rng.sample(range(REFERRALS), MALFORMED))
    tape = Tape(mesh.access, WATCHED, principals)
    chaos = Chaos(mesh, kafka, rng, spread=SENDING)
    referrer = Referrer(mesh.access, principals)
    from mash_intake.screening import referral_id_for  # the test stands where an operator does

    expected = {referral_id_for(s, DEFAULT_REFERRER) for s in submissions}
    ledger = lambda: Ledger(tape)  # noqa: E731

    def diagnosis(ids: set[str]) -> str:
        return where_stuck(ledger, ids, mesh, chaos.timeline)

    async def main_phase() -> float:
        stop = asyncio.Event()
        reader = asyncio.create_task(tape.run(stop))
        started = time.monotonic()
        faults = asyncio.create_task(asyncio.to_thread(chaos.run))
        referrer.check = lambda: raise_if_failed(faults)
        bad_iter = iter(bad)
        for i, s in enumerate(submissions):
            await referrer.submit(s)
            if i in bad_at:
                await referrer.submit_raw(*next(bad_iter))
            raise_if_failed(faults)
            await asyncio.sleep(max(0.0, started + (i + 1) / RATE - time.monotonic()))
        await faults
        await wait_for(
            routed(ledger, expected), 1800, "every referral routed", reader, tape, diagnose=lambda: diagnosis(expected)
        )
        await asyncio.sleep(10)  # anything that should not arrive (a second decision, a second product) has time to
        stop.set()
        await reader
        await referrer.close()  # its producer belongs to this event loop
        return time.monotonic() - started

    elapsed = asyncio.run(main_phase())
    main = ledger()

    # -- a desk that stays down: the deadline decides, nothing waits for ever ---------------------------------
    mesh.stop("decision")
    mesh.extra_env["MASH_TIMESCALES"] = json.dumps(
        {
            **{f"{r}_return_hours": 0.003 for r in ("red", "amber", "green", "blue")},
            "around_the_clock": ["red", "amber", "green", "blue"],
        }
    )
    mesh.start("decision")
    mesh.kill(STAYS_DOWN)
    later = referrals(families, WHILE_DOWN, seed + 1)
    later_ids = {referral_id_for(s, DEFAULT_REFERRER) for s in later}

    async def desk_down_phase() -> None:
        stop = asyncio.Event()
        reader = asyncio.create_task(tape.run(stop))
        for s in later:
            await referrer.submit(s)
        await wait_for(
            routed(ledger, later_ids),
            180,
            "every referral decided while a desk is down",
            reader,
            diagnose=lambda: diagnosis(later_ids),
        )
        await asyncio.sleep(5)
        stop.set()
        await reader
        await referrer.close()

    tape.messages.clear()
    asyncio.run(desk_down_phase())
    down = ledger()
    stopped = mesh.stop()
    chains_verify = audit.verify(mesh)

    # -- the figures ---------------------------------------------------------------------------------------
    decisions = distinct(main.decisions, lambda d: d.referral_id)
    products = distinct(main.products, lambda p: (p.referral_id, p.recipient))
    contributions = distinct(main.contributions, lambda c: (c.referral_id, c.agency))
    acks = distinct(main.lanes(ACKS), lambda a: a.referral_id)
    by_decision = {d.referral_id: d for d in main.decisions}
    expected_products = {(r, a) for r, d in by_decision.items() for a in d.recipients}
    letters: list[DeadLetter] = main.lanes(DEAD_LETTERS.name)
    letter_sources = {(dl.source_topic, dl.source_partition, dl.source_offset): dl for dl in letters}
    rejections = distinct(main.lanes(REJECTED), lambda r: r.message_id)
    down_decisions = {d.referral_id: d for d in down.decisions if d.referral_id in later_ids}
    overdue_alerts = {a.referral_id for a in down.lanes(ALERTS.name) if a.kind is AlertKind.RETURNS_OVERDUE}
    per_recipient = Counter(a.value for _, a in products)
    due_in_main = sum(1 for d in by_decision.values() if d.no_answer)

    with capsys.disabled():
        print(f"\n\nfault tier (seed {seed}; replay with MASH_FAULT_SEED={seed}): {elapsed:.0f}s for the main phase")
        print("  chaos:\n    " + "\n    ".join(chaos.timeline))
        print(
            f"  referrals sent {len(expected)} (+{MALFORMED} malformed); resends by the referrer after timeouts {referrer.resends}"
        )
        print(
            f"  acknowledged {len(acks)}; decided {len(decisions)} (at the deadline without a desk: {due_in_main}); "
            f"contributions {len(contributions)} of {len(RESEARCHERS) * len(expected)}"
        )
        print(
            f"  products {len(products)} of {len(expected_products)} expected: "
            + ", ".join(f"{k} {v}" for k, v in sorted(per_recipient.items()))
        )
        print(
            f"  duplicates (a second decision, product, contribution or acknowledgement under another id): "
            f"{sum(len(v) - 1 for d in (decisions, products, contributions, acks) for v in d.values())}"
        )
        print(
            f"  lost: {len(expected - decisions.keys())} undecided, {len(expected_products - products.keys())} products missing"
        )
        print(
            f"  republished copies of one message id after a crash (readers deduplicate): decisions {copies(main.decisions)}, "
            f"products {copies(main.products)}, contributions {copies(main.contributions)}, "
            f"acknowledgements {copies(main.lanes(ACKS))}"
        )
        print(
            f"  dead-lettered {len(letter_sources)}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(Counter(dl.error_type for dl in letter_sources.values()).items()))
            + f"; rejections sent {len(rejections)}"
        )
        print(
            f"  desk down ({STAYS_DOWN}): {len(down_decisions)} of {WHILE_DOWN} decided at the deadline, "
            f"{len(overdue_alerts & later_ids)} overdue alerts"
        )
        print(f"  drained on SIGTERM mid-flow: {chaos.graceful}; at the end: {stopped}; audit chains verify: {chains_verify}\n")

    assert decisions.keys() == expected and all(len(ids) == 1 for ids in decisions.values()), "one decision per referral"
    assert products.keys() == expected_products and all(len(ids) == 1 for ids in products.values()), "one product per recipient"
    assert all(len(v) == 1 for v in contributions.values()) and len(contributions) == len(RESEARCHERS) * len(expected), (
        "every desk, and the hub's research, answered once"
    )
    assert acks.keys() == expected and all(len(v) == 1 for v in acks.values()), "one acknowledgement per referral"
    sealed_malformed = MALFORMED - MALFORMED // 2  # the plain ones name no referrer: nobody to reject them to
    assert len(letter_sources) == MALFORMED and len(rejections) == sealed_malformed, [dl.error for dl in letter_sources.values()]
    assert all(dl.error and dl.source_topic.startswith("mash.notifications.submitted") for dl in letter_sources.values())
    assert down_decisions.keys() == later_ids
    assert all(d.no_answer == [Agency.EDUCATION] for d in down_decisions.values()), "decided without the desk that stayed down"
    assert all(d.contributions[Agency.EDUCATION] is ContributionStatus.NO_ANSWER for d in down_decisions.values())
    assert later_ids <= overdue_alerts, "each due decision raised an alert"
    assert chaos.graceful and all(chaos.graceful.values()), f"a service did not drain on SIGTERM mid-flow: {chaos.graceful}"
    assert all(stopped.values()), f"a service did not stop on SIGTERM: {stopped}"
    assert chains_verify, "an audit chain does not verify"
