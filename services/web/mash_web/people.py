"""The people who sign in to the web front door: call handlers, MASH managers and operations staff.

Passwords are hashed with argon2 (argon2-cffi's defaults, RFC 9106's second recommended profile). A session is a
random token in an HttpOnly cookie; only its SHA-256 is stored, so a copy of the store opens no session. Five wrong
passwords in a row lock the account for fifteen minutes; a session unused for the idle timeout ends, and the person's
draft is kept for when they sign in again. Each session carries its own CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.orm import Session

from mash_runtime.calendar import as_utc

metadata = MetaData()

people = Table(
    "people",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(120), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
)
sessions = Table(
    "sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)
drafts = Table(
    "drafts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("answers", JSON, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

LOCK_AFTER = 5
LOCKED_FOR = timedelta(minutes=15)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
_DECOY = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    CALL_HANDLER = "call_handler"
    MANAGER = "manager"
    OPERATIONS = "operations"
    # Decides, as a MASH manager does, the adults at risk routed to their allocated worker's team; nothing else.
    PRACTICE_CONSULTANT = "practice_consultant"


ROLE_NAMES = {
    Role.CALL_HANDLER: "MASH call handler",
    Role.MANAGER: "MASH manager",
    Role.OPERATIONS: "Operations",
    Role.PRACTICE_CONSULTANT: "Safeguarding Adults Practice Consultant",
}


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    role: Role


@dataclass(frozen=True)
class SignedIn:
    person: Person
    token: str  # the cookie's value: never stored
    csrf: str


class Ended(StrEnum):
    """Why a session cookie signs nobody in."""

    UNKNOWN = "unknown"  # signed out, never was, or already ended on an earlier request
    TIMED_OUT = "timed_out"
    DISABLED = "disabled"


class SignInRefused(ValueError):
    """Wrong name or password, a locked or disabled account: one message for all, so it reveals nothing."""


def add(s: Session, username: str, display_name: str, role: Role, password: str) -> None:
    if len(password) < 12:
        raise ValueError("a password must be at least 12 characters")
    if s.execute(select(people.c.username).where(people.c.username == username)).first():
        raise ValueError(f"{username} already exists: disable them, or choose another name")
    s.execute(
        insert(people).values(
            username=username,
            display_name=display_name,
            role=role.value,
            password_hash=_hasher.hash(password),
            disabled=False,
            failed_attempts=0,
        )
    )


def disable(s: Session, username: str) -> bool:
    """Disable an account, which ends its sessions at once. False when there is no such person."""
    if s.execute(select(people.c.username).where(people.c.username == username)).first() is None:
        return False
    # Its sessions stay in the table, dead (every request checks the account first), so that the next request on one
    # is told the account is disabled rather than that it timed out; that request deletes it.
    s.execute(update(people).where(people.c.username == username).values(disabled=True))
    return True


def everyone(s: Session) -> list[dict]:
    rows = s.execute(select(people).order_by(people.c.username)).all()
    return [{"username": r.username, "display_name": r.display_name, "role": r.role, "disabled": r.disabled} for r in rows]


def sign_in(s: Session, username: str, password: str, now: datetime) -> SignedIn:
    row = s.execute(select(people).where(people.c.username == username)).first()
    if row is None:
        _verifies(_DECOY, password)
        raise SignInRefused("unknown")
    if row.disabled or (row.locked_until is not None and as_utc(row.locked_until) > now):
        _verifies(row.password_hash, password)
        raise SignInRefused("locked or disabled")
    if not _verifies(row.password_hash, password):
        failed = row.failed_attempts + 1
        locked = now + LOCKED_FOR if failed >= LOCK_AFTER else None
        s.execute(
            update(people)
            .where(people.c.username == username)
            .values(failed_attempts=0 if locked else failed, locked_until=locked)
        )
        raise SignInRefused("wrong password")
    s.execute(update(people).where(people.c.username == username).values(failed_attempts=0, locked_until=None))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s.execute(
        insert(sessions).values(token_sha256=_digest(token), username=username, csrf=csrf, started_at=now, last_seen_at=now)
    )
    return SignedIn(Person(row.username, row.display_name, Role(row.role)), token, csrf)


def session_of(
    s: Session, token: str, now: datetime, idle: timedelta, keep: dict | None = None, csrf: str | None = None
) -> SignedIn | Ended:
    """The signed-in person behind a session cookie, its idle clock restarted; otherwise why there is none (a session
    that timed out or whose account was disabled is deleted: a timed-out one's draft stays). `keep`: answers posted
    into a session that has just timed out, saved as its person's draft when the post carries that session's CSRF
    token, so nothing typed is lost."""
    row = s.execute(
        select(sessions, people.c.display_name, people.c.role, people.c.disabled)
        .join(people, people.c.username == sessions.c.username)
        .where(sessions.c.token_sha256 == _digest(token))
    ).first()
    if row is None:
        return Ended.UNKNOWN
    if row.disabled:
        s.execute(delete(sessions).where(sessions.c.token_sha256 == row.token_sha256))
        return Ended.DISABLED
    if now - as_utc(row.last_seen_at) > idle:
        if keep is not None and same_token(row.csrf, csrf or ""):
            save_draft(s, row.username, keep, now)
        s.execute(delete(sessions).where(sessions.c.token_sha256 == row.token_sha256))
        return Ended.TIMED_OUT
    s.execute(update(sessions).where(sessions.c.token_sha256 == row.token_sha256).values(last_seen_at=now))
    return SignedIn(Person(row.username, row.display_name, Role(row.role)), token, row.csrf)


def sign_out(s: Session, token: str) -> None:
    s.execute(delete(sessions).where(sessions.c.token_sha256 == _digest(token)))


def save_draft(s: Session, username: str, answers: dict, now: datetime) -> None:
    s.execute(delete(drafts).where(drafts.c.username == username))
    s.execute(insert(drafts).values(username=username, answers=answers, saved_at=now))


def draft_of(s: Session, username: str) -> dict | None:
    row = s.execute(select(drafts.c.answers).where(drafts.c.username == username)).first()
    return dict(row.answers) if row else None


def discard_draft(s: Session, username: str) -> None:
    s.execute(delete(drafts).where(drafts.c.username == username))


def same_token(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected, given)


def _verifies(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
