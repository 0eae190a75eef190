"""`mash demo`: the whole mesh on a real broker, a handful of synthetic referrals, each outcome as it arrives."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
import uuid
from collections import defaultdict
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mash_cli import agencies, audit
from mash_cli.kafka import ADMIN, Access, LocalKafka
from mash_cli.mesh import DESKS, UNATTENDED, Mesh
from mash_cli.postgres import LocalPostgres
from mash_cli.principals import Principals
from mash_cli.topics import create_topics
from mash_contracts import Contribution, NotificationSubmission
from mash_contracts.topics import (
    ACKNOWLEDGEMENTS,
    CONTRIBUTIONS,
    DEAD_LETTERS,
    DECISIONS,
    NOTIFICATIONS_SUBMITTED,
    PRODUCTS,
    REJECTIONS,
    lanes,
)

from . import population as pop
from .synthetic import Generator, household_notification, scripted_notification

MALFORMED = b'{"submission_id": "BROKEN-1", "subjects": "not a list"}'


class _Interrupt:
    """Ctrl-C or SIGTERM: remembered, so a library that swallows the KeyboardInterrupt cannot lose it."""

    requested = False

    @classmethod
    def handle(cls, *_):
        cls.requested = True
        raise KeyboardInterrupt

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise KeyboardInterrupt


def run_demo(root: Path, referrals: int, seed: int, timeout: float, postgres: bool = False) -> int:
    signal.signal(signal.SIGINT, _Interrupt.handle)
    signal.signal(signal.SIGTERM, _Interrupt.handle)
    kafka = LocalKafka(root / "kafka")
    server = LocalPostgres(root / "postgres")
    mesh: Mesh | None = None
    # A fresh broker and fresh service state every run, so the same seed tells the same story.
    if root.exists():
        kafka.stop()
        Mesh(Access(""), root).stop()
        if server.data.exists():
            server.stop()
        shutil.rmtree(root)
    try:
        t0 = time.monotonic()
        print("starting Apache Kafka (KRaft) on 127.0.0.1 ...", flush=True)
        access = kafka.start()
        print(
            f"  broker answering at {access.bootstrap} ({access.protocol} with SCRAM, {access.replication} replica(s) "
            f"per partition, ACLs closed by default) after {time.monotonic() - t0:.1f}s",
            flush=True,
        )
        asyncio.run(create_topics(access))
        _Interrupt.check()
        mesh = Mesh(access, root, extra_env=dict(UNATTENDED))
        if postgres:
            print("starting PostgreSQL (Debian's package) ...", flush=True)
            server.start()
            mesh.on_postgres(server)
            print(f"  each service's store is its own database on {server.url('')}", flush=True)
        population_file, submissions = build_referrals(root, referrals, seed)
        mesh.init()
        mesh.enrol_simulated_agencies()
        print(f"  enrolled the partner agencies from their own public keys: {', '.join(sorted(agencies.SIMULATED))}", flush=True)
        mesh.seed(population_file)
        _Interrupt.check()
        print(f"  seeded the desks ({', '.join(DESKS)}) from {population_file.name}", flush=True)
        mesh.start()
        mesh.wait_ready()
        _Interrupt.check()
        print(f"  services running: {', '.join(f'{s} (pid {p})' for s, p in mesh.running().items())}", flush=True)
        web = f"http://127.0.0.1:{mesh.http_port('web')}"
        print(f"  the referral form: {web}/referral; the MASH manager's workspace: {web}/workspace", flush=True)
        ok = asyncio.run(
            _submit_and_watch(mesh.access, submissions, timeout, Principals(mesh.keys_dir), repeat_concerns(submissions, seed))
        )
        mesh.stop()  # each service anchors its chain's head on the broker as it stops, so the check below has them all
        print("\nthe confidential record of activity (hash-chained, signed by each service, anchored on the broker):", flush=True)
        ok &= audit.verify(mesh)
        if not postgres:  # the stores go with the demo's PostgreSQL server, which stops at the end
            print(f"  ask it: ./mash audit seen <referral id> --state {root}", flush=True)
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("\ninterrupted: shutting down", flush=True)
        return 130
    finally:
        # A second Ctrl-C must not cut the clean-up short (it is bounded: stragglers get SIGKILL).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if mesh is not None:
            mesh.stop()
        kafka.stop()
        if postgres:
            server.stop()
        print(f"stopped the services and the broker; logs in {root}", flush=True)


def build_referrals(root: Path, count: int, seed: int) -> tuple[Path, list[NotificationSubmission]]:
    """A synthetic population for the desks, and referrals about it: every scripted case, then households."""
    population = pop.build_population(seed, families=300)
    cases = pop.scripted_cases()
    path = root / "population.json"
    pop.write_population(path, pop.merge(population, cases))
    generator = Generator(seed)
    submissions = [scripted_notification(generator, c.name, c.subjects) for c in cases][:count]
    for people in population.families()[: max(0, count - len(submissions))]:
        submissions.append(household_notification(generator, people))
    return path, submissions


def repeat_concerns(submissions: list[NotificationSubmission], seed: int) -> list[NotificationSubmission]:
    """Two later low-level concerns about the last household's children from two other agencies, none serious
    alone: the hub research service links them to the first and finds several agencies' concerns together."""
    from mash_contracts import Agency, ConcernCategory

    first = submissions[-1]
    children = [s for s in first.subjects if s.role.value == "child"] or first.subjects
    others = [a for a in (Agency.HEALTH, Agency.EDUCATION, Agency.POLICE) if a is not first.referrer.agency][:2]
    return [
        first.model_copy(
            update={
                "submission_id": f"{first.submission_id}-R{n}",
                "subjects": children,
                "referrer": first.referrer.model_copy(
                    update={"agency": agency, "organisation": f"Demo {agency.value}", "email": f"repeat{n}.{seed}@example.org"}
                ),
                "concern": first.concern.model_copy(
                    update={
                        "categories": [ConcernCategory.NEGLECT],
                        "immediate_danger": False,
                        "description": "Child arriving hungry and unkempt again this week.",
                    }
                ),
            }
        )
        for n, agency in enumerate(others, 1)
    ]


async def _submit_and_watch(
    access: Access,
    submissions: list[NotificationSubmission],
    timeout: float,
    principals: Principals,
    repeats: list[NotificationSubmission] = (),
) -> bool:
    referrers = sorted(n for n, roles in agencies.SIMULATED.items() if agencies.REFERRER in roles)
    watched = [
        *(t.for_referrer(r) for t in (ACKNOWLEDGEMENTS, REJECTIONS) for r in referrers),
        DECISIONS.name,
        DEAD_LETTERS.name,
        *(n for t in CONTRIBUTIONS for n in lanes(t.name)),
        *(t.name for t in PRODUCTS),
    ]
    # The demo narrates every hop, so it watches as the operator's super user; no service has that reach.
    consumer = AIOKafkaConsumer(
        *watched, **access.client(ADMIN), group_id=f"demo-watch-{uuid.uuid4()}", auto_offset_reset="earliest"
    )
    # Each referring organisation sends through its own Kafka identity, sealed and signed with its own keys.
    producers = {r: AIOKafkaProducer(**access.client(r), acks="all", enable_idempotence=True) for r in referrers}
    await consumer.start()
    for producer in producers.values():
        await producer.start()

    async def send(submission: NotificationSubmission) -> None:
        referrer = agencies.simulated_referrer(submission)
        await producers[referrer].send_and_wait(**principals.submission_record(submission, referrer))

    try:
        print(
            f"\nsubmitting {len(submissions)} synthetic referrals from {len(referrers)} referring organisations "
            f"({', '.join(referrers)}) and one malformed message ...\n",
            flush=True,
        )
        started = time.monotonic()
        for s in submissions:
            await send(s)
        await producers[agencies.DEFAULT_REFERRER].send_and_wait(
            NOTIFICATIONS_SUBMITTED.name, principals.seal_raw(agencies.DEFAULT_REFERRER, "BROKEN-1", MALFORMED), key=b"BROKEN-1"
        )
        if not await _watch(consumer, {s.submission_id for s in submissions}, started, timeout, principals):
            return False
        # Then repeat concerns, one at a time as they would come: the hub remembers the earlier ones.
        for repeat in repeats:
            print(f"\nsubmitting a later concern about the same children from {repeat.referrer.agency.value} ...\n", flush=True)
            await send(repeat)
            if not await _watch(consumer, {repeat.submission_id}, started, timeout, principals, first_wave=False):
                return False
        return True
    finally:
        for producer in producers.values():
            await producer.stop()
        await consumer.stop()


async def _watch(
    consumer: AIOKafkaConsumer,
    submitted: set[str],
    started: float,
    timeout: float,
    principals: Principals,
    first_wave: bool = True,
) -> bool:
    ours: set[str] = set()  # referral ids of this run (a mixed household's submission is two)
    acknowledged: set[str] = set()  # submission ids
    expected_products: dict[str, int] = {}
    products: dict[str, list[str]] = defaultdict(list)
    dead, rejected = 0, 0

    def stamp() -> str:
        return f"[{time.monotonic() - started:5.1f}s]"

    while time.monotonic() - started < timeout:
        _Interrupt.check()
        batches = await consumer.getmany(timeout_ms=500)
        for tp, records in batches.items():
            for r in records:
                if tp.topic.startswith(ACKNOWLEDGEMENTS.name + "."):
                    ack = principals.read(tp.topic, r.key, r.value)
                    if ack.submission_id in submitted:
                        acknowledged.add(ack.submission_id)
                        ours.add(ack.referral_id)
                        adults = ""
                        if ack.related_referral_id:  # children and an adult at risk: the adult's referral too
                            ours.add(ack.related_referral_id)
                            adults = f"; the adult at risk's referral is {ack.related_referral_id}"
                        print(
                            f"{stamp()} {ack.referral_id} acknowledged to {tp.topic.rpartition('.')[2]} (decision due by {ack.decision_due_by:%a %d %b %H:%M}){adults}",
                            flush=True,
                        )
                elif tp.topic == DECISIONS.name:
                    d = principals.read(tp.topic, r.key, r.value)
                    expected_products[d.referral_id] = len(d.recipients)
                    contribs = ", ".join(f"{a.value}={s.value}" for a, s in sorted(d.contributions.items()))
                    regraded = (
                        f" (re-graded from {d.rag_history[0].from_rag.value}: {d.rag_history[-1].reason})"
                        if d.rag_history
                        else ""
                    )
                    route = ""
                    if d.route is not None:
                        route = f", route {d.route.value.replace('_', ' ')}" + (f" ({d.route_detail})" if d.route_detail else "")
                    print(
                        f"{stamp()} {d.referral_id} decided: level {d.level.value} {d.level_name}, "
                        f"RAG {d.rag.value}{regraded}, outcome {d.outcome.value.replace('_', ' ')}{route}, by {d.decided_by} [{contribs}]",
                        flush=True,
                    )
                elif tp.topic.startswith("mash.contributions."):
                    c = principals.read(tp.topic, r.key, r.value)  # the demo's broker is fresh: every contribution is this run's
                    print(f"{stamp()} {c.referral_id}   {c.agency.value}: {_contribution_line(c)}", flush=True)
                elif tp.topic.startswith(REJECTIONS.name + "."):
                    rejected += 1
                    rej = principals.read(tp.topic, r.key, r.value)
                    print(
                        f"{stamp()} submission {rej.submission_id or '(unreadable)'} rejected: {'; '.join(rej.reasons)[:160]}",
                        flush=True,
                    )
                elif tp.topic == DEAD_LETTERS.name:
                    dead += 1
                    letter = principals.read(tp.topic, r.key, r.value)
                    print(
                        f"{stamp()} dead letter from {letter.service} ({letter.source_topic}@{letter.source_offset}): {letter.error_type}",
                        flush=True,
                    )
                else:
                    p = principals.read(tp.topic, r.key, r.value)
                    products[p.referral_id].append(p.recipient.value)
                    print(f"{stamp()} {p.referral_id} information product routed to {p.recipient.value}", flush=True)
        routed = [ref for ref in ours if ref in expected_products and len(products[ref]) >= expected_products[ref]]
        if acknowledged == submitted and len(routed) == len(ours) and (not first_wave or (dead and rejected)):
            if first_wave:
                print(
                    f"\n{len(routed)} referrals decided and routed, 1 malformed message dead-lettered and rejected, "
                    f"in {time.monotonic() - started:.1f}s",
                    flush=True,
                )
            return True
    print(f"\ntimed out after {timeout:.0f}s: {len(ours)} acknowledged, {len(expected_products)} decided", flush=True)
    return False


def _contribution_line(c: Contribution) -> str:
    shared = sum(1 for i in c.items if not i.signal_only)
    parts = [c.status.value.replace("_", " ")]
    if shared:
        parts.append(f"{shared} records")
    if any(i.signal_only for i in c.items):
        parts.append("more held, not disclosable")
    if c.findings:
        parts.append("findings: " + ", ".join(c.findings))

    if c.uncertain_matches:
        parts.append(f"{len(c.uncertain_matches)} uncertain match(es) not shared")
    why = "".join(f"\n{'':22}{finding}: {reason}" for finding, reason in sorted(c.finding_explanations.items()))
    return "; ".join(parts) + why
