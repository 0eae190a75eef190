"""What this agency records about a synthetic household it knows, for the demo, the bench and the tests
(written through mash_desk.synthetic; nobody real)."""

from __future__ import annotations

import random
from datetime import timedelta

from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords, parent_of

from .records import care_proceedings, cases, cin_plans, cp_plans, looked_after, referrals


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    parent = parent_of(adults)

    def parent_id() -> str | None:
        # Plans and care episodes name the parent as social care recorded them (exactly: from the family's own papers).
        return r.know(parent, exact=True) if parent else None

    for child in children:
        local = r.know(child)
        for _ in r.times(3):
            r.record(
                referrals,
                "REF",
                child_id=local,
                received_on=r.days_ago(20, 2500),
                reason=r.rng.choice(["neglect", "domestic abuse", "parental mental health"]),
                outcome=r.rng.choice(["no further action", "early help", "single assessment", "s47 enquiry"]),
            )
        roll = r.rng.random()
        if roll < 0.2:
            r.record(
                cases,
                "CASE",
                child_id=local,
                opened_on=r.days_ago(30, 600),
                closed_on=None,
                team="Family Safeguarding Team",
                allocated_worker=f"Social worker {r.rng.randint(1, 40)}",
            )
        if roll < 0.08:
            r.record(
                cp_plans,
                "CP",
                child_id=local,
                started_on=r.days_ago(30, 500),
                ended_on=None,
                category=r.rng.choice(["neglect", "physical", "emotional", "sexual"]),
                parent_id=parent_id(),
            )
        elif roll < 0.2:
            start = r.rng.randint(400, 2000)
            r.record(cin_plans, "CIN", child_id=local, started_on=r.ago(start), ended_on=r.ago(start - 200))
        if r.chance(0.03):
            r.record(
                looked_after,
                "LAC",
                child_id=local,
                started_on=r.days_ago(100, 1500),
                ended_on=None,
                legal_status=r.rng.choice(["s20", "s31"]),
                parent_id=parent_id(),
            )
    if parent is not None:
        _previous_child_removed(r, parent)


def _previous_child_removed(r: AgencyRecords, parent: Person) -> None:
    """A small share of the families social care knows had an older child removed from the parent's care after care
    proceedings; that child lives elsewhere now, so only social care's records link them. Drawn from a stream of its
    own, so adding this history left every other record of the population as it was."""
    rng = random.Random(f"previous-child-removed:{parent.person_id}:{r.today.isoformat()}")
    if rng.random() >= 0.04:
        return
    mother = r.know(parent, exact=True)
    issued = 365 * rng.randint(2, 10) + rng.randint(0, 200)
    child = f"CSC-{parent.person_id}-R"
    dob = r.today - timedelta(days=issued + rng.randint(30, 4 * 365))
    r.add(
        "people",
        {
            "person_id": child,
            "given_name": rng.choice(["Kai", "Lily", "Mason", "Ruby", "Leo", "Ava"]),
            "family_name": parent.family_name,
            "date_of_birth": dob.isoformat(),
            "nhs_number": None,
            "address_line1": None,
            "postcode": None,
            "true_person_id": f"{parent.person_id}-R",
        },
    )
    r.record(
        care_proceedings,
        "CPR",
        child_id=child,
        parent_id=mother,
        issued_on=r.ago(issued),
        concluded_on=r.ago(issued - 180),
        order_made=rng.choice(["care order", "placement order", "special guardianship order"]),
        removed_from_parents=True,
    )


RECORDS = SyntheticRecords(prefix="CSC", known_by=0.25, missing_nhs=0.1, write=write)
