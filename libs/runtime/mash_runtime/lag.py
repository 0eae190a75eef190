"""Consumer lag and stalled partitions, per consumed partition, asked of the broker.

Each assigned partition's end offset, less the offset this service's group has committed. Both come from the
broker, not the consumer's cache: a consumer whose handler is stuck stops fetching, so its own view of the end
of the log goes stale just when it matters.

A partition is stalled when its committed offset has not moved for `stall_seconds` while records wait behind
it, whatever the cause: a handler that never returns, a record redelivered for ever, a dead-letter path that
keeps failing. Readiness, /metrics and a background watch all ask; the watch is what logs the alert when
nothing else is asking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream import FastStream
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Gauge

log = logging.getLogger("mash.lag")

Partition = tuple[str, int]  # topic, partition


@dataclass(frozen=True)
class Progress:
    """Where one partition stands: its lag, and since when its committed offset has stood still with records
    waiting (`since` is the time of the observation when nothing waits or the offset has just moved)."""

    topic: str
    partition: int
    lag: int
    committed: int
    since: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "lag": self.lag,
            "committed_offset": self.committed,
            "since": datetime.fromtimestamp(self.since, UTC).isoformat(timespec="seconds"),
            "stalled_seconds": round(self.seconds),
        }


@dataclass(frozen=True)
class Observation:
    partitions: list[Progress]
    stalled: list[Progress]
    became_stalled: list[Progress]
    recovered: list[tuple[Partition, str]]  # the partition and why it no longer counts as stalled


class StallTracker:
    """Pure: fed each partition's committed and end offsets with the time, it says which partitions are stalled.

    Only partitions this instance is assigned are fed in; one that is missing was moved away by a rebalance,
    so its stall is no longer this instance's to report.
    """

    def __init__(self, stall_seconds: float):
        self.stall_seconds = stall_seconds
        self._held: dict[Partition, tuple[int, float]] = {}  # committed offset, since when it has stood with records waiting
        self._stalled: dict[Partition, Progress] = {}

    @property
    def stalled(self) -> list[Progress]:
        return list(self._stalled.values())

    def observe(self, now: float, offsets: Mapping[Partition, tuple[int, int]]) -> Observation:
        """`offsets`: (committed, end) for every partition assigned now."""
        held: dict[Partition, tuple[int, float]] = {}
        progress = []
        for (topic, partition), (committed, end) in sorted(offsets.items()):
            lag = max(end - committed, 0)
            before = self._held.get((topic, partition))
            since = before[1] if before is not None and before[0] == committed else now
            if lag:
                held[(topic, partition)] = (committed, since)
            else:
                since = now  # nothing waits: however long the offset stood, the consumer is not behind
            progress.append(Progress(topic, partition, lag, committed, since, now - since))
        stalled = {(p.topic, p.partition): p for p in progress if p.lag and p.seconds >= self.stall_seconds}
        became = [p for key, p in stalled.items() if key not in self._stalled]
        recovered = [(key, self._why_recovered(key, offsets)) for key in self._stalled if key not in stalled]
        self._held, self._stalled = held, stalled
        return Observation(progress, list(stalled.values()), became, recovered)

    def _why_recovered(self, key: Partition, offsets: Mapping[Partition, tuple[int, int]]) -> str:
        if key not in offsets:
            return "assigned to another consumer by a rebalance"
        committed, end = offsets[key]
        return "caught up" if committed >= end else "its committed offset moved"


class ConsumerLag:
    """The broker's view of this service's partitions, as metrics and as the stalled state readiness reports."""

    def __init__(
        self,
        broker: KafkaBroker,
        registry: CollectorRegistry,
        timeout: float = 3.0,
        stall_seconds: float = 120.0,
        clock: Callable[[], float] = time.time,
    ):
        self._broker = broker
        self._timeout = timeout
        self._clock = clock
        self._tracker = StallTracker(stall_seconds)
        self._lock = asyncio.Lock()  # a probe, a scrape and the watch share one tracker: one observation at a time
        self._watch: asyncio.Task[None] | None = None
        self._lag = Gauge(
            "mash_consumer_lag",
            "Records on the broker not yet processed and committed",
            ["topic", "partition"],
            registry=registry,
        )
        self._stalled = Gauge(
            "mash_partition_stalled",
            "1 while the partition's committed offset has not moved for MASH_STALL_SECONDS with records waiting",
            ["topic", "partition"],
            registry=registry,
        )
        self._stalled_seconds = Gauge(
            "mash_partition_stalled_seconds",
            "Seconds the committed offset has stood still with records waiting (0 when moving or caught up)",
            ["topic", "partition"],
            registry=registry,
        )

    @property
    def stall_seconds(self) -> float:
        return self._tracker.stall_seconds

    async def refresh(self, timeout: float | None = None) -> list[Progress]:
        """Ask the broker; returns the partitions stalled now, or the last known ones if it does not answer in time."""
        gauges = (self._lag, self._stalled, self._stalled_seconds)
        try:
            # Bounded, so a probe or a scrape while the broker is away answers inside its timeout.
            async with asyncio.timeout(self._timeout if timeout is None else timeout), self._lock:
                offsets = await self._offsets()
                seen = self._tracker.observe(self._clock(), offsets)
        except Exception as e:  # the broker is away: the metrics are missing rather than wrong
            log.debug("consumer lag not available: %r", e)
            for gauge in gauges:
                gauge.clear()
            return self._tracker.stalled
        for gauge in gauges:
            gauge.clear()  # partitions moved to another instance by a rebalance are no longer ours to report
        stalled = {(p.topic, p.partition) for p in seen.stalled}
        for p in seen.partitions:
            labels = (p.topic, str(p.partition))
            self._lag.labels(*labels).set(p.lag)
            self._stalled.labels(*labels).set(1 if (p.topic, p.partition) in stalled else 0)
            self._stalled_seconds.labels(*labels).set(p.seconds)
        self._alert(seen)
        return seen.stalled

    def _alert(self, seen: Observation) -> None:
        for p in seen.became_stalled:
            log.error(
                "partition %s[%d] stalled: committed offset %d has not moved for %.0fs with %d records waiting",
                p.topic,
                p.partition,
                p.committed,
                p.seconds,
                p.lag,
                extra={"topic": p.topic, "partition": p.partition, "lag": p.lag},
            )
        for (topic, partition), why in seen.recovered:
            log.warning(
                "partition %s[%d] no longer stalled: %s", topic, partition, why, extra={"topic": topic, "partition": partition}
            )

    async def _offsets(self) -> dict[Partition, tuple[int, int]]:
        offsets: dict[Partition, tuple[int, int]] = {}
        for subscriber in self._broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is not None and consumer.assignment():
                partitions = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
                offsets |= await self._partition_offsets(consumer, partitions)
        return offsets

    @staticmethod
    async def _partition_offsets(
        consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> dict[Partition, tuple[int, int]]:
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
        # A group that has never committed on a partition starts at the log's beginning, not at offset 0
        # (retention may have removed the first records): counting from 0 would show records that are gone.
        never = [tp for tp, offset in committed.items() if offset is None]
        starts = await consumer.beginning_offsets(never) if never else {}
        return {
            (tp.topic, tp.partition): (committed[tp] if committed[tp] is not None else starts[tp], ends[tp]) for tp in partitions
        }

    # -- the background watch: a stall is logged even when nothing probes or scrapes ------------------------

    def attach(self, app: FastStream) -> None:
        """Run alongside a FastStream app: watching after the broker starts, stopped before it closes."""
        app.after_startup(self._start_watch)
        app.on_shutdown(self._stop_watch)

    async def _start_watch(self) -> None:
        self._watch = asyncio.create_task(self._watching(), name="mash-stall-watch")

    async def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None

    async def _watching(self) -> None:
        # Often enough that a stall is logged soon after it passes the limit, never a busy loop.
        interval = max(1.0, min(self.stall_seconds / 4, 15.0))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # the watch must outlive any one failed look
                log.exception("stall watch failed; trying again in %.0fs", interval)
