"""The front door refuses impossible ages over the real broker: the referrer gets a Rejection keyed to their
submission id, operations a dead letter, and nothing goes on to the desks."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from mash_contracts.topics import ACKNOWLEDGEMENTS, DEAD_LETTERS, REJECTIONS
from mash_tools.synthetic import Generator

from .watch import Seen, run

pytestmark = pytest.mark.integration


def test_a_future_date_of_birth_and_a_grown_child_come_back_as_rejections(mesh, watcher):
    generator = Generator(seed=uuid.uuid4().int)
    first, second, good = generator.notification(), generator.notification(), generator.notification()
    unborn_yet = first.subjects[0].model_copy(update={"date_of_birth": date.today() + timedelta(days=30)})
    grown = second.subjects[0].model_copy(update={"date_of_birth": date.today() - timedelta(days=19 * 365 + 10)})
    future = first.model_copy(update={"subjects": [unborn_yet, *first.subjects[1:]]})
    nineteen = second.model_copy(update={"subjects": [grown, *second.subjects[1:]]})
    sent = run(watcher.submit(future, nineteen, good))
    refused = {future.submission_id, nineteen.submission_id}

    def done(seen: Seen) -> bool:
        rejected = {r.submission_id for r in seen.decoded(REJECTIONS.name)}
        letters = {
            (d.source_partition, d.source_offset) for d in seen.decoded(DEAD_LETTERS.name) if d.source_topic == sent[0].topic
        }
        acked = {a.submission_id for a in seen.decoded(ACKNOWLEDGEMENTS.name)}
        return refused <= rejected and good.submission_id in acked and (sent[0].partition, sent[0].offset) in letters

    seen = run(watcher.read_until([REJECTIONS.name, ACKNOWLEDGEMENTS.name, DEAD_LETTERS.name], done, settle=1))
    rejections = {r.submission_id: r for r in seen.decoded(REJECTIONS.name) if r.submission_id in refused}
    assert rejections[future.submission_id].reasons == [
        "subjects.0.date_of_birth: is after the day the notification was received; for a baby not yet born use "
        "the role unborn_child with expected_date_of_birth"
    ]
    [reason] = rejections[nineteen.submission_id].reasons
    assert reason.startswith("subjects.0.role: a child is under 18") and "adult_at_risk" in reason
    acked = {a.submission_id for a in seen.decoded(ACKNOWLEDGEMENTS.name)}
    assert not refused & acked, "a refused notification is never acknowledged as a referral"
    # At least once: a redelivery (a rebalance before the commit) writes the same letter, under the same id, again.
    [letter] = {
        d.dead_letter_id: d
        for d in seen.decoded(DEAD_LETTERS.name)
        if (d.source_topic, d.source_partition, d.source_offset) == (sent[0].topic, sent[0].partition, sent[0].offset)
    }.values()
    assert (letter.service, letter.error_type) == ("intake", "Rejected") and "date_of_birth: is after the day" in letter.error
