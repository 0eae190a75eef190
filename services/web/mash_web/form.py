"""The referral form: what a person types, turned into the contract's NotificationSubmission, or into errors a person
can act on, each naming the field it belongs to (the GOV.UK error summary links to it). Pure: no web, no Kafka."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from mash_contracts import NotificationSubmission
from mash_contracts.vocabulary import (
    Agency,
    ConcernCategory,
    ConsentStatus,
    LocationOfRisk,
    ReferrerKind,
    SourceOfRisk,
    SubjectRole,
)

# What the form offers, in the words a person reads.
REFERRER_KINDS = {
    ReferrerKind.PROFESSIONAL: "I work with children, families or adults (a professional)",
    ReferrerKind.FAMILY_MEMBER: "I am a family member",
    ReferrerKind.MEMBER_OF_PUBLIC: "I am a member of the public",
    ReferrerKind.SELF: "I am worried about myself",
}
AGENCIES = {
    Agency.POLICE: "Police",
    Agency.HEALTH: "Health",
    Agency.EDUCATION: "Education (a school, college or nursery)",
    Agency.CHILDRENS_SOCIAL_CARE: "Children's social care",
    Agency.ADULT_SOCIAL_CARE: "Adult social care",
    Agency.EARLY_HELP: "Early help",
    Agency.PROBATION: "Probation",
    Agency.HOUSING: "Housing",
    Agency.OTHER: "Another organisation",
}
AT_RISK = {
    SubjectRole.CHILD: "A child or young person (under 18)",
    SubjectRole.UNBORN_CHILD: "An unborn baby",
    SubjectRole.ADULT_AT_RISK: "An adult who may be at risk",
}
CATEGORIES = {c: c.value.replace("_", " ").capitalize() for c in ConcernCategory}
CATEGORIES |= {
    ConcernCategory.FGM: "Female genital mutilation (FGM)",
    ConcernCategory.MISSING: "Missing from home, care or school",
    ConcernCategory.ALLEGATION_AGAINST_STAFF: "An allegation against someone who works with children",
    # The Care Act's categories of abuse and neglect of adults, in the statutory guidance's words.
    ConcernCategory.PSYCHOLOGICAL_ABUSE: "Psychological abuse (an adult)",
    ConcernCategory.FINANCIAL_ABUSE: "Financial or material abuse (an adult)",
    ConcernCategory.MODERN_SLAVERY: "Modern slavery",
    ConcernCategory.DISCRIMINATORY_ABUSE: "Discriminatory abuse (an adult)",
    ConcernCategory.ORGANISATIONAL_ABUSE: "Organisational abuse, in a care home, hospital or service (an adult)",
    ConcernCategory.SELF_NEGLECT: "Self-neglect (an adult not looking after themselves)",
}
ANONYMOUS_KINDS = (ReferrerKind.MEMBER_OF_PUBLIC, ReferrerKind.FAMILY_MEMBER)
YES_NO_UNKNOWN = {"yes": True, "no": False, "unknown": None}
LOCATIONS = {
    LocationOfRisk.OWN_HOME: "Their own home",
    LocationOfRisk.COMMUNITY: "Out in the community",
    LocationOfRisk.COMMUNITY_SERVICE: "A day centre or other community service",
    LocationOfRisk.CARE_HOME_RESIDENTIAL: "A residential care home",
    LocationOfRisk.CARE_HOME_NURSING: "A nursing home",
    LocationOfRisk.HOSPITAL_ACUTE: "A general hospital",
    LocationOfRisk.HOSPITAL_MENTAL_HEALTH: "A mental health hospital",
    LocationOfRisk.HOSPITAL_COMMUNITY: "A community hospital",
    LocationOfRisk.OTHER: "Somewhere else",
}
SOURCES = {
    SourceOfRisk.KNOWN_TO_INDIVIDUAL: "Someone they know (family, a partner, a friend, a neighbour)",
    SourceOfRisk.SERVICE_PROVIDER: "A care worker, care home or other service",
    SourceOfRisk.UNKNOWN_TO_INDIVIDUAL: "Someone they do not know",
    SourceOfRisk.SELF: "Themselves (they are not looking after themselves)",
}
CONSENT = {
    ConsentStatus.GIVEN: "Yes, they agreed",
    ConsentStatus.REFUSED: "No, they refused",
    ConsentStatus.NOT_SOUGHT: "No, I did not ask them",
}


@dataclass(frozen=True)
class FieldError:
    field: str  # the form field's name, which is also its element's id
    message: str


class FormErrors(ValueError):
    def __init__(self, errors: Sequence[FieldError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)

    def by_field(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.errors:
            out.setdefault(e.field, e.message)
        return out


def submission_from(answers: Mapping[str, Any], *, submission_id: str, now: datetime) -> NotificationSubmission:
    """The submission the answers describe. Raises FormErrors: first what a person left out or mistyped, in the
    form's order, then anything the contract itself refuses, mapped back to the field it is about."""
    a = _Answers(answers)
    errors: list[FieldError] = []

    kind = a.choice("referrer_kind", REFERRER_KINDS, "Select who you are", errors)
    agency = None
    if kind is ReferrerKind.PROFESSIONAL:
        agency = a.choice("referrer_agency", AGENCIES, "Select the organisation you work for", errors)
    # Anonymous: a member of the public or family member gives no name or contact; whatever was typed is dropped.
    # Not answered, but a name or contact typed (a browser without JavaScript, an older draft): they chose not to be.
    anonymous = a.text("anonymous") == "yes"
    typed = any(a.text(f) for f in ("referrer_name", "referrer_phone", "referrer_email"))
    answered = a.text("anonymous") in ("yes", "no") or typed
    if anonymous and kind is not None and kind not in ANONYMOUS_KINDS:
        errors.append(FieldError("anonymous", "Only a member of the public or a family member can refer anonymously"))
    may_stay_anonymous = kind is None or kind in ANONYMOUS_KINDS
    if not answered:
        errors.append(
            FieldError(
                "anonymous",
                "Select whether you want to stay anonymous"
                if may_stay_anonymous
                else "Select no, then give your name and a phone number or an email address",
            )
        )
    name = "" if anonymous else a.text("referrer_name")
    phone, email = ("", "") if anonymous else (a.text("referrer_phone"), a.text("referrer_email"))
    if not anonymous and answered:
        if not name:
            errors.append(
                FieldError(
                    "referrer_name", "Enter your name, or choose to stay anonymous" if may_stay_anonymous else "Enter your name"
                )
            )
        if not phone and not email:
            errors.append(FieldError("referrer_phone", "Enter a phone number or an email address, so the MASH can contact you"))
    protected = a.text("identity_protected") == "yes" and not anonymous

    role = a.choice("subject_role", AT_RISK, "Select who you are worried about", errors)
    family_name = a.text("subject_family_name")
    if not family_name:
        errors.append(FieldError("subject_family_name", "Enter their last name"))
    born = a.date("subject_dob", "date of birth" if role is not SubjectRole.UNBORN_CHILD else "due date", errors)
    if role is SubjectRole.UNBORN_CHILD and born is None and not _has_error(errors, "subject_dob"):
        errors.append(FieldError("subject_dob", "Enter the baby's due date"))
    address = _address(a, errors)

    categories = a.choices("categories", CATEGORIES)
    if not categories:
        errors.append(FieldError("categories", "Select what you are worried about"))
    description = a.text("description")
    if not description:
        errors.append(FieldError("description", "Describe what has happened and why you are worried"))
    danger = a.text("immediate_danger")
    if danger not in ("yes", "no"):
        errors.append(FieldError("immediate_danger", "Select yes if they are in danger now"))

    adult = _adult_details(a, errors) if role is SubjectRole.ADULT_AT_RISK else None

    consent = a.choice("consent", CONSENT, "Select whether the family agreed to this referral", errors)
    consent_reason = a.text("consent_reason")
    if consent in (ConsentStatus.REFUSED, ConsentStatus.NOT_SOUGHT) and not consent_reason:
        errors.append(FieldError("consent_reason", "Explain why consent was refused or not sought"))
    if errors:
        raise FormErrors(errors)

    subject: dict[str, Any] = {
        "subject_ref": "s1",
        "role": role,
        "given_name": a.text("subject_given_name") or None,
        "family_name": family_name,
        "address": address,
    }
    subject["expected_date_of_birth" if role is SubjectRole.UNBORN_CHILD else "date_of_birth"] = born
    raw = {
        "submission_id": submission_id,
        "submitted_at": now,
        "referrer": {
            "kind": kind,
            "agency": agency,
            "organisation": a.text("referrer_organisation") or None,
            "role": a.text("referrer_role") or None,
            "name": name or None,
            "phone": phone or None,
            "email": email or None,
            "identity_protected": protected,
            "anonymous": anonymous,
        },
        "subjects": [subject],
        "concern": {
            "categories": categories,
            "description": description,
            "immediate_danger": danger == "yes",
            "adult_at_risk": adult,
        },
        "consent": {"status": consent, "reason": consent_reason or None},
    }
    try:
        return NotificationSubmission.model_validate(raw)
    except ValidationError as e:
        raise FormErrors([_field_error(err) for err in e.errors()]) from None


def _adult_details(a: _Answers, errors: list[FieldError]) -> dict:
    """What the referrer knows of an adult at risk (the Care Act s42 test's parts; what the adult wants)."""
    out: dict[str, Any] = {}
    for field, key, missing in (
        ("adult_needs", "care_and_support_needs", "Select whether they need care and support, or that you do not know"),
        ("adult_unable", "unable_to_protect_self", "Select whether they can protect themselves, or that you do not know"),
        ("adult_aware", "aware_of_referral", "Select whether they know you are telling us, or that you do not know"),
    ):
        value = a.text(field)
        if value not in YES_NO_UNKNOWN:
            errors.append(FieldError(field, missing))
        out[key] = YES_NO_UNKNOWN.get(value)
    wants = [line.strip() for line in a.text("adult_wants").splitlines() if line.strip()]
    if len(wants) > 10:
        errors.append(FieldError("adult_wants", "Write at most 10 things they want to happen, one on each line"))
    out["desired_outcomes"] = wants[:10]
    out["location_of_risk"] = next((o for o in LOCATIONS if o.value == a.text("adult_location")), None)
    out["source_of_risk"] = next((o for o in SOURCES if o.value == a.text("adult_source")), None)
    return out


def _has_error(errors: list[FieldError], field: str) -> bool:
    return any(e.field == field for e in errors)


def _address(a: _Answers, errors: list[FieldError]) -> dict | None:
    line1, town, postcode = a.text("address_line1"), a.text("address_town"), a.text("address_postcode").upper()
    if not (line1 or town or postcode):
        return None  # a referrer may not know it
    if not line1:
        errors.append(FieldError("address_line1", "Enter the first line of their address, or leave the address empty"))
    if not town:
        errors.append(FieldError("address_town", "Enter their town or city, or leave the address empty"))
    if not postcode:
        errors.append(FieldError("address_postcode", "Enter their postcode, or leave the address empty"))
    return {"line1": line1, "line2": a.text("address_line2") or None, "town": town, "postcode": postcode}


# The contract's own refusals, mapped back to the field a person can correct.
_FIELD_OF = {
    ("referrer", "phone"): ("referrer_phone", "Enter a phone number in the correct format, like 01632 960 001"),
    ("referrer", "email"): ("referrer_email", "Enter an email address in the correct format, like name@example.com"),
    ("referrer", "name"): ("referrer_name", "Your name must be 120 characters or fewer"),
    ("referrer", "organisation"): ("referrer_organisation", "The organisation must be 120 characters or fewer"),
    ("referrer", "role"): ("referrer_role", "Your role must be 120 characters or fewer"),
    ("subjects", 0, "family_name"): ("subject_family_name", "Their last name must be 120 characters or fewer"),
    ("subjects", 0, "given_name"): ("subject_given_name", "Their first name must be 120 characters or fewer"),
    ("subjects", 0, "address", "postcode"): ("address_postcode", "Enter a real postcode, like NE1 4ST"),
    ("subjects", 0, "address", "line1"): ("address_line1", "The first line of the address must be 120 characters or fewer"),
    ("subjects", 0, "address", "town"): ("address_town", "The town must be 120 characters or fewer"),
    ("concern", "description"): ("description", "The description must be 8,000 characters or fewer"),
    ("consent", "reason"): ("consent_reason", "The explanation must be 8,000 characters or fewer"),
    ("concern", "adult_at_risk", "desired_outcomes"): ("adult_wants", "Each thing they want must be 8,000 characters or fewer"),
}


def _field_error(err: Mapping[str, Any]) -> FieldError:
    loc = tuple(err.get("loc", ()))
    for length in range(len(loc), 0, -1):
        if loc[:length] in _FIELD_OF:
            field, message = _FIELD_OF[loc[:length]]
            return FieldError(field, message)
    # A model-level check (the referrer, the subject, the consent): its own words, on the section's first field.
    section = {"referrer": "referrer_name", "subjects": "subject_family_name", "consent": "consent", "concern": "description"}
    message = str(err.get("msg", "Check this answer")).removeprefix("Value error, ")
    return FieldError(section.get(str(loc[0]) if loc else "", "referrer_kind"), message[:1].upper() + message[1:])


class _Answers:
    def __init__(self, answers: Mapping[str, Any]):
        self._answers = answers

    def text(self, field: str) -> str:
        value = self._answers.get(field, "")
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else ""
        return str(value).strip()

    def choice(self, field: str, allowed: Mapping[Any, str], missing: str, errors: list[FieldError]) -> Any:
        value = self.text(field)
        for option in allowed:
            if option.value == value:
                return option
        errors.append(FieldError(field, missing))
        return None

    def choices(self, field: str, allowed: Mapping[Any, str]) -> list[Any]:
        given = self._answers.get(field, [])
        values = [given] if isinstance(given, str) else list(given)
        return [option for option in allowed if option.value in values]

    def date(self, field: str, what: str, errors: list[FieldError]) -> date | None:
        """A GOV.UK date input: `<field>-day`, `-month`, `-year`. Empty is None; anything else must be a real date."""
        parts = [self.text(f"{field}-{p}") for p in ("day", "month", "year")]
        if not any(parts):
            return None
        if not all(parts):
            missing = [p for p, v in zip(("day", "month", "year"), parts, strict=True) if not v]
            errors.append(FieldError(field, f"The {what} must include a {' and a '.join(missing)}"))
            return None
        try:
            day, month, year = (int(p) for p in parts)
            if year < 1900:
                raise ValueError
            return date(year, month, day)
        except ValueError:
            errors.append(FieldError(field, f"The {what} must be a real date"))
            return None
