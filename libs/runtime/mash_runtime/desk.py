"""The skeleton every agency desk shares.

A desk is an agency, a policy version and a research function: Notification -> DeskAnswer, which reads
only that agency's own records and applies only that agency's sharing policy. This module turns such a
function into a running service, so a new agency (education, probation) is a folder with a policy and an
adapter, not a copy of this code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from faststream import FastStream
from faststream.kafka import KafkaBroker

from mash_contracts import Agency, Contribution, ContributionStatus, Notification, SharedItem, derived_id
from mash_contracts.topics import NOTIFICATIONS, contributions_topic, desk_service

from .broker import make_broker
from .consuming import Route, Source, publish, subscribe
from .settings import KafkaSettings, ServiceSettings
from .service import configure_logging, make_app

log = logging.getLogger("mash.desk")


@dataclass(frozen=True)
class DeskAnswer:
    status: ContributionStatus
    rationale: str
    items: tuple[SharedItem, ...] = ()
    findings: tuple[str, ...] = field(default=())


Research = Callable[[Notification], DeskAnswer]


def contribution_for(
    agency: Agency, policy_version: str, notification: Notification, answer: DeskAnswer, now: datetime
) -> Contribution:
    return Contribution(
        # One contribution per desk per referral: a redelivered notification yields the same id.
        message_id=derived_id("contribution", notification.referral_id, agency.value),
        referral_id=notification.referral_id,
        agency=agency,
        status=answer.status,
        items=list(answer.items),
        findings=list(answer.findings),
        rationale=answer.rationale,
        policy_version=policy_version,
        researched_at=now,
    )


def build_desk_app(agency: Agency, policy_version: str, research: Research) -> tuple[FastStream, KafkaBroker]:
    service = desk_service(agency)
    settings = ServiceSettings()
    configure_logging(service, settings.log_level)
    broker = make_broker(service, KafkaSettings())
    out_topic = contributions_topic(agency)

    async def on_notification(notification: Notification, _source: Source) -> None:
        # Research reads the agency's records synchronously: keep it off the event loop.
        answer = await asyncio.to_thread(research, notification)
        contribution = contribution_for(agency, policy_version, notification, answer, datetime.now(UTC))
        await publish(broker, out_topic, notification.referral_id, contribution)
        log.info("contribution %s", answer.status.value, extra={"referral_id": notification.referral_id, "agency": agency.value})

    subscribe(
        broker,
        routes={NOTIFICATIONS.name: Route(Notification, on_notification)},
        group_id=service,
        service=service,
    )
    return make_app(broker, service), broker
