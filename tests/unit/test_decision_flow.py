"""The decision state machine on each backend: due decisions, re-grades, alerts, the manager in charge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import MONDAY, contribution
from mash_contracts import Agency, AlertKind, ContributionStatus, Outcome, RagRating, derived_id
from mash_contracts import ConcernCategory as C
from mash_contracts import ThresholdLevel as L
from mash_contracts.topics import ALERTS, DECISIONS, DESK_AGENCIES, OUTCOMES
from mash_decision.assembly import NotPending
from mash_decision.tables import rag_changes
from mash_intake.screening import accept

pytestmark = pytest.mark.unit


def notify(generator, categories, danger=False):
    s = generator.notification()
    s = s.model_copy(update={"concern": s.concern.model_copy(update={"categories": categories, "immediate_danger": danger})})
    return accept(s, MONDAY, referrer_system="northshire_schools")


def answer(n, agency, findings=()):
    return contribution(n, agency, findings, message_id=derived_id("contribution", n.referral_id, agency.value))


def test_a_desk_that_never_answers_leads_to_a_due_decision_with_the_gap_recorded(assembly, published, generator, manual_clock):
    n = notify(generator, [C.NEGLECT])  # green: returns due in 6 working hours, 16:00
    assembly.record_notification(n)
    for a in (a for a in DESK_AGENCIES if a is not Agency.HEALTH):  # every installed desk but health
        assert not assembly.record_contribution(answer(n, a))
    manual_clock.at = MONDAY + timedelta(hours=5, minutes=10)  # 15:10: within the hour before the deadline
    assembly.sweep()
    assert [a.kind for a in published(assembly.db, ALERTS.name)] == [AlertKind.RETURNS_DUE_SOON]
    manual_clock.at = MONDAY + timedelta(hours=6, minutes=30)  # 16:30: overdue
    assert assembly.sweep()
    [decision] = published(assembly.db, DECISIONS.name)
    assert decision.no_answer == [Agency.HEALTH] and decision.contributions[Agency.HEALTH] is ContributionStatus.NO_ANSWER
    assert any(f.name == "a desk did not answer in time" and f.source == "health" for f in decision.explanation)
    kinds = [a.kind for a in published(assembly.db, ALERTS.name)]
    assert AlertKind.RETURNS_OVERDUE in kinds and AlertKind.DECISION_OVERDUE not in kinds
    assert not assembly.record_contribution(answer(n, Agency.HEALTH)), "a late answer is kept but decides nothing twice"
    assert len(published(assembly.db, DECISIONS.name)) == 1


def test_an_open_cp_plan_regrades_green_to_red_with_the_reason_on_record(assembly, published, generator):
    n = notify(generator, [C.PARENTAL_MENTAL_HEALTH])
    assert n.rag is RagRating.GREEN
    assembly.record_notification(n)
    assembly.record_contribution(answer(n, Agency.CHILDRENS_SOCIAL_CARE, ["open_cp_plan"]))
    with assembly.db.transaction() as s:
        [change] = s.execute(select(rag_changes)).all()
    assert (change.from_rag, change.to_rag) == ("green", "red") and "open cp plan" in change.reason
    [alert] = published(assembly.db, ALERTS.name)
    assert alert.kind is AlertKind.REGRADED and alert.rag is RagRating.RED


def test_level_four_waits_for_a_manager_who_can_confirm(assembly, published, generator):
    n = notify(generator, [C.PHYSICAL_ABUSE])
    assembly.record_notification(n)
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n, a))
    assert published(assembly.db, DECISIONS.name) == [], "nothing routed at level 4 without a person"
    assert [p["referral_id"] for p in assembly.pending()] == [n.referral_id]
    assert published(assembly.db, ALERTS.name)[0].kind is AlertKind.CONFIRMATION_NEEDED
    decision = assembly.confirm(n.referral_id, "j.bloggs")
    assert decision.level is L.CHILD_PROTECTION and decision.decided_by == "manager j.bloggs"
    assert [d.referral_id for d in published(assembly.db, DECISIONS.name)] == [n.referral_id]
    [notice] = published(assembly.db, OUTCOMES.for_referrer("northshire_schools"))
    assert notice.submission_id == n.submission_id and n.subjects[0].family_name not in notice.text
    with pytest.raises(NotPending, match="not sent twice"):
        assembly.confirm(n.referral_id, "j.bloggs")


def test_a_manager_override_changes_the_outcome_with_its_rationale_on_record(assembly, published, generator):
    n = notify(generator, [C.SEXUAL_ABUSE])
    assembly.record_notification(n)
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n, a))
    with pytest.raises(ValueError, match="rationale"):
        assembly.override(n.referral_id, "a.manager", L.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, [], "no")
    decision = assembly.override(
        n.referral_id,
        "a.manager",
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        [Agency.CHILDRENS_SOCIAL_CARE],
        "Disclosure withdrawn and explained by a medical condition; single assessment instead.",
    )
    assert (decision.level, decision.outcome, decision.recommended_level) == (
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        L.CHILD_PROTECTION,
    )
    assert decision.override_rationale.startswith("Disclosure withdrawn") and decision.recipients == [
        Agency.CHILDRENS_SOCIAL_CARE
    ]
    products = [p for t in ("mash.products.childrens_social_care", "mash.products.police") for p in published(assembly.db, t)]
    assert [p.recipient for p in products] == [Agency.CHILDRENS_SOCIAL_CARE], "routed as the manager decided"


def test_a_confirmation_before_the_picture_is_complete_is_refused(assembly, generator):
    n = notify(generator, [C.NEGLECT])
    assembly.record_notification(n)
    with pytest.raises(NotPending, match="awaiting contributions"):
        assembly.confirm(n.referral_id, "someone")


def test_the_decision_deadline_alert_fires_once(assembly, published, generator, manual_clock):
    n = notify(generator, [C.PHYSICAL_ABUSE])  # level 4: waits for a manager
    assembly.record_notification(n)
    for a in DESK_AGENCIES:
        assembly.record_contribution(answer(n, a))
    manual_clock.at = MONDAY + timedelta(days=2)
    assembly.sweep()
    assembly.sweep()
    kinds = [a.kind for a in published(assembly.db, ALERTS.name)]
    assert kinds.count(AlertKind.DECISION_OVERDUE) == 1


def test_one_referral_that_cannot_be_decided_does_not_hold_up_the_other_deadlines(
    assembly, published, generator, manual_clock, monkeypatch
):
    stuck, other = notify(generator, [C.NEGLECT]), notify(generator, [C.NEGLECT])
    assembly.record_notification(stuck)
    assembly.record_notification(other)
    real = assembly._sweep_one

    def failing(s, referral_id, at):
        if referral_id == stuck.referral_id:
            raise ValueError("a bug in one referral's picture")
        return real(s, referral_id, at)

    monkeypatch.setattr(assembly, "_sweep_one", failing)
    manual_clock.at = MONDAY + timedelta(hours=6, minutes=30)  # both overdue
    assert assembly.sweep()
    assert [d.referral_id for d in published(assembly.db, DECISIONS.name)] == [other.referral_id]
    assert assembly.state_of(stuck.referral_id) == "awaiting_contributions", "left as it was, for the next sweep"


def test_the_snapshot_counts_referrals_still_waiting_for_each_desk(assembly, generator):
    first, second = notify(generator, [C.NEGLECT]), notify(generator, [C.NEGLECT])
    assembly.record_notification(first)
    assembly.record_notification(second)
    assembly.record_contribution(answer(first, Agency.POLICE))
    assembly.record_contribution(answer(second, Agency.POLICE))
    assembly.record_contribution(answer(first, Agency.HEALTH))
    waiting = {a.value: 2 for a in DESK_AGENCIES} | {"police": 0, "health": 1}
    assert assembly.snapshot()["awaiting_desk"] == waiting
