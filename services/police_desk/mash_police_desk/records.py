"""What the police hold, as the police desk's store keeps it, and the record classes its policy names."""

from sqlalchemy import JSON, Boolean, Column, Date, MetaData, String, Table, Text

from mash_desk import RecordClass, people_table, record_table

metadata = MetaData()
people = people_table(metadata)

# Not a record_table: an incident is about a victim and a perpetrator, either of whom may be unknown.
incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", String(32), primary_key=True),
    Column("occurred_on", Date, nullable=False),
    Column("kind", String(40), nullable=False),  # domestic_abuse, assault, public_order, concern_for_welfare
    Column("victim_id", String(32), index=True),
    Column("perpetrator_id", String(32), index=True),
    Column("children_present", Boolean, nullable=False, default=False),
    Column("child_ids", JSON),
    Column("risk_grading", String(16)),  # DASH: standard, medium, high
    Column("summary", Text),
)
arrests = record_table(
    "arrests",
    metadata,
    "arrest_id",
    "person_id",
    Column("occurred_on", Date, nullable=False),
    Column("offence", String(120), nullable=False),
    Column("outcome", String(120)),
)
missing_reports = record_table(
    "missing_reports",
    metadata,
    "report_id",
    "person_id",
    Column("reported_on", Date, nullable=False),
    Column("returned_on", Date),
    Column("summary", Text),
)
bail_conditions = record_table(
    "bail_conditions",
    metadata,
    "bail_id",
    "person_id",
    Column("conditions", Text, nullable=False),
    Column("until", Date, nullable=False),
)
intelligence = record_table(
    "intelligence",
    metadata,
    "intel_id",
    "subject_id",
    Column("recorded_on", Date, nullable=False),
    Column("summary", Text),
    Column("not_for_disclosure", Boolean, nullable=False, default=False),
    Column("handling_code", String(4)),
)


def _incident(r) -> str:
    present = ", children present" if r.children_present else ""
    return f"{r.kind.replace('_', ' ').capitalize()} incident, {r.risk_grading or 'ungraded'} risk{present}: {r.summary}"


RECORD_CLASSES = [
    RecordClass(
        "domestic_abuse_incident",
        incidents,
        {"victim_id": "victim", "perpetrator_id": "perpetrator"},
        "occurred_on",
        _incident,
        where=lambda t: t.c.kind == "domestic_abuse",
    ),
    RecordClass(
        "other_incident",
        incidents,
        {"victim_id": "victim", "perpetrator_id": "suspect"},
        "occurred_on",
        _incident,
        where=lambda t: t.c.kind != "domestic_abuse",
    ),
    RecordClass(
        "arrest",
        arrests,
        {"person_id": "arrested"},
        "occurred_on",
        lambda r: f"Arrested for {r.offence}; outcome: {r.outcome or 'pending'}",
    ),
    RecordClass(
        "missing_person_report",
        missing_reports,
        {"person_id": "missing person"},
        "reported_on",
        lambda r: (
            f"Reported missing{'; returned ' + r.returned_on.isoformat() if r.returned_on else '; not yet returned'}: {r.summary}"
        ),
    ),
    RecordClass(
        "bail_conditions",
        bail_conditions,
        {"person_id": "on bail"},
        "until",
        lambda r: f"Bail conditions until {r.until.isoformat()}: {r.conditions}",
    ),
    RecordClass(
        "intelligence",
        intelligence,
        {"subject_id": "subject"},
        "recorded_on",
        lambda r: f"Intelligence ({r.handling_code or 'ungraded'}): {r.summary}",
        not_for_disclosure="not_for_disclosure",
    ),
]
