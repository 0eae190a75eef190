"""Composition root of the intake service."""

from faststream import FastStream

from mash_contracts import NotificationSubmission
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_runtime.broker import make_broker
from mash_runtime.consuming import Route, subscribe
from mash_runtime.firewall import Firewall
from mash_runtime.service import configure_logging, make_app, run
from mash_runtime.settings import KafkaSettings, ServiceSettings
from mash_runtime.store import Database

from .handlers import IntakeHandlers

SERVICE = "intake"


def build() -> FastStream:
    settings = ServiceSettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(SERVICE, KafkaSettings())
    firewall = Firewall(SERVICE, settings.keys_dir)
    db = Database(settings.db_url(SERVICE))
    handlers = IntakeHandlers(broker, firewall, db)
    subscribe(
        broker,
        routes={NOTIFICATIONS_SUBMITTED.name: Route(NotificationSubmission, handlers.on_submission, handlers.on_unreadable)},
        group_id=SERVICE,
        service=SERVICE,
        firewall=firewall,
    )
    app = make_app(broker, SERVICE)
    app.after_shutdown(db.dispose)
    return app


def main() -> None:
    run(build)
