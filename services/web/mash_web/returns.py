"""Save and come back later, for the public form (the GOV.UK "save and return" pattern): a member of the public's
answers kept under a random code shown to them once. Only the code's SHA-256 digest is stored, so the store alone
cannot open a saved form's link; a saved form lasts seven days and is deleted when it is sent."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, delete, insert, select
from sqlalchemy.orm import Session

from mash_runtime.calendar import as_utc

KEPT_FOR = timedelta(days=7)
metadata = MetaData()
saved_forms = Table(
    "saved_forms",
    metadata,
    Column("code_sha256", String(64), primary_key=True),
    Column("answers", JSON, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def save(s: Session, answers: dict, now: datetime, code: str | None = None) -> tuple[str, datetime]:
    """Keep the answers (again under `code` when the person came back with it); the code and when it expires."""
    forget_expired(s, now)
    code = code or secrets.token_urlsafe(24)
    s.execute(delete(saved_forms).where(saved_forms.c.code_sha256 == digest(code)))
    expires = now + KEPT_FOR
    kept = {k: v for k, v in answers.items() if k not in ("csrf", "action", "resume")}
    s.execute(insert(saved_forms).values(code_sha256=digest(code), answers=kept, saved_at=now, expires_at=expires))
    return code, expires


def resume(s: Session, code: str, now: datetime) -> dict | None:
    """The saved answers, or None when the code is unknown or its seven days are over."""
    forget_expired(s, now)
    row = s.execute(select(saved_forms).where(saved_forms.c.code_sha256 == digest(code))).first()
    return dict(row.answers) if row is not None and as_utc(row.expires_at) > now else None


def forget(s: Session, code: str) -> None:
    s.execute(delete(saved_forms).where(saved_forms.c.code_sha256 == digest(code)))


def forget_expired(s: Session, now: datetime) -> None:
    s.execute(delete(saved_forms).where(saved_forms.c.expires_at <= now))
