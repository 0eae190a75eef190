"""Stalled partitions: the pure tracking fed offsets and a clock, readiness's answer, and the shipped alert rules."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from mash_decision.metrics import AssemblyCollector
from mash_runtime.consuming import dead_letter_counter
from mash_runtime.http import readiness
from mash_runtime.lag import ConsumerLag, StallTracker
from mash_runtime.service import JsonFormatter
from mash_runtime.store import Database, OutboxCollector

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
P = ("mash.notifications", 3)


def keys(observation) -> list[tuple[str, int]]:
    return [(p.topic, p.partition) for p in observation.stalled]


def test_a_committed_offset_that_stands_still_with_records_waiting_stalls_after_the_limit():
    tracker = StallTracker(stall_seconds=120)
    assert keys(tracker.observe(1000, {P: (10, 15)})) == []
    assert keys(tracker.observe(1119, {P: (10, 15)})) == []
    seen = tracker.observe(1120, {P: (10, 17)})  # more records arrive; the committed offset does not move
    assert keys(seen) == [P] and [(p.topic, p.partition) for p in seen.became_stalled] == [P]
    [stall] = seen.stalled
    assert (stall.lag, stall.committed, stall.since, stall.seconds) == (7, 10, 1000, 120)
    assert stall.as_dict() == {
        "topic": "mash.notifications",
        "partition": 3,
        "lag": 7,
        "committed_offset": 10,
        "since": "1970-01-01T00:16:40+00:00",
        "stalled_seconds": 120,
    }
    again = tracker.observe(1200, {P: (10, 17)})
    assert keys(again) == [P] and again.became_stalled == [], "an alert is raised once, not on every look"


def test_a_partition_with_no_lag_is_never_stalled():
    tracker = StallTracker(stall_seconds=120)
    for now in range(0, 1000, 100):
        seen = tracker.observe(now, {P: (42, 42)})
        assert keys(seen) == [] and seen.partitions[0].seconds == 0


def test_a_moving_committed_offset_is_not_stalled_however_long_the_backlog():
    tracker = StallTracker(stall_seconds=120)
    for i, now in enumerate(range(0, 1000, 100)):
        assert keys(tracker.observe(now, {P: (i, 1000)})) == [], "slow but advancing is not stalled"


def test_a_stalled_partition_recovers_when_its_committed_offset_moves_and_the_clock_starts_again():
    tracker = StallTracker(stall_seconds=120)
    tracker.observe(0, {P: (10, 15)})
    assert keys(tracker.observe(200, {P: (10, 15)})) == [P]
    seen = tracker.observe(210, {P: (11, 15)})
    assert keys(seen) == [] and seen.recovered == [(P, "its committed offset moved")]
    assert keys(tracker.observe(329, {P: (11, 15)})) == [], "stood still for 119 s since it last moved"
    assert keys(tracker.observe(330, {P: (11, 15)})) == [P]


def test_a_stalled_partition_that_catches_up_recovers():
    tracker = StallTracker(stall_seconds=60)
    tracker.observe(0, {P: (10, 15)})
    tracker.observe(60, {P: (10, 15)})
    assert tracker.observe(61, {P: (15, 15)}).recovered == [(P, "caught up")]


def test_a_rebalance_that_moves_the_partition_away_clears_it():
    other = ("mash.notifications", 4)
    tracker = StallTracker(stall_seconds=60)
    tracker.observe(0, {P: (10, 15), other: (0, 0)})
    assert keys(tracker.observe(60, {P: (10, 15), other: (0, 0)})) == [P]
    seen = tracker.observe(61, {other: (0, 0)})
    assert keys(seen) == [] and seen.recovered == [(P, "assigned to another consumer by a rebalance")]
    assert tracker.stalled == []
    assert keys(tracker.observe(62, {P: (10, 15)})) == [], "assigned back: the clock starts again"


def test_each_partition_is_tracked_on_its_own():
    a, b = ("mash.contributions.police", 0), ("mash.contributions.police", 1)
    tracker = StallTracker(stall_seconds=30)
    tracker.observe(0, {a: (5, 9), b: (5, 9)})
    assert keys(tracker.observe(30, {a: (5, 9), b: (6, 9)})) == [a]


# -- ConsumerLag on a fake consumer: gauges, the alert log lines, readiness's answer -----------------------------


class FakeConsumer:
    def __init__(self, committed: dict, ends: dict, starts: dict | None = None):
        from aiokafka import TopicPartition

        self.tp = lambda t, p: TopicPartition(t, p)
        self.committed_, self.ends, self.starts = committed, ends, starts or {}

    def assignment(self):
        return {self.tp(t, p) for t, p in self.ends}

    async def end_offsets(self, partitions):
        return {tp: self.ends[(tp.topic, tp.partition)] for tp in partitions}

    async def committed(self, tp):
        return self.committed_.get((tp.topic, tp.partition))

    async def beginning_offsets(self, partitions):
        return {tp: self.starts.get((tp.topic, tp.partition), 0) for tp in partitions}


class FakeSubscriber:
    def __init__(self, consumer):
        self.consumer = consumer


class FakeBroker:
    def __init__(self, consumer, answers: bool = True):
        self.subscribers = [FakeSubscriber(consumer)]
        self.answers = answers

    async def ping(self, timeout: float) -> bool:
        return self.answers


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_consumer_lag_sets_the_metrics_logs_once_when_stalled_and_once_when_it_recovers(caplog):
    consumer, clock, registry = FakeConsumer({P: 10}, {P: 15}), Clock(), CollectorRegistry()
    lag = ConsumerLag(FakeBroker(consumer), registry, stall_seconds=120, clock=clock)
    labels = {"topic": P[0], "partition": str(P[1])}

    async def scenario():
        with caplog.at_level(logging.INFO, logger="mash.lag"):
            assert await lag.refresh() == []
            assert registry.get_sample_value("mash_partition_stalled", labels) == 0
            clock.now += 150
            [stall] = await lag.refresh()
            assert (stall.topic, stall.partition, stall.lag) == (*P, 5)
            assert registry.get_sample_value("mash_partition_stalled", labels) == 1
            assert registry.get_sample_value("mash_partition_stalled_seconds", labels) == 150
            assert registry.get_sample_value("mash_consumer_lag", labels) == 5
            await lag.refresh()
            consumer.committed_[P] = 15
            clock.now += 10
            assert await lag.refresh() == []
            assert registry.get_sample_value("mash_partition_stalled", labels) == 0

    asyncio.run(scenario())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "one alert line per stall, not one per look"
    line = json.loads(JsonFormatter("intake").format(errors[0]))
    assert line["topic"] == P[0] and line["partition"] == P[1] and line["lag"] == 5
    assert "mash.notifications[3] stalled" in line["message"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "partition mash.notifications[3] no longer stalled: caught up"
    ]


def test_a_group_that_never_committed_counts_from_the_log_start_not_from_zero():
    # Retention removed offsets 0..99 and nothing has arrived since: nothing waits, so nothing can be stalled.
    consumer, clock, registry = FakeConsumer({}, {P: 100}, {P: 100}), Clock(), CollectorRegistry()
    lag = ConsumerLag(FakeBroker(consumer), registry, stall_seconds=1, clock=clock)
    asyncio.run(lag.refresh())
    clock.now += 10
    assert asyncio.run(lag.refresh()) == []
    assert registry.get_sample_value("mash_consumer_lag", {"topic": P[0], "partition": "3"}) == 0


def test_readiness_reports_stalled_partitions_and_not_ready_before_them():
    consumer, clock = FakeConsumer({P: 10}, {P: 15}), Clock()
    lag = ConsumerLag(FakeBroker(consumer), CollectorRegistry(), stall_seconds=60, clock=clock)
    ready = readiness(FakeBroker(consumer), None, lag)
    assert asyncio.run(ready()) == {"status": "ready"}
    clock.now += 61
    state = asyncio.run(ready())
    assert state["status"] == "stalled"
    assert [(s["topic"], s["partition"], s["lag"], s["stalled_seconds"]) for s in state["stalled"]] == [(*P, 5, 61)]
    assert asyncio.run(readiness(FakeBroker(consumer, answers=False), None, lag)()) == {"status": "not ready"}


def test_readiness_answers_in_time_with_the_last_known_stall_when_the_broker_hangs():
    consumer, clock = FakeConsumer({P: 10}, {P: 15}), Clock()
    lag = ConsumerLag(FakeBroker(consumer), CollectorRegistry(), stall_seconds=60, clock=clock)
    asyncio.run(lag.refresh())
    clock.now += 61
    asyncio.run(lag.refresh())

    async def hangs(partitions):
        await asyncio.sleep(3600)

    consumer.end_offsets = hangs
    state = asyncio.run(asyncio.wait_for(readiness(FakeBroker(consumer), None, lag)(), 5))
    assert state["status"] == "stalled" and state["stalled"][0]["partition"] == P[1]


# -- the alerting rules shipped in the repository --------------------------------------------------------------


class FakeAssembly:
    """What the decision service's gauges read, with nothing in its store."""

    def snapshot(self) -> dict:
        return {
            "waiting_by_rag": {},
            "awaiting_desk": {},
            "alerts": {"decision_overdue": 0, "returns_overdue": 0},
            "decisions_by_level": {},
            "oldest_waiting_seconds": 0.0,
            "held_contributions": 0,
        }


def test_alert_rules_name_metrics_the_services_export(tmp_path):
    rules = yaml.safe_load((ROOT / "deploy" / "alerts" / "mash.rules.yml").read_text())
    registry = CollectorRegistry()
    ConsumerLag(FakeBroker(FakeConsumer({}, {})), registry)
    registry.register(OutboxCollector(Database(f"sqlite:///{tmp_path / 'store.db'}")))
    dead_letter_counter(registry).labels("mash.notifications.submitted", "SealError").inc()
    registry.register(AssemblyCollector(FakeAssembly()))  # type: ignore[arg-type]
    # A counter's family is named without the _total and _created its samples (what Prometheus stores) carry.
    exported = {name for family in registry.collect() for name in (family.name, *(s.name for s in family.samples))}
    by_name = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert {"MashPartitionStalled", "MashOutboxNotDraining"} <= set(by_name)
    for rule in by_name.values():
        used = set(re.findall(r"\bmash_[a-z_]+", rule["expr"]))
        # Else Prometheus's own `up`: whether it could scrape a service at all.
        assert used or re.fullmatch(r"up == 0", rule["expr"]), f"{rule['alert']} watches no metric of the hub's"
        assert used <= exported, f"{rule['alert']} uses {used - exported}, which no service exports"
        assert rule["labels"]["severity"] and rule["annotations"]["summary"]
    stalled = by_name["MashPartitionStalled"]
    assert "mash_partition_stalled" in stalled["expr"]
    assert "$labels.topic" in stalled["annotations"]["summary"] and "$labels.partition" in stalled["annotations"]["summary"]
    assert "mash_outbox_oldest_unsent_seconds" in by_name["MashOutboxNotDraining"]["expr"]
    assert {"mash_dead_letters_total", "mash_dead_letters_created"} <= set(
        re.findall(r"\bmash_[a-z_]+", by_name["MashDeadLetters"]["expr"])
    )
    assert "decision_overdue" in by_name["MashDeadlineMissed"]["expr"]
    assert "deploy/alerts/mash.rules.yml" in (ROOT / "README.md").read_text(), "the README's operations section names the rules"


def test_mash_status_shows_a_stalled_service_and_its_partitions(monkeypatch):
    from types import SimpleNamespace

    from mash_cli import status as status_module

    stalled = {
        "status": "stalled",
        "stalled": [
            {
                "topic": "mash.notifications",
                "partition": 3,
                "lag": 7,
                "committed_offset": 10,
                "since": "2026-11-27T16:00:00+00:00",
                "stalled_seconds": 130,
            }
        ],
    }
    answers = {1: (200, '{"status": "ready"}'), 2: (503, json.dumps(stalled)), 3: (503, '{"status": "not ready"}')}
    ports = {"intake": 1, "police_desk": 2, "health_desk": 3}
    monkeypatch.setattr(
        status_module, "http_get", lambda port, path, timeout=3.0: answers[port] if path == "/health/ready" else (0, "")
    )
    mesh = SimpleNamespace(
        access=SimpleNamespace(bootstrap=""),
        pid=lambda s, i="1": 100 if s in ports else None,
        http_port=lambda s, i="1": ports.get(s),
        instances=lambda s: ["1"],
    )
    lines = status_module.status(mesh)
    line = {s: next(text for text in lines if text.startswith(s + " ")) for s in ports}
    assert " ready " in line["intake"]
    assert " STALLED " in line["police_desk"] and " ready " not in line["police_desk"]
    assert " NOT READY " in line["health_desk"]
    detail = lines[lines.index(line["police_desk"]) + 1]
    assert detail.strip().startswith("stalled: mash.notifications[3] lag 7") and "130s" in detail
