from datetime import date

import pytest

from mash_contracts import Address, Subject, SubjectRole
from mash_desk.matching import dob_similarity, match_subject, score
from mash_desk.model import Candidate

pytestmark = pytest.mark.unit

JANE = Subject(
    subject_ref="parent1",
    role=SubjectRole.PARENT_CARER,
    given_name="Jane",
    family_name="Whitfield",
    date_of_birth=date(1990, 4, 3),
    address=Address(line1="1 High St", town="Anytown", postcode="AB1 2CD"),
)


def candidate(pid="X1", given="Jane", family="Whitfield", dob=date(1990, 4, 3), nhs=None, postcode="AB1 2CD"):
    return Candidate(pid, given, family, dob, nhs, postcode)


@pytest.mark.parametrize(
    "cand,certain,fields",
    [
        (candidate(), True, {"family_name", "given_name", "date_of_birth", "postcode"}),
        (candidate(family="Whitfeild"), True, {"family_name", "given_name", "date_of_birth", "postcode"}),  # typo
        (candidate(given="Janet", postcode="ZZ9 9ZZ"), False, {"family_name", "given_name", "date_of_birth"}),  # moved?
        (candidate(dob=date(1991, 4, 3), postcode="AB1 9XY"), False, {"family_name", "given_name"}),  # a year out, same district
    ],
)
def test_fuzzy_scores_explain_themselves(cand, certain, fields):
    m = score(JANE, cand)
    assert m is not None and m.certain is certain and set(m.matched_fields) == fields


def test_nicknames_count_as_the_same_given_name():
    bill = JANE.model_copy(update={"given_name": "William"})
    assert score(bill, candidate(given="Bill")).certain


def test_nhs_number_decides_both_ways():
    with_nhs = JANE.model_copy(update={"nhs_number": "9434765919"})
    assert score(with_nhs, candidate(nhs="9434765919", family="Someone", given="Else", dob=None)).confidence == 1.0
    assert score(with_nhs, candidate(nhs="9990000018")) is None, "different NHS numbers are different people"


def test_unrelated_people_do_not_match():
    assert score(JANE, candidate(given="Omar", family="Haddad", dob=date(1972, 1, 1), postcode="ZZ9 9ZZ")) is None


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (date(1990, 4, 3), date(1990, 3, 4), 0.7),
        (date(1990, 4, 3), date(1990, 4, 8), 0.7),
        (date(1990, 4, 3), date(1985, 6, 1), 0.0),
    ],
)
def test_date_of_birth_slips(a, b, expected):
    assert dob_similarity(a, b) == expected


def test_two_certain_candidates_are_reported_best_first():
    sure, maybe = match_subject(
        JANE, [candidate("A", family="Whitfeild"), candidate("B"), candidate("C", given="Omar", family="Haddad", dob=None)]
    )
    assert [m.person_id for m in sure] == ["B", "A"] and maybe == []
