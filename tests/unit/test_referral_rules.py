"""A referral's state rules as pure functions: facts and a time in, the next state and its effects out.
No database: these are the rules the decision service's store applies in one transaction each."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from helpers import MONDAY, contribution
from mash_contracts import Agency, AlertKind, ContributionStatus, RagRating, derived_id
from mash_contracts import ConcernCategory as C
from mash_contracts.threshold import load_model
from mash_contracts.topics import DESK_AGENCIES
from mash_decision.clock import Clock
from mash_decision.rules import AWAITING, RECOMMENDED, ROUTED, Answers, Referral, assess, deadline_work, short, supplement
from mash_intake.screening import accept, as_revision

pytestmark = pytest.mark.unit
MODEL = load_model("default")
CLOCK = Clock(MODEL.timescales)
EXPECTED = frozenset(DESK_AGENCIES)


def notified(generator, categories=(C.OTHER,)):
    s = generator.notification()
    return accept(
        s.model_copy(
            update={"concern": s.concern.model_copy(update={"categories": list(categories), "immediate_danger": False})}
        ),
        MONDAY,
        referrer_system="northshire_schools",
    )


def facts(n, **changes) -> Referral:
    base = Referral(
        n.referral_id,
        AWAITING,
        n.revision,
        n.revision,
        n.rag,
        n.received_at,
        CLOCK.returns_due(n.received_at, n.rag),
        CLOCK.decision_due(n.received_at),
    )
    return dataclasses.replace(base, **changes)


def answer(n, agency, revision=1, findings=(), rationale="nothing held"):
    return contribution(
        n,
        agency,
        findings,
        message_id=derived_id("c", n.referral_id, agency.value, str(revision), rationale),
        revision=revision,
        status=ContributionStatus.NO_RECORDS_FOUND,
        rationale=rationale,
        policy_version="t",
    )


def test_waits_for_every_desk_then_routes_what_the_model_may_route(generator):
    n = notified(generator)
    some = Answers.from_arrivals([answer(n, a) for a in DESK_AGENCIES[:3]])
    assert assess(facts(n), some, n, EXPECTED, MODEL, MONDAY) is None
    every = Answers.from_arrivals([answer(n, a) for a in DESK_AGENCIES])
    done = assess(facts(n), every, n, EXPECTED, MODEL, MONDAY)
    assert done.route_now and done.no_answer == frozenset() and done.alerts == ()


def test_at_the_deadline_the_missing_desk_is_no_answer_with_an_alert(generator):
    n = notified(generator)
    some = Answers.from_arrivals([answer(n, a) for a in DESK_AGENCIES[:-1]])
    done = assess(facts(n), some, n, EXPECTED, MODEL, MONDAY, due=True)
    assert done.no_answer == {DESK_AGENCIES[-1]}
    assert [a.kind for a in done.alerts] == [AlertKind.RETURNS_OVERDUE]


def test_a_conflict_or_a_redecision_always_needs_a_manager(generator):
    n = notified(generator)
    arrivals = [answer(n, a) for a in DESK_AGENCIES] + [answer(n, Agency.POLICE, rationale="found on a second search")]
    answers = Answers.from_arrivals(arrivals)
    assert answers.conflicts == {Agency.POLICE} and answers.newest[Agency.POLICE].rationale == "found on a second search"
    done = assess(facts(n), answers, n, EXPECTED, MODEL, MONDAY)
    assert not done.route_now and "conflicting answers from police" in done.alerts[-1].detail
    again = assess(
        facts(n, decided_before=True), Answers.from_arrivals([answer(n, a) for a in DESK_AGENCIES]), n, EXPECTED, MODEL, MONDAY
    )
    assert not again.route_now and "re-assessment" in again.alerts[-1].detail


def test_answers_to_an_earlier_revision_are_not_fresh(generator):
    n = notified(generator)
    answers = Answers.from_arrivals([answer(n, a) for a in DESK_AGENCIES] + [answer(n, Agency.HEALTH, revision=2)])
    assert answers.fresh(2) == {Agency.HEALTH} and answers.conflicts == frozenset()
    assert assess(facts(n, revision=2, research_revision=2), answers, n, EXPECTED, MODEL, MONDAY) is None


def test_a_later_revision_reopens_raises_never_lowers_and_says_so(generator):
    n1 = notified(generator, [C.DOMESTIC_ABUSE]).model_copy(update={"rag": RagRating.AMBER})
    s2 = generator.notification()
    n2 = as_revision(
        accept(
            s2.model_copy(
                update={
                    "submission_id": n1.submission_id,
                    "referrer": n1.referrer,
                    "concern": s2.concern.model_copy(update={"categories": [C.OTHER], "immediate_danger": False}),
                }
            ),
            MONDAY + timedelta(hours=2),
            referrer_system="northshire_schools",
        ),
        2,
        ("concern",),
    )
    routed = facts(n1, state=ROUTED)
    step = supplement(routed, n2, CLOCK)
    assert step.changes["state"] == AWAITING and step.changes["research_revision"] == 2
    assert n2.rag is RagRating.GREEN and step.changes["rag"] == "amber", (
        "a lower rating on the new revision does not lower the referral's"
    )
    assert "decision_due_at" in step.changes and "after the decision was routed" in step.alert.detail
    assert supplement(facts(n1, revision=2), n2, CLOCK) is None, "the same or an older revision changes nothing"
    waiting = supplement(facts(n1, state=RECOMMENDED), n2, CLOCK)
    assert "while a recommendation waited" in waiting.alert.detail and "decision_due_at" not in waiting.changes


def test_deadline_work_names_what_is_due():
    due_at = MONDAY + timedelta(hours=6)
    assert deadline_work(AWAITING, due_at, due_at + timedelta(days=1), due_at, CLOCK) == (True, [])
    soon = deadline_work(AWAITING, due_at, due_at + timedelta(days=1), due_at - timedelta(minutes=30), CLOCK)
    assert soon == (False, [(AlertKind.RETURNS_DUE_SOON, due_at)])
    assert deadline_work(RECOMMENDED, due_at, due_at, due_at, CLOCK) == (False, [(AlertKind.DECISION_OVERDUE, due_at)])


def test_short_details_are_cut_at_a_word_never_mid_word():
    text = "revision 2 (subjects, concern) after the decision was routed: the re-assessment needs a manager " * 3
    cut = short(text)
    assert len(cut) <= 120 and cut.endswith("…") and text.startswith(cut[:-1])
    assert text[len(cut) - 1] == " " or text[len(cut) - 1] in ",;:", "the cut falls between words"
    assert short("fits") == "fits"
