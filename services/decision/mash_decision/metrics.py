"""The decision service's own gauges, read from its store at scrape time: what is waiting, for whom,
what deadlines were near or missed, and what was decided. Counts and ids only."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .assembly import Assembly


class AssemblyCollector(Collector):
    def __init__(self, assembly: Assembly):
        self.assembly = assembly

    def collect(self):
        snap = self.assembly.snapshot()
        waiting = GaugeMetricFamily("mash_referrals_waiting", "Referrals not yet routed, by RAG rating", labels=["rag"])
        for rag, n in snap["waiting_by_rag"].items():
            waiting.add_metric([rag], n)
        yield waiting
        desks = GaugeMetricFamily(
            "mash_referrals_awaiting_desk", "Referrals still waiting for a desk's contribution", labels=["agency"]
        )
        for agency, n in snap["awaiting_desk"].items():
            desks.add_metric([agency], n)
        yield desks
        alerts = GaugeMetricFamily("mash_alerts_raised", "Alerts raised, by kind (deadlines near and missed)", labels=["kind"])
        for kind, n in snap["alerts"].items():
            alerts.add_metric([kind], n)
        yield alerts
        decided = GaugeMetricFamily("mash_decisions", "Decisions made, by threshold level", labels=["level"])
        for level, n in snap["decisions_by_level"].items():
            decided.add_metric([str(level)], n)
        yield decided
        yield GaugeMetricFamily(
            "mash_oldest_waiting_seconds", "Age of the oldest referral not yet routed", value=snap["oldest_waiting_seconds"]
        )
        yield GaugeMetricFamily(
            "mash_contributions_held",
            "Contributions held for a referral not yet received (dead-lettered and alerted after the hold)",
            value=snap["held_contributions"],
        )
