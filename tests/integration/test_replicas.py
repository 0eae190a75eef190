"""The mesh with two instances of every service (`mash up --replicas 2`) over a real broker: each service's instances
share its store and its consumer groups. The scripted cases and a referral through the second web front door are each
decided and routed once; then an instance of intake and one of a desk are SIGKILLed mid-flow and the rest still
finishes, nothing lost and nothing duplicated, every survivor drains on SIGTERM and every shared audit chain verifies."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from mash_cli import audit
from mash_cli.kafka import LocalKafka
from mash_cli.mesh import SERVICES, UNATTENDED, Mesh
from mash_cli.status import status as mash_status
from mash_cli.topics import create_topics
from mash_contracts.topics import ACKNOWLEDGEMENTS, DEAD_LETTERS, DECISIONS, PRODUCTS, RESEARCHERS, WEB, contributions_topic
from mash_tools import population
from mash_tools.synthetic import Generator, scripted_notification

from .test_mesh import FLOW
from .test_web_front_door import ANSWERS, Browser, csrf_of
from .watch import Seen, Watcher, run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
REPLICAS = 2
KILLED = (("intake", "1"), ("police_desk", "2"))
WATCHED = [*FLOW, DEAD_LETTERS.name]
# What each service logs once a record's work is committed (a desk: "contribution shared"): an instance that logged it
# took a share of the flow.
WORK = {"intake": '"message": "accepted as ', "analysis": '"message": "hub research ', "decision": '"message": "decided"'}


@pytest.fixture(scope="module")
def replicated(scripted, tmp_path_factory):
    root = tmp_path_factory.mktemp("replicas")
    kafka = LocalKafka(root / "kafka")  # its own broker: the session mesh's consumer groups have the same names
    access = kafka.start()
    mesh = None
    try:
        asyncio.run(create_topics(access))
        mesh = Mesh(access, root, extra_env=dict(UNATTENDED), replicas=REPLICAS)
        world = root / "population.json"
        population.write_population(
            world, population.merge(population.build_population(seed=11, families=20), list(scripted.values()))
        )
        mesh.init()
        mesh.enrol_simulated_agencies()
        mesh.seed(world)
        mesh.start()
        mesh.wait_ready(timeout=240)
        yield mesh
    finally:
        if mesh is not None:
            mesh.stop()
        kafka.stop()


def acknowledged(seen: Seen, submissions: set[str], topic: str = ACKNOWLEDGEMENTS.name) -> dict[str, set[str]]:
    """Each acknowledged submission's referrals (a mixed household's two)."""
    out: dict[str, set[str]] = defaultdict(set)
    for a in seen.decoded(topic):
        if a.submission_id in submissions:
            out[a.submission_id] |= {a.referral_id, *([a.related_referral_id] if a.related_referral_id else [])}
    return out


def routed(seen: Seen, refs: set[str]) -> bool:
    decisions = {d.referral_id: d for d in seen.decoded(DECISIONS.name) if d.referral_id in refs}
    products = {(p.referral_id, p.recipient) for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id in refs}
    return decisions.keys() == refs and all((r, a) in products for r, d in decisions.items() for a in d.recipients)


def by_message_id(messages: list, key) -> dict:
    """Distinct message ids per business key: a reader deduplicates by message id, so only a second id is a duplicate."""
    out: dict = defaultdict(set)
    for m in messages:
        out[key(m)].add(m.message_id)
    return out


def shares(mesh: Mesh) -> dict[str, dict[str, int]]:
    """Per service, how much work each instance's log shows it committed."""
    out = {}
    for service in (s for s in SERVICES if s != WEB):
        marker = WORK.get(service, '"message": "contribution ')
        out[service] = {
            i: (path.read_text(errors="replace").count(marker) if (path := Path(mesh.log_file(service, i))).exists() else 0)
            for i in mesh.instances(service)
        }
    return out


def test_two_instances_of_every_service_decide_the_scripted_cases_and_a_web_referral_once_each(replicated, scripted):
    mesh = replicated
    assert all(all(pids.values()) and len(pids) == REPLICAS for pids in mesh.running_instances().values())
    extra = [line for line in mash_status(mesh) if line.startswith("  instance 2 ")]
    assert len(extra) == len(SERVICES) and all("running" in line and line.endswith(" ready") for line in extra), extra
    watcher = Watcher(mesh.access, mesh.keys_dir)
    generator = Generator(seed=uuid.uuid4().int)
    submissions = [scripted_notification(generator, name, case.subjects) for name, case in scripted.items()]
    run(watcher.submit(*submissions))
    ours = {s.submission_id for s in submissions}

    # One referral through the second web front door; its page, read on the first, shows what the hub answered.
    second, first = (Browser(f"http://127.0.0.1:{mesh.http_port(WEB, i)}") for i in ("2", "1"))
    assert second.base != first.base
    status, url, page = second.post("/referral", ANSWERS | {"csrf": csrf_of(second.get("/referral")[2])})
    assert status == 200 and "/referral/sent/WEB-" in url, page[:2000]
    reference = url.rsplit("/", 1)[1]
    web_acks = ACKNOWLEDGEMENTS.for_referrer(WEB)

    def done(seen: Seen) -> bool:
        acked, from_web = acknowledged(seen, ours), acknowledged(seen, {reference}, web_acks)
        refs = set().union(*acked.values(), *from_web.values())
        return acked.keys() == ours and reference in from_web and routed(seen, refs)

    seen = run(watcher.read_until([*WATCHED, web_acks], done, timeout=240, settle=3))
    scripted_refs = set().union(*acknowledged(seen, ours).values())
    assert len(scripted_refs) == len(ours) + 1, "each case one referral, the mixed household two"
    refs = scripted_refs | set().union(*acknowledged(seen, {reference}, web_acks).values())
    decisions = Counter(d.referral_id for d in seen.decoded(DECISIONS.name) if d.referral_id in refs)
    assert decisions.keys() == refs and set(decisions.values()) == {1}, f"not one decision each: {decisions}"
    products = Counter((p.referral_id, p.recipient) for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id in refs)
    assert set(products.values()) == {1}, f"a recipient given two products: {products}"
    for agency in RESEARCHERS:
        answers = Counter(c.referral_id for c in seen.lanes(contributions_topic(agency)) if c.referral_id in refs)
        assert set(answers.values()) <= {1}, f"{agency} answered a referral twice: {answers}"
    assert seen.decoded(DEAD_LETTERS.name) == [], "nothing dead-lettered"

    deadline = time.monotonic() + 60
    while "The MASH decided" not in (page := first.get(f"/referral/sent/{reference}")[2]):
        assert time.monotonic() < deadline, "the first web instance never showed the outcome the hub sent"
        time.sleep(0.5)


def test_an_intake_and_a_desk_instance_killed_mid_flow_lose_and_duplicate_nothing(replicated, capsys):
    mesh = replicated
    watcher = Watcher(mesh.access, mesh.keys_dir)
    generator = Generator(seed=uuid.uuid4().int)
    before, after = [generator.notification() for _ in range(20)], [generator.notification() for _ in range(20)]
    ours = {s.submission_id for s in before + after}
    run(watcher.submit(*before))
    flowing = lambda seen: len(acknowledged(seen, ours)) >= 3  # noqa: E731
    run(watcher.read_until([ACKNOWLEDGEMENTS.name], flowing, timeout=120))
    for service, instance in KILLED:
        mesh.kill(service, instance)
    killed_at = time.monotonic()
    run(watcher.submit(*after))  # the survivors take the dead instances' partitions once the groups rebalance

    def done(seen: Seen) -> bool:
        acked = acknowledged(seen, ours)
        return acked.keys() == ours and routed(seen, set().union(*acked.values()))

    # Generous: a group notices a SIGKILLed member after its session timeout, and outbox rows it had leased wait 60 s.
    seen = run(watcher.read_until(WATCHED, done, timeout=300, settle=5))
    finished = time.monotonic() - killed_at
    refs = set().union(*acknowledged(seen, ours).values())
    assert len(refs) == len(ours)

    acks = by_message_id([a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id in ours], lambda a: a.referral_id)
    decisions = by_message_id([d for d in seen.decoded(DECISIONS.name) if d.referral_id in refs], lambda d: d.referral_id)
    products = by_message_id(
        [p for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id in refs], lambda p: (p.referral_id, p.recipient)
    )
    answers = by_message_id(
        [c for a in RESEARCHERS for c in seen.lanes(contributions_topic(a)) if c.referral_id in refs],
        lambda c: (c.referral_id, c.agency),
    )
    newest = {d.referral_id: d for d in seen.decoded(DECISIONS.name) if d.referral_id in refs}
    expected_products = {(r, a) for r, d in newest.items() for a in d.recipients}
    copies = sum(n - 1 for n in Counter(m.message_id for t in WATCHED for m in seen.decoded(t)).values())
    work = shares(mesh)
    with capsys.disabled():
        print(
            f"\n{len(refs)} referrals, {KILLED} SIGKILLed mid-flow, all routed {finished:.0f}s after; republished copies "
            f"of one message id (readers deduplicate) {copies}; work per instance {work}"
        )

    assert acks.keys() == refs and all(len(ids) == 1 for ids in acks.values()), "one acknowledgement per referral"
    assert decisions.keys() == refs and all(len(ids) == 1 for ids in decisions.values()), "one decision per referral"
    assert products.keys() == expected_products and all(len(ids) == 1 for ids in products.values()), "one product each"
    assert answers.keys() == {(r, a) for r in refs for a in RESEARCHERS}, "every desk answered every referral"
    assert all(len(ids) == 1 for ids in answers.values()), "and answered it once"
    assert not any(d.no_answer for d in newest.values()), "no referral waited for its deadline for a killed desk"
    assert seen.decoded(DEAD_LETTERS.name) == [], "nothing dead-lettered"
    for service, done_by in work.items():
        alive = {i for i in done_by if mesh.pid(service, i) is not None}
        assert all(done_by[i] for i in alive), f"an instance of {service} took no share: {done_by}"

    stopped = mesh.stop()
    assert all(stopped.values()), f"an instance did not drain on SIGTERM: {stopped}"
    assert audit.verify(mesh), "each store's one audit chain, written by two instances, verifies against its anchors"
