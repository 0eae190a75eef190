"""The multi-agency chronology (mash_decision.chronology, pure): entries in date order with their source, event,
outcome and reference; undated items kept at the end; one child's view; every revision; an override."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from mash_contracts import Agency, Contribution, Decision, Outcome, RagRating, SharedItem, Subject, SubjectRole, derived_id
from mash_contracts import ConcernCategory as C
from mash_contracts import ContributionStatus as S
from mash_contracts import ThresholdLevel as L
from mash_decision.chronology import GroundsRecord, UnknownSubject, chronology
from mash_intake.screening import accept

pytestmark = pytest.mark.unit
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def referral(generator):
    """A referral about two children and a parent; the concern occurred the evening before."""
    s = generator.notification()
    subjects = [
        Subject(
            subject_ref="child1", role=SubjectRole.CHILD, given_name="Ava", family_name="Stone", date_of_birth=date(2016, 3, 1)
        ),
        Subject(
            subject_ref="child2", role=SubjectRole.CHILD, given_name="Leo", family_name="Stone", date_of_birth=date(2019, 7, 9)
        ),
        Subject(subject_ref="parent1", role=SubjectRole.PARENT_CARER, given_name="Kim", family_name="Stone"),
    ]
    s = s.model_copy(
        update={
            "subjects": subjects,
            "concern": s.concern.model_copy(
                update={
                    "categories": [C.NEGLECT, C.DOMESTIC_ABUSE],
                    "immediate_danger": False,
                    "occurred_at": MONDAY - timedelta(hours=15),
                }
            ),
        }
    )
    return accept(s, MONDAY, referrer_system="northshire_schools")


def item(record_class, subjects, on=None, ref=None, summary="A record.", signal_only=False):
    return SharedItem(
        record_class=record_class,
        record_ref=ref,
        subject_refs=subjects,
        summary=summary,
        occurred_on=on,
        relevance="test",
        signal_only=signal_only,
    )


def answer(n, agency, items=(), status=None, revision=1, at=MONDAY + timedelta(hours=1), grounds_id=None):
    return Contribution(
        message_id=uuid.uuid4(),
        referral_id=n.referral_id,
        agency=agency,
        status=status or (S.SHARED if items else S.NO_RECORDS_FOUND),
        items=list(items),
        rationale="test",
        policy_version="test-1",
        researched_at=at,
        notification_revision=revision,
        disclosure_id=derived_id("disclosure", n.referral_id, agency.value, str(revision), str(grounds_id)),
        grounds_id=grounds_id,
    )


def decided(n, level, outcome, at, revision=1, recommended=None, by="model (auto-confirmed)", rationale=None):
    return Decision(
        message_id=uuid.uuid4(),
        referral_id=n.referral_id,
        level=level,
        outcome=outcome,
        rag=RagRating.AMBER,
        recipients=[Agency.CHILDRENS_SOCIAL_CARE],
        model_version="test-1",
        explanation=[],
        contributions={},
        decided_by=by,
        decided_at=at,
        level_name={L.EARLY_HELP: "Early help", L.CHILD_IN_NEED: "Child in need (s17)"}[level],
        recommended_level=recommended,
        override_rationale=rationale,
        revision=revision,
    )


def events(c):
    return [e.event for e in c.entries]


def test_entries_are_in_date_order_with_source_event_outcome_and_reference(referral):
    n = referral
    answers = [
        answer(
            n,
            Agency.POLICE,
            [item("domestic_abuse_incident", ["parent1", "child1"], date(2025, 6, 2), "INC-1", "Police attended.")],
        ),
        answer(
            n,
            Agency.HUB_RESEARCH,
            [
                item(
                    "earlier_referral",
                    ["child1"],
                    date(2024, 1, 15),
                    "REF-AAAAAAAAAAAA",
                    "Referral received from education (school): neglect; decided Level 2, early help",
                )
            ],
        ),
        answer(n, Agency.HEALTH),
    ]
    c = chronology([n], answers, [decided(n, L.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, MONDAY + timedelta(hours=3))])
    assert events(c) == [
        "Earlier referral REF-AAAAAAAAAAAA",
        "Police: domestic abuse incident",
        "Incident reported by the referrer: neglect, domestic abuse",
        "Referral received: neglect, domestic abuse (Amber)",
        "Health: no records found",
        "Decision: Level 3 Child in need (s17), CIN assessment, routed to childrens_social_care",
    ]
    earlier, police, incident, received, health, decision = c.entries
    assert (earlier.source, earlier.reference, earlier.subject_refs, earlier.on) == (
        "hub_research",
        "REF-AAAAAAAAAAAA",
        ("child1",),
        date(2024, 1, 15),
    )
    assert "decided Level 2" in earlier.detail and earlier.at is None
    assert police.reference == "INC-1" and police.disclosure_id == str(answers[0].disclosure_id)
    assert (received.on.isoformat(), received.at.strftime("%H:%M"), received.source) == (
        "2026-11-23",
        "10:00",
        n.referrer.agency.value,
    )
    assert received.reference == n.referral_id and set(received.subject_refs) == {"child1", "child2", "parent1"}
    assert incident.on == date(2026, 11, 22) and incident.at.strftime("%H:%M") == "19:00"
    assert health.reference == str(answers[2].disclosure_id)
    assert (decision.source, decision.outcome, decision.reference) == ("mash", "CIN assessment", f"{n.referral_id} revision 1")
    assert [s["subject_ref"] for s in c.subjects] == ["child1", "child2", "parent1"] and c.subjects[0]["name"] == "Ava Stone"


def test_undated_and_signal_only_items_are_kept_at_the_end(referral):
    n = referral
    answers = [
        answer(
            n,
            Agency.CHILDRENS_SOCIAL_CARE,
            [
                item("previous_cp_plan", ["child1"], None, "CSC-9", "A plan; date not recorded."),
                item("assessment", ["child1"], date(2023, 5, 1), "CSC-1"),
            ],
        ),
        answer(
            n,
            Agency.POLICE,
            [
                item(
                    "intelligence",
                    ["parent1"],
                    signal_only=True,
                    summary="Information is held that cannot be disclosed. Contact the police desk.",
                )
            ],
        ),
    ]
    c = chronology([n], answers, [])
    assert events(c)[0] == "Children's social care: assessment"
    assert events(c)[-2:] == [
        "Children's social care: previous cp plan",
        "Police: information held, contact the desk (intelligence)",
    ]
    assert [e.on for e in c.entries[-2:]] == [None, None] and all(e.as_json()["undated"] for e in c.entries[-2:])
    assert c.entries[-2].reference == "CSC-9" and "Contact the police desk" in c.entries[-1].detail


def test_one_child_sees_their_entries_and_the_household_wide_ones_only(referral):
    n = referral
    answers = [
        answer(
            n,
            Agency.EDUCATION,
            [
                item("persistent_absence", ["child1"], date(2026, 10, 1), "EDU-1"),
                item("exclusion", ["child2"], date(2026, 9, 1), "EDU-2"),
                item("school_safeguarding_log", [], date(2026, 8, 1), "EDU-3"),
            ],
        )
    ]
    c = chronology([n], answers, [decided(n, L.EARLY_HELP, Outcome.EARLY_HELP, MONDAY + timedelta(hours=2))], subject="child2")
    assert [e.reference for e in c.entries if e.source == "education"] == ["EDU-3", "EDU-2"]
    assert any(e.event.startswith("Referral received") for e in c.entries) and any(
        e.event.startswith("Decision") for e in c.entries
    )
    assert c.as_json()["subject"] == "child2"
    with pytest.raises(UnknownSubject) as refused:
        chronology([n], answers, [], subject="child9")
    assert refused.value.known == ["child1", "child2", "parent1"] and "child1, child2, parent1" in str(refused.value)


def test_every_revision_is_listed_and_the_latest_answer_per_agency_per_revision_wins(referral):
    first = referral
    second = first.model_copy(
        update={
            "revision": 2,
            "received_at": MONDAY + timedelta(days=1),
            "rag": RagRating.RED,
            "changes": ["concern"],
            "concern": first.concern.model_copy(update={"categories": [C.PHYSICAL_ABUSE]}),
        }
    )
    police = lambda summary, revision, at: answer(
        first,
        Agency.POLICE,
        [item("domestic_abuse_incident", ["parent1"], date(2025, 6, 2), "INC-1", summary)],
        revision=revision,
        at=at,
    )
    arrivals = [
        police("first account", 1, MONDAY),
        police("corrected account", 1, MONDAY + timedelta(hours=1)),
        police("corrected account", 2, MONDAY + timedelta(days=1, hours=1)),  # the same item again: listed once
        answer(first, Agency.HEALTH, status=S.DECLINED, revision=1),
        answer(first, Agency.HEALTH, [item("health_visitor_contact", ["child2"], date(2026, 11, 1), "HV-1")], revision=2),
    ]
    c = chronology(
        [second, first],
        arrivals,
        [
            decided(first, L.EARLY_HELP, Outcome.EARLY_HELP, MONDAY + timedelta(hours=4)),
            decided(second, L.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, MONDAY + timedelta(days=1, hours=3), revision=2),
        ],
    )
    assert [e.detail for e in c.entries if e.source == "police"] == ["corrected account"]
    assert "Health: declined to research" in events(c) and "Health: health visitor contact" in events(c)
    assert "Referral received: neglect, domestic abuse (Amber)" in events(c)
    assert "Referral updated (revision 2; concern): physical abuse (Red)" in events(c)
    decisions = [e for e in c.entries if e.event.startswith("Decision")]
    assert [(d.revision, d.outcome) for d in decisions] == [(1, "Early help"), (2, "CIN assessment")]
    assert events(c).index("Referral updated (revision 2; concern): physical abuse (Red)") < events(c).index(decisions[1].event)


def test_an_answer_on_recorded_grounds_supersedes_the_decline_and_the_grounds_are_listed(referral):
    n = referral
    gid = uuid.uuid4()
    arrivals = [
        answer(
            n,
            Agency.CHILDRENS_SOCIAL_CARE,
            [item("previous_cp_plan", ["child1"], date(2022, 2, 2), "CSC-7")],
            at=MONDAY + timedelta(hours=6),
            grounds_id=gid,
        ),
        answer(n, Agency.CHILDRENS_SOCIAL_CARE, status=S.DECLINED),
    ]  # the decline arrived later: still superseded
    grounds = [GroundsRecord(str(gid), "s47", "p.manager", MONDAY + timedelta(hours=5), 1)]
    c = chronology([n], arrivals, [], grounds)
    assert "Children's social care: declined to research" not in events(c)
    assert "Children's social care: previous cp plan" in events(c)
    [recorded] = [e for e in c.entries if e.event == "s47 grounds recorded"]
    assert (recorded.source, recorded.reference, recorded.detail) == ("mash", str(gid), "recorded by p.manager")


def test_grounds_recorded_in_the_same_minute_as_the_decision_come_after_it(referral):
    n = referral
    first = decided(n, 2, Outcome.EARLY_HELP, MONDAY + timedelta(hours=2, seconds=10))
    grounds = [GroundsRecord(str(uuid.uuid4()), "s47", "p.manager", MONDAY + timedelta(hours=2, seconds=40), 1)]
    order = [e for e in events(chronology([n], [], [first], grounds)) if e.startswith("Decision") or "grounds" in e]
    assert order[0].startswith("Decision") and order[1] == "s47 grounds recorded", order


def test_a_manager_override_is_listed_before_the_decision_it_made(referral):
    n = referral
    at = MONDAY + timedelta(hours=2)
    c = chronology(
        [n],
        [],
        [
            decided(
                n,
                L.CHILD_IN_NEED,
                Outcome.CIN_ASSESSMENT,
                at,
                recommended=L.EARLY_HELP,
                by="manager j.bloggs",
                rationale="The school's log shows a pattern the model cannot see.",
            )
        ],
    )
    override, decision = c.entries[-2:]
    assert override.event == "Manager override: the model's Level 2 changed to Level 3"
    assert "manager j.bloggs" in override.detail and "pattern the model cannot see" in override.detail
    assert decision.event.startswith("Decision: Level 3") and (override.on, override.at) == (decision.on, decision.at)


def test_the_cli_prints_date_agency_event_outcome_with_the_reference_beneath(referral):
    from mash_cli.manager import chronology_table

    n = referral
    c = chronology(
        [n],
        [
            answer(
                n,
                Agency.POLICE,
                [item("domestic_abuse_incident", ["child1"], date(2025, 6, 2), "INC-1"), item("warning_marker", ["parent1"])],
            )
        ],
        [decided(n, L.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, MONDAY + timedelta(hours=3))],
        subject="child1",
    )
    lines = chronology_table(c.as_json())
    assert lines[0] == f"Chronology of {n.referral_id} for child1" and "child1: Ava Stone (child, born 2016-03-01)" in lines[1]
    header = next(i for i, line in enumerate(lines) if line.startswith("date "))
    assert [x.strip() for x in lines[header].split("|")] == ["date", "agency", "event", "outcome"]
    rows = [line for line in lines[header + 2 :] if not line.startswith(" ")]
    assert rows[0].startswith("2025-06-02 ") and "| police " in rows[0] and "ref INC-1" in lines[lines.index(rows[0]) + 1]
    assert rows[-1].rstrip().endswith("| CIN assessment") and "2026-11-23 13:00" in rows[-1]
    assert all("warning marker" not in line for line in lines), "parent1's item is not child1's"
