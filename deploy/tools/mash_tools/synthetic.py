"""Synthetic notifications: seeded and reproducible, about people who do not exist.

Names and addresses come from Faker's en_GB provider. NHS numbers are drawn from the 999 range that NHS
England reserves for test data, phone numbers from Ofcom's drama range, email domains from example.org.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from faker import Faker

from mash_contracts import (
    Address,
    AdultAtRiskDetails,
    Agency,
    Concern,
    ConcernCategory,
    ConsentPosition,
    ConsentStatus,
    LocationOfRisk,
    NotificationSubmission,
    Referrer,
    ReferrerKind,
    SourceOfRisk,
    Subject,
    SubjectRole,
)
from mash_contracts.messages import nhs_number_is_valid


@dataclass(frozen=True)
class Scenario:
    categories: tuple[ConcernCategory, ...]
    description: str
    immediate_danger: bool = False
    with_partner: bool = False
    adult: AdultAtRiskDetails | None = None  # what the referrer knows of an adult at risk the notification names


SCENARIOS = (
    Scenario(
        (ConcernCategory.DOMESTIC_ABUSE,),
        "Police attended a domestic incident at the home; the child was present.",
        with_partner=True,
    ),
    Scenario((ConcernCategory.NEGLECT,), "Child repeatedly arrives at school hungry and in unwashed clothes."),
    Scenario((ConcernCategory.PARENTAL_MENTAL_HEALTH,), "Parent disclosed low mood and struggling to cope with the baby."),
    Scenario(
        (ConcernCategory.PHYSICAL_ABUSE,),
        "Unexplained bruising to the child's upper arm noticed at nursery.",
        immediate_danger=True,
    ),
    Scenario(
        (ConcernCategory.MISSING, ConcernCategory.CHILD_CRIMINAL_EXPLOITATION),
        "Child missing overnight twice this month, returned with new phone and cash.",
    ),
    Scenario(
        (ConcernCategory.PARENTAL_SUBSTANCE_MISUSE, ConcernCategory.NEGLECT),
        "Neighbour reports parent often intoxicated while caring for young children.",
    ),
    Scenario((ConcernCategory.YOUNG_CARER,), "Child caring for a disabled parent and missing school."),
    Scenario((ConcernCategory.OTHER,), "Family recently moved into the area and asked the school where to find support."),
)

REFERRER_AGENCIES = (Agency.EDUCATION, Agency.HEALTH, Agency.POLICE, Agency.HOUSING)


def synthetic_nhs_number(rng: random.Random) -> str:
    while True:
        candidate = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        for check in range(10):
            if nhs_number_is_valid(candidate + str(check)):
                return candidate + str(check)


class Generator:
    def __init__(self, seed: int = 7, today: date | None = None):
        self.rng = random.Random(seed)
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.today = today or date(2026, 11, 16)
        self._count = 0

    def _address(self) -> Address:
        return Address(line1=self.fake.street_address().split("\n")[0], town=self.fake.city(), postcode=self.fake.postcode())

    def _dob(self, min_years: int, max_years: int) -> date:
        return self.today - timedelta(days=self.rng.randint(min_years * 365, max_years * 365 + 364))

    def notification(
        self, scenario: Scenario | None = None, subjects: list[Subject] | None = None, consent: ConsentPosition | None = None
    ) -> NotificationSubmission:
        """A notification about a new invented family, or about the given subjects (people of a population)."""
        self._count += 1
        scenario = scenario or SCENARIOS[(self._count - 1) % len(SCENARIOS)]
        if subjects is None:
            subjects = self._invented_family(scenario)
        agency = self.rng.choice(REFERRER_AGENCIES)
        return NotificationSubmission(
            submission_id=f"SYN-{self.rng.getrandbits(40):010x}",
            submitted_at=datetime.now(UTC),
            referrer=Referrer(
                kind=ReferrerKind.PROFESSIONAL,
                agency=agency,
                organisation=f"{self.fake.city()} {agency.value.title()}",
                role="Designated safeguarding lead",
                name=self.fake.name(),
                phone=f"07700 900{self.rng.randrange(1000):03d}",
                email=f"dsl{self._count}@example.org",
            ),
            subjects=subjects,
            concern=Concern(
                categories=list(scenario.categories),
                description=scenario.description,
                occurred_at=datetime.now(UTC) - timedelta(days=self.rng.randint(0, 5)),
                immediate_danger=scenario.immediate_danger,
                adult_at_risk=scenario.adult,
            ),
            consent=consent
            or (
                ConsentPosition(status=ConsentStatus.GIVEN)
                if self.rng.random() < 0.6
                else ConsentPosition(
                    status=ConsentStatus.NOT_SOUGHT, reason="Seeking consent could place the child at increased risk."
                )
            ),
        )

    def _invented_family(self, scenario: Scenario) -> list[Subject]:
        family = self.fake.last_name()
        home = self._address()

        def at_home(ref: str, role: SubjectRole, given: str, family_name: str, born: date, **more) -> Subject:
            return Subject(
                subject_ref=ref, role=role, given_name=given, family_name=family_name, date_of_birth=born, address=home, **more
            )

        # Arguments are drawn in the order written: the same seed gives the same family.
        subjects = [
            at_home(
                "child1",
                SubjectRole.CHILD,
                self.fake.first_name(),
                family,
                self._dob(0, 15),
                nhs_number=synthetic_nhs_number(self.rng) if self.rng.random() < 0.8 else None,
            ),
            at_home("parent1", SubjectRole.PARENT_CARER, self.fake.first_name(), family, self._dob(20, 45)),
        ]
        if scenario.with_partner:
            adult = (self.fake.first_name_male(), self.fake.last_name(), self._dob(20, 50))
            subjects.append(at_home("adult2", SubjectRole.ALLEGED_PERPETRATOR, *adult))
        return subjects


# What each scripted case is referred for, and the consent position the referrer records.
SCRIPTED_REFERRALS: dict[str, tuple[Scenario, ConsentStatus]] = {
    "da_household": (
        Scenario(
            (ConcernCategory.DOMESTIC_ABUSE,),
            "Police called to the home overnight; the child was present and frightened.",
            immediate_danger=True,
        ),
        ConsentStatus.NOT_SOUGHT,
    ),
    "neglect_old_intel": (
        Scenario((ConcernCategory.NEGLECT,), "Child often arrives at school hungry, in the same clothes all week."),
        ConsentStatus.GIVEN,
    ),
    "open_cp_plan": (
        Scenario((ConcernCategory.OTHER,), "Child seemed withdrawn at nursery today and would not say why."),
        ConsentStatus.GIVEN,
    ),
    "uncertain_match": (
        Scenario((ConcernCategory.DOMESTIC_ABUSE,), "Mother told the health visitor about arguments at home."),
        ConsentStatus.GIVEN,
    ),
    "unknown_family": (
        Scenario((ConcernCategory.YOUNG_CARER,), "Child caring for a parent after an operation and missing school."),
        ConsentStatus.GIVEN,
    ),
    "consent_refused_s17": (
        Scenario((ConcernCategory.PARENTAL_MENTAL_HEALTH,), "Mother struggling with low mood; declined a referral for support."),
        ConsentStatus.REFUSED,
    ),
    # Adults at risk (tests/integration/test_adults_mesh.py): the Care Act s42 test, the allocated worker's route, a
    # mixed household.
    "adult_financial_abuse": (
        Scenario(
            (ConcernCategory.FINANCIAL_ABUSE,),
            "Bank staff report large withdrawals from an older customer's account, made with a relative present.",
            adult=AdultAtRiskDetails(
                aware_of_referral=True,
                desired_outcomes=["To stay living at home", "For the relative not to handle my money"],
                location_of_risk=LocationOfRisk.OWN_HOME,
                source_of_risk=SourceOfRisk.KNOWN_TO_INDIVIDUAL,
            ),
        ),
        ConsentStatus.GIVEN,
    ),
    "adult_allocated_worker": (
        Scenario(
            (ConcernCategory.NEGLECT,),
            "Home care visits missed for a week; the adult was found without food or medication.",
            adult=AdultAtRiskDetails(
                care_and_support_needs=True,
                desired_outcomes=["To have carers I can rely on"],
                location_of_risk=LocationOfRisk.OWN_HOME,
                source_of_risk=SourceOfRisk.SERVICE_PROVIDER,
            ),
        ),
        ConsentStatus.GIVEN,
    ),
    "adult_self_neglect": (
        Scenario(
            (ConcernCategory.SELF_NEGLECT,),
            "Neighbour reports the house is cluttered to the ceiling and the adult is not eating.",
            adult=AdultAtRiskDetails(
                aware_of_referral=False, location_of_risk=LocationOfRisk.OWN_HOME, source_of_risk=SourceOfRisk.SELF
            ),
        ),
        ConsentStatus.NOT_SOUGHT,
    ),
    "mixed_household": (
        Scenario(
            (ConcernCategory.NEGLECT, ConcernCategory.PSYCHOLOGICAL_ABUSE),
            "Grandmother with dementia shouted at and locked in her room; the children are left to care for her.",
            adult=AdultAtRiskDetails(
                care_and_support_needs=True,
                unable_to_protect_self=True,
                desired_outcomes=["To feel safe in my home"],
                location_of_risk=LocationOfRisk.OWN_HOME,
                source_of_risk=SourceOfRisk.KNOWN_TO_INDIVIDUAL,
            ),
        ),
        ConsentStatus.GIVEN,
    ),
    # The practice cases (tests/integration/test_practice_mesh.py): each a row of the practice table.
    "practice_first_da_refused": (
        Scenario(
            (ConcernCategory.DOMESTIC_ABUSE,), "Neighbour heard an argument at the home last night; the child was in the house."
        ),
        ConsentStatus.REFUSED,
    ),
    "practice_neglect_refused_history": (
        Scenario(
            (ConcernCategory.NEGLECT,), "Child arrives at school hungry and tired; the parent declined any referral for help."
        ),
        ConsentStatus.REFUSED,
    ),
    "practice_pmh_baby_not_sought": (
        Scenario(
            (ConcernCategory.PARENTAL_MENTAL_HEALTH,),
            "Mother told the health visitor she has struggled with low mood since the birth.",
        ),
        ConsentStatus.NOT_SOUGHT,
    ),
    "practice_cce_not_sought": (
        Scenario(
            (ConcernCategory.CHILD_CRIMINAL_EXPLOITATION,),
            "Young person found with cash and a second phone after going missing again.",
        ),
        ConsentStatus.NOT_SOUGHT,
    ),
    "practice_cse_17": (
        Scenario(
            (ConcernCategory.CHILD_SEXUAL_EXPLOITATION,), "Young person seen getting into cars with older men after college."
        ),
        ConsentStatus.NOT_SOUGHT,
    ),
    "practice_repeat_da": (
        Scenario((ConcernCategory.DOMESTIC_ABUSE,), "Mother told the health visitor her partner hit her again last week."),
        ConsentStatus.GIVEN,
    ),
    "practice_neglect_absence_dna": (
        Scenario((ConcernCategory.NEGLECT,), "Child often hungry at school with visibly decayed teeth."),
        ConsentStatus.GIVEN,
    ),
    "practice_neglect_open_cp": (
        Scenario((ConcernCategory.NEGLECT,), "Child came to school unwashed and hungry again this week."),
        ConsentStatus.GIVEN,
    ),
    "practice_repeat_missing": (
        Scenario((ConcernCategory.MISSING,), "Young person missing overnight again; returned home this morning."),
        ConsentStatus.GIVEN,
    ),
    "practice_unborn_sibling_cp": (
        Scenario((ConcernCategory.OTHER,), "Midwife booking for a second pregnancy; mother asked about support."),
        ConsentStatus.GIVEN,
    ),
    "practice_young_carer_unknown": (
        Scenario((ConcernCategory.YOUNG_CARER,), "Child caring for a parent with a long-term illness and tired at school."),
        ConsentStatus.GIVEN,
    ),
    "practice_baby_low_level": (
        Scenario((ConcernCategory.OTHER,), "Family with a new baby asked the health visitor where to find support."),
        ConsentStatus.GIVEN,
    ),
    # Pre-birth: the referrer names the expectant mother and the unborn baby, not her older child who was removed.
    "pre_birth_previous_removal": (
        Scenario((ConcernCategory.OTHER,), "Midwife: late booking at 20 weeks; the mother is anxious and has little support."),
        ConsentStatus.GIVEN,
    ),
}


def consent_for(status: ConsentStatus, adult: bool = False) -> ConsentPosition:
    if adult and status is not ConsentStatus.GIVEN:
        return ConsentPosition(status=status, reason="The adult has not been asked yet: the neighbour could not reach them.")
    reasons = {
        ConsentStatus.GIVEN: None,
        ConsentStatus.REFUSED: "The parent refused consent to share information with other agencies.",
        ConsentStatus.NOT_SOUGHT: "Seeking consent could place the child at increased risk.",
    }
    return ConsentPosition(status=status, reason=reasons[status])


def scripted_notification(generator: Generator, name: str, subjects: list[dict]) -> NotificationSubmission:
    scenario, consent = SCRIPTED_REFERRALS[name]
    return generator.notification(
        scenario, [Subject.model_validate(s) for s in subjects], consent_for(consent, adult=scenario.adult is not None)
    )


_ROLE = {
    "child": SubjectRole.CHILD,
    "parent_carer": SubjectRole.PARENT_CARER,
    "partner": SubjectRole.HOUSEHOLD_MEMBER,
    "household_member": SubjectRole.HOUSEHOLD_MEMBER,
}


def household_notification(generator: Generator, people: list, scenario: Scenario | None = None) -> NotificationSubmission:
    """A notification naming a household of the synthetic population as the referrer knows them."""
    subjects = []
    for i, p in enumerate(people, start=1):
        role = _ROLE[p.role_in_household]
        subjects.append(
            Subject(
                subject_ref=f"{role.value[:6]}{i}",
                role=role,
                given_name=p.given_name,
                family_name=p.family_name,
                date_of_birth=p.date_of_birth,
                nhs_number=p.nhs_number,
                address=Address(line1=p.address_line1, town=p.town, postcode=p.postcode),
            )
        )
    return generator.notification(scenario, subjects)
