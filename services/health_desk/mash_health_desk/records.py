"""What health holds (GP, community, unscheduled care, maternity, specialist services), and its record classes."""

from sqlalchemy import Column, Date, MetaData, String, Table, Text

from mash_desk import RecordClass, people_table, record_table

metadata = MetaData()
people = people_table(metadata)

gp_registrations = record_table(
    "gp_registrations",
    metadata,
    "registration_id",
    "person_id",
    Column("practice", String(120), nullable=False),
    Column("registered_on", Date, nullable=False),
)
health_visitor_contacts = record_table(
    "health_visitor_contacts",
    metadata,
    "contact_id",
    "child_id",
    Column("contact_on", Date, nullable=False),
    Column("practitioner_role", String(32), nullable=False),  # health_visitor, school_nurse
    Column("summary", Text),
    Column("parent_id", String(32), index=True),  # the parent seen with the child: links the parent's other children
)
unscheduled_care = record_table(
    "unscheduled_care",
    metadata,
    "attendance_id",
    "person_id",
    Column("attended_on", Date, nullable=False),
    Column("setting", String(32), nullable=False),  # A&E, urgent care, walk-in
    Column("reason", Text),
)
missed_appointments = record_table(
    "missed_appointments",
    metadata,
    "appointment_id",
    "person_id",
    Column("due_on", Date, nullable=False),
    Column("clinic", String(120)),
)
maternity = record_table(
    "maternity",
    metadata,
    "episode_id",
    "person_id",
    Column("booked_on", Date, nullable=False),
    Column("expected_delivery", Date),
    Column("concerns", Text),
)


def _specialist_contacts(name: str) -> Table:
    """Specialist services (mental health, substance misuse) keep their contacts alike; each is a table of its own
    so that its sensitivity travels with its record class."""
    return record_table(
        name,
        metadata,
        "contact_id",
        "person_id",
        Column("service", String(120), nullable=False),
        Column("contact_on", Date, nullable=False),
        Column("summary", Text),
    )


mental_health_contacts = _specialist_contacts("mental_health_contacts")
substance_misuse_contacts = _specialist_contacts("substance_misuse_contacts")


def _specialist_contact(name: str, table: Table, sensitivity: str) -> RecordClass:
    return RecordClass(
        name,
        table,
        {"person_id": "patient"},
        "contact_on",
        lambda r: f"Contact with {r.service}: {r.summary}",
        sensitivity=(sensitivity,),
    )


RECORD_CLASSES = [
    RecordClass(
        "gp_registration",
        gp_registrations,
        {"person_id": "patient"},
        "registered_on",
        lambda r: f"Registered with {r.practice} since {r.registered_on.isoformat()}",
    ),
    RecordClass(
        "health_visitor_contact",
        health_visitor_contacts,
        {"child_id": "child", "parent_id": "parent"},
        "contact_on",
        lambda r: f"{r.practitioner_role.replace('_', ' ').capitalize()} contact: {r.summary}",
    ),
    RecordClass(
        "unscheduled_care",
        unscheduled_care,
        {"person_id": "patient"},
        "attended_on",
        lambda r: f"{r.setting} attendance: {r.reason}",
    ),
    RecordClass(
        "missed_appointment",
        missed_appointments,
        {"person_id": "patient"},
        "due_on",
        lambda r: f"Missed appointment at {r.clinic or 'a clinic'}",
    ),
    RecordClass(
        "maternity",
        maternity,
        {"person_id": "mother"},
        "booked_on",
        lambda r: f"Maternity booking, expected delivery {r.expected_delivery}: {r.concerns or 'no concerns recorded'}",
    ),
    _specialist_contact("mental_health_contact", mental_health_contacts, "mental_health"),
    _specialist_contact("substance_misuse_contact", substance_misuse_contacts, "substance_misuse"),
]
