"""Over the real broker: a changed resubmission reaches everyone as supplementary information, and the decision
service refuses a desk's finding that is not its own (issue: nothing lost without a signal)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mash_contracts import Agency, AlertKind, ConcernCategory, Contribution, ContributionStatus, derived_id
from mash_contracts.topics import (
    ACKNOWLEDGEMENTS,
    ALERTS,
    CONTRIBUTIONS,
    DEAD_LETTERS,
    DECISIONS,
    RESEARCHERS,
    contributions_topic,
    lanes,
)
from mash_tools.synthetic import Generator

from .watch import run

pytestmark = pytest.mark.integration


def test_a_changed_resubmission_is_supplementary_information_not_a_duplicate(mesh, watcher):
    first = Generator(seed=uuid.uuid4().int).notification()
    first = first.model_copy(
        update={"concern": first.concern.model_copy(update={"categories": [ConcernCategory.OTHER], "immediate_danger": False})}
    )
    run(watcher.submit(first))
    acked = lambda s, n: [
        a for a in s.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == first.submission_id and a.revision == n
    ]
    seen = run(
        watcher.read_until(
            [ACKNOWLEDGEMENTS.name, DECISIONS.name],
            lambda s: acked(s, 1) and any(d.referral_id == acked(s, 1)[0].referral_id for d in s.decoded(DECISIONS.name)),
        )
    )
    referral_id = acked(seen, 1)[0].referral_id

    run(watcher.submit(first))  # the same content again: absorbed
    update = first.model_copy(
        update={
            "concern": first.concern.model_copy(
                update={
                    "description": first.concern.description
                    + " Since the first call the child has disclosed that she is hit at home."
                }
            )
        }
    )
    run(watcher.submit(update))

    contributions = [n for t in CONTRIBUTIONS for n in lanes(t.name)]
    fresh = lambda s: {
        c.agency for t in contributions for c in s.decoded(t) if c.referral_id == referral_id and c.notification_revision == 2
    }
    ours = lambda s, kind: [a for a in s.decoded(ALERTS.name) if a.referral_id == referral_id and a.kind is kind]
    seen = run(
        watcher.read_until(
            [ACKNOWLEDGEMENTS.name, ALERTS.name, *contributions],
            lambda s: (
                acked(s, 2)
                and len(fresh(s)) == len(RESEARCHERS)
                and ours(s, AlertKind.REFERRAL_UPDATED)
                and any("revision 2" in a.detail for a in ours(s, AlertKind.CONFIRMATION_NEEDED))
            ),
            timeout=90,
            settle=2,
        )
    )
    assert len(acked(seen, 1)) == 1 and len(acked(seen, 2)) == 1, "one acknowledgement per revision, none for the retry"
    assert acked(seen, 2)[0].referral_id == referral_id and "supplementary information" in acked(seen, 2)[0].text
    assert "after the decision was routed" in ours(seen, AlertKind.REFERRAL_UPDATED)[0].detail
    assert fresh(seen) == set(RESEARCHERS), "every desk and the hub's research researched again"

    # The chronology (issue 14 part 5) lists both revisions, every item the desks shared and the decision, in date order.
    from mash_runtime.http import manager_token

    from .test_decision_service import _http

    status, found = _http(mesh, "GET", f"/referrals/{referral_id}/chronology", token=manager_token(mesh.keys_dir))
    assert status == 200, found
    events = [e["event"] for e in found["entries"]]
    assert any(e.startswith("Referral received: other") for e in events) and any(
        e.startswith("Referral updated (revision 2") for e in events
    )
    assert any(e.startswith("Decision: Level") for e in events), events
    dated = [(e["date"], e["time"] or "") for e in found["entries"] if not e["undated"]]
    assert dated == sorted(dated)
    listed = {(e["source"], e["detail"]) for e in found["entries"]}
    for c in (c for t in contributions for c in seen.decoded(t) if c.referral_id == referral_id):
        assert all((c.agency.value, i.summary) in listed for i in c.items), c.agency


def test_a_finding_that_is_not_the_desks_to_report_is_dead_lettered(mesh, watcher):
    submission = Generator(seed=uuid.uuid4().int).notification()
    run(watcher.submit(submission))
    seen = run(
        watcher.read_until(
            [ACKNOWLEDGEMENTS.name],
            lambda s: any(a.submission_id == submission.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name)),
        )
    )
    [ack] = [a for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id]
    claim = Contribution(
        message_id=derived_id("forged", ack.referral_id),
        referral_id=ack.referral_id,
        agency=Agency.POLICE,
        status=ContributionStatus.SHARED,
        findings=["open_cp_plan"],
        rationale="claims social care's finding",
        policy_version="police-test",
        researched_at=datetime.now(UTC),
    )
    topic = contributions_topic(Agency.POLICE)
    sealed = watcher.principals.firewall("police_desk").wrap(topic, ack.referral_id, claim, str(claim.message_id))
    sent = run(watcher.publish_raw(topic, ack.referral_id.encode(), sealed, principal="police_desk"))
    seen = run(
        watcher.read_until(
            [DEAD_LETTERS.name],
            lambda s: any(
                (d.source_topic, d.source_partition, d.source_offset) == (topic, sent.partition, sent.offset)
                for d in s.decoded(DEAD_LETTERS.name)
            ),
            timeout=60,
        )
    )
    [letter] = [
        d
        for d in seen.decoded(DEAD_LETTERS.name)
        if (d.source_topic, d.source_partition, d.source_offset) == (topic, sent.partition, sent.offset)
    ]
    assert letter.service == "decision" and letter.error_type == "Rejected", letter.error
    assert "police may not report open_cp_plan" in letter.error
