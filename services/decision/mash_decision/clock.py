"""The MASH clock: deadlines in working hours, England and Wales bank holidays off, Red around the clock.

Bank holidays come from the maintained `holidays` package (England subdivision, which matches Wales'
bank holidays), so next year's dates and substitute days need no code change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from mash_contracts import RagRating

from .model import Timescales


class Clock:
    def __init__(self, timescales: Timescales):
        self.ts = timescales
        self.tz = ZoneInfo(timescales.timezone)
        self.start = time.fromisoformat(timescales.working_day_start)
        self.end = time.fromisoformat(timescales.working_day_end)
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

    def returns_due(self, received_at: datetime, rag: RagRating) -> datetime:
        hours = self.ts.return_hours[rag]
        if rag in self.ts.around_the_clock:
            return received_at + timedelta(hours=hours)
        return self.add_working_hours(received_at, hours)

    def decision_due(self, received_at: datetime) -> datetime:
        """The statutory one working day (configurable), counted in working hours from receipt."""
        return self.add_working_hours(received_at, self.ts.decision_working_days * self.hours_per_day)

    def alert_at(self, deadline: datetime) -> datetime:
        return deadline - timedelta(minutes=self.ts.alert_before_minutes)
