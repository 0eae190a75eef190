"""A manager's recorded s47 grounds in the decision store (SQLite and PostgreSQL): kept with the rationale out of the
audit record, sent to the desks on an s47 footing, the referral re-opened until the desks answer on the grounds, their
answers superseding the declines, and a routed referral re-assessed by a manager with ids of its own."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from helpers import contribution
from mash_contracts import Agency, ContributionStatus, GroundsKind, Outcome, ResearchGrounds, StatutoryFooting, ThresholdLevel
from mash_contracts.topics import DECISIONS, DESK_AGENCIES, RESEARCH_GROUNDS
from mash_decision.grounds import NoReferral
from mash_runtime.audit import audit_log

pytestmark = pytest.mark.unit
RATIONALE = "Nursery saw bruising to both upper arms twice this month; the parent's account changed."


def answer(n, agency, status, grounds_id=None):
    return contribution(
        n,
        agency,
        message_id=uuid.uuid4(),
        status=status,
        rationale=f"{agency.value} {status.value}",
        policy_version="p1",
        grounds_id=grounds_id,
    )


def test_grounds_reopen_research_and_fresh_answers_supersede_the_declines(assembly, refused_s17, queued, principals):
    n = refused_s17
    assembly.record_notification(n)
    assembly.record_contribution(answer(n, Agency.POLICE, ContributionStatus.SHARED))
    for desk in DESK_AGENCIES[1:]:  # every desk but the police
        assembly.record_contribution(answer(n, desk, ContributionStatus.DECLINED))
    if assembly.state_of(n.referral_id) == "recommended":
        [waiting] = assembly.pending()
        assert set(waiting["declines"]) == {a.value for a in DESK_AGENCIES[1:]}, "the manager sees who declined"

    recorded = assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.S47, RATIONALE)
    assert recorded["state"] == "awaiting_contributions"
    assert assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.S47, RATIONALE) == recorded, "a retried request adds nothing"
    [row] = queued(assembly.db, RESEARCH_GROUNDS.name)
    assert RATIONALE.encode() not in row.payload, "sealed for the desks"
    message = ResearchGrounds.model_validate_json(principals.firewall("health_desk").unwrap(row.topic, row.key, row.payload))
    assert message.notification.statutory_footing is StatutoryFooting.S47 and str(message.grounds_id) == recorded["grounds_id"]
    assert message.rationale == RATIONALE and message.recorded_by == "Ayo"

    with assembly.db.transaction() as s:
        entries = [
            r._asdict()
            for r in s.execute(
                select(audit_log).where((audit_log.c.referral_id == n.referral_id) & (audit_log.c.action == "grounds_recorded"))
            )
        ]
    assert len(entries) == 1 and entries[0]["actor"] == "manager Ayo"
    assert entries[0]["detail"]["kind"] == "s47" and entries[0]["detail"]["rationale_chars"] == len(RATIONALE)
    assert "bruising" not in json.dumps(entries, default=str).lower(), "the rationale stays out of the audit record"

    gid = uuid.UUID(recorded["grounds_id"])
    for desk in DESK_AGENCIES[:-1]:  # three of four answered on the grounds: still waiting
        assembly.record_contribution(answer(n, desk, ContributionStatus.SHARED, gid))
    assert assembly.state_of(n.referral_id) == "awaiting_contributions"
    assembly.record_contribution(answer(n, DESK_AGENCIES[-1], ContributionStatus.SHARED, gid))
    assert assembly.state_of(n.referral_id) == "recommended", "s47 grounds: a manager decides"
    [waiting] = assembly.pending()
    assert waiting["conflicts"] == [] and waiting["declines"] == {}, "answers on grounds supersede, never conflict"
    assert waiting["grounds"][0]["kind"] == "s47" and "rationale" not in waiting["grounds"][0]
    decision = assembly.confirm(n.referral_id, "Ayo")
    assert decision.grounds_id == gid and set(decision.contributions.values()) == {ContributionStatus.SHARED}


def test_grounds_after_routing_are_re_assessed_by_a_manager_with_new_ids(assembly, refused_s17, queued):
    n = refused_s17
    assembly.record_notification(n)
    for desk in DESK_AGENCIES:
        assembly.record_contribution(
            answer(n, desk, ContributionStatus.SHARED if desk is Agency.POLICE else ContributionStatus.DECLINED)
        )
    if assembly.state_of(n.referral_id) == "recommended":
        first = assembly.confirm(n.referral_id, "Ayo")
    else:
        first = None
    assert assembly.state_of(n.referral_id) == "routed"
    gid = uuid.UUID(assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.STRATEGY_DISCUSSION, RATIONALE)["grounds_id"])
    for desk in DESK_AGENCIES:
        assembly.record_contribution(answer(n, desk, ContributionStatus.SHARED, gid))
    assert assembly.state_of(n.referral_id) == "recommended", "a routed referral re-assessed needs a manager"
    second = assembly.confirm(n.referral_id, "Bea")
    assert second.grounds_id == gid and (first is None or second.message_id != first.message_id)
    assert len(queued(assembly.db, DECISIONS.name)) == 2


def test_grounds_need_a_rationale_and_a_known_referral(assembly, refused_s17):
    with pytest.raises(NoReferral):
        assembly.record_grounds("REF-000000000000", "Ayo", GroundsKind.S47, RATIONALE)
    n = refused_s17
    assembly.record_notification(n)
    with pytest.raises(ValueError, match="rationale"):
        assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.S47, "because")


def test_a_single_word_or_a_missing_manager_records_no_grounds(assembly, refused_s17, queued):
    """One word ("Concerning", "Safeguarding") passed the ten-character minimum, and an absent manager was recorded
    as "None"; neither is grounds anyone could be shown later."""
    n = refused_s17
    assembly.record_notification(n)
    for word in ("Concerning", "Safeguarding", "  significant-harm-suspected  ", "Two words."):
        with pytest.raises(ValueError, match="at least a sentence"):
            assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.S47, word)
    for manager in (None, "", "   ", 7, "A" * 101):
        with pytest.raises(ValueError, match="manager"):
            assembly.record_grounds(n.referral_id, manager, GroundsKind.S47, RATIONALE)
    with pytest.raises(ValueError, match="at most 8000"):
        assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.S47, "Reasons given here. " * 500)
    assert queued(assembly.db, RESEARCH_GROUNDS.name) == [], "nothing was sent to the desks"
    assert assembly.record_grounds(n.referral_id, "Ayo", GroundsKind.S47, RATIONALE)["recorded_by"] == "Ayo"


def test_an_override_needs_a_sentence_and_a_named_manager(assembly, refused_s17):
    n = refused_s17
    assembly.record_notification(n)
    for desk in DESK_AGENCIES:
        assembly.record_contribution(answer(n, desk, ContributionStatus.SHARED))
    for manager, rationale in ((None, RATIONALE), ("Ayo", "Reconsidered"), ("Ayo", None)):
        with pytest.raises(ValueError, match="manager|at least a sentence|as text"):
            assembly.override(n.referral_id, manager, ThresholdLevel.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, [], rationale)
    with pytest.raises(ValueError, match="manager"):
        assembly.confirm(n.referral_id, None)
