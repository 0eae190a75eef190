"""What schools hold (enrolment, attendance, exclusions, the safeguarding log), and its record classes."""

from sqlalchemy import Column, Date, Float, MetaData, String, Text

from mash_desk import RecordClass, people_table, record_table

metadata = MetaData()
people = people_table(metadata)

enrolments = record_table(
    "enrolments",
    metadata,
    "enrolment_id",
    "child_id",
    Column("school", String(120), nullable=False),
    Column("enrolled_on", Date, nullable=False),
)
attendance = record_table(
    "attendance",
    metadata,
    "attendance_id",
    "child_id",
    Column("term", String(32), nullable=False),
    Column("attendance_pct", Float, nullable=False),
)
exclusions = record_table(
    "exclusions",
    metadata,
    "exclusion_id",
    "child_id",
    Column("excluded_on", Date, nullable=False),
    Column("kind", String(16), nullable=False),  # fixed, permanent
    Column("reason", Text),
)
safeguarding_log = record_table(
    "safeguarding_log", metadata, "entry_id", "child_id", Column("logged_on", Date, nullable=False), Column("summary", Text)
)

PERSISTENT_ABSENCE = 90.0  # DfE: a pupil below 90% attendance is persistently absent

RECORD_CLASSES = [
    RecordClass(
        "enrolment",
        enrolments,
        {"child_id": "pupil"},
        "enrolled_on",
        lambda r: f"On roll at {r.school} since {r.enrolled_on.isoformat()}",
    ),
    RecordClass(
        "persistent_absence",
        attendance,
        {"child_id": "pupil"},
        None,
        lambda r: f"Attendance {r.attendance_pct:.0f}% in {r.term} (persistently absent)",
        where=lambda t: t.c.attendance_pct < PERSISTENT_ABSENCE,
    ),
    RecordClass(
        "exclusion", exclusions, {"child_id": "pupil"}, "excluded_on", lambda r: f"{r.kind.capitalize()} exclusion: {r.reason}"
    ),
    RecordClass(
        "school_safeguarding_log",
        safeguarding_log,
        {"child_id": "pupil"},
        "logged_on",
        lambda r: f"School safeguarding log: {r.summary}",
    ),
]
