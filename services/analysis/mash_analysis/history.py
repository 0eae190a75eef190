"""The hub's linked history: every notification's people linked to persons, the desks' returns and the decisions.

The store adapter of the analysis service: only this module and `figures_source` touch the tables. Blocking keys
are kept as keyed HMACs (the service's pepper), so the index that finds a person's earlier appearances holds no
name; the appearances themselves hold the identifiers linkage compares, inside the firewall, as the decision
service's store holds its notifications, and are erased with the case (see `forget`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from mash_contracts import Decision, Notification, StatutoryFooting, SubjectRole, derived_id
from mash_contracts.vocabulary import SUBJECTS_AT_RISK
from mash_runtime.calendar import as_utc
from mash_runtime.firewall import keyed_digest

from .harm import Contact, Person, contact_source
from .linkage import Link, PersonLinker, PersonRecord, blocking_keys

metadata = MetaData()

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("revision", Integer, nullable=False),  # the newest revision linked
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("referrer_kind", String(32), nullable=False),
    Column("referrer_agency", String(40)),
    Column("categories", JSON, nullable=False),
    Column("rag", String(8), nullable=False),
    Column("footing", String(16), nullable=False),
    Column("findings", JSON, nullable=False),  # what the hub's research reported on it
    Column("answered_at", DateTime(timezone=True)),
)
appearances = Table(  # one person as one notification names them
    "appearances",
    metadata,
    Column("appearance_id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(16), ForeignKey("referrals.referral_id"), nullable=False, index=True),
    Column("subject_ref", String(32), nullable=False),
    Column("role", String(32), nullable=False),
    Column("person_id", String(36), nullable=False, index=True),
    Column("household", String(64), index=True),
    Column("link", JSON, nullable=False),  # how it was linked: {"status", "probability", "weight", "why"}
    Column("given_name", String(120)),
    Column("family_name", String(120)),
    Column("date_of_birth", Date),
    Column("nhs_number", String(10)),
    Column("postcode", String(10)),
    Column("address_line1", String(200)),
    Column("erased", Boolean, nullable=False, default=False),
    UniqueConstraint("referral_id", "subject_ref"),
)
blocking = Table(
    "blocking_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("appearance_id", Integer, ForeignKey("appearances.appearance_id"), primary_key=True),
)
possible_links = Table(  # shown as uncertain, never merged
    "possible_links",
    metadata,
    Column("appearance_id", Integer, ForeignKey("appearances.appearance_id"), primary_key=True),
    Column("person_id", String(36), primary_key=True),
    Column("probability", Float, nullable=False),
    Column("why", Text, nullable=False),
)
returns = Table(  # each desk's answer a decision rested on, by its times and status only (never its content)
    "returns",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("referral_id", String(16), nullable=False, index=True),
    Column("agency", String(40), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("due_by", DateTime(timezone=True)),
    Column("researched_at", DateTime(timezone=True), nullable=False),
    Column("findings", JSON, nullable=False),
)
decisions = Table(
    "decisions",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("referral_id", String(16), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("decision_due_by", DateTime(timezone=True)),
)

# What the figures count of an adult at risk's referral (the NHS Safeguarding Adults Collection's breakdowns): codes
# only. Tables of their own (create_all adds tables, never columns), so stores made before adults had figures gain
# them at start and lose nothing.
adult_contacts = Table(
    "adult_contacts",
    metadata,
    Column("referral_id", String(16), primary_key=True),
    Column("location_of_risk", String(32)),
    Column("source_of_risk", String(32)),
)
# Who took it forward, per decision: the figures follow the newest decision, as they do for the outcome, and a
# decision read before its notification (another topic, no order between them) keeps its route.
adult_routes = Table(
    "adult_routes",
    metadata,
    Column("message_id", String(36), primary_key=True),  # the decision's
    Column("referral_id", String(16), nullable=False, index=True),
    Column("route", String(20), nullable=False),  # AdultRoute: mash or allocated_team
)

ADULT_ROLES = frozenset(
    {
        SubjectRole.PARENT_CARER.value,
        SubjectRole.ALLEGED_PERPETRATOR.value,
        SubjectRole.HOUSEHOLD_MEMBER.value,
        SubjectRole.ADULT_AT_RISK.value,
    }
)
CHILD_ROLES = frozenset({SubjectRole.CHILD.value, SubjectRole.UNBORN_CHILD.value})
AT_RISK = frozenset(r.value for r in SUBJECTS_AT_RISK)
# Closed at the front end of the system: a referral decided below children's social care's threshold is no open case.
OPEN_FROM_LEVEL = 3


@dataclass(frozen=True)
class Linked:
    """How one subject of the notification was linked."""

    subject_ref: str
    role: str
    person_id: str
    link: Link | None  # the certain link it joined, None for a person new to the hub
    possible: tuple[Link, ...]  # uncertain links, recorded and shown, never merged
    candidates: int


class History:
    def __init__(self, pepper: bytes, linker: PersonLinker):
        self.pepper = pepper
        self.linker = linker

    def _key(self, plain: str) -> str:
        return keyed_digest(self.pepper, "mash-analysis-block", plain)

    def _household(self, postcode: str | None, line1: str | None) -> str | None:
        if not postcode:
            return None
        place = "".join(postcode.upper().split()) + "|" + " ".join((line1 or "").lower().split())
        return keyed_digest(self.pepper, "mash-analysis-household", place)

    # --- writes -------------------------------------------------------------------------------------------

    @staticmethod
    def link_one_at_a_time(s: Session) -> None:
        """Hold the linking lock until the transaction ends, so two consumers never link against a history that
        misses the other's notification. SQLite's write lock, taken when a transaction begins, already does this."""
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(hashtext('mash-analysis-linking'))"))

    def answered(self, s: Session, n: Notification) -> bool:
        row = s.execute(
            select(referrals.c.revision, referrals.c.answered_at).where(referrals.c.referral_id == n.referral_id)
        ).first()
        return row is not None and row.answered_at is not None and row.revision >= n.revision

    def record_notification(self, s: Session, n: Notification) -> list[Linked]:
        """Link each subject to a person (re-linking them on a later revision) and record the referral."""
        facts = dict(
            revision=n.revision,
            received_at=n.received_at,
            referrer_kind=n.referrer.kind.value,
            referrer_agency=n.referrer.agency.value if n.referrer.agency else None,
            categories=sorted(c.value for c in n.concern.categories),
            rag=n.rag.value,
            footing=n.statutory_footing.value,
            answered_at=None,
        )
        earlier = {
            r.subject_ref: r.person_id
            for r in s.execute(
                select(appearances.c.subject_ref, appearances.c.person_id).where(appearances.c.referral_id == n.referral_id)
            )
        }
        if s.execute(select(referrals.c.referral_id).where(referrals.c.referral_id == n.referral_id)).first():
            s.execute(update(referrals).where(referrals.c.referral_id == n.referral_id).values(**facts))
            self._drop_appearances(s, n.referral_id)
        else:
            s.execute(insert(referrals).values(referral_id=n.referral_id, findings=[], **facts))
        if n.statutory_footing is StatutoryFooting.CARE_ACT_S42:  # no child among the subjects: an adult at risk
            self._record_adult(s, n)
        home = next((x.address for x in sorted(n.subjects, key=lambda x: x.role.value not in AT_RISK) if x.address), None)
        records, keys, candidates = [], [], []
        for subject in n.subjects:
            address = subject.address or home
            record = PersonRecord(
                record_id="new",
                given_name=subject.given_name,
                family_name=subject.family_name,
                date_of_birth=subject.date_of_birth or subject.expected_date_of_birth,
                nhs_number=subject.nhs_number,
                postcode=address.postcode if address else None,
                address_line1=address.line1 if address else None,
            )
            records.append(record)
            keys.append(sorted({self._key(k) for k in blocking_keys(record)}))
            candidates.append(self._candidates(s, keys[-1], n.referral_id))
        # Every subject's candidates scored in one query (linkage.PersonLinker.links_many).
        scored = self.linker.links_many([(r, list(c.values())) for r, c in zip(records, candidates)])
        person_of = {rid: pid for rid, (pid, _) in self._people_of(s, sorted({int(r) for c in candidates for r in c})).items()}
        linked: list[Linked] = []
        for subject, record, subject_keys, pool, links in zip(n.subjects, records, keys, candidates, scored):
            certain = next((lk for lk in links if lk.certain), None)
            person_id = person_of[int(certain.record_id)] if certain else earlier.get(subject.subject_ref) or str(uuid.uuid4())
            link_note = (
                {"status": "linked", "probability": certain.probability, "weight": certain.weight, "why": certain.describe()}
                if certain
                else {"status": "new", "probability": 1.0, "weight": 0.0, "why": ""}
            )
            appearance_id = s.execute(
                insert(appearances).values(
                    referral_id=n.referral_id,
                    subject_ref=subject.subject_ref,
                    role=subject.role.value,
                    person_id=person_id,
                    household=self._household(record.postcode, record.address_line1),
                    link=link_note,
                    given_name=subject.given_name,
                    family_name=subject.family_name,
                    date_of_birth=record.date_of_birth,
                    nhs_number=subject.nhs_number,
                    postcode=record.postcode,
                    address_line1=record.address_line1,
                    erased=False,
                )
            ).inserted_primary_key[0]  # type: ignore[attr-defined]  # Session.execute is typed Result; an INSERT gives a CursorResult
            if subject_keys:
                s.execute(insert(blocking), [{"key": k, "appearance_id": appearance_id} for k in subject_keys])
            # Possible links, and certain ones to another person (never merged: shown as uncertain), one per person.
            best: dict[str, Link] = {}
            for lk in links:
                pid = person_of[int(lk.record_id)]
                if lk is not certain and pid != person_id and (pid not in best or lk.probability > best[pid].probability):
                    best[pid] = lk
            if best:
                s.execute(
                    insert(possible_links),
                    [
                        {"appearance_id": appearance_id, "person_id": pid, "probability": lk.probability, "why": lk.describe()}
                        for pid, lk in best.items()
                    ],
                )
            linked.append(Linked(subject.subject_ref, subject.role.value, person_id, certain, tuple(best.values()), len(pool)))
        return linked

    def mark_answered(self, s: Session, referral_id: str, findings: list[str], at: datetime) -> None:
        s.execute(update(referrals).where(referrals.c.referral_id == referral_id).values(findings=findings, answered_at=at))

    def _record_adult(self, s: Session, n: Notification) -> None:
        told = n.concern.adult_at_risk
        where = {
            "location_of_risk": told.location_of_risk.value if told and told.location_of_risk else None,
            "source_of_risk": told.source_of_risk.value if told and told.source_of_risk else None,
        }
        key = adult_contacts.c.referral_id == n.referral_id
        if s.execute(select(adult_contacts.c.referral_id).where(key)).first():
            s.execute(update(adult_contacts).where(key).values(**where))
        else:
            s.execute(insert(adult_contacts).values(referral_id=n.referral_id, **where))

    def record_decision(self, s: Session, d: Decision) -> None:
        if s.execute(select(decisions.c.message_id).where(decisions.c.message_id == str(d.message_id))).first():
            return
        if d.route is not None:
            s.execute(insert(adult_routes).values(message_id=str(d.message_id), referral_id=d.referral_id, route=d.route.value))
        s.execute(
            insert(decisions).values(
                message_id=str(d.message_id),
                referral_id=d.referral_id,
                revision=d.revision,
                level=int(d.level),
                outcome=d.outcome.value,
                recipients=[a.value for a in d.recipients],
                decided_at=d.decided_at,
                decision_due_by=d.decision_due_by,
            )
        )
        # The desks' answers the decision rests on, by their times and status only: the figures' timeliness.
        for r in d.returns:
            key = str(derived_id("return", d.referral_id, r.agency.value, r.researched_at.isoformat()))
            if not s.execute(select(returns.c.message_id).where(returns.c.message_id == key)).first():
                s.execute(
                    insert(returns).values(
                        message_id=key,
                        referral_id=d.referral_id,
                        agency=r.agency.value,
                        revision=d.revision,
                        status=r.status.value,
                        due_by=r.due_by,
                        researched_at=r.researched_at,
                        findings=[],
                    )
                )

    def forget(self, s: Session, referral_id: str) -> bool:
        """Retention: the case was crypto-shredded, so its identifiers go too. The referral's figures (dates, codes,
        the person ids it was linked to) stay, as the decision service keeps its decisions; no one can be found by
        them any more."""
        ids = [
            r.appearance_id
            for r in s.execute(
                select(appearances.c.appearance_id).where(
                    appearances.c.referral_id == referral_id, appearances.c.erased.is_(False)
                )
            )
        ]
        if not ids:
            return False
        s.execute(delete(blocking).where(blocking.c.appearance_id.in_(ids)))
        s.execute(delete(possible_links).where(possible_links.c.appearance_id.in_(ids)))
        s.execute(
            update(appearances)
            .where(appearances.c.appearance_id.in_(ids))
            .values(
                given_name=None,
                family_name=None,
                date_of_birth=None,
                nhs_number=None,
                postcode=None,
                address_line1=None,
                erased=True,
            )
        )
        return True

    def referral_ids_with_identifiers(self, s: Session) -> list[str]:
        return [
            r.referral_id for r in s.execute(select(appearances.c.referral_id).where(appearances.c.erased.is_(False)).distinct())
        ]

    def _drop_appearances(self, s: Session, referral_id: str) -> None:
        ids = [
            r.appearance_id
            for r in s.execute(select(appearances.c.appearance_id).where(appearances.c.referral_id == referral_id))
        ]
        if ids:
            s.execute(delete(blocking).where(blocking.c.appearance_id.in_(ids)))
            s.execute(delete(possible_links).where(possible_links.c.appearance_id.in_(ids)))
            s.execute(delete(appearances).where(appearances.c.appearance_id.in_(ids)))

    # --- reads --------------------------------------------------------------------------------------------

    def _candidates(self, s: Session, keys: list[str], referral_id: str) -> dict[str, PersonRecord]:
        if not keys:
            return {}
        rows = s.execute(
            select(appearances)
            .where(
                appearances.c.appearance_id.in_(select(blocking.c.appearance_id).where(blocking.c.key.in_(keys))),
                appearances.c.referral_id != referral_id,
                appearances.c.erased.is_(False),
            )
            .limit(500)
        ).all()
        return {
            str(r.appearance_id): PersonRecord(
                record_id=str(r.appearance_id),
                given_name=r.given_name,
                family_name=r.family_name,
                date_of_birth=r.date_of_birth,
                nhs_number=r.nhs_number,
                postcode=r.postcode,
                address_line1=r.address_line1,
            )
            for r in rows
        }

    def _people_of(self, s: Session, appearance_ids: list[int]) -> dict[int, tuple[str, str]]:
        if not appearance_ids:
            return {}
        return {
            r.appearance_id: (r.person_id, r.referral_id)
            for r in s.execute(
                select(appearances.c.appearance_id, appearances.c.person_id, appearances.c.referral_id).where(
                    appearances.c.appearance_id.in_(appearance_ids)
                )
            )
        }

    def people(self, s: Session, referral_id: str) -> list[Person]:
        """Each subject of the referral with every contact the hub has had about them, and their siblings' contacts."""
        mine = s.execute(select(appearances).where(appearances.c.referral_id == referral_id)).all()
        person_ids = {r.person_id for r in mine}
        households = {r.household for r in mine if r.household}
        # Siblings: other children at the same address, or named with the same parent or carer.
        parents = {r.person_id for r in mine if r.role == SubjectRole.PARENT_CARER.value}
        shared = select(appearances.c.referral_id).where(appearances.c.person_id.in_(parents)) if parents else None
        terms = []
        if households:
            terms.append(appearances.c.household.in_(households))
        if shared is not None:
            terms.append(appearances.c.referral_id.in_(shared))
        sibling_ids: set[str] = set()
        if terms:
            sibling_ids = {
                r.person_id
                for r in s.execute(select(appearances.c.person_id).where(or_(*terms), appearances.c.role.in_(CHILD_ROLES)))
            } - person_ids
        contacts = self._contacts(s, person_ids | sibling_ids)
        people: list[Person] = []
        for r in mine:
            siblings: tuple[tuple[str, tuple[Contact, ...]], ...] = ()
            if r.role in CHILD_ROLES:
                siblings = tuple((pid, tuple(contacts.get(pid, ()))) for pid in sorted(sibling_ids))
            people.append(Person(r.person_id, r.subject_ref, r.role, tuple(contacts.get(r.person_id, ())), siblings))
        return people

    def _contacts(self, s: Session, person_ids: set[str]) -> dict[str, list[Contact]]:
        if not person_ids:
            return {}
        refs = select(appearances.c.referral_id).where(appearances.c.person_id.in_(person_ids))
        rows = s.execute(
            select(appearances.c.referral_id, appearances.c.person_id, appearances.c.role, appearances.c.household).where(
                appearances.c.referral_id.in_(refs)
            )
        ).all()
        facts = {r.referral_id: r for r in s.execute(select(referrals).where(referrals.c.referral_id.in_(refs)))}
        latest = self._latest_decisions(s, list(facts))
        by_referral: dict[str, list] = defaultdict(list)
        for r in rows:
            by_referral[r.referral_id].append(r)
        out: dict[str, list[Contact]] = defaultdict(list)
        for referral_id, people in by_referral.items():
            f = facts[referral_id]
            adults = frozenset(p.person_id for p in people if p.role in ADULT_ROLES)
            children = frozenset(p.person_id for p in people if p.role in CHILD_ROLES)
            decided = latest.get(referral_id)
            for p in people:
                if p.person_id not in person_ids:
                    continue
                out[p.person_id].append(
                    Contact(
                        referral_id=referral_id,
                        received_at=as_utc(f.received_at),
                        source=contact_source(f.referrer_kind, f.referrer_agency),
                        categories=frozenset(f.categories),
                        rag=f.rag,
                        role=p.role,
                        household=p.household,
                        adults=adults - {p.person_id},
                        children=children,
                        level=decided.level if decided else None,
                        outcome=decided.outcome if decided else None,
                    )
                )
        return out

    def _latest_decisions(self, s: Session, referral_ids: list[str] | None) -> dict[str, Row[Any]]:
        """The newest decision per referral (all referrals when `referral_ids` is None)."""
        if referral_ids is not None and not referral_ids:
            return {}
        query = select(decisions).order_by(decisions.c.revision, decisions.c.decided_at)
        if referral_ids is not None:
            query = query.where(decisions.c.referral_id.in_(referral_ids))
        rows = s.execute(query).all()
        return {r.referral_id: r for r in rows}

    def contact_rows(self, s: Session) -> list:
        """Every referral as a contact for the figures: codes, times and linked person ids only (see figures.py)."""
        from .figures import ContactRow

        latest = self._latest_decisions(s, None)
        by_referral: dict[str, list] = defaultdict(list)
        for r in s.execute(select(returns)).all():
            by_referral[r.referral_id].append((r.agency, as_utc(r.due_by) if r.due_by else None, as_utc(r.researched_at)))
        children: dict[str, list[str]] = defaultdict(list)
        for r in s.execute(select(appearances.c.referral_id, appearances.c.person_id).where(appearances.c.role.in_(CHILD_ROLES))):
            children[r.referral_id].append(r.person_id)
        adults = {a.referral_id: a for a in s.execute(select(adult_contacts)).all()}
        routes = {r.message_id: r.route for r in s.execute(select(adult_routes.c.message_id, adult_routes.c.route))}
        rows = []
        for f in s.execute(select(referrals).order_by(referrals.c.received_at)).all():
            d = latest.get(f.referral_id)
            adult = adults.get(f.referral_id)
            rows.append(
                ContactRow(
                    referral_id=f.referral_id,
                    received_at=as_utc(f.received_at),
                    referrer_kind=f.referrer_kind,
                    referrer_agency=f.referrer_agency,
                    categories=tuple(f.categories),
                    rag=f.rag,
                    level=d.level if d else None,
                    outcome=d.outcome if d else None,
                    decided_at=as_utc(d.decided_at) if d else None,
                    decision_due_by=as_utc(d.decision_due_by) if d and d.decision_due_by else None,
                    returns=tuple(by_referral.get(f.referral_id, ())),
                    children=tuple(sorted(set(children.get(f.referral_id, ())))),
                    findings=tuple(f.findings or ()),
                    adult=f.footing == StatutoryFooting.CARE_ACT_S42.value,
                    location_of_risk=adult.location_of_risk if adult else None,
                    source_of_risk=adult.source_of_risk if adult else None,
                    route=routes.get(d.message_id) if d else None,
                )
            )
        return rows

    def without_open_referral(self, s: Session, person_ids: tuple[str, ...], now: datetime) -> list[str]:
        """Of these people at risk, those no open referral covers: none undecided, none routed at children's social
        care's threshold in the last twelve months."""
        if not person_ids:
            return []
        contacts = self._contacts(s, set(person_ids))
        open_ = {
            pid
            for pid, cs in contacts.items()
            for c in cs
            if c.role in AT_RISK and (c.level is None or (c.level >= OPEN_FROM_LEVEL and (now - c.received_at).days <= 365))
        }
        return sorted(set(person_ids) - open_)
