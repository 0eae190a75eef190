"""The hub's own answer for one referral: earlier contacts about its people, siblings referred, uncertain links,
and the emerging-harm findings, each explained. Pure: the store hands over the linked people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mash_contracts import ContributionStatus, Notification, SharedItem, UncertainMatch

from .harm import Contact, Finding, HarmRules, Person, evaluate
from .history import Linked

# The most recent earlier contacts listed per person; the rationale counts the rest.
EARLIER_LISTED = 12
RELEVANCE = (
    "The hub's own linked history: what was referred to the MASH before about this person, by whom, and what the "
    "hub decided, so that repeat concerns from different agencies are seen together."
)
SIBLING_RELEVANCE = "Another child of the household referred to the MASH: the concern may be the household's, not one child's."


@dataclass(frozen=True)
class HubAnswer:
    status: ContributionStatus
    items: tuple[SharedItem, ...]
    findings: tuple[Finding, ...]
    uncertain: tuple[UncertainMatch, ...]
    rationale: str

    @property
    def finding_names(self) -> list[str]:
        return sorted({f.finding for f in self.findings})

    @property
    def explanations(self) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        for f in self.findings:
            out.setdefault(f.finding, []).append(f.explanation)
        return {k: "; ".join(v)[:8000] for k, v in out.items()}


def answer(n: Notification, linked: list[Linked], people: list[Person], rules: HarmRules) -> HubAnswer:
    by_ref = {p.subject_ref: p for p in people}
    items: list[SharedItem] = []
    omitted = 0
    for link in linked:
        person = by_ref.get(link.subject_ref)
        if person is None:
            continue
        earlier = sorted(
            (c for c in person.contacts if c.referral_id != n.referral_id), key=lambda c: c.received_at, reverse=True
        )
        omitted += max(0, len(earlier) - EARLIER_LISTED)
        confidence = link.link.probability if link.link else 1.0
        for c in earlier[:EARLIER_LISTED]:
            items.append(
                SharedItem(
                    record_class="earlier_referral",
                    record_ref=c.referral_id,
                    subject_refs=[link.subject_ref],
                    summary=_contact(c, link),
                    occurred_on=c.received_at.date(),
                    relevance=RELEVANCE,
                    match_confidence=round(min(1.0, confidence), 4),
                )
            )
        for _pid, contacts in person.siblings:
            for c in sorted(
                (
                    c
                    for c in contacts
                    if c.referral_id != n.referral_id
                    and c.received_at <= n.received_at
                    and n.received_at - c.received_at <= timedelta(days=365)
                ),
                key=lambda c: c.received_at,
                reverse=True,
            )[:3]:
                items.append(
                    SharedItem(
                        record_class="sibling_referral",
                        record_ref=c.referral_id,
                        subject_refs=[link.subject_ref],
                        summary=f"Another child of the household (identity withheld) was referred by {c.source}: "
                        f"{_categories(c)}; screened {c.rag}{_decided(c)}.",
                        occurred_on=c.received_at.date(),
                        relevance=SIBLING_RELEVANCE,
                    )
                )
    # One item per (referral, subject): a sibling's referral that also names this child is listed once.
    items = list({(i.record_class, i.record_ref, tuple(i.subject_refs)): i for i in items}.values())[:500]
    findings = tuple(evaluate(rules, people, n.received_at))
    uncertain = tuple(
        UncertainMatch(
            subject_ref=lk.subject_ref,
            confidence=round(max(p.probability for p in lk.possible), 4),
            matched_fields=[p.describe()[:120] for p in lk.possible][:5],
            candidates=len(lk.possible),
        )
        for lk in linked
        if lk.possible
    )
    status = ContributionStatus.SHARED if items or findings else ContributionStatus.NO_RECORDS_FOUND
    return HubAnswer(status, tuple(items), findings, uncertain, _rationale(n, linked, items, findings, uncertain, omitted, rules))


def _categories(c: Contact) -> str:
    return ", ".join(sorted(c.categories)).replace("_", " ")


def _decided(c: Contact) -> str:
    return f"; decided level {c.level}, {c.outcome.replace('_', ' ')}" if c.level and c.outcome else "; not yet decided"


def _contact(c: Contact, link: Linked) -> str:
    how = f" Linked by {link.link.describe()}." if link.link else ""
    return (
        f"Referral received from {c.source} on {c.received_at:%d %b %Y}: {_categories(c)}; screened {c.rag}"
        f"{_decided(c)}. {link.subject_ref} was named as {c.role.replace('_', ' ')}.{how}"
    )


def _rationale(n, linked, items, findings, uncertain, omitted, rules: HarmRules) -> str:
    known = [lk for lk in linked if lk.link]
    parts = [
        f"Linked {len(linked)} subjects against the hub's own history: {len(known)} known to the hub before"
        + (f" ({', '.join(f'{lk.subject_ref} p={lk.link.probability:.3f}' for lk in known)})" if known else "")
        + "."
    ]
    earlier = sum(1 for i in items if i.record_class == "earlier_referral")
    parts.append(
        f"Listed {earlier} earlier contacts"
        + (f" ({omitted} older ones not listed)" if omitted else "")
        + f" and {sum(1 for i in items if i.record_class == 'sibling_referral')} siblings' referrals."
    )
    if findings:
        parts.append(
            "Emerging harm under rules " + rules.version + ": " + " | ".join(f"{f.name}: {f.explanation}" for f in findings) + "."
        )
    else:
        parts.append(f"No emerging-harm rule fired (rules {rules.version}).")
    if uncertain:
        parts.append(
            "Possible links not merged, shown as uncertain: "
            + ", ".join(f"{u.subject_ref} ({u.confidence:.2f}, {u.candidates} candidates)" for u in uncertain)
            + "."
        )
    return " ".join(parts)[:8000]
