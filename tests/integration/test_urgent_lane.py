"""An immediate-danger referral overtakes a backlog of routine ones: it has a lane of its own at every stage.

Runs last in the tier (the backlog it creates drains before the test ends, so nothing is left in flight)."""

from __future__ import annotations

import time
import uuid

import pytest

from mash_contracts import ConcernCategory
from mash_contracts.topics import ACKNOWLEDGEMENTS, DECISIONS
from mash_tools.synthetic import Generator, Scenario

from .watch import Seen, run

pytestmark = pytest.mark.integration
BACKLOG = 500


def test_an_urgent_referral_overtakes_a_backlog_of_500_routine_ones(mesh, watcher):
    generator = Generator(seed=uuid.uuid4().int)
    routine = [
        generator.notification(Scenario((ConcernCategory.NEGLECT,), "Routine: child often hungry at school."))
        for _ in range(BACKLOG)
    ]
    urgent = generator.notification(
        Scenario((ConcernCategory.PHYSICAL_ABUSE,), "Child says they are afraid to go home tonight.", immediate_danger=True)
    )
    run(watcher.submit(*routine))
    submitted_urgent = time.monotonic()
    run(watcher.submit(urgent))
    ids = {s.submission_id for s in routine}

    def refs(seen: Seen) -> dict[str, str]:
        return {
            a.referral_id: a.submission_id
            for a in seen.decoded(ACKNOWLEDGEMENTS.name)
            if a.submission_id in ids | {urgent.submission_id}
        }

    order: list[str] = []
    urgent_wait: list[float] = []

    def all_decided(seen: Seen) -> bool:
        r = refs(seen)
        decided = [d.referral_id for d in seen.decoded(DECISIONS.name) if d.referral_id in r]
        if not urgent_wait and any(r[d] == urgent.submission_id for d in decided):
            urgent_wait.append(time.monotonic() - submitted_urgent)
        order[:] = [r[d] for d in decided]
        return len(set(decided)) == BACKLOG + 1

    run(watcher.read_until([ACKNOWLEDGEMENTS.name, DECISIONS.name], all_decided, timeout=420))
    position = order.index(urgent.submission_id)
    print(
        f"\nurgent referral decided {urgent_wait[0]:.1f}s after submission, as number {position + 1} of {BACKLOG + 1}, "
        f"behind a backlog of {BACKLOG} routine referrals"
    )
    assert position < BACKLOG // 10, f"the urgent referral was decided as number {position + 1}: it queued behind routine work"
    assert len(order) == len(set(order)) == BACKLOG + 1, "every referral decided exactly once, nothing lost"
