"""The web front door's form: good answers become the contract's submission; missing or mistyped ones become errors
naming the field a person must correct, in the form's order, and the contract's own refusals map back to a field."""

from datetime import UTC, date, datetime

import pytest

from mash_contracts.vocabulary import ConcernCategory, ConsentStatus, ReferrerKind, SubjectRole
from mash_web.form import FormErrors, submission_from

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

GOOD = {
    "referrer_kind": "member_of_public",
    "referrer_name": "Sam Neighbour",
    "referrer_phone": "01632 960001",
    "identity_protected": "yes",
    "subject_role": "child",
    "subject_given_name": "Ava",
    "subject_family_name": "Testcase",
    "subject_dob-day": "3",
    "subject_dob-month": "4",
    "subject_dob-year": "2019",
    "address_line1": "1 Synthetic Row",
    "address_town": "Northshire",
    "address_postcode": "ne1 4st",
    "categories": ["neglect", "domestic_abuse"],
    "description": "Shouting every night and the child is often left alone in the garden after dark.",
    "immediate_danger": "no",
    "consent": "not_sought",
    "consent_reason": "I do not know the family well enough to ask them.",
}


def errors_of(answers) -> dict[str, str]:
    with pytest.raises(FormErrors) as e:
        submission_from(answers, submission_id="WEB-1", now=NOW)
    return e.value.by_field()


def test_good_answers_become_the_contracts_submission():
    s = submission_from(GOOD, submission_id="WEB-1", now=NOW)
    assert s.referrer.kind is ReferrerKind.MEMBER_OF_PUBLIC and s.referrer.identity_protected
    [child] = s.subjects
    assert (child.role, child.date_of_birth, child.address.postcode) == (SubjectRole.CHILD, date(2019, 4, 3), "NE1 4ST")
    assert set(s.concern.categories) == {ConcernCategory.NEGLECT, ConcernCategory.DOMESTIC_ABUSE}
    assert s.consent.status is ConsentStatus.NOT_SOUGHT and not s.concern.immediate_danger


def test_an_empty_form_names_every_field_a_person_must_answer_in_order():
    errors = errors_of({})
    assert list(errors) == [
        "referrer_kind",
        "anonymous",  # the name and contact questions are revealed by answering it
        "subject_role",
        "subject_family_name",
        "categories",
        "description",
        "immediate_danger",
        "consent",
    ]
    assert errors["anonymous"] == "Select whether you want to stay anonymous"
    assert errors_of({"anonymous": "no"})["referrer_phone"].startswith("Enter a phone number or an email address")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"referrer_kind": "professional"}, "referrer_agency", "organisation you work for"),
        ({"subject_dob-month": ""}, "subject_dob", "must include a month"),
        ({"subject_dob-day": "31", "subject_dob-month": "2"}, "subject_dob", "real date"),
        ({"address_postcode": "NOT A CODE"}, "address_postcode", "real postcode"),
        ({"address_town": ""}, "address_town", "town or city"),
        ({"referrer_phone": "call me maybe"}, "referrer_phone", "correct format"),
        ({"consent": "refused", "consent_reason": ""}, "consent_reason", "Explain why"),
        (
            {"subject_role": "unborn_child", "subject_dob-day": "", "subject_dob-month": "", "subject_dob-year": ""},
            "subject_dob",
            "due date",
        ),
        ({"categories": ["not_a_category"]}, "categories", "Select what you are worried about"),
    ],
)
def test_each_wrong_answer_is_named_on_its_own_field(change, field, words):
    errors = errors_of(GOOD | change)
    assert words in errors[field], errors


def test_an_unborn_baby_has_a_due_date_not_a_date_of_birth():
    s = submission_from(GOOD | {"subject_role": "unborn_child", "subject_dob-year": "2027"}, submission_id="WEB-2", now=NOW)
    assert s.subjects[0].expected_date_of_birth == date(2027, 4, 3) and s.subjects[0].date_of_birth is None


def test_a_member_of_the_public_may_stay_anonymous_and_what_they_typed_is_dropped():
    s = submission_from({**GOOD, "anonymous": "yes"}, submission_id="WEB-2", now=NOW)
    assert s.referrer.anonymous and (s.referrer.name, s.referrer.phone, s.referrer.email) == (None, None, None)
    assert not s.referrer.identity_protected, "nothing to protect: there is no identity"
    bare = {k: v for k, v in GOOD.items() if not k.startswith("referrer_") or k == "referrer_kind"}
    assert submission_from({**bare, "anonymous": "yes"}, submission_id="WEB-3", now=NOW).referrer.anonymous
    no = {**bare, "anonymous": "no"}
    assert list(errors_of(no)) == ["referrer_name", "referrer_phone"], "without anonymity a name and a contact"
    assert "stay anonymous" in errors_of(no)["referrer_name"]
    pro = {**bare, "referrer_kind": "professional", "referrer_agency": "education", "anonymous": "yes"}
    assert errors_of(pro) == {"anonymous": "Only a member of the public or a family member can refer anonymously"}
    assert errors_of({**pro, "referrer_kind": "self"}) == {
        "anonymous": "Only a member of the public or a family member can refer anonymously"
    }


def test_the_anonymous_question_must_be_answered_unless_a_name_or_contact_says_no():
    # The name and contact fields are revealed by answering "no": an error on them alone could point at hidden fields.
    bare = {k: v for k, v in GOOD.items() if not k.startswith("referrer_") or k == "referrer_kind"}
    assert errors_of(bare) == {"anonymous": "Select whether you want to stay anonymous"}
    pro = {**bare, "referrer_kind": "professional", "referrer_agency": "education"}
    assert errors_of(pro) == {"anonymous": "Select no, then give your name and a phone number or an email address"}
    assert errors_of({**pro, "anonymous": "no"})["referrer_name"] == "Enter your name", "a professional cannot hide"
    # A browser without JavaScript shows every field: a name and contact typed, the question skipped, means "no".
    s = submission_from(GOOD, submission_id="WEB-6", now=NOW)
    assert not s.referrer.anonymous and s.referrer.name == "Sam Neighbour"
    assert list(errors_of({**bare, "referrer_email": "sam@example.com"})) == ["referrer_name"]


ADULT = {
    **GOOD,
    "subject_role": "adult_at_risk",
    "subject_dob-year": "1941",
    "categories": ["financial_abuse", "self_neglect"],
    "adult_needs": "yes",
    "adult_unable": "unknown",
    "adult_aware": "no",
    "adult_wants": "To stay in my own home\n\n  For my son not to have my bank card  ",
    "adult_location": "own_home",
    "adult_source": "known_to_individual",
}


def test_an_adult_at_risk_carries_what_the_referrer_knows_for_the_care_act_test():
    s = submission_from(ADULT, submission_id="WEB-4", now=NOW)
    told = s.concern.adult_at_risk
    assert (told.care_and_support_needs, told.unable_to_protect_self, told.aware_of_referral) == (True, None, False)
    assert told.desired_outcomes == ["To stay in my own home", "For my son not to have my bank card"]
    assert (told.location_of_risk.value, told.source_of_risk.value) == ("own_home", "known_to_individual")
    assert {c.value for c in s.concern.categories} == {"financial_abuse", "self_neglect"}
    missing = {k: v for k, v in ADULT.items() if k not in ("adult_needs", "adult_unable", "adult_aware")}
    assert list(errors_of(missing)) == ["adult_needs", "adult_unable", "adult_aware"]
    # A child's referral asks none of it, whatever was typed into those fields.
    assert submission_from({**GOOD, "adult_needs": "yes"}, submission_id="WEB-5", now=NOW).concern.adult_at_risk is None
