"""The MASH manager's queue: the recommendations waiting, most urgent first (RAG, then the decision deadline), each
with the working time left before its one-working-day deadline and whether it is overdue or due soon.

Pure: the decision service's queue, the time and the working calendar in; rows out. Time left is counted in
working hours (the calendar's office hours, weekdays, bank holidays), as the deadline itself was: a deadline at
10:00 on Monday seen at 16:00 on Friday is two working hours away, not a weekend away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mash_runtime.calendar import WorkingCalendar

RAG_ORDER = ("red", "amber", "green", "blue")
DUE_SOON = timedelta(hours=2)  # of working time


@dataclass(frozen=True)
class Waiting:
    referral_id: str
    rag: str
    decision_due_at: datetime
    left: timedelta  # working time until the deadline; once it has passed, the working time since (negative)
    overdue: bool
    due_soon: bool
    recommendation: Mapping  # the decision service's row: level, level name, outcome, recipients, factors...

    @property
    def time_left(self) -> str:
        if self.overdue:
            return f"Overdue by {duration(-self.left)}" if -self.left >= timedelta(minutes=1) else "Overdue"
        return duration(self.left)


def in_order(waiting: Iterable[Mapping], now: datetime, calendar: WorkingCalendar) -> list[Waiting]:
    """Red before amber before green before blue (a RAG the hub does not know goes last, never dropped), the
    earliest deadline first within each. Raises KeyError or ValueError for a row without a readable deadline."""
    rows = []
    for w in waiting:
        due = datetime.fromisoformat(w["decision_due_at"])
        if due.tzinfo is None:
            raise ValueError(f"the decision deadline of {w['referral_id']} has no time zone")
        overdue = due <= now
        left = -working_time(calendar, due, now) if overdue else working_time(calendar, now, due)
        rows.append(Waiting(str(w["referral_id"]), str(w["rag"]), due, left, overdue, not overdue and left < DUE_SOON, w))
    return sorted(rows, key=lambda r: (_rank(r.rag), r.decision_due_at, r.referral_id))


def working_time(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """The working time between two moments: office hours on working days only."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    day, last = start.astimezone(calendar.tz).date(), end.astimezone(calendar.tz).date()
    while day <= last:
        if calendar.is_working_day(day):
            opens = datetime.combine(day, calendar.start, calendar.tz).astimezone(UTC)
            closes = datetime.combine(day, calendar.end, calendar.tz).astimezone(UTC)
            span = min(closes, end) - max(opens, start)
            total += max(span, timedelta(0))
        day += timedelta(days=1)
    return total


def duration(t: timedelta) -> str:
    """Hours and minutes, as a manager reads them: "3 hours 5 minutes", "1 hour", "40 minutes"."""
    hours, minutes = divmod(int(t.total_seconds()) // 60, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def _rank(rag: str) -> int:
    return RAG_ORDER.index(rag) if rag in RAG_ORDER else len(RAG_ORDER)
