"""Working time for the hub: office hours in local time, weekends and England and Wales bank holidays off.

Shared, so the deadline intake promises the referrer and the one the decision service keeps are the same.
Bank holidays come from the maintained `holidays` package (England subdivision, which matches Wales).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays


class WorkingCalendar:
    def __init__(self, timezone: str = "Europe/London", start: str = "09:00", end: str = "17:00"):
        self.tz = ZoneInfo(timezone)
        self.start = time.fromisoformat(start)
        self.end = time.fromisoformat(end)
        self.bank_holidays = holidays.country_holidays("GB", subdiv="ENG")

    @property
    def hours_per_day(self) -> float:
        return (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).seconds / 3600

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.bank_holidays

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        t = moment.astimezone(self.tz)
        remaining = timedelta(hours=hours)
        while True:
            day = t.date()
            opens = datetime.combine(day, self.start, self.tz)
            closes = datetime.combine(day, self.end, self.tz)
            if not self.is_working_day(day) or t >= closes:
                t = datetime.combine(day + timedelta(days=1), self.start, self.tz)
                continue
            t = max(t, opens)
            if remaining <= closes - t:
                return (t + remaining).astimezone(UTC)
            remaining -= closes - t
            t = datetime.combine(day + timedelta(days=1), self.start, self.tz)

    def working_days_after(self, moment: datetime, days: int = 1) -> datetime:
        """The statutory "within one working day", counted in working hours from receipt."""
        return self.add_working_hours(moment, days * self.hours_per_day)


def as_utc(at: datetime) -> datetime:
    """A timestamp read back from a store, in UTC: SQLite returns it naive, PostgreSQL in the session's zone;
    every store writes UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
