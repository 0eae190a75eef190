"""The MASH clock: per-RAG return deadlines, the decision deadline and alert times, on the shared
working calendar (mash_runtime.calendar). Red, or whatever the model says, runs around the clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from mash_contracts import RagRating
from mash_contracts.threshold import Timescales
from mash_runtime.calendar import WorkingCalendar


class Clock(WorkingCalendar):
    def __init__(self, timescales: Timescales):
        super().__init__(timescales.timezone, timescales.working_day_start, timescales.working_day_end)
        self.ts = timescales

    def returns_due(self, received_at: datetime, rag: RagRating) -> datetime:
        hours = self.ts.return_hours[rag]
        if rag in self.ts.around_the_clock:
            return received_at + timedelta(hours=hours)
        return self.add_working_hours(received_at, hours)

    def decision_due(self, received_at: datetime) -> datetime:
        return self.working_days_after(received_at, self.ts.decision_working_days)

    def alert_at(self, deadline: datetime) -> datetime:
        return deadline - timedelta(minutes=self.ts.alert_before_minutes)
