"""The hub research service's work per message: thin; the store adapter (history.py) and the pure research
(research.py, harm.py) do the rest.

Per notification, in one transaction: link its people into the hub's history, research their earlier contacts and
the emerging-harm rules, write the audit entries and put the contribution (and any emerging-harm alert) in the
outbox. Only then is the offset committed. Linking is serialised by the store's linking lock, between the instances
sharing the store too: two notifications about one new person linked at once would each make a person of their own.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter

from mash_contracts import Agency, Alert, AlertKind, Contribution, Decision, Notification, derived_id
from mash_contracts.topics import ALERTS, contributions_topic
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Source
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, OutboxRelay, enqueue

from .harm import HarmRules
from .history import History
from .research import HubAnswer, answer

log = logging.getLogger("mash.analysis")
AGENCY = Agency.HUB_RESEARCH


def contribution_for(n: Notification, found: HubAnswer, rules: HarmRules, now: datetime) -> Contribution:
    due_by = n.received_at + timedelta(hours=rules.return_hours[n.rag.value])
    return Contribution(
        message_id=derived_id("contribution", n.referral_id, AGENCY.value, str(n.revision)),
        referral_id=n.referral_id,
        agency=AGENCY,
        status=found.status,
        items=list(found.items),
        findings=found.finding_names,
        finding_explanations=found.explanations,
        uncertain_matches=list(found.uncertain),
        rationale=found.rationale,
        policy_version=rules.version,
        researched_at=now,
        due_by=due_by,
        late_reason=(
            f"Answered {now - due_by} after the {n.rag.value} deadline: the hub research service was not "
            f"processing referrals until {now:%d %b %H:%M} UTC."
        )
        if now > due_by
        else None,
        notification_revision=n.revision,
    )


class AnalysisHandlers:
    def __init__(
        self,
        db: Database,
        history: History,
        rules: HarmRules,
        firewall: Firewall,
        relay: OutboxRelay | None,
        registry: CollectorRegistry | None = None,
    ):
        self.db = db
        registry = registry or CollectorRegistry()
        # What operations watch: how subjects are linked, which patterns fire, how often someone is left uncovered.
        self.linked = Counter(
            "mash_hub_subjects_linked",
            "Subjects of notifications researched, by how they were linked "
            "(linked: to a person the hub knew; new; uncertain: a possible link shown, not merged)",
            ["outcome"],
            registry=registry,
        )
        self.found = Counter(
            "mash_hub_findings",
            "Emerging-harm findings reported to the threshold model, by finding",
            ["finding"],
            registry=registry,
        )
        self.uncovered = Counter(
            "mash_hub_emerging_harm_alerts",
            "Emerging-harm alerts: a finding put someone with no open referral at risk",
            registry=registry,
        )
        self.history = history
        self.rules = rules
        self.firewall = firewall
        self.relay = relay
        self.audit = AuditLog(firewall.custody)

    def research(self, n: Notification, now: datetime) -> bool:
        """False when this revision was already answered (a redelivery) or needs no research."""
        if not n.needs_research:
            return False
        with self.db.transaction() as s:
            # One notification linked at a time, each seeing every one linked before it (the urgent lane's too).
            self.history.link_one_at_a_time(s)
            if self.history.answered(s, n):
                return False
            linked = self.history.record_notification(s, n)
            found = answer(n, linked, self.history.people(s, n.referral_id), self.rules)
            contribution = contribution_for(n, found, self.rules, now)
            subjects = subject_tokens(self.firewall.pepper, n.subjects)
            self.audit.append(
                s,
                "researched",
                referral_id=n.referral_id,
                subjects=subjects,
                reason=f"the hub's linked history searched under rules {self.rules.version}",
                detail={
                    "revision": n.revision,
                    "known_before": sum(1 for lk in linked if lk.link),
                    "uncertain": len(found.uncertain),
                    "findings": found.finding_names,
                },
            )
            if found.items or found.findings:
                self.audit.append(
                    s,
                    "shared",
                    referral_id=n.referral_id,
                    subjects=subjects,
                    reason=f"hub research shared under rules {self.rules.version}",
                    detail={"items": len(found.items), "earlier_referrals": sorted({i.record_ref for i in found.items})},
                )
            enqueue(
                s,
                self.firewall,
                contributions_topic(AGENCY, urgent=n.urgent),
                n.referral_id,
                contribution,
                str(contribution.message_id),
            )
            alerts = 0
            for f in found.findings:
                alone = self.history.without_open_referral(s, f.others_at_risk, n.received_at)
                if alone:
                    alerts += 1
                    alert = Alert(
                        message_id=derived_id("alert", n.referral_id, AlertKind.EMERGING_HARM.value, f.finding, str(n.revision)),
                        referral_id=n.referral_id,
                        kind=AlertKind.EMERGING_HARM,
                        rag=n.rag,
                        raised_at=now,
                        detail=f"{f.finding.replace('_', ' ')}: {len(alone)} more at risk with no open referral"[:120],
                    )
                    enqueue(s, self.firewall, ALERTS.name, n.referral_id, alert, str(alert.message_id))
            self.history.mark_answered(s, n.referral_id, found.finding_names, now)
        for link in linked:  # counted once committed: a rolled-back attempt counts nothing
            self.linked.labels("linked" if link.link else "new").inc()
            if link.possible:
                self.linked.labels("uncertain").inc()
        for finding in found.finding_names:
            self.found.labels(finding).inc()
        self.uncovered.inc(alerts)
        log.info(
            "hub research %s",
            found.status.value,
            extra={"referral_id": n.referral_id, "findings": len(found.findings), "items": len(found.items)},
        )
        return True

    async def on_notification(self, n: Notification, _source: Source) -> None:
        done = await self.db.run(self.research, n, datetime.now(UTC))
        if done and self.relay:
            self.relay.wake()

    async def on_decision(self, d: Decision, _source: Source) -> None:
        await self.db.run(self._write, self.history.record_decision, d)

    def _write(self, record, message) -> None:
        with self.db.transaction() as s:
            record(s, message)

    async def keep_forgetting(self, shredded, every_seconds: float) -> None:
        """Retention's sweep, for the service's lifetime: a failed sweep is logged by its type and tried again."""
        while True:
            try:
                erased = await asyncio.to_thread(self.forget_shredded, shredded)
                if erased:
                    log.info("erased the identifiers of %d crypto-shredded cases", erased)
            except Exception as e:  # never its values: the error may quote what the store holds
                log.error("retention sweep failed: %s", type(e).__name__)
            await asyncio.sleep(every_seconds)

    def forget_shredded(self, shredded) -> int:
        """Erase the identifiers of every case retention crypto-shredded (`shredded(referral_id)` is the tombstone)."""
        erased = 0
        with self.db.transaction() as s:
            # Another instance's sweep, or its linking, waits: each case is erased (and audited) once, never under a link.
            self.history.link_one_at_a_time(s)
            for referral_id in self.history.referral_ids_with_identifiers(s):
                if shredded(referral_id) and self.history.forget(s, referral_id):
                    self.audit.append(
                        s,
                        "shredded",
                        referral_id=referral_id,
                        reason="case crypto-shredded by retention: the hub research service's identifiers for it erased",
                    )
                    erased += 1
        return erased
