"""What children's social care holds (referrals, cases, plans, care episodes, care proceedings), and its record classes.

Plans, care episodes and care proceedings name the child and, where recorded, the mother (`parent_id`, role
`parent`): that is what links an unborn child to the records of the mother's other children."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, Column, Date, MetaData, String, Table, Text

from mash_desk import RecordClass, people_table, record_table

metadata = MetaData()
people = people_table(metadata)

referrals = record_table(
    "referrals",
    metadata,
    "referral_id",
    "child_id",
    Column("received_on", Date, nullable=False),
    Column("reason", Text),
    Column("outcome", String(120)),
)
cases = record_table(
    "cases",
    metadata,
    "case_id",
    "child_id",
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("team", String(120)),
    Column("allocated_worker", String(120)),
)
cp_plans = record_table(
    "cp_plans",
    metadata,
    "plan_id",
    "child_id",
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date),
    Column("category", String(32)),  # neglect, physical, emotional, sexual
    Column("parent_id", String(32), index=True),
)
cin_plans = record_table(
    "cin_plans", metadata, "plan_id", "child_id", Column("started_on", Date, nullable=False), Column("ended_on", Date)
)
looked_after = record_table(
    "looked_after",
    metadata,
    "episode_id",
    "child_id",
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date),
    Column("legal_status", String(16)),  # s20, s31, ...
    Column("parent_id", String(32), index=True),
)
care_proceedings = record_table(
    "care_proceedings",
    metadata,
    "proceedings_id",
    "child_id",
    Column("parent_id", String(32), index=True),
    Column("issued_on", Date, nullable=False),
    Column("concluded_on", Date),
    Column("order_made", String(40)),  # care order, placement order, special guardianship order, ...
    Column("removed_from_parents", Boolean, nullable=False),
)


def _period(r, start: str, end: str) -> str:
    began, ended = getattr(r, start), getattr(r, end)
    return f"from {began.isoformat()}" + (f" to {ended.isoformat()}" if ended else ", current")


def _open_case(r) -> str:
    return (
        f"Open case with {r.team}, allocated worker {r.allocated_worker or 'unallocated'}, {_period(r, 'opened_on', 'closed_on')}"
    )


def _cp_plan(r) -> str:
    return f"Child protection plan (category {r.category}) {_period(r, 'started_on', 'ended_on')}"


def _current_or_ended(
    table: Table,
    parties: dict[str, str],
    period: tuple[str, str],
    current: tuple[str, Callable[[Any], str]],
    ended: tuple[str, Callable[[Any], str]],
) -> list[RecordClass]:
    """A case or plan is two record classes because the desk's findings tell an open one from an ended one: open (no
    end date yet) it is dated from its start, ended from its end."""
    start, end = period
    return [
        RecordClass(current[0], table, parties, start, current[1], where=lambda t: t.c[end].is_(None)),
        RecordClass(ended[0], table, parties, end, ended[1], where=lambda t: t.c[end].is_not(None)),
    ]


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
    *_current_or_ended(
        cases,
        {"child_id": "child"},
        ("opened_on", "closed_on"),
        ("open_case", _open_case),
        ("closed_case", lambda r: f"Case with {r.team} {_period(r, 'opened_on', 'closed_on')}"),
    ),
    *_current_or_ended(
        cp_plans,
        {"child_id": "child", "parent_id": "parent"},
        ("started_on", "ended_on"),
        ("current_cp_plan", _cp_plan),
        ("previous_cp_plan", _cp_plan),
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
