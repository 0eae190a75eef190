"""Composition root of the intake service."""

from faststream import FastStream

from mash_contracts import NotificationSubmission
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_runtime.broker import make_broker
from mash_runtime.consuming import Route, subscribe
from mash_runtime.firewall import Firewall
from mash_runtime.service import configure_logging, make_app, run
from mash_runtime.settings import KafkaSettings, ServiceSettings

from .handlers import IntakeHandlers

SERVICE = "intake"


def build() -> FastStream:
    settings = ServiceSettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(SERVICE, KafkaSettings())
    firewall = Firewall(SERVICE, settings.keys_dir)
    handlers = IntakeHandlers(broker, firewall)
    subscribe(
        broker,
        routes={NOTIFICATIONS_SUBMITTED.name: Route(NotificationSubmission, handlers.on_submission, handlers.on_unreadable)},
        group_id=SERVICE,
        service=SERVICE,
        firewall=firewall,
    )
    return make_app(broker, SERVICE)


def main() -> None:
    run(build)
