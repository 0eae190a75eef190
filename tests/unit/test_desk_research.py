"""A desk end to end on its own store (SQLite and PostgreSQL): seed records, answer a referral, check the
contribution it queues and the disclosure record it keeps."""

import functools
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from helpers import person_row, subject
from mash_contracts import Address, ConcernCategory, ConsentPosition, ConsentStatus, ContributionStatus, SubjectRole
from mash_desk import disclosure
from mash_intake.screening import accept
from mash_police_desk.app import DESK as POLICE

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
HOME = Address(line1="3 Mill Lane", town="Anytown", postcode="AB1 2CD")
ELSEWHERE = HOME.model_copy(update={"postcode": "ZZ9 9ZZ"})


def ago(days: int) -> str:
    return (NOW.date() - timedelta(days=days)).isoformat()


POLICE_ROWS = {
    "people": [
        person_row("POL-1", "Amy", "Rowe", "2019-05-01", "9990000018", home=HOME),
        person_row("POL-2", "Kerry", "Rowe", "1991-02-11", home=HOME),
        person_row("POL-3", "Dean", "Harlowe", "1988-07-30", home=HOME),  # the partner, family name misspelt by police
        person_row("POL-4", "Tina", "Marsh", "1985-01-01", home=ELSEWHERE),  # an unrelated victim
    ],
    "incidents": [
        {
            "incident_id": "INC-1",
            "occurred_on": ago(60),
            "kind": "domestic_abuse",
            "victim_id": "POL-2",
            "perpetrator_id": "POL-3",
            "children_present": True,
            "child_ids": ["POL-1"],
            "risk_grading": "high",
            "summary": "Argument escalated to assault",
        },
        {
            "incident_id": "INC-2",
            "occurred_on": ago(200),
            "kind": "domestic_abuse",
            "victim_id": "POL-2",
            "perpetrator_id": "POL-3",
            "children_present": False,
            "child_ids": [],
            "risk_grading": "medium",
            "summary": "Verbal abuse and damage",
        },
        {
            "incident_id": "INC-3",
            "occurred_on": ago(1400),
            "kind": "domestic_abuse",
            "victim_id": "POL-4",
            "perpetrator_id": "POL-3",
            "children_present": False,
            "child_ids": [],
            "risk_grading": "standard",
            "summary": "Ex-partner harassment",
        },
    ],
    "intelligence": [
        {
            "intel_id": "INT-1",
            "subject_id": "POL-3",
            "recorded_on": ago(2000),
            "summary": "Associates with known offenders",
            "not_for_disclosure": False,
            "handling_code": "P",
        },
        {
            "intel_id": "INT-2",
            "subject_id": "POL-3",
            "recorded_on": ago(30),
            "summary": "Operation details",
            "not_for_disclosure": True,
            "handling_code": "S",
        },
    ],
}


@pytest.fixture
def desk(desk_for, database_url):
    return desk_for(POLICE, POLICE_ROWS, database_url)


def referral(generator, categories, danger=False, consent=ConsentStatus.NOT_SOUGHT):
    s = generator.notification()
    subjects = [
        subject("child1", SubjectRole.CHILD, "Amy", "Rowe", date(2019, 5, 1), nhs_number="9990000018", address=HOME),
        subject("parent1", SubjectRole.PARENT_CARER, "Kerry", "Rowe", date(1991, 2, 11), address=HOME),
        subject("adult2", SubjectRole.ALLEGED_PERPETRATOR, "Dean", "Harlow", date(1988, 7, 30), address=HOME),
    ]
    consent_position = ConsentPosition(status=consent, reason=None if consent is ConsentStatus.GIVEN else "Would increase risk")
    concern = s.concern.model_copy(update={"categories": categories, "immediate_danger": danger})
    return accept(
        s.model_copy(update={"subjects": subjects, "concern": concern, "consent": consent_position}),
        NOW,
        referrer_system="northshire_schools",
    )


@pytest.fixture
def answered(answered):
    """The shared one, checked sealed: the perpetrator's name, as this referral spells it, is not in the queued bytes."""
    return functools.partial(answered, never_in_payload=b"Harlow")


def test_s47_shares_household_domestic_abuse_history_and_withholds_third_parties(desk, generator, answered):
    c, record = answered(desk, referral(generator, [ConcernCategory.DOMESTIC_ABUSE], danger=True))
    assert c.status is ContributionStatus.SHARED
    shared = {i.record_ref for i in c.items if not i.signal_only}
    assert shared == {"INC-1", "INC-2", "INC-3"}, "under s47 the 4-year-old incident with another victim is shared too"
    inc3 = next(i for i in c.items if i.record_ref == "INC-3")
    assert "third party (identity withheld)" in inc3.summary and "Marsh" not in inc3.summary
    assert {"repeat_domestic_abuse", "domestic_abuse_history"} <= set(c.findings)
    # Each finding says why, from the records that raised it, as the items word them (no names).
    assert set(c.finding_explanations) == set(c.findings)
    for explanation in c.finding_explanations.values():
        assert any(explanation.startswith(i.summary) for i in c.items if i.record_ref in shared)
    assert "Marsh" not in str(c.finding_explanations) and "Harlow" not in str(c.finding_explanations)
    assert not any(i.signal_only for i in c.items), "intelligence is not relevant to domestic abuse: not even signalled"
    assert "Operation details" not in c.model_dump_json()
    assert record["identities_withheld"] == [
        {"record_ref": "INC-3", "role": "victim", "reason": "not a subject of the referral: identity withheld"}
    ]
    assert {n["record_ref"] for n in record["not_shared"]} == {"INT-1", "INT-2"}
    adult2 = next(s for s in record["data_subjects"] if s["subject_ref"] == "adult2")
    assert adult2["agency_person_id"] == "POL-3" and adult2["confidence"] < 1, "fuzzy match on the misspelt family name"
    assert record["statutory_footing"] == "s47" and "Sch 8 para 4" in record["reason_without_consent"]
    assert record["legal_basis_cited"].startswith("DPA 2018 Part 3"), "the police's own footing, not a parent's consent"
    assert c.disclosure_id is not None and str(c.disclosure_id) == record["disclosure_id"]


def test_not_for_disclosure_intelligence_is_signalled_never_shared(desk, generator, answered):
    c, record = answered(desk, referral(generator, [ConcernCategory.CHILD_CRIMINAL_EXPLOITATION], danger=True))
    [signal] = [i for i in c.items if i.signal_only]
    assert signal.record_ref is None and "contact the police mash desk" in signal.summary.lower()
    assert "Operation details" not in c.model_dump_json() and "INT-2" not in c.model_dump_json()
    reasons = {n["record_ref"]: n["reason"] for n in record["not_shared"]}
    assert reasons["INT-2"] == "marked not for onward disclosure" and "time window" in reasons["INT-1"]


def test_s17_neglect_does_not_pull_old_intelligence(desk, generator, answered):
    c, record = answered(desk, referral(generator, [ConcernCategory.NEGLECT], consent=ConsentStatus.GIVEN))
    assert {i.record_ref for i in c.items} == {"INC-1", "INC-2"}, "only recent domestic abuse bears on neglect"
    reasons = {n["record_ref"]: n["reason"] for n in record["not_shared"]}
    assert "not relevant" in reasons["INT-1"] and "INC-3" in reasons


def test_police_research_an_s17_referral_without_consent_proportionately(desk, generator, answered):
    # DPA 2018 Part 3 Sch 8 para 4 is the police's footing, not a parent's consent; the s17 rules still limit what is shared.
    c, record = answered(desk, referral(generator, [ConcernCategory.NEGLECT], consent=ConsentStatus.REFUSED))
    assert c.status is ContributionStatus.SHARED and {i.record_ref for i in c.items} == {"INC-1", "INC-2"}
    assert record["statutory_footing"] == "s17" and record["consent_status"] == "refused" and record["declined_reason"] is None
    assert record["legal_basis_cited"].startswith("DPA 2018 Part 3") and "Would increase risk" in record["reason_without_consent"]


def grounds_for(notification, grounds_id="6f1c0c52-7d7e-4a55-9d0e-3f0d1c2b4a11"):
    from mash_contracts import GroundsKind, ResearchGrounds, StatutoryFooting

    return ResearchGrounds(
        message_id=grounds_id,
        referral_id=notification.referral_id,
        grounds_id=grounds_id,
        kind=GroundsKind.S47,
        recorded_by="manager Ayo",
        rationale="Bruising seen by the nursery on two occasions this month.",
        recorded_at=NOW,
        notification=notification.model_copy(update={"statutory_footing": StatutoryFooting.S47}),
    )


def test_recorded_s47_grounds_reopen_research_under_s47_and_are_cited(desk, generator, answered, queued, principals):
    n = referral(generator, [ConcernCategory.DOMESTIC_ABUSE], consent=ConsentStatus.REFUSED)
    first, _ = answered(desk, n)
    grounds = grounds_for(n)
    assert desk.answer(grounds.notification, NOW, grounds) and not desk.answer(grounds.notification, NOW, grounds), (
        "once per grounds"
    )
    rows = queued(desk.db)
    with desk.db.transaction() as s:
        records = {r["disclosure_id"]: r for r in disclosure.for_referral(s, n.referral_id)}
    again = principals.read(*rows[-1])
    assert len(rows) == 2 and again.grounds_id == grounds.grounds_id and first.grounds_id is None
    assert again.message_id != first.message_id and again.disclosure_id != first.disclosure_id
    assert "INC-3" in {i.record_ref for i in again.items}, "the s47 rules now apply: the older household history is shared"
    record = records[str(again.disclosure_id)]
    assert record["statutory_footing"] == "s47" and record["grounds"]["grounds_id"] == str(grounds.grounds_id)
    assert "recorded by manager Ayo" in record["reason_without_consent"] and "Bruising" not in json.dumps(record)


def test_a_redelivered_referral_is_answered_once(desk, generator, queued):
    n = referral(generator, [ConcernCategory.DOMESTIC_ABUSE], danger=True)
    assert desk.answer(n, NOW) and not desk.answer(n, NOW)
    assert len(queued(desk.db)) == 1


def test_answer_after_the_return_deadline_says_why(desk, generator, queued, principals):
    n = referral(generator, [ConcernCategory.DOMESTIC_ABUSE], danger=True)  # red: 2 hours
    assert desk.answer(n, NOW + timedelta(hours=3))
    [row] = queued(desk.db)
    c = principals.read(*row)
    assert c.due_by == n.received_at + timedelta(hours=2) and "after the red return deadline" in c.late_reason


def test_disclosure_record_has_every_field_the_guidance_lists(desk, generator, answered):
    _, record = answered(desk, referral(generator, [ConcernCategory.DOMESTIC_ABUSE], danger=True))
    empty = [
        k
        for k, v in record.items()
        if v in (None, "", []) and k not in ("declined_reason", "uncertain_matches", "sensitivity_flags", "grounds")
    ]
    assert empty == [], f"unfilled disclosure fields: {empty}"
    assert json.dumps(record)  # stored as JSON
