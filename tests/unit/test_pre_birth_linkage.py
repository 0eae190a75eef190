"""Pre-birth linkage at the desks (SQLite and PostgreSQL): a referral naming an expectant mother and her unborn child
finds the records of her older child through the records that name her as the child's parent, shares those the
policy allows for a `sibling`, raises the finding, and withholds the older child's identity."""

from datetime import UTC, date, datetime, timedelta

import pytest

from helpers import person_row, subject
from mash_contracts import Address, ConcernCategory, ConsentPosition, ConsentStatus, ContributionStatus, SubjectRole
from mash_health_desk.app import DESK as HEALTH
from mash_intake.screening import accept
from mash_social_care.app import DESK as SOCIAL_CARE

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
HOME = Address(line1="11 Saltings Lane", town="Wherrystone", postcode="WS4 1SL")
EXPECTED = NOW.date() + timedelta(days=150)


def ago(days: int) -> str:
    return (NOW.date() - timedelta(days=days)).isoformat()


def social_care_rows(linked: bool) -> dict:
    mother = "CSC-M" if linked else None  # without the link the records name no parent
    return {
        "people": [
            person_row("CSC-M", "Kayleigh", "Thorne", "2002-04-03", "9990061017", home=HOME),
            person_row("CSC-O", "Tyler", "Thorne", "2021-08-30", "9990062013", home=HOME),
        ],
        "referrals": [
            {
                "referral_id": "CSCREF-O",
                "child_id": "CSC-O",
                "received_on": ago(1900),
                "reason": "neglect",
                "outcome": "s47 enquiry",
            }
        ],
        "cp_plans": [
            {
                "plan_id": "CP-O",
                "child_id": "CSC-O",
                "parent_id": mother,
                "started_on": ago(2000),
                "ended_on": ago(1750),
                "category": "neglect",
            }
        ],
        "care_proceedings": [
            {
                "proceedings_id": "CPR-O",
                "child_id": "CSC-O",
                "parent_id": mother,
                "issued_on": ago(1700),
                "concluded_on": ago(1450),
                "order_made": "placement order",
                "removed_from_parents": True,
            }
        ],
    }


def referral(generator, unborn: bool = True):
    s = generator.notification()
    mother = subject(
        "parent1", SubjectRole.PARENT_CARER, "Kayleigh", "Thorne", date(2002, 4, 3), nhs_number="9990061017", address=HOME
    )
    if unborn:
        other = subject("unborn1", SubjectRole.UNBORN_CHILD, None, "Thorne", expected_date_of_birth=EXPECTED, address=HOME)
    else:  # the same mother referred about a child of a new partner: no unborn child, so no pre-birth linkage
        other = subject("child1", SubjectRole.CHILD, "Mia", "Hollis", date(2020, 1, 5), address=HOME)
    concern = s.concern.model_copy(update={"categories": [ConcernCategory.OTHER], "immediate_danger": False})
    return accept(
        s.model_copy(
            update={"subjects": [mother, other], "concern": concern, "consent": ConsentPosition(status=ConsentStatus.GIVEN)}
        ),
        NOW,
        referrer_system="northshire_schools",
    )


def test_unborn_child_finds_the_older_childs_removal_and_plan(database_url, desk_for, answered, generator):
    desk = desk_for(SOCIAL_CARE, social_care_rows(linked=True), database_url)
    c, record = answered(desk, referral(generator))
    assert c.status is ContributionStatus.SHARED
    assert {"previous_child_removed", "previous_cp_plan"} <= set(c.findings)
    shared = {i.record_ref: i for i in c.items}
    assert set(shared) == {"CPR-O", "CP-O"}, "the older child's earlier referral is not shared for a sibling"
    removal = shared["CPR-O"]
    assert removal.subject_refs == ["parent1"] and "previous child of the expectant mother" in removal.relevance
    assert "removed from the parents' care" in removal.summary and "another child of parent1" in removal.summary
    assert "Tyler" not in c.model_dump_json() and "CSC-O" not in c.model_dump_json(), "the older child is not named"
    withheld = [w for w in record["identities_withheld"] if w["record_ref"] == "CPR-O"]
    assert withheld == [
        {
            "record_ref": "CPR-O",
            "role": "child",
            "reason": "another child of parent1, a parent of the unborn child, not named in the referral: identity withheld",
        }
    ]
    assert {"record_ref": "CSCREF-O", "record_class": "previous_referral", "reason": "not relevant for a sibling"} in record[
        "not_shared"
    ]
    linked = [s for s in record["data_subjects"] if s["role"] == "sibling"]
    assert linked and linked[0]["agency_person_id"] == "CSC-O" and linked[0]["linked_through"] == "parent1"


def test_without_the_link_the_older_childs_history_changes_nothing(database_url, desk_for, answered, generator):
    desk = desk_for(SOCIAL_CARE, social_care_rows(linked=False), database_url)
    c, record = answered(desk, referral(generator))
    assert c.status is ContributionStatus.NO_RECORDS_FOUND and not c.findings and not c.items
    assert not any(s["role"] == "sibling" for s in record["data_subjects"])


def test_no_linkage_without_an_unborn_child(database_url, desk_for, answered, generator):
    desk = desk_for(SOCIAL_CARE, social_care_rows(linked=True), database_url)
    c, _ = answered(desk, referral(generator, unborn=False))
    assert "previous_child_removed" not in c.findings and {i.record_ref for i in c.items}.isdisjoint({"CPR-O", "CP-O"})


def test_health_shares_the_older_childs_health_visiting_without_a_finding(database_url, desk_for, answered, generator):
    rows = {
        "people": [
            person_row("HLT-M", "Kayleigh", "Thorne", "2002-04-03", "9990061017", home=HOME),
            person_row("HLT-O", "Tyler", "Thorne", "2024-08-30", "9990062013", home=HOME),
        ],
        "health_visitor_contacts": [
            {
                "contact_id": "HV-O",
                "child_id": "HLT-O",
                "parent_id": "HLT-M",
                "contact_on": ago(100),
                "practitioner_role": "health_visitor",
                "summary": "Development review",
            }
        ],
        "missed_appointments": [
            {"appointment_id": "DNA-O", "person_id": "HLT-O", "due_on": ago(60), "clinic": "community paediatrics"}
        ],
    }
    desk = desk_for(HEALTH, rows, database_url)
    c, record = answered(desk, referral(generator))
    shared = {i.record_ref: i for i in c.items}
    assert set(shared) == {"HV-O", "DNA-O"}, "the missed appointment is found through the child the contact linked"
    assert all(i.subject_refs == ["parent1"] for i in c.items) and not c.findings
    assert "Tyler" not in c.model_dump_json()
