"""An agency's sharing policy: versioned data (one TOML file per agency), evaluated by pure functions.

A record is shared when a rule of the policy covers it: its record class, one of the referral's concern
categories, the statutory footing, the role of the person it concerns, and a time window. Anything else is
not shared, and the reason is kept for the disclosure record.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mash_contracts import Agency, ConsentStatus, Notification, RagRating, StatutoryFooting

ANY = "*"


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    record_class: str
    concerns: list[str] = Field(description="Concern categories this record is relevant to, or *")
    footings: list[StatutoryFooting]
    roles: list[str] = Field([ANY], description="Roles of the referral subject the record is about, or *")
    window_months: int | None = Field(None, description="How far back the record may be; none: no limit")
    relevance: str
    finding: str | None = Field(None, description="Risk indicator for the threshold model when shared")
    finding_min: int = Field(1, description="How many shared records raise the finding")

    def covers_concern(self, concerns: set[str]) -> bool:
        return ANY in self.concerns or bool(concerns.intersection(self.concerns))

    def covers_role(self, role: str) -> bool:
        return ANY in self.roles or role in self.roles

    def in_window(self, occurred: date | None, today: date) -> bool:
        return (
            self.window_months is None
            or occurred is None
            or occurred >= today - timedelta(days=round(30.44 * self.window_months))
        )


class Legal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    art6: str
    condition: str
    onward_sharing: str


class WithoutConsent(BaseModel):
    """One legal footing on which the desk researches without the family's consent, as the policy states it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    footing: StatutoryFooting | Literal["*"] = Field(description="The referral's statutory footing it covers, or * for any")
    condition: str = Field(description="When it applies, in words the disclosure record repeats")
    cites: str = Field(description="The law or guidance relied on, cited on every disclosure record that uses it")

    def covers(self, footing: StatutoryFooting) -> bool:
        return self.footing == ANY or self.footing is footing


class SharingPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: Agency
    version: str
    source_system: str
    retention_years: int
    signal_not_for_disclosure: bool = False
    desk_contact: str
    legal: Legal
    research_without_consent: list[WithoutConsent] = Field(
        description="The desk's own legal footings for research without the family's consent; none covers: it declines"
    )
    return_hours: dict[RagRating, int]
    findings: list[str] = Field(description="The findings this desk may report; the decision service refuses any other from it")
    rules: list[Rule]

    @model_validator(mode="after")
    def _rules_report_declared_findings(self) -> SharingPolicy:
        undeclared = sorted({r.finding for r in self.rules if r.finding} - set(self.findings))
        if undeclared:
            raise ValueError(f"rules raise findings the policy does not declare: {', '.join(undeclared)}")
        return self

    @classmethod
    def load(cls, path: Path) -> SharingPolicy:
        return cls.model_validate(tomllib.loads(path.read_text()))


@dataclass(frozen=True)
class Grounds:
    """s47 grounds a MASH manager recorded for the referral (mash.research.grounds): what opens research without
    consent for the desks whose footing is significant harm (AB v Haringey [2013] EWHC 416 (Admin))."""

    grounds_id: str
    kind: str
    recorded_by: str
    recorded_at: str

    def cited(self) -> str:
        what = (
            "a strategy discussion's decision"
            if self.kind == "strategy_discussion"
            else "reasonable cause to suspect significant harm"
        )
        return f"{what} recorded by {self.recorded_by} at {self.recorded_at} (grounds {self.grounds_id})"


@dataclass(frozen=True)
class LawfulBasis:
    footing: StatutoryFooting
    consent: ConsentStatus
    without_consent_reason: str | None
    cites: str | None = None  # the legal text relied on for research without consent
    grounds: Grounds | None = None


def lawful_basis(notification: Notification, policy: SharingPolicy, grounds: Grounds | None = None) -> LawfulBasis | str:
    """The basis for researching this referral, or the reason the desk must decline. The policy's own
    `research_without_consent` entries decide, in order; recorded grounds are cited when the referral is researched on them."""
    footing, consent = notification.statutory_footing, notification.consent
    if consent.status is ConsentStatus.GIVEN:
        return LawfulBasis(footing, consent.status, None, grounds=grounds)
    entry = next((e for e in policy.research_without_consent if e.covers(footing)), None)
    if entry is not None:
        why = f"{entry.condition} ({entry.cites})"
        if grounds is not None:
            why += f"; on {grounds.cited()}"
        return LawfulBasis(footing, consent.status, f"{why}. Referrer: {consent.reason}", cites=entry.cites, grounds=grounds)
    return (
        f"Declined: consent {consent.status.value.replace('_', ' ')} and the referral is on a {footing.value} footing, "
        "under which this desk does not research without consent (AB v Haringey [2013] EWHC 416 (Admin)). "
        "The desk will research if consent is given or a MASH manager records s47 grounds."
    )


def applicable(
    rules: list[Rule],
    record_class: str,
    concerns: set[str],
    footing: StatutoryFooting,
    role: str,
    occurred: date | None,
    today: date,
) -> Rule | str:
    """The first rule that covers the record, or why none does."""
    of_class = [r for r in rules if r.record_class == record_class]
    if not of_class:
        return "this record class is not shared by policy"
    relevant = [r for r in of_class if r.covers_concern(concerns)]
    if not relevant:
        return "not relevant to the concerns raised"
    on_footing = [r for r in relevant if footing in r.footings]
    if not on_footing:
        return f"not shared on a {footing.value} footing"
    for_role = [r for r in on_footing if r.covers_role(role)]
    if not for_role:
        return f"not relevant for a {role.replace('_', ' ')}"
    for rule in for_role:
        if rule.in_window(occurred, today):
            return rule
    return "older than the policy's time window: not proportionate"
