"""What children's social care holds (referrals, cases, plans, care episodes, care proceedings), and its record classes.

Plans, care episodes and care proceedings name the child and, where recorded, the mother (`parent_id`, role
`parent`): that is what links an unborn child to the records of the mother's other children."""

from sqlalchemy import Boolean, Column, Date, MetaData, String, Table, Text

from mash_desk import RecordClass, people_table

metadata = MetaData()
people = people_table(metadata)

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("received_on", Date, nullable=False),
    Column("reason", Text),
    Column("outcome", String(120)),
)
cases = Table(
    "cases",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("team", String(120)),
    Column("allocated_worker", String(120)),
)
cp_plans = Table(
    "cp_plans",
    metadata,
    Column("plan_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date),
    Column("category", String(32)),  # neglect, physical, emotional, sexual
    Column("parent_id", String(32), index=True),
)
cin_plans = Table(
    "cin_plans",
    metadata,
    Column("plan_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date),
)
looked_after = Table(
    "looked_after",
    metadata,
    Column("episode_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date),
    Column("legal_status", String(16)),  # s20, s31, ...
    Column("parent_id", String(32), index=True),
)
care_proceedings = Table(
    "care_proceedings",
    metadata,
    Column("proceedings_id", String(32), primary_key=True),
    Column("child_id", String(32), nullable=False, index=True),
    Column("parent_id", String(32), index=True),
    Column("issued_on", Date, nullable=False),
    Column("concluded_on", Date),
    Column("order_made", String(40)),  # care order, placement order, special guardianship order, ...
    Column("removed_from_parents", Boolean, nullable=False),
)


def _period(r, start: str, end: str) -> str:
    began, ended = getattr(r, start), getattr(r, end)
    return f"from {began.isoformat()}" + (f" to {ended.isoformat()}" if ended else ", current")


def _proceedings(r) -> str:
    order = f"; {r.order_made}" if r.order_made else ""
    ended = f"concluded {r.concluded_on.isoformat()}{order}" if r.concluded_on else "not yet concluded"
    removed = "; the child was removed from the parents' care" if r.removed_from_parents else ""
    return f"Care proceedings issued {r.issued_on.isoformat()}, {ended}{removed}"


RECORD_CLASSES = [
    RecordClass(
        "previous_referral",
        referrals,
        {"child_id": "child"},
        "received_on",
        lambda r: f"Referral received {r.received_on.isoformat()} ({r.reason}); outcome: {r.outcome}",
    ),
    RecordClass(
        "open_case",
        cases,
        {"child_id": "child"},
        "opened_on",
        lambda r: (
            f"Open case with {r.team}, allocated worker {r.allocated_worker or 'unallocated'}, {_period(r, 'opened_on', 'closed_on')}"
        ),
        where=lambda t: t.c.closed_on.is_(None),
    ),
    RecordClass(
        "closed_case",
        cases,
        {"child_id": "child"},
        "closed_on",
        lambda r: f"Case with {r.team} {_period(r, 'opened_on', 'closed_on')}",
        where=lambda t: t.c.closed_on.is_not(None),
    ),
    RecordClass(
        "current_cp_plan",
        cp_plans,
        {"child_id": "child", "parent_id": "parent"},
        "started_on",
        lambda r: f"Child protection plan (category {r.category}) {_period(r, 'started_on', 'ended_on')}",
        where=lambda t: t.c.ended_on.is_(None),
    ),
    RecordClass(
        "previous_cp_plan",
        cp_plans,
        {"child_id": "child", "parent_id": "parent"},
        "ended_on",
        lambda r: f"Child protection plan (category {r.category}) {_period(r, 'started_on', 'ended_on')}",
        where=lambda t: t.c.ended_on.is_not(None),
    ),
    RecordClass(
        "cin_plan",
        cin_plans,
        {"child_id": "child"},
        "started_on",
        lambda r: f"Child in need plan {_period(r, 'started_on', 'ended_on')}",
    ),
    RecordClass(
        "looked_after_episode",
        looked_after,
        {"child_id": "child", "parent_id": "parent"},
        "started_on",
        lambda r: f"Looked after ({r.legal_status}) {_period(r, 'started_on', 'ended_on')}",
    ),
    RecordClass("care_proceedings", care_proceedings, {"child_id": "child", "parent_id": "parent"}, "issued_on", _proceedings),
]
