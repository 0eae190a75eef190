"""The outbox's backlog as Prometheus reads it at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ..calendar import as_utc
from .database import Database
from .schema import outbox


class OutboxCollector(Collector):
    """What the relay has still to send, read at scrape time: a growing count or age means the broker is not
    taking this service's messages."""

    def __init__(self, db: Database):
        self._db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        unsent = outbox.c.published_at.is_(None)
        with self._db.transaction() as s:
            count, oldest = s.execute(select(func.count(), func.min(outbox.c.created_at)).where(unsent)).one()
        yield GaugeMetricFamily("mash_outbox_unsent", "Messages committed to the outbox and not yet published", value=count)
        age = (datetime.now(UTC) - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("mash_outbox_oldest_unsent_seconds", "Age of the oldest message not yet published", value=age)
