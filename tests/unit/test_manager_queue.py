"""The MASH manager's queue: red before amber before green before blue, the earliest deadline first within each, and
the time left counted in working hours (weekends and bank holidays do not count), overdue once the deadline has
passed, due soon under two working hours."""

from datetime import UTC, datetime, timedelta

import pytest

from mash_runtime.calendar import WorkingCalendar
from mash_web.decision_queue import duration, in_order, working_time

pytestmark = pytest.mark.unit
CALENDAR = WorkingCalendar()  # 9 to 5, Europe/London (GMT in November and December: UTC times read as local)
FRIDAY_4PM = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def waiting(ref: str, rag: str, due: datetime) -> dict:
    return {"referral_id": ref, "rag": rag, "decision_due_at": due.isoformat(), "level": 3, "outcome": "cin_assessment"}


def test_red_first_then_amber_green_blue_and_the_earliest_deadline_first_within_each():
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = in_order(
        [
            waiting("REF-00000000000B", "blue", monday),
            waiting("REF-00000000000A", "amber", monday + timedelta(hours=3)),
            waiting("REF-00000000000C", "green", monday),
            waiting("REF-00000000000D", "red", monday + timedelta(hours=6)),
            waiting("REF-00000000000E", "amber", monday + timedelta(hours=1)),
            waiting("REF-00000000000F", "purple", monday),  # a RAG the hub does not know: last, never dropped
            waiting("REF-000000000010", "red", monday + timedelta(hours=2)),
        ],
        FRIDAY_4PM,
        CALENDAR,
    )
    assert [(r.rag, r.referral_id) for r in rows] == [
        ("red", "REF-000000000010"),
        ("red", "REF-00000000000D"),
        ("amber", "REF-00000000000E"),
        ("amber", "REF-00000000000A"),
        ("green", "REF-00000000000C"),
        ("blue", "REF-00000000000B"),
        ("purple", "REF-00000000000F"),
    ]
    assert rows[0].recommendation["level"] == 3, "the service's row travels with it"


def test_a_weekend_is_not_working_time_so_monday_morning_is_due_soon_on_friday_afternoon():
    [row] = in_order([waiting("REF-000000000001", "amber", datetime(2026, 11, 23, 9, 59, tzinfo=UTC))], FRIDAY_4PM, CALENDAR)
    assert row.left == timedelta(hours=1, minutes=59) and row.due_soon and not row.overdue
    assert row.time_left == "1 hour 59 minutes"
    [row] = in_order([waiting("REF-000000000001", "amber", datetime(2026, 11, 23, 10, 0, tzinfo=UTC))], FRIDAY_4PM, CALENDAR)
    assert row.left == timedelta(hours=2) and not row.due_soon, "two working hours left is not under two"


def test_bank_holidays_are_not_working_time():
    christmas_eve_4pm = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
    # Friday 25 December and Monday 28 December (Boxing Day, observed) are bank holidays: 1 hour on Thursday, 30
    # minutes on Tuesday.
    due = datetime(2026, 12, 29, 9, 30, tzinfo=UTC)
    assert working_time(CALENDAR, christmas_eve_4pm, due) == timedelta(hours=1, minutes=30)
    [row] = in_order([waiting("REF-000000000001", "green", due)], christmas_eve_4pm, CALENDAR)
    assert row.due_soon and row.time_left == "1 hour 30 minutes"


def test_a_deadline_passed_is_overdue_with_the_working_time_since():
    due = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    [row] = in_order([waiting("REF-000000000001", "red", due)], due + timedelta(hours=1, minutes=30), CALENDAR)
    assert row.overdue and not row.due_soon and row.left == -timedelta(hours=1, minutes=30)
    assert row.time_left == "Overdue by 1 hour 30 minutes"
    [row] = in_order([waiting("REF-000000000001", "red", due)], due, CALENDAR)
    assert row.overdue, "at the deadline it has passed"
    # Passed at the close of Friday, seen on Saturday: overdue, though no working time has gone by since.
    friday_close = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    [row] = in_order([waiting("REF-000000000001", "red", friday_close)], friday_close + timedelta(hours=20), CALENDAR)
    assert row.overdue and row.time_left == "Overdue"


def test_working_time_in_summer_time_counts_london_office_hours():
    # 9 to 5 in London is 08:00 to 16:00 UTC in June.
    start, end = datetime(2026, 6, 15, 7, 0, tzinfo=UTC), datetime(2026, 6, 15, 17, 0, tzinfo=UTC)
    assert working_time(CALENDAR, start, end) == timedelta(hours=8)
    assert working_time(CALENDAR, datetime(2026, 6, 15, 15, 30, tzinfo=UTC), end) == timedelta(minutes=30)


def test_a_row_without_a_readable_deadline_is_an_error_not_a_row_left_out():
    for bad in (
        {"referral_id": "REF-000000000001", "rag": "red"},
        waiting("REF-000000000001", "red", FRIDAY_4PM) | {"decision_due_at": "soon"},
    ):
        with pytest.raises((KeyError, ValueError)):
            in_order([bad], FRIDAY_4PM, CALENDAR)


def test_durations_read_as_hours_and_minutes():
    assert [duration(timedelta(minutes=m)) for m in (0, 1, 40, 60, 61, 125, 600)] == [
        "0 minutes",
        "1 minute",
        "40 minutes",
        "1 hour",
        "1 hour 1 minute",
        "2 hours 5 minutes",
        "10 hours",
    ]
