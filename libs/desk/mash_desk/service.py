"""Turns a desk definition (agency, policy file, record tables) into a running service.

Per notification: research under the agency's policy, then in one transaction write the disclosure record
and put the contribution in the outbox; the relay publishes it. A redelivered notification finds its disclosure
record already written and adds nothing.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Unpack

from faststream import FastStream
from sqlalchemy import MetaData, Table

from mash_contracts import Agency, Contribution, ContributionStatus, Notification, ResearchGrounds, derived_id
from mash_contracts.topics import NOTIFICATIONS, RESEARCH_GROUNDS, contributions_topic, desk_service
from mash_runtime.audit import AuditLog, subject_tokens
from mash_runtime.consuming import Route, Source
from mash_runtime.errors import Rejected
from mash_runtime.firewall import Firewall
from mash_runtime.http import Served
from mash_runtime.identity import StoreRefused
from mash_runtime.service import main as service_main
from mash_runtime.settings import ServiceSettings
from mash_runtime.store import Database, OutboxRelay, enqueue
from mash_runtime.wiring import Given, Parts, open_store

from . import disclosure
from .model import DeskAnswer
from .policy import Grounds, SharingPolicy
from .records import RecordClass, SqlRecordSource, load_tables, read_population
from .research import research
from .synthetic import SyntheticRecords

log = logging.getLogger("mash.desk")


_AUDITED_OUTCOME = {
    ContributionStatus.SHARED: "shared",
    ContributionStatus.DECLINED: "declined",
    ContributionStatus.NOT_RESEARCHED: "declined",
}


class DeskSettings(ServiceSettings):
    pass


@dataclass(frozen=True)
class DeskDefinition:
    agency: Agency
    policy_file: Path
    metadata: MetaData
    people: Table
    record_classes: list[RecordClass]
    synthetic: SyntheticRecords | None = None  # its synthetic-record generator, for the demo, bench and tests

    @classmethod
    def of(cls, agency: Agency, records: ModuleType, synthetic: ModuleType) -> DeskDefinition:
        """A desk package as every desk lays it out: `records` (its `metadata`, `people` and `RECORD_CLASSES`),
        `synthetic` (its `RECORDS` generator) and `policy.toml` beside them."""
        return cls(
            agency=agency,
            policy_file=Path(str(records.__file__)).with_name("policy.toml"),
            metadata=records.metadata,
            people=records.people,
            record_classes=records.RECORD_CLASSES,
            synthetic=synthetic.RECORDS,
        )

    @property
    def service(self) -> str:
        return desk_service(self.agency)

    def run(self, argv: list[str] | None = None) -> None:
        main(self, argv)


def contribution_for(
    notification: Notification, policy: SharingPolicy, answer: DeskAnswer, now: datetime, grounds: ResearchGrounds | None = None
) -> Contribution:
    # Research re-opened by recorded grounds is owed from when they were recorded.
    due_by = (grounds.recorded_at if grounds else notification.received_at) + timedelta(
        hours=policy.return_hours[notification.rag]
    )
    late = None
    if now > due_by:
        late = (
            f"Answered {now - due_by} after the {notification.rag.value} return deadline of "
            f"{policy.return_hours[notification.rag]}h: the desk was not processing referrals until {now:%d %b %H:%M} UTC."
        )
    return Contribution(
        # One contribution per desk per researched revision: a redelivered notification yields the same id.
        message_id=(
            derived_id(
                "contribution",
                notification.referral_id,
                policy.agency.value,
                "grounds",
                str(grounds.grounds_id),
                str(notification.revision),
            )
            if grounds
            else derived_id("contribution", notification.referral_id, policy.agency.value)
            if notification.revision == 1
            else derived_id("contribution", notification.referral_id, policy.agency.value, str(notification.revision))
        ),
        referral_id=notification.referral_id,
        agency=policy.agency,
        status=answer.status,
        items=list(answer.items),
        findings=list(answer.findings),
        finding_explanations=dict(answer.explanations),
        uncertain_matches=list(answer.uncertain),
        rationale=answer.rationale,
        policy_version=policy.version,
        researched_at=now,
        due_by=due_by,
        late_reason=late,
        disclosure_id=disclosure.disclosure_id_for(
            notification.referral_id, policy.agency.value, notification.revision, str(grounds.grounds_id) if grounds else None
        ),
        notification_revision=notification.revision,
        grounds_id=grounds.grounds_id if grounds else None,
    )


class Desk:
    def __init__(self, definition: DeskDefinition, db: Database, relay: OutboxRelay | None, firewall: Firewall):
        self.definition = definition
        self.firewall = firewall
        self.policy = SharingPolicy.load(definition.policy_file)
        if self.policy.agency is not definition.agency:
            raise ValueError(f"{definition.policy_file} is {self.policy.agency.value}'s policy, not {definition.agency.value}'s")
        self.db = db
        self.source = SqlRecordSource(db, definition.people, definition.record_classes)
        self.relay = relay
        self.audit = AuditLog(firewall.custody)

    def answer(self, notification: Notification, now: datetime, grounds: ResearchGrounds | None = None) -> bool:
        """Research and record; False when this revision (or these grounds) was already answered (a redelivery) or
        changes nothing the desk researches (the decision service re-assesses it with the answers it has)."""
        if grounds is None and not notification.needs_research:
            return False
        grounds_id = str(grounds.grounds_id) if grounds else None
        disclosure_id = str(
            disclosure.disclosure_id_for(notification.referral_id, self.policy.agency.value, notification.revision, grounds_id)
        )
        with self.db.transaction() as s:
            if disclosure.already_recorded(s, disclosure_id):
                return False
        cited = (
            Grounds(str(grounds.grounds_id), grounds.kind.value, grounds.recorded_by, grounds.recorded_at.isoformat())
            if grounds
            else None
        )
        answer = research(notification, self.policy, self.source, now.date(), cited)
        contribution = contribution_for(notification, self.policy, answer, now, grounds)
        record = disclosure.build(notification, self.policy, answer, now, grounds_id)
        with self.db.transaction() as s:
            if disclosure.already_recorded(s, disclosure_id):
                return False
            disclosure.save(s, record)
            subjects = subject_tokens(self.firewall.pepper, notification.subjects)
            self.audit.append(
                s,
                "researched",
                referral_id=notification.referral_id,
                subjects=subjects,
                reason=f"{self.policy.agency.value} records searched under policy {self.policy.version}",
                detail={
                    "status": answer.status.value,
                    "uncertain_matches": len(answer.uncertain),
                    "footing": notification.statutory_footing.value,
                    "revision": notification.revision,
                    **({"grounds_id": grounds_id, "grounds_kind": grounds.kind.value} if grounds else {}),
                },
            )
            # The rationale quotes the referrer's subject labels, which may be names: the log keeps counts.
            outcome = _AUDITED_OUTCOME.get(answer.status)
            if outcome:
                self.audit.append(
                    s,
                    outcome,
                    referral_id=notification.referral_id,
                    subjects=subjects,
                    reason=f"{answer.status.value} under {self.policy.agency.value} policy {self.policy.version}",
                    detail={
                        "status": answer.status.value,
                        "items": len(answer.items),
                        "disclosure_id": disclosure_id,
                        "record_classes": sorted({i.record_class for i in answer.items}),
                    },
                )
            topic = contributions_topic(self.policy.agency, urgent=notification.urgent)
            enqueue(s, self.firewall, topic, notification.referral_id, contribution, str(contribution.message_id))
        log.info(
            "contribution %s",
            answer.status.value,
            extra={"referral_id": notification.referral_id, "agency": self.policy.agency.value},
        )
        return True

    async def on_notification(self, notification: Notification, _source: Source) -> None:
        # The contribution is in the outbox once this returns, and only then is the offset committed.
        if await self.db.run(self.answer, notification, datetime.now(UTC)) and self.relay is not None:
            self.relay.wake()

    async def on_grounds(self, grounds: ResearchGrounds, _source: Source) -> None:
        """A manager recorded s47 grounds: research again on the footing they raise, citing them."""
        if grounds.notification.referral_id != grounds.referral_id:
            raise Rejected([f"grounds for {grounds.referral_id} carry the notification of {grounds.notification.referral_id}"])
        if await self.db.run(self.answer, grounds.notification, datetime.now(UTC), grounds) and self.relay is not None:
            self.relay.wake()


def store_tables(definition: DeskDefinition) -> tuple[MetaData, ...]:
    return definition.metadata, disclosure.metadata


def build_desk_app(
    definition: DeskDefinition, settings: DeskSettings | None = None, **given: Unpack[Given]
) -> FastStream | Served:
    """A desk, wired. Each dependency defaults to the real one its settings describe; a test passes an in-memory
    broker and store instead."""
    settings = settings or DeskSettings()
    parts = Parts.wire(definition.service, settings, store_tables(definition), **given)
    desk = Desk(definition, parts.db, parts.relay, parts.firewall)
    parts.subscribe(
        {
            NOTIFICATIONS.name: Route(Notification, desk.on_notification),
            RESEARCH_GROUNDS.name: Route(ResearchGrounds, desk.on_grounds),
        }
    )
    return parts.serve(parts.app())


def main(definition: DeskDefinition, argv: list[str] | None = None) -> None:
    """`python -m mash_<desk>` runs the desk; `python -m mash_<desk> init [--replace]` creates and stamps its
    store; `python -m mash_<desk> seed POPULATION.json` loads synthetic records into the initialised store."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["seed"] and len(argv) == 2:
        settings = DeskSettings()
        try:
            db = open_store(definition.service, settings, store_tables(definition))
        except StoreRefused as e:
            sys.exit(str(e))
        counts = load_tables(db, definition.metadata, read_population(Path(argv[1]), definition.agency.value))
        db.dispose()
        print(f"{definition.service}: loaded " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))
        return
    if argv[:1] not in ([], ["init"]):
        sys.exit(f"usage: python -m mash_{definition.service} [init [--replace] | seed POPULATION.json]")
    service_main(definition.service, lambda: build_desk_app(definition), store_tables(definition), argv)
