"""What this agency records about a synthetic household it knows, for the demo, the bench and the tests
(written through mash_desk.synthetic; nobody real)."""

from __future__ import annotations

from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords, parent_of

from .records import (
    gp_registrations,
    health_visitor_contacts,
    maternity,
    mental_health_contacts,
    missed_appointments,
    substance_misuse_contacts,
    unscheduled_care,
)

# The specialist services an adult may be known to: how often, their contacts table and id, the service, what it recorded.
SPECIALIST_SERVICES = [
    (0.12, mental_health_contacts, "MH", "community mental health team", "Assessment and follow-up"),
    (0.07, substance_misuse_contacts, "SM", "drug and alcohol service", "Engaged with treatment"),
]


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    parent = parent_of(adults)
    practice = f"{r.fake.city()} Medical Practice"
    for p in adults + children:
        local = r.know(p)
        r.record(gp_registrations, "GP", person_id=local, practice=practice, registered_on=r.days_ago(60, 4000))
        if p.role_in_household == "child":
            if p.age(r.today) < 5:
                r.record(
                    health_visitor_contacts,
                    "HV",
                    child_id=local,
                    contact_on=r.days_ago(10, 300),
                    practitioner_role="health_visitor",
                    summary="Development review",
                    parent_id=r.local_ids.get(parent.person_id) if parent else None,
                )
            if r.chance(0.15):
                for _ in r.times(4):
                    r.record(
                        unscheduled_care,
                        "UC",
                        person_id=local,
                        attended_on=r.days_ago(5, 500),
                        setting=r.rng.choice(["A&E", "urgent care", "walk-in"]),
                        reason=r.rng.choice(["minor head injury", "fever", "fall", "burn to hand"]),
                    )
            if r.chance(0.1):
                for _ in r.times(3):
                    r.record(
                        missed_appointments, "DNA", person_id=local, due_on=r.days_ago(5, 400), clinic="paediatric outpatients"
                    )
        else:
            for chance, table, kind, service, summary in SPECIALIST_SERVICES:
                if r.chance(chance):
                    r.record(table, kind, person_id=local, service=service, contact_on=r.days_ago(10, 900), summary=summary)
            if p.sex == "F" and p.age(r.today) < 42 and r.chance(0.05):
                r.record(
                    maternity,
                    "MAT",
                    person_id=local,
                    booked_on=r.days_ago(20, 150),
                    expected_delivery=r.days_ahead(20, 200),
                    concerns=None,
                )


RECORDS = SyntheticRecords(prefix="HLT", known_by=0.95, missing_nhs=0.02, write=write)
