"""What this agency records about a synthetic household it knows, for the demo, the bench and the tests
(written through mash_desk.synthetic; nobody real)."""

from __future__ import annotations

from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords

from .records import arrests, incidents, intelligence, missing_reports


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    ids = {p.person_id: r.know(p) for p in adults + children}
    if len(adults) == 2 and r.chance(0.45):
        victim, perpetrator = adults
        for _ in r.times(4):
            present = r.chance(0.6)
            r.record(
                incidents,
                "INC",
                occurred_on=r.days_ago(10, 1800),
                kind="domestic_abuse",
                victim_id=ids[victim.person_id],
                perpetrator_id=ids[perpetrator.person_id],
                children_present=present,
                child_ids=[ids[c.person_id] for c in children] if present else [],
                risk_grading=r.rng.choice(["standard", "medium", "high"]),
                summary="Incident at the home address",
            )
    for adult in adults:
        if r.chance(0.25):
            r.record(
                arrests,
                "ARR",
                person_id=ids[adult.person_id],
                occurred_on=r.days_ago(30, 3600),
                offence=r.rng.choice(["assault", "theft", "possession of a controlled drug", "criminal damage"]),
                outcome=r.rng.choice(["charged", "no further action", "caution"]),
            )
        if r.chance(0.2):
            r.record(
                intelligence,
                "INT",
                subject_id=ids[adult.person_id],
                recorded_on=r.days_ago(30, 3000),
                summary="Reported association with people involved in supply",
                not_for_disclosure=r.chance(0.3),
                handling_code=r.rng.choice("PCS"),
            )
    for child in children:
        if child.age(r.today) >= 11 and r.chance(0.1):
            for _ in r.times(3):
                day = r.rng.randint(5, 700)
                r.record(
                    missing_reports,
                    "MIS",
                    person_id=ids[child.person_id],
                    reported_on=r.ago(day),
                    returned_on=r.ago(day - 1),
                    summary="Missing overnight, returned of own accord",
                )


RECORDS = SyntheticRecords(prefix="POL", known_by=0.35, missing_nhs=0.3, write=write)
