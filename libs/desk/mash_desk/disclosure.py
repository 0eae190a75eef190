"""The disclosure record: one per desk decision, shared or declined, kept by the desk (the data owner).

Fields follow the information-sharing guidance: who decided under which policy, about whom, for which
referral and purpose, on what legal basis and consent position, what was shared and why, what was not and
why, whose identity was withheld, who may receive it and on what terms, and how long it is kept.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, MetaData, String, Table, Text, insert, select
from sqlalchemy.orm import Session

from mash_contracts import Notification, derived_id

from .model import DeskAnswer
from .policy import SharingPolicy

metadata = MetaData()

disclosures = Table(
    "disclosure_records",
    metadata,
    Column("disclosure_id", String(36), primary_key=True),
    Column("referral_id", String(16), nullable=False, index=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("retain_until", Date, nullable=False),
    Column("record", Text, nullable=False),  # the full record as JSON
)


@dataclass(frozen=True)
class DisclosureRecord:
    disclosure_id: str
    recorded_at: str
    disclosing_agency: str
    decided_by: str
    approver: str
    source_system: str
    referral_id: str
    purpose: str
    data_subjects: list[dict[str, Any]]
    statutory_footing: str
    art6_basis: str
    special_category_condition: str
    consent_status: str
    reason_without_consent: str | None
    family_informed: str
    outcome: str
    items_shared: list[dict[str, Any]]
    not_shared: list[dict[str, Any]]
    identities_withheld: list[dict[str, Any]]
    uncertain_matches: list[dict[str, Any]]
    record_refs: list[str]
    recipients: str
    onward_sharing: str
    sensitivity_flags: list[str]
    retain_until: str
    declined_reason: str | None
    legal_basis_cited: str | None = None  # the policy's research_without_consent entry relied on
    grounds: dict[str, Any] | None = None  # the s47 grounds a MASH manager recorded, when researched on them


def disclosure_id_for(referral_id: str, agency: str, revision: int = 1, grounds_id: str | None = None) -> uuid.UUID:
    """One disclosure record per desk per researched revision of a referral, and one more per recorded grounds."""
    if grounds_id is not None:
        return derived_id("disclosure", referral_id, agency, "grounds", grounds_id, str(revision))
    return (
        derived_id("disclosure", referral_id, agency)
        if revision == 1
        else derived_id("disclosure", referral_id, agency, str(revision))
    )


def build(
    notification: Notification, policy: SharingPolicy, answer: DeskAnswer, now: datetime, grounds_id: str | None = None
) -> DisclosureRecord:
    basis = answer.lawful_basis
    retain_until = date(now.year + policy.retention_years, now.month, min(now.day, 28))
    referrer_note = " The referrer's identity is protected and is not shared." if notification.referrer.identity_protected else ""
    return DisclosureRecord(
        disclosure_id=str(disclosure_id_for(notification.referral_id, policy.agency.value, notification.revision, grounds_id)),
        recorded_at=now.isoformat(),
        disclosing_agency=policy.agency.value,
        decided_by=f"automatic under policy {policy.version}",
        approver=f"policy {policy.version} (approved by the agency's MASH lead)",
        source_system=policy.source_system,
        referral_id=notification.referral_id,
        purpose=f"Safeguarding research for MASH referral {notification.referral_id} "
        f"({', '.join(c.value for c in notification.concern.categories)})",
        data_subjects=list(answer.subjects)
        or [{"subject_ref": s.subject_ref, "role": s.role.value, "agency_person_id": None} for s in notification.subjects],
        statutory_footing=basis.get("statutory_footing", notification.statutory_footing.value),
        art6_basis=policy.legal.art6,
        special_category_condition=policy.legal.condition,
        consent_status=notification.consent.status.value,
        reason_without_consent=basis.get("without_consent_reason"),
        family_informed=(
            "Family aware: consent was given."
            if notification.consent.status.value == "given"
            else "Family not informed by the desk: informing them is the MASH manager's decision, made with the referral."
        )
        + referrer_note,
        outcome=answer.status.value,
        items_shared=[
            {
                "record_ref": i.record_ref,
                "record_class": i.record_class,
                "subject_refs": i.subject_refs,
                "relevance": i.relevance,
                "signal_only": i.signal_only,
                "match_confidence": i.match_confidence,
            }
            for i in answer.items
        ],
        not_shared=list(answer.not_shared),
        identities_withheld=list(answer.withheld),
        uncertain_matches=[u.model_dump() for u in answer.uncertain],
        record_refs=sorted({i.record_ref for i in answer.items if i.record_ref} | {n["record_ref"] for n in answer.not_shared}),
        recipients="MASH decision service (sealed to the hub)",
        onward_sharing=policy.legal.onward_sharing,
        sensitivity_flags=sorted({s for i in answer.items for s in i.sensitivity}),
        retain_until=retain_until.isoformat(),
        declined_reason=basis.get("declined"),
        legal_basis_cited=basis.get("cites"),
        grounds=basis.get("grounds"),
    )


def already_recorded(session: Session, disclosure_id: str) -> bool:
    return (
        session.execute(select(disclosures.c.disclosure_id).where(disclosures.c.disclosure_id == disclosure_id)).first()
        is not None
    )


def save(session: Session, record: DisclosureRecord) -> None:
    session.execute(
        insert(disclosures).values(
            disclosure_id=record.disclosure_id,
            referral_id=record.referral_id,
            recorded_at=datetime.fromisoformat(record.recorded_at),
            outcome=record.outcome,
            retain_until=date.fromisoformat(record.retain_until),
            record=json.dumps(asdict(record)),
        )
    )


def for_referral(session: Session, referral_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(disclosures.c.record).where(disclosures.c.referral_id == referral_id)).all()
    return [json.loads(r.record) for r in rows]
