"""An immediate-danger referral overtakes a backlog of routine ones: it has a lane of its own at every stage.

Runs last in the tier (the backlog it creates drains before the test ends, so nothing is left in flight)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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
    submitted_urgent = datetime.now(UTC)
    run(watcher.submit(urgent))
    ids = {s.submission_id for s in routine}

    def refs(seen: Seen) -> dict[str, str]:
        return {
            a.referral_id: a.submission_id
            for a in seen.decoded(ACKNOWLEDGEMENTS.name)
            if a.submission_id in ids | {urgent.submission_id}
        }

    decided_at: dict[str, datetime] = {}

    def all_decided(seen: Seen) -> bool:
        r = refs(seen)
        decided_at.update({r[d.referral_id]: d.decided_at for d in seen.decoded(DECISIONS.name) if d.referral_id in r})
        return len(decided_at) == BACKLOG + 1

    run(watcher.read_until([ACKNOWLEDGEMENTS.name, DECISIONS.name], all_decided, timeout=420))
    # Judged by when each was decided (the decision's own time), not by the order a reader meets them in: the routine
    # referrals still waiting when the urgent one arrived are the backlog it must overtake.
    urgent_at = decided_at.pop(urgent.submission_id)
    waiting = [t for t in decided_at.values() if t > submitted_urgent]
    ahead = [t for t in waiting if t < urgent_at]
    print(
        f"\nurgent referral decided {(urgent_at - submitted_urgent).total_seconds():.1f}s after submission; of the "
        f"{len(waiting)} routine referrals still waiting when it arrived, {len(ahead)} were decided before it"
    )
    assert len(waiting) >= BACKLOG // 10, f"only {len(waiting)} routine referrals were waiting: no backlog to overtake"
    # Queued behind the backlog it would come after nearly all of it; overtaking, only the few already at the last
    # stage (their answers in hand) finish during its own passage through intake, the desks and the decision.
    assert len(ahead) < len(waiting) // 2, f"{len(ahead)} of {len(waiting)} waiting routine referrals went first"
    assert len(decided_at) == BACKLOG, "every referral decided, nothing lost"
