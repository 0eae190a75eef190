"""What a desk works with: the agency's view of a person, its records, matches, and its answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mash_contracts import ContributionStatus, SharedItem, UncertainMatch


@dataclass(frozen=True)
class Candidate:
    """A person as the agency's own index holds them (names may be misspelt, NHS number missing)."""

    person_id: str
    given_name: str | None
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None
    postcode: str | None


@dataclass(frozen=True)
class Match:
    subject_ref: str
    person_id: str
    confidence: float
    matched_fields: tuple[str, ...]
    certain: bool


@dataclass(frozen=True)
class AgencyRecord:
    """One record, reduced to what a sharing decision needs. Summaries never name anyone: people appear
    through `parties` (agency person id -> role in the record), and the desk decides how to refer to them."""

    record_class: str
    ref: str
    occurred_on: date | None
    summary: str
    parties: dict[str, str]
    not_for_disclosure: bool = False
    sensitivity: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeskAnswer:
    status: ContributionStatus
    rationale: str
    items: tuple[SharedItem, ...] = ()
    findings: tuple[str, ...] = ()
    # Why each finding was reported: the summaries of the shared records that raised it (refs, dates, teams; no names).
    explanations: dict[str, str] = field(default_factory=dict)
    uncertain: tuple[UncertainMatch, ...] = ()
    withheld: tuple[dict[str, Any], ...] = field(default=())
    not_shared: tuple[dict[str, Any], ...] = field(default=())
    subjects: tuple[dict[str, Any], ...] = field(default=())
    lawful_basis: dict[str, Any] = field(default_factory=dict)
