"""What adult social care records about the adults of a synthetic household it knows, for the demo, the bench and the
tests (written through mash_desk.synthetic; nobody real).

The population's adults are the households' parents and partners, so the adults this desk knows are those: someone
with a learning disability, a mental health need or a physical impairment, sometimes with an open case (allocated or
waiting), earlier safeguarding concerns, a capacity assessment, now and then a deprivation of liberty authorisation;
and a few recorded as the source of risk to another adult."""

from __future__ import annotations

from mash_contracts import CARE_ACT_CATEGORIES, LocationOfRisk, SourceOfRisk
from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords

from .records import (
    NO_ENQUIRY,
    capacity_and_advocacy,
    care_and_support,
    deprivation_of_liberty,
    open_cases,
    safeguarding_history,
    sources_of_risk,
)

# Primary support reasons, roughly as often as working-age adults present with them.
SUPPORT_REASONS = {
    "learning_disability": 30,
    "mental_health": 30,
    "physical_support": 20,
    "sensory_support": 8,
    "memory_and_cognition": 4,
    "social_support": 8,
}
# What someone receives in each setting, in words that name nobody (no provider, no carer).
SETTINGS = {
    "own_home": "home care visits; equipment and adaptations",
    "supported_living": "supported living tenancy with daily support",
    "day_service": "day opportunities three days a week",
    "residential_care_home": "long-term residential placement",
}
TEAMS = {"learning_disability": "Learning disability team", "mental_health": "Community mental health team"}
LOCALITY_TEAMS = ["East locality team", "West locality team", "Hospital discharge team"]
WORKER_ROLES = ["social_worker", "social_worker", "occupational_therapist", "care_coordinator"]
DECISIONS = ["where to live", "managing their money", "care and support arrangements", "sharing information about them"]
# Capacity is assessed far more often, and found lacking more often, for these reasons.
CAPACITY_REASONS = {"learning_disability", "memory_and_cognition"}
CATEGORIES = list(CARE_ACT_CATEGORIES)


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    for adult in adults:
        needs, harmed_another = r.chance(0.6), r.chance(0.06)
        if needs:
            _adult_with_needs(r, adult)
        if harmed_another:
            _source_of_risk(r, adult)


def _adult_with_needs(r: AgencyRecords, adult: Person) -> None:
    local = r.know(adult)
    reason = r.rng.choices(list(SUPPORT_REASONS), list(SUPPORT_REASONS.values()))[0]
    setting = r.rng.choices(list(SETTINGS), [60, 20, 15, 5])[0]
    r.record(
        care_and_support,
        "CSN",
        person_id=local,
        primary_support_reason=reason,
        assessed_on=r.days_ago(20, 1400),
        eligible=r.chance(0.75),
        setting=setting,
        services=SETTINGS[setting],
    )
    if r.chance(0.5):
        allocated = r.chance(0.6)
        r.record(
            open_cases,
            "CASE",
            person_id=local,
            team=TEAMS.get(reason) or r.rng.choice(LOCALITY_TEAMS),
            opened_on=r.days_ago(10, 700),
            allocated=allocated,
            worker_role=r.rng.choice(WORKER_ROLES) if allocated else None,
        )
    if r.chance(0.3):
        for _ in r.times(3):
            _concern(r, local)
    if r.chance(0.5 if reason in CAPACITY_REASONS else 0.1):
        lacks = r.chance(0.5)
        r.record(
            capacity_and_advocacy,
            "MCA",
            person_id=local,
            decision=r.rng.choice(DECISIONS),
            lacks_capacity=lacks,
            assessed_on=r.days_ago(10, 900),
            advocate=r.rng.choice([None, "care_act_advocate", "imca"]),
            lpa_registered=r.chance(0.15),
        )
        if lacks and r.chance(0.4):
            r.record(
                deprivation_of_liberty,
                "DOLS",
                person_id=local,
                setting=r.rng.choice(["care_home", "nursing_home", "hospital"]),
                authorised_on=r.days_ago(10, 330),
                expires_on=r.days_ahead(20, 350),
            )


def _concern(r: AgencyRecords, local: str) -> None:
    category = r.rng.choice(CATEGORIES)
    enquiry = r.rng.choices(["s42_enquiry", "other_safeguarding_enquiry", NO_ENQUIRY], [45, 15, 40])[0]
    r.record(
        safeguarding_history,
        "SGC",
        person_id=local,
        raised_on=r.days_ago(20, 1800),
        category=category,
        enquiry=enquiry,
        outcome="no_further_action"
        if enquiry == NO_ENQUIRY
        else r.rng.choice(["risk_removed", "risk_reduced", "risk_reduced", "risk_remains"]),
        location_of_risk=r.rng.choice([LocationOfRisk.OWN_HOME, LocationOfRisk.OWN_HOME, LocationOfRisk.COMMUNITY]).value,
        source_of_risk=(
            SourceOfRisk.SELF
            if category == "self-neglect"
            else r.rng.choice(
                [SourceOfRisk.KNOWN_TO_INDIVIDUAL, SourceOfRisk.SERVICE_PROVIDER, SourceOfRisk.UNKNOWN_TO_INDIVIDUAL]
            )
        ).value,
    )


def _source_of_risk(r: AgencyRecords, adult: Person) -> None:
    enquiry = r.rng.choice(["s42_enquiry", "other_safeguarding_enquiry"])
    r.record(
        sources_of_risk,
        "SOR",
        person_id=r.know(adult),
        raised_on=r.days_ago(30, 1500),
        category=r.rng.choice([c for c in CATEGORIES if c != "self-neglect"]),
        enquiry=enquiry,
        outcome=r.rng.choice(["risk_removed", "risk_reduced", "risk_remains"]),
        relationship=r.rng.choice(["family member", "partner", "friend or neighbour", "paid carer"]),
    )


RECORDS = SyntheticRecords(prefix="ASC", known_by=0.1, missing_nhs=0.1, write=write)
