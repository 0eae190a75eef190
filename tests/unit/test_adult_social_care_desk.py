"""The adult social care desk (issue 19, part 1): its policy, what it shares about an adult at risk under the Care Act
and about the adults around a child in a children's referral, the four findings the s42 test reads, and summaries that
name nobody, over its own store and over its synthetic records."""

import functools
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from faker import Faker

from helpers import person_row, subject
from mash_adult_social_care_desk.app import DESK
from mash_contracts import (
    Address,
    ConcernCategory,
    ConsentPosition,
    ConsentStatus,
    ContributionStatus,
    StatutoryFooting,
    SubjectRole,
)
from mash_desk import SharingPolicy, SqlRecordSource
from mash_desk.synthetic import Person
from mash_intake.screening import accept
from mash_runtime.store import IN_MEMORY

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
HOME = Address(line1="5 Tern Road", town="Anytown", postcode="AB3 5TR")
POLICY = SharingPolicy.load(DESK.policy_file)
FINDINGS = {"care_and_support_needs", "unable_to_protect_self", "allocated_worker", "previous_safeguarding_enquiry"}
NAMES = ("Edith", "Carrow", "Lorna", "Pascoe", "Gary", "Treloar", "Milo")


def ago(days: int) -> str:
    return (NOW.date() - timedelta(days=days)).isoformat()


def ahead(days: int) -> str:
    return (NOW.date() + timedelta(days=days)).isoformat()


def care(ref: str, who: str, days: int, reason: str = "memory_and_cognition") -> dict:
    return {
        "support_id": ref,
        "person_id": who,
        "primary_support_reason": reason,
        "assessed_on": ago(days),
        "eligible": True,
        "setting": "own_home",
        "services": "home care visits; equipment and adaptations",
    }


def concern(ref: str, who: str, days: int, enquiry: str, outcome: str) -> dict:
    return {
        "concern_id": ref,
        "person_id": who,
        "raised_on": ago(days),
        "category": "financial or material abuse",
        "enquiry": enquiry,
        "outcome": outcome,
        "location_of_risk": "own_home",
        "source_of_risk": "known_to_individual",
    }


def capacity(ref: str, who: str, lacks: bool, days: int = 90) -> dict:
    return {
        "assessment_id": ref,
        "person_id": who,
        "decision": "managing their money",
        "lacks_capacity": lacks,
        "assessed_on": ago(days),
        "advocate": "imca" if lacks else None,
        "lpa_registered": False,
    }


# Edith: an adult at risk known for everything adult social care holds. Lorna: a mother with care needs, whose own
# history (an open case, an enquiry, a DoLS) is nothing a children's referral needs. Gary: her partner, recorded as the
# source of risk to another adult.
ROWS = {
    "people": [
        person_row("ASC-1", "Edith", "Carrow", "1944-03-02", "9990000026", home=HOME),
        person_row("ASC-2", "Lorna", "Pascoe", "1990-06-14", home=HOME),
        person_row("ASC-3", "Gary", "Treloar", "1986-09-01", home=HOME),
        person_row("ASC-4", "Milo", "Carrow", "1950-01-20", home=HOME),  # unallocated
    ],
    "care_and_support": [
        care("CSN-1", "ASC-1", 200),
        care("CSN-2", "ASC-2", 300, reason="learning_disability"),
        care("CSN-3", "ASC-3", 100, reason="physical_support"),
        care("CSN-4", "ASC-4", 60, reason="physical_support"),
    ],
    "open_cases": [
        {
            "case_id": "CASE-1",
            "person_id": "ASC-1",
            "team": "East locality team",
            "opened_on": "2026-01-03",
            "allocated": True,
            "worker_role": "social_worker",
        },
        {
            "case_id": "CASE-2",
            "person_id": "ASC-2",
            "team": "Learning disability team",
            "opened_on": ago(400),
            "allocated": True,
            "worker_role": "care_coordinator",
        },
        {
            "case_id": "CASE-4",
            "person_id": "ASC-4",
            "team": "Hospital discharge team",
            "opened_on": ago(20),
            "allocated": False,
            "worker_role": None,
        },
    ],
    "safeguarding_history": [
        concern("SGC-1", "ASC-1", 300, "s42_enquiry", "risk_reduced"),
        concern("SGC-2", "ASC-1", 1200, "other_safeguarding_enquiry", "risk_removed"),  # older than 24 months
        concern("SGC-3", "ASC-1", 500, "concern_no_enquiry", "no_further_action"),
        concern("SGC-4", "ASC-2", 200, "s42_enquiry", "risk_remains"),
        concern("SGC-5", "ASC-4", 900, "s42_enquiry", "risk_removed"),  # an enquiry, but not within 24 months
    ],
    "sources_of_risk": [
        {
            "source_id": "SOR-3",
            "person_id": "ASC-3",
            "raised_on": ago(400),
            "category": "physical abuse",
            "enquiry": "s42_enquiry",
            "outcome": "risk_reduced",
            "relationship": "family member",
        }
    ],
    "capacity_and_advocacy": [
        capacity("MCA-1", "ASC-1", lacks=True),
        capacity("MCA-2", "ASC-2", lacks=False),
        capacity("MCA-4", "ASC-4", lacks=False),
    ],
    "deprivation_of_liberty": [
        {
            "authorisation_id": "DOLS-1",
            "person_id": "ASC-1",
            "setting": "nursing_home",
            "authorised_on": ago(60),
            "expires_on": ahead(300),
        },
        {
            "authorisation_id": "DOLS-2",
            "person_id": "ASC-2",
            "setting": "hospital",
            "authorised_on": ago(30),
            "expires_on": ahead(100),
        },
    ],
}

EDITH = subject("adult1", SubjectRole.ADULT_AT_RISK, "Edith", "Carrow", date(1944, 3, 2), nhs_number="9990000026", address=HOME)
MILO = subject("adult1", SubjectRole.ADULT_AT_RISK, "Milo", "Carrow", date(1950, 1, 20), address=HOME)
GARY = subject("adult2", SubjectRole.ALLEGED_PERPETRATOR, "Gary", "Treloar", date(1986, 9, 1), address=HOME)
CHILD = subject("child1", SubjectRole.CHILD, "Poppy", "Pascoe", date(2018, 4, 4), address=HOME)
LORNA = subject("parent1", SubjectRole.PARENT_CARER, "Lorna", "Pascoe", date(1990, 6, 14), address=HOME)


@pytest.fixture
def desk(desk_for, database_url):
    return desk_for(DESK, ROWS, database_url)


@pytest.fixture
def answered(answered):
    return functools.partial(answered, never_in_payload=b"Carrow")


def referral(generator, subjects, categories, consent=ConsentStatus.GIVEN, footing: StatutoryFooting | None = None):
    s = generator.notification()
    position = ConsentPosition(status=consent, reason=None if consent is ConsentStatus.GIVEN else "Not asked yet")
    n = accept(
        s.model_copy(
            update={
                "subjects": subjects,
                "concern": s.concern.model_copy(update={"categories": categories, "immediate_danger": False}),
                "consent": position,
            }
        ),
        NOW,
        referrer_system="northshire_schools",
    )
    return n if footing is None else n.model_copy(update={"statutory_footing": footing})


def no_names(contribution) -> None:
    text = contribution.model_dump_json()
    assert not [n for n in NAMES if n in text], "summaries and explanations name nobody"


def test_the_policy_loads_declares_the_four_findings_and_names_only_held_record_classes():
    assert POLICY.agency.value == "adult_social_care" and POLICY.version == "adult-social-care-sharing-2026.11-1"
    assert set(POLICY.findings) == FINDINGS
    held = {rc.name for rc in DESK.record_classes}
    assert {r.record_class for r in POLICY.rules} <= held and all(r.relevance for r in POLICY.rules)
    on_care_act = {r.record_class for r in POLICY.rules if StatutoryFooting.CARE_ACT_S42 in r.footings}
    assert on_care_act == held, "under the Care Act the adult at risk's every record class is considered"
    assert {r.finding for r in POLICY.rules if r.finding} == FINDINGS
    assert not any(r.finding for r in POLICY.rules if set(r.footings) & {StatutoryFooting.S17, StatutoryFooting.S47}), (
        "a children's referral gets no adult findings"
    )
    legal = f"{POLICY.legal.art6} {POLICY.legal.condition}"
    assert all(cited in legal for cited in ("Art 6(1)(e)", "Art 9(2)(h)", "Art 9(2)(g)", "Sch 1 para 18", "Care Act 2014"))


def test_care_act_research_shares_the_adults_records_and_reports_the_four_findings(desk, generator, answered):
    c, record = answered(desk, referral(generator, [EDITH, GARY], [ConcernCategory.FINANCIAL_ABUSE]))
    assert c.status is ContributionStatus.SHARED and record["statutory_footing"] == "care_act_s42"
    assert {i.record_ref for i in c.items} == {"CSN-1", "CASE-1", "SGC-1", "SGC-2", "SGC-3", "MCA-1", "DOLS-1"}
    assert set(c.findings) == FINDINGS and set(c.finding_explanations) == FINDINGS
    # The decision routes the adult to the team named here, in words.
    team = c.finding_explanations["allocated_worker"]
    assert team.startswith(
        "Open adult social care case since 2026-01-03 with the East locality team, allocated worker: social worker"
    )
    assert "section 42 enquiry: outcome risk reduced" in c.finding_explanations["previous_safeguarding_enquiry"]
    # The newest record that raised it, the rest counted: the DoLS, then the assessment that found a lack of capacity.
    assert c.finding_explanations["unable_to_protect_self"].startswith("Deprivation of liberty authorised")
    assert c.finding_explanations["unable_to_protect_self"].endswith("(and 1 more record)")
    # The alleged perpetrator's own records are not the adult's enquiry's business under this policy.
    reasons = {n["record_ref"]: n["reason"] for n in record["not_shared"]}
    assert "not relevant for a alleged perpetrator" in reasons["SOR-3"] and "CSN-3" in reasons
    no_names(c)


def test_an_unallocated_case_and_an_older_enquiry_raise_no_route_and_no_recent_enquiry(desk, generator, answered):
    c, _ = answered(desk, referral(generator, [MILO], [ConcernCategory.NEGLECT]))
    assert {i.record_ref for i in c.items} == {"CSN-4", "CASE-4", "SGC-5", "MCA-4"}
    assert set(c.findings) == {"care_and_support_needs"}, "no allocated worker, no enquiry in 24 months, has capacity"
    unallocated = next(i for i in c.items if i.record_ref == "CASE-4")
    assert unallocated.record_class == "open_case_unallocated" and "not allocated to a worker" in unallocated.summary
    assert "Hospital discharge team" in unallocated.summary
    no_names(c)


def test_an_adults_refusal_is_researched_only_on_the_grounds_the_policy_states(desk, generator, answered):
    c, record = answered(desk, referral(generator, [EDITH], [ConcernCategory.FINANCIAL_ABUSE], consent=ConsentStatus.REFUSED))
    assert c.status is ContributionStatus.SHARED and record["consent_status"] == "refused"
    why = record["reason_without_consent"]
    for ground in ("others (children included) are at risk", "serious crime", "coercion or undue influence", "lacks capacity"):
        assert ground in why
    assert "MCA 2005 s4" in why and "Not asked yet" in why and "Care Act 2014 ss42 and 45" in record["legal_basis_cited"]


def test_a_childrens_referral_shares_only_what_bears_on_the_children(desk, generator, answered):
    n = referral(generator, [CHILD, LORNA, GARY], [ConcernCategory.NEGLECT], consent=ConsentStatus.NOT_SOUGHT)
    n = n.model_copy(update={"statutory_footing": StatutoryFooting.S47})
    c, record = answered(desk, n)
    assert c.status is ContributionStatus.SHARED and not c.findings, "the adults' own test is not the children's decision"
    assert {i.record_ref for i in c.items} == {"CSN-2", "MCA-2", "SOR-3"}
    by_ref = {i.record_ref: i for i in c.items}
    assert "children" in by_ref["CSN-2"].relevance and "children" in by_ref["SOR-3"].relevance
    assert by_ref["SOR-3"].summary.startswith("Recorded as the source of risk to another adult, as their family member,")
    reasons = {r["record_ref"]: r["reason"] for r in record["not_shared"]}
    # The mother's open case, her own enquiry and her DoLS; the partner's care needs: none bears on the children.
    assert {"CASE-2", "SGC-4", "DOLS-2", "CSN-3"} <= set(reasons)
    assert all("not shared on a s47 footing" in reasons[r] for r in ("CASE-2", "SGC-4", "DOLS-2"))
    assert "not relevant for a alleged perpetrator" in reasons["CSN-3"]
    assert "Children Act 1989 ss1 and 47" in record["legal_basis_cited"]
    no_names(c)


def test_a_child_in_need_referral_without_consent_is_declined_and_with_it_shares_the_parents_needs(desk_for, generator):
    from mash_desk.research import research

    source = SqlRecordSource(desk_for(DESK, ROWS, IN_MEMORY).db, DESK.people, DESK.record_classes)
    refused = referral(generator, [CHILD, LORNA], [ConcernCategory.YOUNG_CARER], ConsentStatus.REFUSED, StatutoryFooting.S17)
    declined = research(refused, POLICY, source, NOW.date())
    assert declined.status is ContributionStatus.DECLINED and "AB v Haringey" in declined.rationale
    given = referral(generator, [CHILD, LORNA], [ConcernCategory.YOUNG_CARER], ConsentStatus.GIVEN, StatutoryFooting.S17)
    answer = research(given, POLICY, source, NOW.date())
    assert {i.record_ref for i in answer.items} == {"CSN-2", "MCA-2"} and not answer.findings


def test_synthetic_records_cover_every_kind_the_desk_holds_and_name_nobody(desk_for):
    faker = Faker("en_GB")
    faker.seed_instance(3)
    records = DESK.synthetic.start("adult_social_care", 3, NOW.date(), faker)
    households = []
    for n in range(600):
        adults = [
            Person(
                f"P{n}A",
                f"Given{n}a",
                f"Family{n}",
                date(1985, 1, 1),
                "F",
                None,
                f"{n} Low Road",
                "Northtown",
                "NT1 1AA",
                f"H{n}",
                "parent_carer",
            ),
            Person(
                f"P{n}B",
                f"Given{n}b",
                f"Other{n}",
                date(1983, 2, 2),
                "M",
                None,
                f"{n} Low Road",
                "Northtown",
                "NT1 1AA",
                f"H{n}",
                "partner",
            ),
        ]
        households.append(adults)
        if records.rng.random() < DESK.synthetic.known_by:
            DESK.synthetic.write(records, adults, [])
    known = {row["true_person_id"] for row in records.tables["people"]}
    assert 0.03 < len(known) / (2 * len(households)) < 0.2, "adults known at a sensible rate"
    desk = desk_for(DESK, records.tables, IN_MEMORY)
    found = SqlRecordSource(desk.db, DESK.people, DESK.record_classes).records_for(
        [row["person_id"] for row in records.tables["people"]]
    )
    kinds = {r.record_class for r in found}
    assert kinds == {rc.name for rc in DESK.record_classes}, (
        "allocated and unallocated cases, enquiries and concerns, lacks and has capacity, DoLS, sources of risk"
    )
    people = [p for h in households for p in h if p.person_id in known]
    summaries = json.dumps([r.summary for r in found])
    assert not [p for p in people if p.given_name in summaries or p.family_name in summaries]
    assert all(" team" in r.summary for r in found if r.record_class.startswith("open_case"))
