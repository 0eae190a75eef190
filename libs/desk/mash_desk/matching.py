"""Matching a notification's subject to the agency's own person records.

Exact on NHS number. Without one, a weighted score over family name, given name (nicknames allowed),
date of birth and postcode, using rapidfuzz's Jaro-Winkler similarity. Every match says how confident it
is and which fields agreed; a match below the certainty threshold is reported as uncertain and its
records are not shared.
"""

from __future__ import annotations

from datetime import date

from rapidfuzz.distance import JaroWinkler

from mash_contracts import Subject

from .model import Candidate, Match

WEIGHTS = {"family_name": 0.30, "given_name": 0.20, "date_of_birth": 0.35, "postcode": 0.15}
CERTAIN = 0.85  # and the date of birth must agree exactly
POSSIBLE = 0.65
FIELD_AGREES = 0.9  # a field counts as "matched" in the explanation at this similarity

# Common English short forms; an agency often records the name a person uses.
NICKNAMES = {
    frozenset(p)
    for p in [
        ("william", "will"),
        ("william", "bill"),
        ("robert", "rob"),
        ("robert", "bob"),
        ("elizabeth", "liz"),
        ("elizabeth", "beth"),
        ("margaret", "maggie"),
        ("katherine", "kate"),
        ("catherine", "kate"),
        ("thomas", "tom"),
        ("james", "jim"),
        ("jennifer", "jen"),
        ("michael", "mike"),
        ("daniel", "dan"),
        ("samantha", "sam"),
        ("samuel", "sam"),
        ("alexander", "alex"),
        ("rebecca", "becky"),
        ("joseph", "joe"),
        ("anthony", "tony"),
        ("christopher", "chris"),
        ("jessica", "jess"),
        ("victoria", "vicky"),
        ("benjamin", "ben"),
        ("matthew", "matt"),
        ("nicholas", "nick"),
        ("susan", "sue"),
        ("edward", "ed"),
        ("stephen", "steve"),
        ("andrew", "andy"),
        ("richard", "rich"),
        ("david", "dave"),
        ("charlotte", "lottie"),
    ]
}


def _norm(text: str | None) -> str:
    return "".join(ch for ch in (text or "").lower() if ch.isalpha())


def name_similarity(a: str | None, b: str | None) -> float:
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0
    if a == b or frozenset((a, b)) in NICKNAMES:
        return 1.0
    return JaroWinkler.similarity(a, b)


def dob_similarity(a: date | None, b: date | None) -> float:
    """1 for the same date; 0.7 for the usual recording slips (day and month swapped, a year out,
    one digit wrong); 0 otherwise."""
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    swapped = a.day <= 12 and (a.month, a.day, a.year) == (b.day, b.month, b.year)
    year_out = (a.month, a.day) == (b.month, b.day) and abs(a.year - b.year) == 1
    one_digit = sum(x != y for x, y in zip(a.strftime("%Y%m%d"), b.strftime("%Y%m%d"))) == 1
    return 0.7 if swapped or year_out or one_digit else 0.0


def postcode_similarity(a: str | None, b: str | None) -> float:
    a, b = (a or "").replace(" ", "").upper(), (b or "").replace(" ", "").upper()
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return 0.5 if a[:-3] == b[:-3] else 0.0  # same outward code: same district


def score(subject: Subject, candidate: Candidate) -> Match | None:
    if subject.nhs_number and candidate.nhs_number:
        if subject.nhs_number != candidate.nhs_number:
            return None  # two NHS numbers that differ are two people, however alike the names
        return Match(subject.subject_ref, candidate.person_id, 1.0, ("nhs_number",), True)
    sims = {
        "family_name": name_similarity(subject.family_name, candidate.family_name),
        "given_name": name_similarity(subject.given_name, candidate.given_name),
        "date_of_birth": dob_similarity(subject.date_of_birth or subject.expected_date_of_birth, candidate.date_of_birth),
        "postcode": postcode_similarity(subject.address.postcode if subject.address else None, candidate.postcode),
    }
    confidence = round(sum(WEIGHTS[f] * s for f, s in sims.items()), 3)
    if confidence < POSSIBLE:
        return None
    matched = tuple(f for f, s in sims.items() if s >= FIELD_AGREES)
    certain = confidence >= CERTAIN and sims["date_of_birth"] == 1.0
    return Match(subject.subject_ref, candidate.person_id, confidence, matched, certain)


def match_subject(subject: Subject, candidates: list[Candidate]) -> tuple[list[Match], list[Match]]:
    """(certain, uncertain) matches for one subject, best first."""
    matches = sorted((m for c in candidates if (m := score(subject, c))), key=lambda m: -m.confidence)
    return [m for m in matches if m.certain], [m for m in matches if not m.certain]
