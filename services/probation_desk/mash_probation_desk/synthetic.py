"""What the Probation Service records about a synthetic household it knows, for the demo, the bench and the tests
(written through mash_desk.synthetic; nobody real)."""

from __future__ import annotations

from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords

from .records import licence_conditions, mappa, supervision

OFFENCES = ["assault occasioning actual bodily harm", "burglary", "possession with intent to supply", "harassment", "theft"]


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    for adult in adults:
        if not r.chance(0.5):
            continue
        local = r.know(adult)
        order = r.rng.choice(["community_order", "suspended_sentence_order", "licence", "post_sentence"])
        started = r.rng.randint(30, 900)
        r.record(
            supervision,
            "SUP",
            person_id=local,
            order_type=order,
            offence=r.rng.choice(OFFENCES),
            started_on=r.ago(started),
            ends_on=r.days_ahead(30, 700),
            rosh_level=r.rng.choices(["low", "medium", "high", "very_high"], [50, 35, 12, 3])[0],
            rosh_to=r.rng.choice([None, "known adult", "children", "public"]),
        )
        if order == "licence":
            r.record(
                licence_conditions,
                "LIC",
                person_id=local,
                conditions="Reside at approved address; report as directed",
                until=r.days_ahead(60, 500),
                restricts_contact_with_children=r.chance(0.15),
            )
        if r.chance(0.05):
            r.record(
                mappa,
                "MAP",
                person_id=local,
                category=r.rng.choice([1, 2, 3]),
                level=r.rng.choice([1, 1, 2, 3]),
                registered_on=r.days_ago(30, 1500),
            )


RECORDS = SyntheticRecords(prefix="PRB", known_by=0.12, missing_nhs=0.25, write=write)
