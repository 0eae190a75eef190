"""Over the real broker: the same concern about the same child from the same referrer under a second reference is
linked to the open referral, not opened as a second case (issue 14, part 3); another referrer's is a new referral."""

from __future__ import annotations

import uuid

import pytest

from mash_contracts import AlertKind, ConcernCategory
from mash_contracts.topics import ACKNOWLEDGEMENTS, ALERTS, DECISIONS, OUTCOMES
from mash_tools.synthetic import Generator

from .watch import run

pytestmark = pytest.mark.integration


def low_level(generator: Generator):
    s = generator.notification()
    return s.model_copy(
        update={"concern": s.concern.model_copy(update={"categories": [ConcernCategory.NEGLECT], "immediate_danger": False})}
    )


def acks(seen, reference):
    return [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == reference]


def test_the_same_notification_under_a_second_reference_is_linked_to_the_open_referral(mesh, watcher, mash):
    first = low_level(Generator(seed=uuid.uuid4().int))
    run(watcher.submit(first))
    decided = lambda s: (
        acks(s, first.submission_id)
        and any(d.referral_id == acks(s, first.submission_id)[0].referral_id for d in s.decoded(DECISIONS.name))
    )
    seen = run(watcher.read_until([ACKNOWLEDGEMENTS.name, DECISIONS.name], decided))
    referral_id = acks(seen, first.submission_id)[0].referral_id

    # The referrer's system sends the same notification again under a new reference, twice (a retry of the second).
    second = first.model_copy(update={"submission_id": f"{first.submission_id}-AGAIN"})
    run(watcher.submit(second))
    run(watcher.submit(second))
    to_confirm = lambda s: (
        acks(s, second.submission_id)
        and any(
            a.referral_id == referral_id and a.kind is AlertKind.CONFIRMATION_NEEDED and "revision 2" in a.detail
            for a in s.decoded(ALERTS.name)
        )
    )
    seen = run(watcher.read_until([ACKNOWLEDGEMENTS.name, ALERTS.name], to_confirm, timeout=90, settle=2))
    [ack] = acks(seen, second.submission_id)
    assert ack.referral_id == referral_id and ack.revision == 2, "one referral, the duplicate its next revision"
    assert ack.linked_to_submission_id == first.submission_id
    assert f"linked to open referral {referral_id}" in ack.text and f"under your reference {first.submission_id}" in ack.text
    [updated] = [a for a in seen.decoded(ALERTS.name) if a.referral_id == referral_id and a.kind is AlertKind.REFERRAL_UPDATED]
    assert "linked_submission" in updated.detail

    # The manager confirms the re-assessment; the decision and each reference's outcome notice name both references.
    confirmed = mash("decision", "confirm", referral_id, "--manager", "d.manager", state=mesh.state_dir)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    both = [first.submission_id, second.submission_id]
    revised = lambda s: [d for d in s.decoded(DECISIONS.name) if d.referral_id == referral_id and d.revision == 2]  # noqa: E731
    notices = lambda s: [n for n in s.decoded(OUTCOMES.name) if n.referral_id == referral_id and n.revision == 2]  # noqa: E731
    seen = run(watcher.read_until([DECISIONS.name, OUTCOMES.name], lambda s: revised(s) and len(notices(s)) == 2, timeout=90))
    assert revised(seen)[0].linked_submission_ids == both, "the manager sees both references"
    assert sorted(n.submission_id for n in notices(seen)) == sorted(both)
    assert all(f"notifications {both[0]} and {both[1]}" in n.text for n in notices(seen))


def test_the_same_child_and_concern_from_another_referrer_is_a_second_referral(mesh, watcher):
    first = low_level(Generator(seed=uuid.uuid4().int))
    other = first.model_copy(
        update={
            "submission_id": f"{first.submission_id}-OTHER",
            "referrer": first.referrer.model_copy(
                update={"organisation": "Another Primary School", "email": "another.dsl@example.org"}
            ),
        }
    )
    run(watcher.submit(first, other))
    seen = run(
        watcher.read_until(
            [ACKNOWLEDGEMENTS.name], lambda s: acks(s, first.submission_id) and acks(s, other.submission_id), settle=2
        )
    )
    [a], [b] = acks(seen, first.submission_id), acks(seen, other.submission_id)
    assert a.referral_id != b.referral_id and a.revision == b.revision == 1
    assert a.linked_to_submission_id is None and b.linked_to_submission_id is None
