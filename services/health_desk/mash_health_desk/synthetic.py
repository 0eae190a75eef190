"""What this agency records about a synthetic household it knows, for the demo, the bench and the tests
(written through mash_desk.synthetic; nobody real)."""

from __future__ import annotations

from datetime import timedelta

from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords, parent_of


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    parent = parent_of(adults)
    practice = f"{r.fake.city()} Medical Practice"
    for p in adults + children:
        local = r.know(p)
        r.add(
            "gp_registrations",
            {
                "registration_id": r.next_id("GP"),
                "person_id": local,
                "practice": practice,
                "registered_on": r.ago(r.rng.randint(60, 4000)),
            },
        )
        if p.role_in_household == "child":
            if p.age(r.today) < 5:
                r.add(
                    "health_visitor_contacts",
                    {
                        "contact_id": r.next_id("HV"),
                        "child_id": local,
                        "contact_on": r.ago(r.rng.randint(10, 300)),
                        "practitioner_role": "health_visitor",
                        "summary": "Development review",
                        "parent_id": r.local_ids.get(parent.person_id) if parent else None,
                    },
                )
            if r.rng.random() < 0.15:
                for _ in range(r.rng.randint(1, 4)):
                    r.add(
                        "unscheduled_care",
                        {
                            "attendance_id": r.next_id("UC"),
                            "person_id": local,
                            "attended_on": r.ago(r.rng.randint(5, 500)),
                            "setting": r.rng.choice(["A&E", "urgent care", "walk-in"]),
                            "reason": r.rng.choice(["minor head injury", "fever", "fall", "burn to hand"]),
                        },
                    )
            if r.rng.random() < 0.1:
                for _ in range(r.rng.randint(1, 3)):
                    r.add(
                        "missed_appointments",
                        {
                            "appointment_id": r.next_id("DNA"),
                            "person_id": local,
                            "due_on": r.ago(r.rng.randint(5, 400)),
                            "clinic": "paediatric outpatients",
                        },
                    )
        else:
            if r.rng.random() < 0.12:
                r.add(
                    "mental_health_contacts",
                    {
                        "contact_id": r.next_id("MH"),
                        "person_id": local,
                        "service": "community mental health team",
                        "contact_on": r.ago(r.rng.randint(10, 900)),
                        "summary": "Assessment and follow-up",
                    },
                )
            if r.rng.random() < 0.07:
                r.add(
                    "substance_misuse_contacts",
                    {
                        "contact_id": r.next_id("SM"),
                        "person_id": local,
                        "service": "drug and alcohol service",
                        "contact_on": r.ago(r.rng.randint(10, 900)),
                        "summary": "Engaged with treatment",
                    },
                )
            if p.sex == "F" and p.age(r.today) < 42 and r.rng.random() < 0.05:
                r.add(
                    "maternity",
                    {
                        "episode_id": r.next_id("MAT"),
                        "person_id": local,
                        "booked_on": r.ago(r.rng.randint(20, 150)),
                        "expected_delivery": (r.today + timedelta(days=r.rng.randint(20, 200))).isoformat(),
                        "concerns": None,
                    },
                )


RECORDS = SyntheticRecords(prefix="HLT", known_by=0.95, missing_nhs=0.02, write=write)
