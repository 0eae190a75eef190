"""Fixed vocabularies shared by every agency.

Values are the wire form: lower snake case, stable forever. Add members, never rename them.
"""

from collections.abc import Iterable
from enum import IntEnum, StrEnum


class ConcernCategory(StrEnum):
    DOMESTIC_ABUSE = "domestic_abuse"
    NEGLECT = "neglect"
    PHYSICAL_ABUSE = "physical_abuse"
    SEXUAL_ABUSE = "sexual_abuse"
    EMOTIONAL_ABUSE = "emotional_abuse"
    CHILD_SEXUAL_EXPLOITATION = "child_sexual_exploitation"
    CHILD_CRIMINAL_EXPLOITATION = "child_criminal_exploitation"
    MISSING = "missing"
    PARENTAL_MENTAL_HEALTH = "parental_mental_health"
    PARENTAL_SUBSTANCE_MISUSE = "parental_substance_misuse"
    FGM = "fgm"
    FORCED_MARRIAGE = "forced_marriage"
    HONOUR_BASED_ABUSE = "honour_based_abuse"
    TRAFFICKING = "trafficking"
    FABRICATED_ILLNESS = "fabricated_illness"
    ALLEGATION_AGAINST_STAFF = "allegation_against_staff"
    YOUNG_CARER = "young_carer"
    RADICALISATION = "radicalisation"
    SELF_HARM = "self_harm"
    OTHER = "other"
    # The Care Act 2014 statutory guidance (14.17) names ten categories of abuse and neglect of adults; those not
    # already above (physical, domestic, sexual, neglect and acts of omission) are these.
    PSYCHOLOGICAL_ABUSE = "psychological_abuse"
    FINANCIAL_ABUSE = "financial_abuse"  # financial or material abuse
    MODERN_SLAVERY = "modern_slavery"
    DISCRIMINATORY_ABUSE = "discriminatory_abuse"
    ORGANISATIONAL_ABUSE = "organisational_abuse"
    SELF_NEGLECT = "self_neglect"


# The ten categories of abuse and neglect of the Care Act 2014 statutory guidance (14.17), as the concern
# categories that name each. A concern about an adult at risk in any of them meets the test's second part.
CARE_ACT_CATEGORIES: dict[str, frozenset[ConcernCategory]] = {
    "physical abuse": frozenset({ConcernCategory.PHYSICAL_ABUSE}),
    "domestic abuse": frozenset(
        {ConcernCategory.DOMESTIC_ABUSE, ConcernCategory.HONOUR_BASED_ABUSE, ConcernCategory.FORCED_MARRIAGE}
    ),
    "sexual abuse": frozenset({ConcernCategory.SEXUAL_ABUSE}),
    "psychological abuse": frozenset({ConcernCategory.PSYCHOLOGICAL_ABUSE, ConcernCategory.EMOTIONAL_ABUSE}),
    "financial or material abuse": frozenset({ConcernCategory.FINANCIAL_ABUSE}),
    "modern slavery": frozenset({ConcernCategory.MODERN_SLAVERY, ConcernCategory.TRAFFICKING}),
    "discriminatory abuse": frozenset({ConcernCategory.DISCRIMINATORY_ABUSE}),
    "organisational abuse": frozenset({ConcernCategory.ORGANISATIONAL_ABUSE}),
    "neglect and acts of omission": frozenset({ConcernCategory.NEGLECT}),
    "self-neglect": frozenset({ConcernCategory.SELF_NEGLECT}),
}


def care_act_categories(categories: Iterable[ConcernCategory]) -> list[str]:
    """The Care Act categories a concern's categories fall in, in the guidance's order."""
    given = set(categories)
    return [name for name, members in CARE_ACT_CATEGORIES.items() if given & members]


class LocationOfRisk(StrEnum):
    """Where the risk to an adult arises, as the NHS Safeguarding Adults Collection counts it."""

    OWN_HOME = "own_home"
    COMMUNITY = "community"  # in the community, excluding community services
    COMMUNITY_SERVICE = "community_service"
    CARE_HOME_NURSING = "care_home_nursing"
    CARE_HOME_RESIDENTIAL = "care_home_residential"
    HOSPITAL_ACUTE = "hospital_acute"
    HOSPITAL_MENTAL_HEALTH = "hospital_mental_health"
    HOSPITAL_COMMUNITY = "hospital_community"
    OTHER = "other"


class SourceOfRisk(StrEnum):
    """Who the risk to an adult comes from, as the NHS Safeguarding Adults Collection counts it."""

    SERVICE_PROVIDER = "service_provider"
    KNOWN_TO_INDIVIDUAL = "known_to_individual"  # someone else, known to the adult
    UNKNOWN_TO_INDIVIDUAL = "unknown_to_individual"
    SELF = "self"  # self-neglect: no one else is the source


class SubjectRole(StrEnum):
    CHILD = "child"
    UNBORN_CHILD = "unborn_child"
    PARENT_CARER = "parent_carer"
    ALLEGED_PERPETRATOR = "alleged_perpetrator"
    HOUSEHOLD_MEMBER = "household_member"
    ADULT_AT_RISK = "adult_at_risk"


# Roles a referral can be about; every notification must name at least one of these.
SUBJECTS_AT_RISK = frozenset({SubjectRole.CHILD, SubjectRole.UNBORN_CHILD, SubjectRole.ADULT_AT_RISK})
# A referral naming any of these is decided on the children's model; one naming none, on the Care Act's.
CHILD_ROLES = frozenset({SubjectRole.CHILD, SubjectRole.UNBORN_CHILD})


class ReferrerKind(StrEnum):
    PROFESSIONAL = "professional"
    FAMILY_MEMBER = "family_member"
    MEMBER_OF_PUBLIC = "member_of_public"
    SELF = "self"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"


class Agency(StrEnum):
    """Agencies that contribute to the hub or receive its information products."""

    POLICE = "police"
    HEALTH = "health"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    EARLY_HELP = "early_help"
    ADULT_SOCIAL_CARE = "adult_social_care"
    EDUCATION = "education"
    PROBATION = "probation"
    HOUSING = "housing"
    OTHER = "other"
    # The hub's own research: its linked history of earlier notifications, contributions and decisions, and the
    # emerging-harm findings drawn from it. It answers every referral as a desk does; it receives no product.
    HUB_RESEARCH = "hub_research"


# What people read for each agency (the chronology, the manager's workspace).
AGENCY_NAMES: dict[str, str] = {
    Agency.POLICE: "Police",
    Agency.HEALTH: "Health",
    Agency.CHILDRENS_SOCIAL_CARE: "Children's social care",
    Agency.EARLY_HELP: "Early help",
    Agency.ADULT_SOCIAL_CARE: "Adult social care",
    Agency.EDUCATION: "Education",
    Agency.PROBATION: "Probation",
    Agency.HOUSING: "Housing",
    Agency.OTHER: "Other agency",
    Agency.HUB_RESEARCH: "Hub research",
}


def agency_name(agency: str) -> str:
    """The agency's name as people read it; one the vocabulary does not know, in plain words."""
    return AGENCY_NAMES.get(agency, str(agency).replace("_", " ").capitalize())


class RagRating(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    BLUE = "blue"


class ContributionStatus(StrEnum):
    SHARED = "shared"
    NOTHING_RELEVANT = "nothing_relevant"  # records are held, but none is relevant and proportionate to share
    NO_RECORDS_FOUND = "no_records_found"
    DECLINED = "declined"
    NOT_RESEARCHED = "not_researched"
    NO_ANSWER = "no_answer"  # set by the hub: the desk did not answer before the return deadline


class GroundsKind(StrEnum):
    """What a MASH manager (or screening social worker) recorded that opens research without consent."""

    S47 = "s47"  # reasonable cause to suspect significant harm (Children Act 1989 s47)
    STRATEGY_DISCUSSION = "strategy_discussion"  # a strategy discussion decided on s47 enquiries (Working Together 2023)


class AlertKind(StrEnum):
    RETURNS_DUE_SOON = "returns_due_soon"
    RETURNS_OVERDUE = "returns_overdue"  # a desk missed its return deadline: decided without it, escalated
    DECISION_DUE_SOON = "decision_due_soon"
    DECISION_OVERDUE = "decision_overdue"  # the one-working-day decision deadline was missed
    CONFIRMATION_NEEDED = "confirmation_needed"  # the model recommends a level a manager must confirm
    REGRADED = "regraded"
    REFERRAL_UPDATED = "referral_updated"  # the referrer sent supplementary information: re-assessed
    CONTRIBUTION_CONFLICT = "contribution_conflict"  # a desk sent two different answers for one revision
    CONTRIBUTION_WITHOUT_REFERRAL = "contribution_without_referral"  # held past its limit with no notification
    GROUNDS_RECORDED = "grounds_recorded"  # a manager recorded s47 grounds: the desks research again
    EMERGING_HARM = "emerging_harm"  # the hub's history shows harm emerging for someone with no open referral


class ThresholdLevel(IntEnum):
    UNIVERSAL = 1
    EARLY_HELP = 2
    CHILD_IN_NEED = 3
    CHILD_PROTECTION = 4


class Outcome(StrEnum):
    NO_FURTHER_ACTION = "no_further_action"
    ADVICE_AND_SIGNPOSTING = "advice_and_signposting"
    EARLY_HELP = "early_help"
    CIN_ASSESSMENT = "cin_assessment"
    STRATEGY_DISCUSSION = "strategy_discussion"
    POLICE_ACTION = "police_action"
    DOMESTIC_ABUSE_SERVICE = "domestic_abuse_service"
    ADULT_SAFEGUARDING = "adult_safeguarding"
    MISSING_CHILD_RESPONSE = "missing_child_response"
    PRE_BIRTH_ASSESSMENT = "pre_birth_assessment"  # an unborn child with a previous child removed or on a plan
    # Adults at risk (Care Act 2014): the outcomes of the section 42 test.
    S42_ENQUIRY = "s42_enquiry"  # s42(1)-(2): the duty to make enquiries
    OTHER_SAFEGUARDING_ENQUIRY = "other_safeguarding_enquiry"  # a safeguarding enquiry at the authority's discretion
    CARE_NEEDS_ASSESSMENT = "care_needs_assessment"  # Care Act s9: an assessment of needs for care and support


class AdultRoute(StrEnum):
    """Who takes an adult at risk's concern forward."""

    MASH = "mash"  # no allocated worker: the MASH researches and decides
    ALLOCATED_TEAM = "allocated_team"  # an allocated worker: that team's Safeguarding Adults Practice Consultant


class ProtectiveFactor(StrEnum):
    """Strengths the referrer reports; threshold documents weigh them against the risks."""

    ENGAGED_PARENTS = "engaged_parents"  # parents acknowledge the concern and accept help
    SUPPORTIVE_WIDER_FAMILY = "supportive_wider_family"
    UNIVERSAL_SERVICES_INVOLVED = "universal_services_involved"  # school, GP, health visitor already involved, nothing of concern
    TRUSTED_ADULT = "trusted_adult"  # the child has a safe adult they talk to


class StatutoryFooting(StrEnum):
    """The legal footing under which the hub researches a referral; it decides what may be shared without consent."""

    S17 = "s17"  # Children Act 1989 s17: child in need; sharing needs consent
    S47 = "s47"  # Children Act 1989 s47: reasonable cause to suspect significant harm; consent not required
    CARE_ACT_S42 = "care_act_s42"  # Care Act 2014 s42: adult safeguarding enquiry
