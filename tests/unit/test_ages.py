"""Ages at the front door (services/intake/mash_intake/ages.py): each rule, and screening refusing with it."""

from datetime import UTC, date, datetime, timedelta

import pytest

from mash_contracts import Subject, SubjectRole
from mash_intake import ages, screening
from mash_runtime.errors import Rejected

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 20)


def person(role: SubjectRole, born: date | None = None, expected: date | None = None, checked: bool = True) -> Subject:
    fields = dict(subject_ref="s1", role=role, family_name="Example", date_of_birth=born, expected_date_of_birth=expected)
    # model_construct for what the contract itself refuses, so the age rule is tested on its own
    return Subject(**fields) if checked else Subject.model_construct(**fields)


def years_ago(years: int, days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - years) - timedelta(days=days)


def reasons(subject: Subject) -> list[str]:
    return ages.problems([subject], TODAY)


@pytest.mark.parametrize(
    "subject",
    [
        person(SubjectRole.CHILD, TODAY),  # born today
        person(SubjectRole.CHILD, years_ago(17, -1)),  # 18 tomorrow: still a child
        person(SubjectRole.CHILD),  # no date of birth given
        person(SubjectRole.UNBORN_CHILD, expected=TODAY + timedelta(days=200)),
        person(SubjectRole.UNBORN_CHILD, expected=TODAY - timedelta(days=14)),  # two weeks overdue
        person(SubjectRole.UNBORN_CHILD, expected=TODAY + timedelta(days=305)),
        person(SubjectRole.ADULT_AT_RISK, years_ago(18)),  # 18 today
        person(SubjectRole.ADULT_AT_RISK, years_ago(19)),  # a young adult, a care leaver: the adult path
        person(SubjectRole.ADULT_AT_RISK, years_ago(120)),
        person(SubjectRole.PARENT_CARER, years_ago(16)),  # young parents are parents
        person(SubjectRole.ALLEGED_PERPETRATOR, years_ago(15)),
        person(SubjectRole.HOUSEHOLD_MEMBER, years_ago(80)),
    ],
)
def test_possible_ages_pass(subject):
    assert reasons(subject) == []


def test_a_date_of_birth_in_the_future_is_refused_whatever_the_role():
    for role in (SubjectRole.CHILD, SubjectRole.PARENT_CARER, SubjectRole.ADULT_AT_RISK):
        [reason] = reasons(person(role, TODAY + timedelta(days=1)))
        assert reason.startswith("subjects.0.date_of_birth: is after the day") and "unborn_child" in reason


def test_a_date_of_birth_more_than_120_years_ago_is_refused():
    [reason] = reasons(person(SubjectRole.HOUSEHOLD_MEMBER, years_ago(121)))
    assert reason.startswith("subjects.0.date_of_birth: is more than 120 years")


@pytest.mark.parametrize("age", [18, 19, 25, 40])
def test_a_child_aged_18_or_over_is_refused_with_the_role_to_use(age):
    [reason] = reasons(person(SubjectRole.CHILD, years_ago(age)))
    assert reason.startswith("subjects.0.role: a child is under 18")
    assert "adult_at_risk" in reason and "care leaver" in reason, "the referrer is told where a young adult goes"


def test_coming_of_age_on_a_29_february_birthday():
    born = date(2008, 2, 29)
    assert ages.age_on(born, date(2026, 2, 28)) == 17
    assert ages.age_on(born, date(2026, 3, 1)) == 18


def test_an_adult_at_risk_under_18_is_refused_and_told_to_refer_a_child():
    [reason] = reasons(person(SubjectRole.ADULT_AT_RISK, years_ago(17, -1)))
    assert reason.startswith("subjects.0.role: an adult at risk is 18 or over") and "role child" in reason


def test_an_unborn_child_with_a_date_of_birth_is_refused():
    [reason] = reasons(person(SubjectRole.UNBORN_CHILD, TODAY - timedelta(days=3), TODAY + timedelta(days=60)))
    assert reason.startswith("subjects.0.date_of_birth: an unborn child has no date of birth")


def test_an_unborn_child_without_an_expected_date_is_refused():
    [reason] = reasons(person(SubjectRole.UNBORN_CHILD, checked=False))
    assert reason == "subjects.0.expected_date_of_birth: an unborn child needs an expected date of birth"


def test_an_expected_date_more_than_two_weeks_past_is_refused():
    [reason] = reasons(person(SubjectRole.UNBORN_CHILD, expected=TODAY - timedelta(days=15)))
    assert reason.startswith("subjects.0.expected_date_of_birth: is more than 14 days before") and "role child" in reason


def test_an_expected_date_more_than_ten_months_ahead_is_refused():
    [reason] = reasons(person(SubjectRole.UNBORN_CHILD, expected=TODAY + timedelta(days=306)))
    assert reason.startswith("subjects.0.expected_date_of_birth: is more than ten months after")


def test_an_expected_date_for_someone_born_is_refused():
    [reason] = reasons(person(SubjectRole.CHILD, years_ago(3), TODAY + timedelta(days=30), checked=False))
    assert reason.startswith("subjects.0.expected_date_of_birth: only an unborn child")


def test_every_subject_is_checked_and_named_by_its_place_without_echoing_the_dates():
    subjects = [
        person(SubjectRole.CHILD, years_ago(5)),
        person(SubjectRole.CHILD, TODAY + timedelta(days=9)),
        person(SubjectRole.CHILD, years_ago(19)),
    ]
    found = ages.problems(subjects, TODAY)
    assert [r.split(":")[0] for r in found] == ["subjects.1.date_of_birth", "subjects.2.role"]
    for s in subjects:
        assert all(s.date_of_birth.isoformat() not in r and str(s.date_of_birth.year) not in r for r in found)


def test_screening_refuses_an_impossible_age_and_judges_it_on_the_london_day(generator):
    s = generator.notification()
    baby = s.subjects[0].model_copy(update={"date_of_birth": date(2026, 7, 2)})
    s = s.model_copy(update={"subjects": [baby, *s.subjects[1:]]})
    with pytest.raises(Rejected) as refused:
        screening.accept(
            s, datetime(2026, 7, 1, 22, 30, tzinfo=UTC), referrer_system="northshire_schools"
        )  # 23:30 on 1 July in London
    assert refused.value.reasons[0].startswith("subjects.0.date_of_birth: is after the day")
    # 23:30 UTC is 00:30 on 2 July in London: the baby has been born
    assert screening.accept(s, datetime(2026, 7, 1, 23, 30, tzinfo=UTC), referrer_system="northshire_schools").subjects[
        0
    ].date_of_birth == date(2026, 7, 2)
