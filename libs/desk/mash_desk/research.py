"""A desk's research for one referral: lawful basis, matching, selection by the agency's policy.

Pure apart from the RecordSource it is given, which reads the agency's own records (SQL here; a FHIR or
case-management API in a real deployment).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import asdict
from datetime import date
from typing import Any, Protocol

from mash_contracts import ContributionStatus, Notification, SharedItem, Subject, UncertainMatch

from .linkage import SIBLING, linked_children
from .matching import match_subject
from .model import AgencyRecord, Candidate, DeskAnswer, Match
from .policy import Grounds, LawfulBasis, Rule, SharingPolicy, applicable, lawful_basis

THIRD_PARTY = "a third party (identity withheld)"


class RecordSource(Protocol):
    def candidates(self, subject: Subject) -> list[Candidate]: ...

    def records_for(self, person_ids: Collection[str]) -> list[AgencyRecord]: ...


def research(
    notification: Notification, policy: SharingPolicy, source: RecordSource, today: date, grounds: Grounds | None = None
) -> DeskAnswer:
    basis = lawful_basis(notification, policy, grounds)
    if isinstance(basis, str):
        return DeskAnswer(ContributionStatus.DECLINED, basis, lawful_basis=_basis_record(notification, policy, None, basis))
    matches, uncertain = match_subjects(notification.subjects, source)
    records = source.records_for(list(matches)) if matches else []
    linked = linked_children(notification, matches, records)
    if linked:
        records += source.records_for(list(linked))
    return select(notification, policy, basis, matches, uncertain, records, today, linked)


def match_subjects(subjects: list[Subject], source: RecordSource) -> tuple[dict[str, Match], list[UncertainMatch]]:
    """Certain matches by agency person id, and the subjects only possibly matched."""
    certain: dict[str, Match] = {}
    uncertain: list[UncertainMatch] = []
    for subject in subjects:
        sure, maybe = match_subject(subject, source.candidates(subject))
        if len(sure) == 1 or (sure and sure[0].matched_fields == ("nhs_number",)):
            certain[sure[0].person_id] = sure[0]
        elif sure or maybe:
            # Two "certain" candidates for one subject is itself uncertainty: share neither.
            pool = sure + maybe
            best = pool[0]
            uncertain.append(
                UncertainMatch(
                    subject_ref=subject.subject_ref,
                    confidence=best.confidence,
                    matched_fields=list(best.matched_fields),
                    candidates=len(pool),
                )
            )
    return certain, uncertain


def select(
    notification: Notification,
    policy: SharingPolicy,
    basis: LawfulBasis,
    matches: dict[str, Match],
    uncertain: list[UncertainMatch],
    records: list[AgencyRecord],
    today: date,
    linked: dict[str, Match] | None = None,
) -> DeskAnswer:
    """`linked`: children the referral does not name, linked to it through a matched parent (see linkage.py),
    each with that parent's match; their records are judged in the role `sibling` and their identities withheld."""
    linked = linked or {}
    concerns = {c.value for c in notification.concern.categories}
    roles = {s.subject_ref: s.role.value for s in notification.subjects}
    items: list[SharedItem] = []
    not_shared: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    fired: Counter[tuple[str, int]] = Counter()  # (finding, how many records raise it) -> records shared
    because: dict[str, list[str]] = {}  # finding -> the summaries of the records that raised it, newest first

    for record in sorted({r.ref: r for r in records}.values(), key=lambda r: (r.occurred_on or date.min, r.ref), reverse=True):
        about = {pid: matches[pid].subject_ref for pid in record.parties if pid in matches}
        siblings = {pid: linked[pid] for pid in record.parties if pid in linked and pid not in about}
        decisions = [
            applicable(policy.rules, record.record_class, concerns, basis.footing, role, record.occurred_on, today)
            for role in [roles[ref] for ref in about.values()] + [SIBLING] * len(siblings)
        ]
        subject_refs = sorted(set(about.values()) | {m.subject_ref for m in siblings.values()})
        rule = next((d for d in decisions if isinstance(d, Rule)), None)
        if rule is None:
            not_shared.append(
                {
                    "record_ref": record.ref,
                    "record_class": record.record_class,
                    "reason": "; ".join(sorted(set(map(str, decisions)))),
                }
            )
            continue
        if record.not_for_disclosure:
            not_shared.append(
                {"record_ref": record.ref, "record_class": record.record_class, "reason": "marked not for onward disclosure"}
            )
            if policy.signal_not_for_disclosure:
                items.append(
                    SharedItem(
                        record_class=record.record_class,
                        subject_refs=subject_refs,
                        summary=f"Information is held that cannot be disclosed. Contact the {policy.desk_contact}.",
                        relevance=rule.relevance,
                        signal_only=True,
                    )
                )
            continue
        withheld += [
            {
                "record_ref": record.ref,
                "role": role,
                "reason": f"{_another_child(siblings[pid])}, not named in the referral: identity withheld"
                if pid in siblings
                else "not a subject of the referral: identity withheld",
            }
            for pid, role in record.parties.items()
            if pid not in about
        ]
        summary = _describe(record, about, siblings)
        if rule.finding:
            fired[(rule.finding, rule.finding_min)] += 1
            because.setdefault(rule.finding, []).append(summary)
        items.append(
            SharedItem(
                record_class=record.record_class,
                record_ref=record.ref,
                subject_refs=subject_refs,
                summary=summary,
                occurred_on=record.occurred_on,
                relevance=rule.relevance,
                sensitivity=list(record.sensitivity),
                # A linked child is only as certain as the match of the parent it was linked through.
                match_confidence=min([matches[pid].confidence for pid in about] + [m.confidence for m in siblings.values()]),
            )
        )

    findings = tuple(sorted({finding for (finding, least), n in fired.items() if n >= least}))
    if items:
        status = ContributionStatus.SHARED
    elif records:
        status = ContributionStatus.NOTHING_RELEVANT
    else:
        status = ContributionStatus.NO_RECORDS_FOUND
    return DeskAnswer(
        status=status,
        rationale=_rationale(notification, basis, matches, uncertain, items, not_shared, linked),
        items=tuple(items),
        findings=findings,
        explanations={f: _because(because[f]) for f in findings},
        uncertain=tuple(uncertain),
        withheld=tuple(withheld),
        not_shared=tuple(not_shared),
        subjects=tuple(
            {
                "subject_ref": m.subject_ref,
                "role": roles[m.subject_ref],
                "agency_person_id": pid,
                "confidence": m.confidence,
                "matched_fields": list(m.matched_fields),
            }
            for pid, m in matches.items()
        )
        + tuple(
            {
                "subject_ref": None,
                "role": SIBLING,
                "agency_person_id": pid,
                "linked_through": m.subject_ref,
                "confidence": m.confidence,
                "matched_fields": ["linked by the agency's records"],
            }
            for pid, m in linked.items()
        ),
        lawful_basis=_basis_record(notification, policy, basis, None),
    )


def _because(summaries: list[str]) -> str:
    # The newest record says most; the rest are counted, not repeated (the items carry them all).
    more = len(summaries) - 1
    return summaries[0][:7000] + (f" (and {more} more record{'s' if more > 1 else ''})" if more else "")


def _another_child(parent: Match) -> str:
    return f"another child of {parent.subject_ref}, a parent of the unborn child"


def _describe(record: AgencyRecord, about: dict[str, str], siblings: dict[str, Match]) -> str:
    def who(pid: str) -> str:
        if pid in siblings:
            return f"{_another_child(siblings[pid])} (identity withheld)"
        return about.get(pid, THIRD_PARTY)

    people = "; ".join(f"{role}: {who(pid)}" for pid, role in record.parties.items())
    return f"{record.summary} ({people})" if people else record.summary


def _rationale(
    notification: Notification,
    basis: LawfulBasis,
    matches: dict[str, Match],
    uncertain: list[UncertainMatch],
    items: list[SharedItem],
    not_shared: list[dict[str, Any]],
    linked: dict[str, Match],
) -> str:
    parts = [
        f"Researched {len(notification.subjects)} subjects on a {basis.footing.value} footing (consent {basis.consent.value.replace('_', ' ')})."
    ]
    if matches:
        parts.append(
            "Matched "
            + ", ".join(
                f"{m.subject_ref} ({'NHS number' if m.matched_fields == ('nhs_number',) else f'{m.confidence:.2f}: ' + '+'.join(m.matched_fields)})"
                for m in matches.values()
            )
            + "."
        )
    if linked:
        parents = sorted({m.subject_ref for m in linked.values()})
        parts.append(
            f"Linked {len(linked)} other children of {', '.join(parents)} through the agency's records, as an "
            "unborn child is named (pre-birth); their identities are withheld."
        )
    disclosed = sum(1 for i in items if not i.signal_only)
    parts.append(f"Shared {disclosed} records; {len(not_shared)} held but not shared.")
    if any(i.signal_only for i in items):
        parts.append("Further information is held that cannot be disclosed.")
    if uncertain:
        parts.append(
            "Possible matches not shared as uncertain: "
            + ", ".join(f"{u.subject_ref} ({u.confidence:.2f})" for u in uncertain)
            + "."
        )
    return " ".join(parts)


def _basis_record(
    notification: Notification, policy: SharingPolicy, basis: LawfulBasis | None, declined: str | None
) -> dict[str, Any]:
    return {
        "statutory_footing": notification.statutory_footing.value,
        "art6": policy.legal.art6,
        "condition": policy.legal.condition,
        "consent": notification.consent.status.value,
        "without_consent_reason": basis.without_consent_reason if basis else None,
        "cites": basis.cites if basis else None,
        "grounds": asdict(basis.grounds) if basis and basis.grounds else None,
        "declined": declined,
    }
