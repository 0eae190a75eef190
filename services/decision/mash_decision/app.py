"""Composition root of the decision service."""

from faststream import FastStream

from mash_contracts import Contribution, Notification
from mash_contracts.topics import NOTIFICATIONS, contributions_topic
from mash_runtime.broker import make_broker
from mash_runtime.consuming import Route, subscribe
from mash_runtime.firewall import Firewall
from mash_runtime.service import configure_logging, make_app, run
from mash_runtime.settings import KafkaSettings
from mash_runtime.store import Database, OutboxRelay

from . import assembly
from .handlers import DecisionHandlers
from .settings import DecisionSettings

SERVICE = "decision"


def build() -> FastStream:
    settings = DecisionSettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(SERVICE, KafkaSettings())
    db = Database(settings.db_url(SERVICE), assembly.metadata)
    relay = OutboxRelay(db, broker)
    firewall = Firewall(SERVICE, settings.keys_dir)
    handlers = DecisionHandlers(assembly.Assembly(db, settings.expected_desks, firewall), relay)

    routes = {NOTIFICATIONS.name: Route(Notification, handlers.on_notification)}
    routes |= {contributions_topic(a): Route(Contribution, handlers.on_contribution) for a in settings.expected_desks}
    subscribe(broker, routes=routes, group_id=SERVICE, service=SERVICE, firewall=firewall)

    app = make_app(broker, SERVICE)
    app.after_startup(relay.flush)  # whatever a crash left unsent goes out before new work
    app.after_shutdown(db.dispose)
    return app


def main() -> None:
    run(build)
