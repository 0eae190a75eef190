"""Each agency's sharing policy as a table: record class x concern x footing x role x age -> shared or why not."""

from datetime import UTC, date, datetime, timedelta

import pytest

from mash_adult_social_care_desk.app import DESK as ADULT_SOCIAL_CARE
from mash_contracts import StatutoryFooting as F
from mash_desk.policy import Rule, SharingPolicy, applicable
from mash_education_desk.app import DESK as EDUCATION
from mash_health_desk.app import DESK as HEALTH
from mash_police_desk.app import DESK as POLICE
from mash_social_care.app import DESK as SOCIAL_CARE

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 16)
POLICIES = {
    d.agency.value: SharingPolicy.load(d.policy_file) for d in (POLICE, HEALTH, SOCIAL_CARE, EDUCATION, ADULT_SOCIAL_CARE)
}

SHARED = "shared"
TABLE = [
    # agency, record class, concerns, footing, subject role, months ago, expected
    ("police", "domestic_abuse_incident", {"domestic_abuse"}, F.S17, "parent_carer", 6, SHARED),
    ("police", "domestic_abuse_incident", {"domestic_abuse"}, F.S17, "parent_carer", 30, "time window"),
    ("police", "domestic_abuse_incident", {"domestic_abuse"}, F.S47, "alleged_perpetrator", 50, SHARED),
    ("police", "domestic_abuse_incident", {"parental_mental_health"}, F.S17, "parent_carer", 6, "not shared on a s17 footing"),
    ("police", "intelligence", {"neglect"}, F.S17, "parent_carer", 60, "not relevant to the concerns"),
    ("police", "intelligence", {"child_sexual_exploitation"}, F.S17, "child", 6, "not shared on a s17 footing"),
    ("police", "intelligence", {"child_sexual_exploitation"}, F.S47, "child", 6, SHARED),
    ("police", "arrest", {"neglect"}, F.S47, "parent_carer", 12, "not relevant to the concerns"),
    ("police", "arrest", {"domestic_abuse"}, F.S47, "alleged_perpetrator", 12, SHARED),
    ("police", "arrest", {"domestic_abuse"}, F.S47, "child", 12, "not relevant for a child"),
    ("police", "missing_person_report", {"missing"}, F.S17, "child", 3, SHARED),
    ("police", "bail_conditions", {"neglect"}, F.S17, "household_member", 0, SHARED),
    ("police", "custody_photo", {"neglect"}, F.S47, "child", 0, "not shared by policy"),
    ("health", "gp_registration", {"other"}, F.S17, "child", 120, SHARED),
    ("health", "mental_health_contact", {"parental_mental_health"}, F.S17, "parent_carer", 3, SHARED),
    (
        "health",
        "mental_health_contact",
        {"parental_mental_health"},
        F.S17,
        "alleged_perpetrator",
        3,
        "not relevant for a alleged perpetrator",
    ),
    ("health", "mental_health_contact", {"missing"}, F.S47, "parent_carer", 3, "not relevant to the concerns"),
    ("health", "unscheduled_care", {"physical_abuse"}, F.S47, "child", 2, SHARED),
    ("health", "unscheduled_care", {"physical_abuse"}, F.S47, "child", 14, "time window"),
    ("health", "missed_appointment", {"neglect"}, F.S17, "child", 5, SHARED),
    ("childrens_social_care", "current_cp_plan", {"other"}, F.S17, "child", 4, SHARED),
    ("childrens_social_care", "previous_referral", {"neglect"}, F.S17, "child", 8, SHARED),
    ("childrens_social_care", "previous_referral", {"neglect"}, F.S17, "child", 40, "time window"),
    ("childrens_social_care", "closed_case", {"neglect"}, F.S17, "child", 9, "time window"),
    ("childrens_social_care", "cin_plan", {"neglect"}, F.S17, "parent_carer", 1, "not relevant for a parent carer"),
    ("education", "persistent_absence", {"neglect"}, F.S17, "child", 0, SHARED),
    ("education", "exclusion", {"child_criminal_exploitation"}, F.S47, "child", 30, "time window"),
    ("education", "school_safeguarding_log", {"neglect"}, F.S17, "child", 3, SHARED),
    ("adult_social_care", "open_case", {"financial_abuse"}, F.CARE_ACT_S42, "adult_at_risk", 30, SHARED),
    ("adult_social_care", "safeguarding_history", {"self_neglect"}, F.CARE_ACT_S42, "adult_at_risk", 20, SHARED),
    ("adult_social_care", "safeguarding_history", {"self_neglect"}, F.CARE_ACT_S42, "adult_at_risk", 70, "time window"),
    ("adult_social_care", "deprivation_of_liberty", {"neglect"}, F.CARE_ACT_S42, "adult_at_risk", 14, "time window"),
    ("adult_social_care", "care_and_support", {"neglect"}, F.S47, "parent_carer", 6, SHARED),
    ("adult_social_care", "care_and_support", {"neglect"}, F.S47, "child", 6, "not relevant for a child"),
    ("adult_social_care", "open_case", {"neglect"}, F.S47, "parent_carer", 6, "not shared on a s47 footing"),
    ("adult_social_care", "lacks_capacity", {"neglect"}, F.S17, "household_member", 6, "not relevant for a household member"),
    ("adult_social_care", "source_of_risk", {"domestic_abuse"}, F.S47, "alleged_perpetrator", 12, SHARED),
]


@pytest.mark.parametrize("agency,record_class,concerns,footing,role,months,expected", TABLE)
def test_sharing_table(agency, record_class, concerns, footing, role, months, expected):
    occurred = TODAY - timedelta(days=round(30.44 * months))
    outcome = applicable(POLICIES[agency].rules, record_class, concerns, footing, role, occurred, TODAY)
    if expected == SHARED:
        assert isinstance(outcome, Rule), outcome
    else:
        assert isinstance(outcome, str) and expected in outcome, outcome


@pytest.mark.parametrize("agency", POLICIES)
def test_every_rule_names_a_record_class_the_desk_holds(agency):
    desk = {d.agency.value: d for d in (POLICE, HEALTH, SOCIAL_CARE, EDUCATION, ADULT_SOCIAL_CARE)}[agency]
    held = {rc.name for rc in desk.record_classes}
    assert {r.record_class for r in POLICIES[agency].rules} <= held
    assert all(r.relevance for r in POLICIES[agency].rules), "every rule says why sharing is relevant"


@pytest.mark.parametrize("agency", sorted(set(POLICIES) - {"police"}))
def test_only_the_police_research_a_child_in_need_referral_without_consent(agency):
    assert not any(e.covers(F.S17) for e in POLICIES[agency].research_without_consent)


# The lawful basis each desk's own policy gives for research, by footing and consent (issue 13 item 2).
# Police: DPA 2018 Part 3 Sch 8 para 4, whatever the consent; health and education: consent or a risk of significant
# harm (s47); children's social care: s17 with consent, s47 without (AB v Haringey [2013] EWHC 416 (Admin)).
BASIS_TABLE = [
    ("police", F.S17, "refused", "DPA 2018 Part 3"),
    ("police", F.S17, "not_sought", "DPA 2018 Part 3"),
    ("police", F.S47, "refused", "DPA 2018 Part 3"),
    ("health", F.S17, "refused", None),
    ("health", F.S17, "given", "consent"),
    ("health", F.S47, "refused", "Children Act 1989 s47"),
    ("health", F.CARE_ACT_S42, "not_sought", "Care Act 2014 s42"),
    ("education", F.S17, "not_sought", None),
    ("education", F.S47, "not_sought", "Children Act 1989 s47"),
    ("education", F.CARE_ACT_S42, "refused", None),
    ("adult_social_care", F.S17, "refused", None),
    ("adult_social_care", F.S47, "not_sought", "Children Act 1989 ss1 and 47"),
    ("adult_social_care", F.CARE_ACT_S42, "refused", "Care Act 2014 ss42 and 45"),
    ("childrens_social_care", F.S17, "refused", None),
    ("childrens_social_care", F.S17, "given", "consent"),
    ("childrens_social_care", F.S47, "refused", "AB v Haringey"),
]


@pytest.mark.parametrize("agency,footing,consent,cited", BASIS_TABLE)
def test_each_desk_states_its_own_lawful_basis_for_research(agency, footing, consent, cited, generator):
    from mash_contracts import ConsentPosition, ConsentStatus
    from mash_desk.policy import LawfulBasis, lawful_basis
    from mash_intake.screening import accept

    s = generator.notification()
    position = ConsentPosition(status=ConsentStatus(consent), reason=None if consent == "given" else "Would increase risk")
    n = accept(
        s.model_copy(update={"consent": position}), datetime(2026, 11, 16, tzinfo=UTC), referrer_system="northshire_schools"
    ).model_copy(update={"statutory_footing": footing})
    basis = lawful_basis(n, POLICIES[agency])
    if cited is None:
        assert isinstance(basis, str) and basis.startswith("Declined") and "s47 grounds" in basis
    elif cited == "consent":
        assert isinstance(basis, LawfulBasis) and basis.without_consent_reason is None
    else:
        assert isinstance(basis, LawfulBasis) and cited in basis.cites and cited in basis.without_consent_reason


def test_recorded_grounds_are_cited_in_the_reason_without_consent(generator):
    from mash_contracts import ConsentPosition, ConsentStatus
    from mash_desk.policy import Grounds, lawful_basis
    from mash_intake.screening import accept

    s = generator.notification()
    n = accept(
        s.model_copy(update={"consent": ConsentPosition(status=ConsentStatus.REFUSED, reason="Parent refused")}),
        datetime(2026, 11, 16, tzinfo=UTC),
        referrer_system="northshire_schools",
    ).model_copy(update={"statutory_footing": F.S47})
    grounds = Grounds("g-1", "strategy_discussion", "manager Ayo", "2026-11-16T10:00:00+00:00")
    basis = lawful_basis(n, POLICIES["health"], grounds)
    assert basis.grounds == grounds and "strategy discussion's decision recorded by manager Ayo" in basis.without_consent_reason
