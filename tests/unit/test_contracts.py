import json
import uuid

import pytest
from pydantic import ValidationError

from mash_contracts import Notification, NotificationSubmission, RagRating, SubjectRole, UnreadableMessage, decode, encode
from mash_contracts.codec import MAX_MESSAGE_BYTES
from mash_contracts.messages import nhs_number_is_valid

pytestmark = pytest.mark.unit


def as_dict(submission: NotificationSubmission) -> dict:
    return json.loads(submission.model_dump_json())


def test_submission_round_trips_through_the_codec(generator):
    s = generator.notification()
    assert decode(NotificationSubmission, encode(s)) == s


@pytest.mark.parametrize("number,valid", [("9434765919", True), ("9434765918", False), ("9990000018", True)])
def test_nhs_number_check_digit(number, valid):
    assert nhs_number_is_valid(number) is valid


def test_invalid_nhs_number_is_rejected(generator):
    d = as_dict(generator.notification())
    d["subjects"][0]["nhs_number"] = "9434765918"
    with pytest.raises(ValidationError, match="check digit"):
        NotificationSubmission.model_validate(d)


def test_a_notification_must_name_someone_at_risk(generator):
    d = as_dict(generator.notification())
    d["subjects"] = [s for s in d["subjects"] if s["role"] != SubjectRole.CHILD]
    with pytest.raises(ValidationError, match="at least one child"):
        NotificationSubmission.model_validate(d)


def test_unborn_child_needs_expected_date(generator):
    d = as_dict(generator.notification())
    d["subjects"][0]["role"] = "unborn_child"
    d["subjects"][0]["date_of_birth"] = None
    with pytest.raises(ValidationError, match="expected date of birth"):
        NotificationSubmission.model_validate(d)
    d["subjects"][0]["expected_date_of_birth"] = "2027-03-01"
    assert NotificationSubmission.model_validate(d).subjects[0].role is SubjectRole.UNBORN_CHILD


def test_consent_not_sought_needs_a_reason(generator):
    d = as_dict(generator.notification())
    d["consent"] = {"status": "not_sought"}
    with pytest.raises(ValidationError, match="reason is required"):
        NotificationSubmission.model_validate(d)


def test_unknown_concern_category_is_rejected(generator):
    d = as_dict(generator.notification())
    d["concern"]["categories"] = ["burglary"]
    with pytest.raises(ValidationError):
        NotificationSubmission.model_validate(d)


def test_submission_rejects_unknown_fields_but_internal_messages_ignore_them(generator):
    d = as_dict(generator.notification())
    with pytest.raises(ValidationError, match="Extra inputs"):
        NotificationSubmission.model_validate(d | {"child_name_typo": "x"})
    accepted = d | {
        "message_id": str(uuid.uuid4()),
        "referral_id": "REF-0123456789AB",
        "received_at": d["submitted_at"],
        "rag": "green",
        "statutory_footing": "s17",
        "added_in_v2": {"anything": 1},
    }
    assert Notification.model_validate(accepted).rag is RagRating.GREEN


def test_decode_reasons_never_echo_the_input(generator):
    d = as_dict(generator.notification())
    canary = "Zebedee Canarywhistle"
    d["subjects"][0]["date_of_birth"] = canary
    with pytest.raises(UnreadableMessage) as e:
        decode(NotificationSubmission, json.dumps(d).encode())
    assert "subjects.0.date_of_birth" in str(e.value)
    assert canary not in str(e.value)


@pytest.mark.parametrize(
    "raw,reason",
    [(None, "tombstone"), (b"\xff\xfe\x00", "not UTF-8"), (b"x" * (MAX_MESSAGE_BYTES + 1), "exceeds"), (b"[1, 2", "message")],
)
def test_decode_explains_unreadable_bytes(raw, reason):
    with pytest.raises(UnreadableMessage, match=reason):
        decode(NotificationSubmission, raw)


def test_only_the_public_or_family_may_refer_anonymously_and_then_give_nothing_that_identifies_them(generator):
    d = as_dict(generator.notification())
    d["referrer"] = {"kind": "member_of_public", "anonymous": True}
    assert NotificationSubmission.model_validate(d).referrer.name is None
    with pytest.raises(ValidationError, match="gives no name"):
        NotificationSubmission.model_validate({**d, "referrer": {**d["referrer"], "phone": "01632 960001"}})
    with pytest.raises(ValidationError, match="only a member of the public or a family member"):
        NotificationSubmission.model_validate(
            {**d, "referrer": {"kind": "professional", "agency": "education", "anonymous": True}}
        )
    with pytest.raises(ValidationError, match="must give their name"):
        NotificationSubmission.model_validate({**d, "referrer": {"kind": "member_of_public", "phone": "01632 960001"}})


def test_adult_at_risk_details_need_an_adult_at_risk(generator):
    d = as_dict(generator.notification())
    d["concern"]["adult_at_risk"] = {"care_and_support_needs": True, "desired_outcomes": ["To stay at home"]}
    with pytest.raises(ValidationError, match="no subject has that role"):
        NotificationSubmission.model_validate(d)
    d["subjects"][0]["role"] = "adult_at_risk"
    assert NotificationSubmission.model_validate(d).concern.adult_at_risk.desired_outcomes == ["To stay at home"]
