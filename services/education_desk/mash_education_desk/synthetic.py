"""What this agency records about a synthetic household it knows, for the demo, the bench and the tests
(written through mash_desk.synthetic; nobody real)."""

from __future__ import annotations

from mash_desk.synthetic import AgencyRecords, Person, SyntheticRecords

from .records import attendance, enrolments, exclusions, safeguarding_log


def write(r: AgencyRecords, adults: list[Person], children: list[Person]) -> None:
    for child in (c for c in children if 4 <= c.age(r.today) <= 17):  # every pupil of school age
        local = r.know(child)
        school = f"{r.fake.city()} {'Primary' if child.age(r.today) < 11 else 'Academy'}"
        r.record(enrolments, "ENR", child_id=local, school=school, enrolled_on=r.days_ago(60, 2500))
        r.record(attendance, "ATT", child_id=local, term="2026 autumn", attendance_pct=round(min(100.0, r.rng.gauss(94, 5)), 1))
        if r.chance(0.04):
            r.record(
                exclusions,
                "EXC",
                child_id=local,
                excluded_on=r.days_ago(10, 900),
                kind="fixed",
                reason="persistent disruptive behaviour",
            )
        if r.chance(0.06):
            r.record(
                safeguarding_log,
                "SGL",
                child_id=local,
                logged_on=r.days_ago(5, 600),
                summary="Pupil disclosed worries about home",
            )


RECORDS = SyntheticRecords(prefix="EDU", known_by=1.0, missing_nhs=0.10, write=write)
