"""What adult social care holds (assessed needs, open cases, safeguarding history, who was recorded as the source of
risk to another adult, mental capacity and advocacy, deprivation of liberty authorisations), as this desk's store keeps
it, and the record classes its policy names.

A table is two record classes where the desk's findings tell its rows apart (as children's social care tells an open
case from a closed one): an allocated case from an unallocated one, an enquiry from a concern that led to none, an
assessment that found the adult lacks capacity from one that found they have it. Summaries name nobody: teams, roles,
settings, categories and dates only."""

from sqlalchemy import Boolean, Column, Date, MetaData, String, Text

from mash_desk import RecordClass, people_table, record_table

metadata = MetaData()
people = people_table(metadata)

care_and_support = record_table(
    "care_and_support",
    metadata,
    "support_id",
    "person_id",
    # The primary support reason: physical_support, sensory_support, memory_and_cognition, learning_disability,
    # mental_health, social_support
    Column("primary_support_reason", String(40), nullable=False),
    Column("assessed_on", Date, nullable=False),
    Column("eligible", Boolean, nullable=False),  # eligible needs under the Care Act 2014 s13
    # own_home (with home care), residential_care_home, nursing_home, supported_living, day_service
    Column("setting", String(40), nullable=False),
    Column("services", Text),  # services received, in words that name nobody
)
open_cases = record_table(
    "open_cases",
    metadata,
    "case_id",
    "person_id",
    Column("team", String(120), nullable=False),  # "East locality team", "Learning disability team", ...
    Column("opened_on", Date, nullable=False),
    Column("allocated", Boolean, nullable=False),
    Column("worker_role", String(40)),  # social_worker, occupational_therapist, care_coordinator: never a name
)
safeguarding_history = record_table(
    "safeguarding_history",
    metadata,
    "concern_id",
    "person_id",  # the adult at risk the concern was about
    Column("raised_on", Date, nullable=False),
    Column("category", String(40), nullable=False),  # the Care Act statutory guidance's words: "financial or material abuse"
    Column("enquiry", String(40), nullable=False),  # s42_enquiry, other_safeguarding_enquiry, concern_no_enquiry
    Column("outcome", String(24)),  # risk_removed, risk_reduced, risk_remains, no_further_action
    Column("location_of_risk", String(32)),  # mash_contracts.LocationOfRisk
    Column("source_of_risk", String(32)),  # mash_contracts.SourceOfRisk
)
# Someone adult social care recorded as the source of risk to another adult in a safeguarding concern. Kept apart from
# the concern, which is about the adult at risk: a children's referral may learn that a parent harmed an adult, never
# the other adult's own history.
sources_of_risk = record_table(
    "sources_of_risk",
    metadata,
    "source_id",
    "person_id",  # the person recorded as the source of risk
    Column("raised_on", Date, nullable=False),
    Column("category", String(40), nullable=False),
    Column("enquiry", String(40), nullable=False),
    Column("outcome", String(24)),
    Column("relationship", String(40)),  # to the adult at risk: partner, family member, paid carer, friend or neighbour
)
capacity_and_advocacy = record_table(
    "capacity_and_advocacy",
    metadata,
    "assessment_id",
    "person_id",
    Column("decision", String(120), nullable=False),  # capacity is decision-specific (MCA 2005 s2): "where to live"
    Column("lacks_capacity", Boolean, nullable=False),
    Column("assessed_on", Date, nullable=False),
    Column("advocate", String(24)),  # care_act_advocate, imca; none when no advocate is involved
    Column("lpa_registered", Boolean, nullable=False),  # a lasting power of attorney is registered
)
deprivation_of_liberty = record_table(
    "deprivation_of_liberty",
    metadata,
    "authorisation_id",
    "person_id",
    Column("setting", String(40), nullable=False),  # care_home, nursing_home, hospital
    Column("authorised_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
)

_SUPPORT = {
    "physical_support": "physical support",
    "sensory_support": "sensory support",
    "memory_and_cognition": "support with memory and cognition",
    "learning_disability": "learning disability support",
    "mental_health": "mental health support",
    "social_support": "social support",
}
_SETTINGS = {
    "own_home": "own home with home care",
    "residential_care_home": "residential care home",
    "nursing_home": "nursing home",
    "supported_living": "supported living",
    "day_service": "day service",
    "care_home": "care home",
    "hospital": "hospital",
}
_ENQUIRIES = {"s42_enquiry": "section 42 enquiry", "other_safeguarding_enquiry": "other safeguarding enquiry"}
_ROLES = {
    "social_worker": "social worker",
    "occupational_therapist": "occupational therapist",
    "care_coordinator": "care coordinator",
}
_LOCATIONS = {
    "own_home": "in the adult's own home",
    "community": "in the community",
    "community_service": "in a community service",
    "care_home_nursing": "in a nursing home",
    "care_home_residential": "in a residential care home",
    "hospital_acute": "in an acute hospital",
    "hospital_mental_health": "in a mental health hospital",
    "hospital_community": "in a community hospital",
    "other": "elsewhere",
}
_SOURCES = {
    "service_provider": "from a service provider",
    "known_to_individual": "from someone known to the adult",
    "unknown_to_individual": "from someone unknown to the adult",
    "self": "from the adult themselves",
}
_ADVOCATES = {"care_act_advocate": "a Care Act advocate", "imca": "an IMCA"}
NO_ENQUIRY = "concern_no_enquiry"


def _words(codes: dict[str, str], code: str | None) -> str:
    return codes.get(code or "", (code or "").replace("_", " "))


def _care_and_support(r) -> str:
    eligible = "eligible" if r.eligible else "not eligible"
    services = f"; services: {r.services}" if r.services else ""
    return (
        f"Assessed needs for care and support ({_words(_SUPPORT, r.primary_support_reason)}) on {r.assessed_on.isoformat()}, "
        f"{eligible} under the Care Act s13; setting: {_words(_SETTINGS, r.setting)}{services}"
    )


def _open_case(r) -> str:
    # The team in words: the decision routes an adult with an allocated worker to that team's practice consultant.
    worker = f"allocated worker: {_words(_ROLES, r.worker_role)}" if r.allocated else "not allocated to a worker"
    return f"Open adult social care case since {r.opened_on.isoformat()} with the {r.team}, {worker}"


def _outcome(r) -> str:
    return f": outcome {_words({}, r.outcome)}" if r.outcome else ""


def _enquiry(r) -> str:
    return "no enquiry" if r.enquiry == NO_ENQUIRY else _words(_ENQUIRIES, r.enquiry)


def _safeguarding(r) -> str:
    where = ", ".join(w for w in (_LOCATIONS.get(r.location_of_risk or ""), _SOURCES.get(r.source_of_risk or "")) if w)
    risk = f"; risk {where}" if where else ""
    return f"Safeguarding concern raised {r.raised_on.isoformat()} ({r.category}{risk}), {_enquiry(r)}{_outcome(r)}"


def _source_of_risk(r) -> str:
    whose = f", as their {r.relationship}," if r.relationship else ""
    return (
        f"Recorded as the source of risk to another adult{whose} in a safeguarding concern raised "
        f"{r.raised_on.isoformat()} ({r.category}), {_enquiry(r)}{_outcome(r)}"
    )


def _capacity(r) -> str:
    found = "lacks capacity" if r.lacks_capacity else "has capacity"
    advocate = f"; {_ADVOCATES.get(r.advocate, 'an advocate')} is involved" if r.advocate else "; no advocate involved"
    lpa = "; a lasting power of attorney is registered" if r.lpa_registered else ""
    return (
        f"Mental capacity assessment on {r.assessed_on.isoformat()} for the decision about {r.decision}: {found}{advocate}{lpa}"
    )


def _dols(r) -> str:
    return (
        f"Deprivation of liberty authorised {r.authorised_on.isoformat()} until {r.expires_on.isoformat()} "
        f"in a {_words(_SETTINGS, r.setting)}"
    )


ADULT = {"person_id": "adult"}

RECORD_CLASSES = [
    RecordClass("care_and_support", care_and_support, ADULT, "assessed_on", _care_and_support),
    RecordClass("open_case", open_cases, ADULT, "opened_on", _open_case, where=lambda t: t.c.allocated.is_(True)),
    RecordClass("open_case_unallocated", open_cases, ADULT, "opened_on", _open_case, where=lambda t: t.c.allocated.is_(False)),
    RecordClass(
        "safeguarding_history", safeguarding_history, ADULT, "raised_on", _safeguarding, where=lambda t: t.c.enquiry != NO_ENQUIRY
    ),
    RecordClass(
        "safeguarding_concern", safeguarding_history, ADULT, "raised_on", _safeguarding, where=lambda t: t.c.enquiry == NO_ENQUIRY
    ),
    RecordClass("source_of_risk", sources_of_risk, {"person_id": "source of risk"}, "raised_on", _source_of_risk),
    RecordClass(
        "capacity_and_advocacy",
        capacity_and_advocacy,
        ADULT,
        "assessed_on",
        _capacity,
        where=lambda t: t.c.lacks_capacity.is_(False),
    ),
    RecordClass(
        "lacks_capacity", capacity_and_advocacy, ADULT, "assessed_on", _capacity, where=lambda t: t.c.lacks_capacity.is_(True)
    ),
    RecordClass("deprivation_of_liberty", deprivation_of_liberty, ADULT, "authorised_on", _dols),
]
