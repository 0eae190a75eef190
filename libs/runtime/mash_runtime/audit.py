"""The confidential record of who did what with a referral, kept so that it can be trusted later.

Tamper evidence: each entry carries the hash of the one before it and is signed with the service's key,
so an edit, a deletion, a reordering or an inserted forgery shows up in `verify`, even when done by someone
with write access to the database but not to the service's private key.
Fail closed: an entry is written in the caller's own transaction, so a state change cannot commit without
its entry; if the audit write fails, the whole unit of work fails and the message is processed again later.
No personal data: the log outlives the records it describes and is read by auditors who may not see them,
so it holds ids, counts, outcomes and opaque subject tokens (keyed hashes), never names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import DDL, JSON, Column, DateTime, Integer, MetaData, Row, String, Table, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mash_contracts import Subject

from .calendar import as_utc
from .firewall.keys import Directory, KeyCustody, KeyError_

GENESIS = "0" * 64
ACTIONS = frozenset(
    {
        "received",
        "researched",
        "shared",
        "declined",
        "decrypted",
        "decided",
        "routed",
        "viewed",
        "shredded",
        "rejected",
        "dead_lettered",
        "overridden",
        "grounds_recorded",
        "unanswered",  # a referrer could not be told: the record named none, or the notification carries none
        "submitted",  # taken by the web front door (a form or a phone contact) and sent to intake
    }
)
SEEN = ("received", "decrypted", "viewed", "researched")
DISCLOSED = ("shared", "routed", "decided", "declined")
_TOKEN = re.compile(r"subj-[0-9a-f]{64}")

audit_metadata = MetaData()

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("service", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(32), nullable=False),
    Column("referral_id", String(64), nullable=True, index=True),
    Column("actor", String(128), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("subjects", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

audit_head = Table(
    "audit_head",
    audit_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)
# Seeding the head with the table means even the first appends of two processes queue on one row.
# DDL.__init__ carries no annotations in SQLAlchemy 2.1, so a strict caller cannot call it without this.
_SEED_HEAD = DDL(f"INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, 0, '{GENESIS}')")  # type: ignore[no-untyped-call]
event.listen(audit_head, "after_create", _SEED_HEAD)


def canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({**fields, "at": as_utc(fields["at"]).isoformat()}).encode()).hexdigest()


_HASHED = ("seq", "service", "at", "action", "referral_id", "actor", "reason", "subjects", "detail", "prev_hash", "key_id")


class AuditLog:
    def __init__(self, custody: KeyCustody):
        self.custody = custody

    def append(
        self,
        session: Session,
        action: str,
        *,
        referral_id: str | None = None,
        actor: str | None = None,
        reason: str = "",
        subjects: Iterable[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> str:
        """Add an entry inside the caller's transaction; it commits or rolls back with the caller's change."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        subjects = list(subjects)
        if any(not isinstance(s, str) or not _TOKEN.fullmatch(s) for s in subjects):
            raise ValueError("audit subjects must be subject tokens (subject_token, nhs_token), never names")
        if len(reason) > 500:  # PostgreSQL would refuse it and SQLite keep it: refuse on both
            raise ValueError("audit reason is longer than 500 characters")
        bind = session.get_bind()
        if bind.dialect.name == "sqlite" and bind.engine.url.database in (None, "", ":memory:"):
            # SQLite ignores FOR UPDATE, and the in-memory store's transactions begin only on a write: take the write
            # lock first, or two writers read the same head and the loser fails on the seq key. A SQLite file's
            # transactions hold the write lock from their start (store/database.py).
            session.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq))
        head = session.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()
        seq, prev = (head.seq + 1, head.entry_hash) if head else (1, GENESIS)
        fields = {
            "seq": seq,
            "service": self.custody.service,
            "at": datetime.now(UTC),
            "action": action,
            "referral_id": referral_id,
            "actor": actor or self.custody.service,
            "reason": reason,
            # stored exactly as hashed, so a tuple or a date in detail cannot make verification drift
            "subjects": subjects,
            "detail": json.loads(canonical(detail or {})),
            "prev_hash": prev,
            "key_id": self.custody.signing_key_id(),
        }
        entry_hash = _hash(fields)
        signature = self.custody.sign(entry_hash.encode()).hex()
        session.execute(insert(audit_log).values(**fields, entry_hash=entry_hash, signature=signature))
        if head:
            session.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, entry_hash=entry_hash))
        else:
            session.execute(insert(audit_head).values(id=1, seq=seq, entry_hash=entry_hash))
        return entry_hash


def _keyed(pepper: bytes, domain: str, value: str) -> str:
    return "subj-" + hmac.new(pepper, f"{domain}|{value}".encode(), hashlib.sha256).hexdigest()


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def subject_token(pepper: bytes, *, family_name: str, given_name: str, date_of_birth: date | str) -> str:
    """The same person gives the same token however the name was typed; without the pepper it reveals nothing."""
    dob = date_of_birth if isinstance(date_of_birth, date) else date.fromisoformat(date_of_birth.strip())
    if isinstance(dob, datetime):
        dob = dob.date()
    return _keyed(pepper, "person", f"{_norm(family_name)}|{_norm(given_name)}|{dob.isoformat()}")


def nhs_token(pepper: bytes, nhs_number: str) -> str:
    digits = "".join(c for c in str(nhs_number) if c.isdigit())
    if not digits:
        raise ValueError("an NHS number needs digits")
    return _keyed(pepper, "nhs", digits)


@dataclass
class VerifyReport:
    entries: int
    ok: bool
    problems: list[str] = field(default_factory=list)


def _signed(directory: Directory, row: Row[Any]) -> str | None:
    try:
        key = directory.verify_key(row.service, row.key_id)
    except KeyError_:
        return f"entry {row.seq}: signed with key {row.key_id}, which {row.service} does not have"
    try:
        key.verify(bytes.fromhex(row.signature), row.entry_hash.encode())
    except (InvalidSignature, ValueError):
        return f"entry {row.seq}: signature does not verify"
    return None


def verify(engine: Engine, directory: Directory) -> VerifyReport:
    """Walk the whole chain and say, entry by entry, what does not hold."""
    problems: list[str] = []
    entries, last_seq, last_hash = 0, 0, GENESIS
    with engine.connect() as conn:
        for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
            entries += 1
            if row.seq != last_seq + 1:
                problems.append(
                    f"entry {row.seq}: follows entry {last_seq}, so entries {last_seq + 1}..{row.seq - 1} are missing (deleted)"
                )
            if _hash({k: getattr(row, k) for k in _HASHED}) != row.entry_hash:
                problems.append(f"entry {row.seq}: hash does not match its contents (edited)")
            if row.prev_hash != last_hash:
                after = f"entry {last_seq}" if last_seq else "the genesis hash"
                problems.append(f"entry {row.seq}: previous hash does not match {after} (deleted or reordered)")
            if problem := _signed(directory, row):
                problems.append(problem)
            last_seq, last_hash = row.seq, row.entry_hash
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    if head is None:
        if entries:
            problems.append(f"the head is missing but the log runs to entry {last_seq} (head deleted)")
    elif head.seq > last_seq:
        problems.append(f"head points at entry {head.seq} but the log ends at {last_seq} (tail deleted)")
    elif head.seq < last_seq:
        problems.append(f"head points at entry {head.seq} but the log runs to {last_seq} (written around the log)")
    elif head.entry_hash != last_hash:
        problems.append(f"head hash does not match entry {last_seq} (last entry replaced)")
    return VerifyReport(entries=entries, ok=not problems, problems=problems)


def _entry(row: Row[Any]) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": as_utc(row.at),
        "service": row.service,
        "actor": row.actor,
        "action": row.action,
        "referral_id": row.referral_id,
        "reason": row.reason,
        "detail": row.detail,
    }


def who_has_seen(engine: Engine, referral_id: str) -> list[dict[str, Any]]:
    """Every service or person that took in, opened or looked at the referral, in order."""
    query = select(audit_log).where(audit_log.c.referral_id == referral_id, audit_log.c.action.in_(SEEN))
    with engine.connect() as conn:
        return [_entry(r) for r in conn.execute(query.order_by(audit_log.c.seq))]


def shared_about(engine: Engine, token: str) -> list[dict[str, Any]]:
    """Every disclosure or outcome that concerned the person behind the token, in order."""
    query = select(audit_log).where(audit_log.c.action.in_(DISCLOSED)).order_by(audit_log.c.seq)
    with engine.connect() as conn:
        # JSON containment differs between SQLite and PostgreSQL; filtering here works on both
        return [_entry(r) for r in conn.execute(query) if token in (r.subjects or [])]


def subject_tokens(pepper: bytes, subjects: Iterable[Subject]) -> list[str]:
    """Tokens for each person a message is about (contract Subjects): by NHS number when known, and by
    name and date of birth, so a later query by either finds them."""
    tokens: list[str] = []
    for p in subjects:
        if p.nhs_number:
            tokens.append(nhs_token(pepper, p.nhs_number))
        born = p.date_of_birth or p.expected_date_of_birth
        if born is not None:
            tokens.append(subject_token(pepper, family_name=p.family_name, given_name=p.given_name or "", date_of_birth=born))
    return sorted(set(tokens))
