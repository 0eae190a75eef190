"""What health holds (GP, community, unscheduled care, maternity, specialist services), and its record classes."""

from sqlalchemy import Column, Date, MetaData, String, Table, Text

from mash_desk import RecordClass, people_table

metadata = MetaData()
people = people_table(metadata)

gp_registrations = Table(
    "gp_registrations",
    metadata,
    Column("registration_id", String(32), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("practice", String(120), nullable=False),
    Column("registered_on", Date, nullable=False),
)
health_visitor_contacts = Table(
    "health_visitor_contacts",
    metadata,
    Column("contact_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("contact_on", Date, nullable=False),
    Column("practitioner_role", String(32), nullable=False),  # health_visitor, school_nurse
    Column("summary", Text),
    Column("parent_id", String(32), index=True),  # the parent seen with the child: links the parent's other children
)
unscheduled_care = Table(
    "unscheduled_care",
    metadata,
    Column("attendance_id", String(32), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("attended_on", Date, nullable=False),
    Column("setting", String(32), nullable=False),  # A&E, urgent care, walk-in
    Column("reason", Text),
)
missed_appointments = Table(
    "missed_appointments",
    metadata,
    Column("appointment_id", String(32), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("due_on", Date, nullable=False),
    Column("clinic", String(120)),
)
maternity = Table(
    "maternity",
    metadata,
    Column("episode_id", String(32), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("booked_on", Date, nullable=False),
    Column("expected_delivery", Date),
    Column("concerns", Text),
)
mental_health_contacts = Table(
    "mental_health_contacts",
    metadata,
    Column("contact_id", String(32), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("service", String(120), nullable=False),
    Column("contact_on", Date, nullable=False),
    Column("summary", Text),
)
substance_misuse_contacts = Table(
    "substance_misuse_contacts",
    metadata,
    Column("contact_id", String(32), primary_key=True),
    Column("person_id", String(32), nullable=False, index=True),
    Column("service", String(120), nullable=False),
    Column("contact_on", Date, nullable=False),
    Column("summary", Text),
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
    RecordClass(
        "mental_health_contact",
        mental_health_contacts,
        {"person_id": "patient"},
        "contact_on",
        lambda r: f"Contact with {r.service}: {r.summary}",
        sensitivity=("mental_health",),
    ),
    RecordClass(
        "substance_misuse_contact",
        substance_misuse_contacts,
        {"person_id": "patient"},
        "contact_on",
        lambda r: f"Contact with {r.service}: {r.summary}",
        sensitivity=("substance_misuse",),
    ),
]
