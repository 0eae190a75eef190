"""Each agency's sharing policy as a table: record class x concern x footing x role x age -> shared or why not."""

from datetime import date, timedelta

import pytest

from mash_contracts import StatutoryFooting as F
from mash_education_desk.app import DESK as EDUCATION
from mash_health_desk.app import DESK as HEALTH
from mash_police_desk.app import DESK as POLICE
from mash_runtime.desk.policy import Rule, SharingPolicy, applicable
from mash_social_care.app import DESK as SOCIAL_CARE

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 16)
POLICIES = {d.agency.value: SharingPolicy.load(d.policy_file) for d in (POLICE, HEALTH, SOCIAL_CARE, EDUCATION)}

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
    ("health", "mental_health_contact", {"parental_mental_health"}, F.S17, "alleged_perpetrator", 3, "not relevant for a alleged perpetrator"),
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
    desk = {d.agency.value: d for d in (POLICE, HEALTH, SOCIAL_CARE, EDUCATION)}[agency]
    held = {rc.name for rc in desk.record_classes}
    assert {r.record_class for r in POLICIES[agency].rules} <= held
    assert all(r.relevance for r in POLICIES[agency].rules), "every rule says why sharing is relevant"


@pytest.mark.parametrize("agency", POLICIES)
def test_no_desk_researches_a_child_in_need_referral_without_consent(agency):
    assert F.S17 not in POLICIES[agency].research_without_consent
