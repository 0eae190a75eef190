"""Duplicate notifications at the front door: the pure rule, no Kafka or database imports.

The same concern about the same person at risk from the same referrer, sent again under another reference within
the window, is linked to the referral it duplicates (its next revision) rather than opened as a second case.
Everything compared is a keyed digest (the service's pepper), so intake's store never holds a name, an NHS number
or a referrer's contact details.

- The same referrer: the same kind, agency and organisation (case and spacing ignored) and the same contact: the
  email address when one is given (case ignored), else the phone number (digits only, +44 read as 0). A referrer
  who gave an email once and only a phone the next time is not matched: a second referral is the safe mistake.
  An anonymous referrer is never matched: two anonymous reports may be two people, and each is evidence.
- The same person at risk (a child, unborn child or adult at risk): the same NHS number, or the same family name,
  given name (letters only, case and accents ignored) and date of birth (an unborn child's expected date).
- The same concern: at least one concern category in common.
- Within the window: received within `window` of when the referral was opened, either side (two references
  travel on two partitions and may be read out of order).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mash_contracts import NotificationSubmission, Referrer, Subject
from mash_contracts.vocabulary import SUBJECTS_AT_RISK
from mash_runtime.firewall import keyed_digest

LINKED = "linked_submission"  # the change a linked duplicate carries, beside the parts that differ


@dataclass(frozen=True)
class Fingerprint:
    """What the rule compares, as keyed digests; `opened_at` is when the referral it belongs to was opened."""

    referrer: str
    people: frozenset[str]
    categories: frozenset[str]
    opened_at: datetime
    referral_id: str = ""
    submission_id: str = ""


def fingerprint(
    pepper: bytes, submission: NotificationSubmission, opened_at: datetime, referral_id: str = "", referrer_system: str = ""
) -> Fingerprint:
    """`referrer_system`: the enrolled referrer that sent it; a duplicate is only ever linked within one referrer's own."""
    who = referrer_identity(submission.referrer)
    if submission.referrer.anonymous:
        who = ("anonymous", submission.submission_id)
    return Fingerprint(
        referrer=_digest(pepper, "referrer", referrer_system, *who),
        people=frozenset(
            _digest(pepper, *key) for s in submission.subjects if s.role in SUBJECTS_AT_RISK for key in person_keys(s)
        ),
        categories=frozenset(c.value for c in submission.concern.categories),
        opened_at=opened_at,
        referral_id=referral_id,
        submission_id=submission.submission_id,
    )


def is_duplicate(new: Fingerprint, earlier: Fingerprint, window: timedelta) -> bool:
    return (
        new.referrer == earlier.referrer
        and bool(new.people & earlier.people)
        and bool(new.categories & earlier.categories)
        and abs(new.opened_at - earlier.opened_at) <= window
    )


def duplicate_of(new: Fingerprint, candidates: Iterable[Fingerprint], window: timedelta) -> Fingerprint | None:
    """The referral a new submission duplicates: the most recently opened that matches (ties by referral id, so a
    redelivery finds the same one); None for a new referral."""
    matches = [c for c in candidates if c.referral_id != new.referral_id and is_duplicate(new, c, window)]
    return max(matches, key=lambda c: (c.opened_at, c.referral_id), default=None)


def referrer_identity(r: Referrer) -> tuple[str, ...]:
    contact = f"email:{r.email.strip().casefold()}" if r.email else f"phone:{_phone(r.phone or '')}"
    return (r.kind.value, r.agency.value if r.agency else "", " ".join((r.organisation or "").casefold().split()), contact)


def person_keys(s: Subject) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [("nhs", s.nhs_number)] if s.nhs_number else []
    born = s.date_of_birth or s.expected_date_of_birth
    if born is not None:
        keys.append(("name", _letters(s.family_name), _letters(s.given_name or ""), born.isoformat()))
    return keys


def _phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return "0" + digits[2:] if value.strip().startswith("+44") else digits


def _letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


def _digest(pepper: bytes, *parts: str) -> str:
    return keyed_digest(pepper, "duplicate", *parts)
