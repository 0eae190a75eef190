"""One trace per referral across every hop, with the expected edges between services (the spans are what
every service exported; the table is the mesh's design)."""

from __future__ import annotations

import time
import uuid

import pytest

from mash_cli import trace
from mash_cli.mesh import DESKS, SERVICES
from mash_contracts.topics import WEB
from mash_tools.synthetic import Generator

from .test_mesh import FLOW, referral_ids, routed
from .watch import run

pytestmark = pytest.mark.integration

EXPECTED_EDGES = {("intake", "decision")} | {e for desk in DESKS for e in (("intake", desk), (desk, "decision"))}


def test_each_referral_is_one_trace_spanning_every_service(mesh, watcher):
    generator = Generator(seed=uuid.uuid4().int)
    submissions = [generator.notification() for _ in range(5)]
    run(watcher.submit(*submissions))
    ours = {s.submission_id for s in submissions}
    seen = run(watcher.read_until(FLOW, lambda s: len(referral_ids(s, ours)) == 5 and routed(s, referral_ids(s, ours)), settle=1))
    time.sleep(1)  # the last publish spans end just after their records are readable
    spans = trace.load(mesh.state_dir / "traces")
    for ref in referral_ids(seen, ours):
        mine = trace.of_referral(spans, ref)
        assert len({s["trace_id"] for s in mine}) == 1, f"{ref} is spread over several traces"
        # Every service a referral from an agency's own system passes through: all but the web front door.
        assert {s["service"] for s in mine} == set(SERVICES) - {WEB}, "every service of the mesh, each desk included"
        missing = EXPECTED_EDGES - trace.edges(mine)
        assert not missing, f"{ref}: no parent/child span across {sorted(missing)}"
        assert not [s for s in mine if s["status"] == "ERROR"]
        products = [s for s in mine if s["name"].startswith("mash.products.") and s["kind"] == "PRODUCER"]
        assert products, f"{ref}: routing the product is in the trace"
    print("\n" + "\n".join(trace.waterfall(trace.of_referral(spans, sorted(referral_ids(seen, ours))[0]))))
