"""What the Probation Service holds, as the probation desk's store keeps it, and the record classes its policy names."""

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Text

from mash_desk import RecordClass, people_table, record_table

metadata = MetaData()
people = people_table(metadata)

supervision = record_table(
    "supervision",
    metadata,
    "supervision_id",
    "person_id",
    Column("order_type", String(40), nullable=False),  # community_order, suspended_sentence_order, licence, post_sentence
    Column("offence", String(120), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("ends_on", Date),
    # Risk of serious harm (OASys RoSH): low, medium, high, very_high, and to whom (children, known adult, public)
    Column("rosh_level", String(16), nullable=False),
    Column("rosh_to", String(60)),
)
licence_conditions = record_table(
    "licence_conditions",
    metadata,
    "condition_id",
    "person_id",
    Column("conditions", Text, nullable=False),
    Column("until", Date, nullable=False),
    Column("restricts_contact_with_children", Boolean, nullable=False, default=False),
)
mappa = record_table(
    "mappa",
    metadata,
    "mappa_id",
    "person_id",
    Column("category", Integer, nullable=False),  # 1 registered sexual offender, 2 violent offender, 3 other dangerous
    Column("level", Integer, nullable=False),  # 1 ordinary agency management, 2 and 3 multi-agency
    Column("registered_on", Date, nullable=False),
)

_ORDERS = {
    "community_order": "Community order",
    "suspended_sentence_order": "Suspended sentence order",
    "licence": "Released on licence",
    "post_sentence": "Post-sentence supervision",
}
_MAPPA = {1: "registered sexual offender", 2: "violent offender", 3: "other dangerous offender"}


def _supervision(r) -> str:
    to = f" to {r.rosh_to}" if r.rosh_to else ""
    ends = f" until {r.ends_on.isoformat()}" if r.ends_on else ""
    return f"{_ORDERS.get(r.order_type, r.order_type)}{ends} for {r.offence}; risk of serious harm {r.rosh_level.replace('_', ' ')}{to}"


RECORD_CLASSES = [
    RecordClass("supervision", supervision, {"person_id": "supervised"}, "started_on", _supervision),
    RecordClass(
        "licence_conditions",
        licence_conditions,
        {"person_id": "on licence"},
        "until",
        lambda r: (
            f"Licence conditions until {r.until.isoformat()}"
            + (", restricting contact with children" if r.restricts_contact_with_children else "")
            + f": {r.conditions}"
        ),
    ),
    RecordClass(
        "mappa_management",
        mappa,
        {"person_id": "managed offender"},
        "registered_on",
        lambda r: f"Managed under MAPPA category {r.category} ({_MAPPA.get(r.category, 'other')}), level {r.level}",
    ),
]
