"""Consumer lag as a metric: how many records wait on the broker for this service, per consumed partition.

Refreshed when /metrics is scraped: each assigned partition's end offset, asked of the broker, less the offset
this service's group has committed. Both come from the broker, not the consumer's cache: a consumer whose
handler is stuck stops fetching, so its own view of the end of the log goes stale just when it matters.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Gauge

log = logging.getLogger("mash.lag")


class ConsumerLag:
    def __init__(self, broker: KafkaBroker, registry: CollectorRegistry, timeout: float = 3.0):
        self._broker = broker
        self._timeout = timeout
        self._gauge = Gauge("mash_consumer_lag", "Records on the broker not yet processed and committed",
                            ["topic", "partition"], registry=registry)

    async def refresh(self) -> None:
        self._gauge.clear()  # partitions moved to another instance by a rebalance are no longer ours to report
        try:
            # Bounded, so a scrape while the broker is away answers (without lag) inside a scrape timeout.
            await asyncio.wait_for(self._refresh(), self._timeout)
        except Exception as e:  # the broker is away: the metric is missing rather than wrong
            log.debug("consumer lag not available: %r", e)

    async def _refresh(self) -> None:
        for subscriber in self._broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is not None and consumer.assignment():
                await self._report(consumer, sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)))

    async def _report(self, consumer, partitions: list[TopicPartition]) -> None:
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            committed = await consumer.committed(tp)
            self._gauge.labels(tp.topic, str(tp.partition)).set(max(ends[tp] - (committed or 0), 0))
