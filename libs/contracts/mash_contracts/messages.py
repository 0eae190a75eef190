"""Version 1 of every message the hub carries.

Rules that keep the mesh evolvable:
- every message names its `schema_version`; readers of version N accept N and ignore fields they do not
  know (an added optional field is a compatible change), except the inbound submission, which rejects
  unknown fields so an integrator's typo is an error rather than silently lost data;
- ids that a redelivery must reproduce (referral id, contribution and product ids) are derived, not random.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .vocabulary import (
    SUBJECTS_AT_RISK,
    AdultRoute,
    Agency,
    AlertKind,
    ConcernCategory,
    ConsentStatus,
    ContributionStatus,
    GroundsKind,
    LocationOfRisk,
    Outcome,
    ProtectiveFactor,
    RagRating,
    ReferrerKind,
    SourceOfRisk,
    StatutoryFooting,
    SubjectRole,
    ThresholdLevel,
)

# Field limits are part of the contract (documented in docs/contracts.md); the codec also caps message size.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]
Postcode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
]
NhsNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")]
ReferralId = Annotated[str, StringConstraints(pattern=r"^REF-[0-9A-F]{12}$")]


# The parts of a notification whose change sends the desks back to their records.
RESEARCHED_PARTS = frozenset({"subjects", "concern", "consent"})


def nhs_number_is_valid(value: str) -> bool:
    """Modulus 11 check digit, as the NHS issues them."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(value[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(value[9])


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # Readers accept any version from 1 up: a newer producer's message adds only optional fields, which an
    # older reader ignores (extra="ignore"); an older message reaches a newer reader through its upcasters.
    SCHEMA_VERSION: ClassVar[int] = 1
    schema_version: int = Field(1, ge=1)


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    line1: ShortText
    line2: ShortText | None = None
    town: ShortText
    postcode: Postcode


class Referrer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ReferrerKind
    agency: Agency | None = None
    organisation: ShortText | None = None
    role: ShortText | None = None
    name: ShortText | None = Field(None, description="Required unless the referrer is anonymous")
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ]{6,20}$")] | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    identity_protected: bool = False
    anonymous: bool = Field(
        False,
        description="A member of the public or a family member who gives no name and no contact: the concern is "
        "taken as any other, but nobody can tell them the outcome or ask them more. Professionals are never anonymous.",
    )

    @model_validator(mode="after")
    def _professionals_name_their_agency(self) -> Referrer:
        if self.kind is ReferrerKind.PROFESSIONAL and self.agency is None:
            raise ValueError("a professional referrer must name their agency")
        if self.anonymous:
            if self.kind not in (ReferrerKind.MEMBER_OF_PUBLIC, ReferrerKind.FAMILY_MEMBER):
                raise ValueError("only a member of the public or a family member may refer anonymously")
            if self.name or self.phone or self.email:
                raise ValueError("an anonymous referrer gives no name, phone number or email address")
            return self
        if self.name is None:
            raise ValueError("a referrer must give their name, or refer anonymously")
        if self.phone is None and self.email is None:
            raise ValueError("a referrer needs a phone number or an email address for feedback")
        return self


class Subject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_ref: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = Field(
        description="The referrer's label for this person, unique within the notification"
    )
    role: SubjectRole
    given_name: ShortText | None = None
    family_name: ShortText
    date_of_birth: date | None = None
    expected_date_of_birth: date | None = None
    nhs_number: NhsNumber | None = None
    address: Address | None = None

    @field_validator("nhs_number")
    @classmethod
    def _check_digit(cls, value: str | None) -> str | None:
        if value is not None and not nhs_number_is_valid(value):
            raise ValueError("NHS number fails its check digit")
        return value

    @model_validator(mode="after")
    def _dates_fit_the_role(self) -> Subject:
        if self.role is SubjectRole.UNBORN_CHILD:
            if self.expected_date_of_birth is None:
                raise ValueError("an unborn child needs an expected date of birth")
        elif self.expected_date_of_birth is not None:
            raise ValueError("only an unborn child has an expected date of birth")
        return self


class Concern(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    categories: Annotated[list[ConcernCategory], Field(min_length=1, max_length=20)]
    description: LongText
    occurred_at: datetime | None = None
    immediate_danger: bool = False
    protective_factors: Annotated[list[ProtectiveFactor], Field(max_length=10)] = Field(
        default_factory=list,
        description="Strengths the referrer reports (engaged parents, supportive wider family, "
        "universal services already involved, a trusted adult); the threshold model weighs them against the risks",
    )
    adult_at_risk: AdultAtRiskDetails | None = Field(
        None, description="About the adult(s) at risk the notification names; only with an adult_at_risk subject"
    )


class AdultAtRiskDetails(BaseModel):
    """What the referrer knows of the adult at risk, for the Care Act 2014 s42 test and Making Safeguarding Personal.
    Unknown is None: the hub's research (adult social care's records) may answer it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    care_and_support_needs: bool | None = Field(
        None,
        description="The adult appears to have needs for care and support (whether or not anyone is meeting them): "
        "the test's first part",
    )
    unable_to_protect_self: bool | None = Field(
        None,
        description="Because of those needs the adult cannot protect themselves from the abuse or neglect, or "
        "the risk of it: the test's third part",
    )
    aware_of_referral: bool | None = Field(None, description="The adult knows this concern is being raised")
    desired_outcomes: Annotated[list[LongText], Field(max_length=10)] = Field(
        default_factory=list,
        description="What the adult wants to happen, in their own words where possible (Making Safeguarding Personal); "
        "carried in the information product",
    )
    location_of_risk: LocationOfRisk | None = None
    source_of_risk: SourceOfRisk | None = None


class ConsentPosition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ConsentStatus
    reason: LongText | None = Field(None, description="Why consent was refused or not sought")

    @model_validator(mode="after")
    def _reason_unless_given(self) -> ConsentPosition:
        if self.status is not ConsentStatus.GIVEN and not self.reason:
            raise ValueError("a reason is required when consent was refused or not sought")
        return self


class NotificationSubmission(Message):
    """What a referrer sends to the front door. Topic: mash.notifications.submitted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    submission_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")] = Field(
        description="The referrer's own reference; resubmitting the same id is idempotent"
    )
    submitted_at: datetime
    referrer: Referrer
    subjects: Annotated[list[Subject], Field(min_length=1, max_length=30)]
    concern: Concern
    consent: ConsentPosition

    @model_validator(mode="after")
    def _someone_at_risk(self) -> NotificationSubmission:
        if not any(s.role in SUBJECTS_AT_RISK for s in self.subjects):
            raise ValueError("a notification must name at least one child, unborn child or adult at risk")
        refs = [s.subject_ref for s in self.subjects]
        if len(refs) != len(set(refs)):
            raise ValueError("subject_ref values must be unique within a notification")
        if self.concern.adult_at_risk is not None and not any(s.role is SubjectRole.ADULT_AT_RISK for s in self.subjects):
            raise ValueError("concern.adult_at_risk describes an adult at risk, but no subject has that role")
        return self


class Notification(NotificationSubmission):
    """An accepted notification, now a MASH referral. Topic: mash.notifications."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: uuid.UUID
    referral_id: ReferralId
    received_at: datetime
    rag: RagRating
    statutory_footing: StatutoryFooting = Field(description="Set at screening; the desks' lawful basis depends on it")
    revision: int = Field(
        1,
        ge=1,
        description="1 for the first submission; each changed resubmission under the same "
        "submission id is supplementary information and the next revision of the same referral",
    )
    changes: list[ShortText] = Field(
        default_factory=list,
        description="What changed since the previous revision: "
        "subjects, concern, consent, referrer; linked_submission when this revision is "
        "another submission linked to the referral as a duplicate",
    )
    linked_submission_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list,
        description="Every reference the referrer submitted this referral under, "
        "earliest first, when a submission under another reference was linked to it as a duplicate; empty when only one",
    )
    referrer_system: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$")] | None = Field(
        None,
        description="The enrolled referrer whose system sent it (the envelope's verified signer): its "
        "acknowledgements, rejections and outcome notice go to that referrer's own topics",
    )
    related_referral_id: ReferralId | None = Field(
        None,
        description="A submission naming both children and adults at risk is two referrals: the children's (under "
        "the submission's own referral id) and the adults' (under an id derived from it). Each names the other here.",
    )
    strand: Literal["whole", "children", "adults"] = Field(
        "whole",
        description="whole: the submission as sent; children or adults: one of the two referrals a mixed household's "
        "submission became (the adults' leaves the children out: their records are not the adults' enquiry's)",
    )

    @property
    def urgent(self) -> bool:
        """Red at screening: it and every answer about it travel the urgent lane."""
        return self.rag is RagRating.RED

    @property
    def needs_research(self) -> bool:
        """Whether the desks research this revision: the first always; a later one when who it is about, the
        concern or the consent changed (new contact details for the referrer change nothing the desks hold)."""
        return self.revision == 1 or bool(RESEARCHED_PARTS.intersection(self.changes))


class SharedItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    record_class: ShortText
    record_ref: ShortText | None = Field(None, description="The owning agency's reference, for follow-up with the desk")
    subject_refs: list[str] = Field(description="The notification's subjects this record is about")
    summary: LongText
    occurred_on: date | None = None
    relevance: LongText = Field(description="Why sharing this item is relevant and proportionate")
    sensitivity: list[ShortText] = Field(default_factory=list)
    signal_only: bool = Field(False, description="Information is held but not disclosed: contact the desk")
    match_confidence: float = Field(1.0, ge=0, le=1)


class UncertainMatch(BaseModel):
    """A possible record match the desk would not share as if certain."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject_ref: str
    confidence: float = Field(ge=0, le=1)
    matched_fields: list[ShortText]
    candidates: int


class Contribution(Message):
    """One agency desk's answer for one referral. Topic: mash.contributions.<agency>."""

    message_id: uuid.UUID
    referral_id: ReferralId
    agency: Agency
    status: ContributionStatus
    items: list[SharedItem] = Field(default_factory=list, max_length=500)
    findings: list[ShortText] = Field(default_factory=list, description="Risk indicators for the threshold model")
    finding_explanations: dict[str, LongText] = Field(
        default_factory=dict,
        description="Why each finding was reported, in words a manager reads (ids, counts, agencies "
        "and dates; no names); the decision's explanation quotes it",
    )
    uncertain_matches: list[UncertainMatch] = Field(default_factory=list, max_length=200)
    rationale: LongText
    policy_version: ShortText
    researched_at: datetime
    due_by: datetime | None = Field(None, description="The return deadline for this referral's RAG rating")
    late_reason: LongText | None = None
    disclosure_id: uuid.UUID | None = Field(None, description="The desk's disclosure record for this decision")
    notification_revision: int = Field(1, ge=1, description="The revision of the notification this answers")
    grounds_id: uuid.UUID | None = Field(
        None,
        description="The recorded s47 grounds this answer was researched under; "
        "it supersedes the desk's earlier answer for the same revision",
    )


class Factor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ShortText
    source: ShortText = Field(description="notification, or the agency whose contribution fired it")
    weight: int
    detail: LongText | None = Field(
        None,
        description="The full explanation a manager reads: what fired, from which "
        "contribution and disclosure record, and why it counts; never truncated",
    )
    disclosure_ids: list[uuid.UUID] = Field(default_factory=list, description="The desks' disclosure records behind it")


class RagChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    at: datetime
    from_rag: RagRating
    to_rag: RagRating
    reason: ShortText


class DeskReturn(BaseModel):
    """When a desk answered and by when it was due: times and a status only, for oversight of timeliness."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    agency: Agency
    status: ContributionStatus
    due_by: datetime | None = None
    researched_at: datetime


class Decision(Message):
    """The hub's decision on a referral. Topic: mash.decisions."""

    message_id: uuid.UUID
    referral_id: ReferralId
    level: ThresholdLevel
    outcome: Outcome
    rag: RagRating
    recipients: list[Agency]
    model_version: ShortText
    explanation: list[Factor]
    contributions: dict[Agency, ContributionStatus]
    decided_by: ShortText
    decided_at: datetime
    level_name: ShortText | None = Field(None, description="The level's name in the area's threshold model")
    score: int | None = None
    recommended_level: ThresholdLevel | None = Field(None, description="The model's level, when a manager overrode it")
    override_rationale: LongText | None = None
    no_answer: list[Agency] = Field(default_factory=list, description="Desks that missed the return deadline")
    rag_history: list[RagChange] = Field(default_factory=list)
    decision_due_by: datetime | None = None
    revision: int = Field(1, ge=1, description="The notification revision decided on; a later revision is re-decided")
    conflicts: list[Agency] = Field(default_factory=list, description="Desks that sent differing answers for this revision")
    grounds_id: uuid.UUID | None = Field(None, description="The recorded s47 grounds the desks researched under, if any")
    linked_submission_ids: list[str] = Field(
        default_factory=list,
        description="Every reference the referrer submitted "
        "this referral under, when a duplicate was linked to it; empty when only one",
    )
    returns: list[DeskReturn] = Field(
        default_factory=list,
        description="Each answer the decision rests on: when it "
        "came and by when it was due (the hub research service's timeliness figures read it)",
    )
    route: AdultRoute | None = Field(
        None,
        description="For an adult at risk: mash, or allocated_team when adult social care reports an allocated "
        "worker (that team's Safeguarding Adults Practice Consultant decides, on the same clock); None for children",
    )
    route_detail: LongText | None = Field(None, description="The allocated team, as adult social care reported it")
    related_referral_id: ReferralId | None = Field(None, description="The other referral of a mixed household")


class ResearchGrounds(Message):
    """A MASH manager's recorded s47 grounds (or strategy-discussion decision), sent to the desks so those that
    declined research without consent research again. Topic: mash.research.grounds. The notification is the
    referral's current revision with its statutory footing raised to s47."""

    message_id: uuid.UUID
    referral_id: ReferralId
    grounds_id: uuid.UUID
    kind: GroundsKind
    recorded_by: ShortText
    rationale: LongText
    recorded_at: datetime
    notification: Notification


class Alert(Message):
    """A deadline near or missed, a recommendation awaiting a manager, a re-grade. Topic: mash.alerts.
    Ids, ratings, times and agency names only: no personal data."""

    message_id: uuid.UUID
    referral_id: ReferralId
    kind: AlertKind
    rag: RagRating
    deadline: datetime | None = None
    detail: ShortText
    raised_at: datetime


class InformationProduct(Message):
    """What the hub sends to the agency that must act. Topic: mash.products.<agency>."""

    message_id: uuid.UUID
    referral_id: ReferralId
    recipient: Agency
    level: ThresholdLevel
    outcome: Outcome
    rag: RagRating
    summary: LongText
    subjects: list[Subject]
    concern: Concern
    shared_items: dict[Agency, list[SharedItem]]
    explanation: list[Factor]
    decided_at: datetime
    revision: int = Field(1, ge=1, description="Supersedes products for earlier revisions of the referral")
    level_name: ShortText | None = Field(None, description="The level's or outcome's name in the area's threshold model")
    route: AdultRoute | None = Field(None, description="For an adult at risk: who takes it forward (see Decision.route)")
    route_detail: LongText | None = None
    related_referral_id: ReferralId | None = Field(None, description="The other referral of a mixed household")


class Acknowledgement(Message):
    """Receipt to the referrer. Topic: mash.acknowledgements.<referrer>, keyed by submission id."""

    message_id: uuid.UUID
    submission_id: str
    referral_id: ReferralId
    received_at: datetime
    decision_due_by: datetime
    text: LongText
    revision: int = Field(1, ge=1, description="1 for a new referral; above 1 when the submission updated it")
    linked_to_submission_id: str | None = Field(
        None,
        description="Set when this submission was linked, as a duplicate, "
        "to the open referral the referrer made under this earlier reference",
    )
    related_referral_id: ReferralId | None = Field(
        None,
        description="Set when the submission named both children and adults at risk: the adults' referral, decided "
        "and routed on its own; referral_id is the children's",
    )


class OutcomeNotice(Message):
    """What the referrer is told once the hub has decided: the response, without sensitive detail.
    Topic: mash.outcomes.<referrer>, keyed by the referrer's submission id."""

    message_id: uuid.UUID
    submission_id: str
    referral_id: ReferralId
    decided_at: datetime
    text: LongText
    revision: int = Field(1, ge=1)


class Rejection(Message):
    """A submission the front door could not accept. Topic: mash.notifications.rejected.<referrer>, keyed by the
    record's key (or `unknown` when it had none)."""

    message_id: uuid.UUID
    submission_id: str | None = Field(description="The referrer's reference, when it could be read")
    reasons: list[str]
    rejected_at: datetime


class AuditAnchor(Message):
    """The head of a service's audit chain, signed by the service and kept outside its store, so a chain that was
    replaced or cut short fails `mash audit verify`. Topic: mash.audit.anchors, keyed by service. Hashes and ids only."""

    message_id: uuid.UUID
    service: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    store_id: uuid.UUID = Field(description="The store the chain is in (stamped by the service's `init`)")
    seq: int = Field(ge=1, description="The entry at the head of the chain")
    entry_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    at: datetime
    key_id: ShortText = Field(description="The service's signing key")
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")] = Field(
        description="Ed25519, hex, over 'mash-audit-anchor-1' 0x1f and the other fields but message_id as sorted-key JSON"
    )


class DeadLetter(Message):
    """A message a consumer could not process, kept with its original bytes. Topic: mash.deadletter."""

    dead_letter_id: uuid.UUID
    service: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_key_b64: str | None
    original_b64: str
    original_sealed_for: str | None = Field(
        None,
        description="Set when original_b64 is an envelope sealed for this principal around the original bytes: "
        "records from sealed topics may carry personal data even when they are not valid envelopes",
    )
    error_type: str
    error: str
    attempts: int
    failed_at: datetime
    # A reference-only letter: the letter with its original could not be written (too large for mash.deadletter),
    # so original_b64 is empty and the original is found on its source topic by its coordinates and digest.
    original_sha256: str | None = Field(
        None,
        description="Set only when the original is omitted (original_b64 empty): the SHA-256, in hex, of the "
        "original record's value",
    )
    original_size_bytes: int | None = Field(
        None, description="Set only when the original is omitted: the size of the original record's value in bytes"
    )

    @property
    def original_omitted(self) -> bool:
        return self.original_sha256 is not None
