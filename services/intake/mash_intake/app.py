"""Composition root of the intake service."""

from datetime import timedelta

from faststream import FastStream
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from mash_contracts import NotificationSubmission
from mash_contracts.threshold import load_model
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_runtime.anchors import Anchoring
from mash_runtime.broker import make_broker
from mash_runtime.consuming import Route, subscribe_lanes
from mash_runtime.firewall import Firewall
from mash_runtime.http import Served, serve, standard_routes
from mash_runtime.identity import expected
from mash_runtime.service import configure_logging, make_app
from mash_runtime.service import main as service_main
from mash_runtime.settings import KafkaSettings
from mash_runtime.store import Database, OutboxRelay

from . import links, revisions
from .handlers import IntakeHandlers
from .settings import IntakeSettings

SERVICE = "intake"
TABLES = (revisions.metadata, links.metadata)


def build(
    settings: IntakeSettings | None = None,
    *,
    broker: KafkaBroker | None = None,
    db: Database | None = None,
    firewall: Firewall | None = None,
    registry: CollectorRegistry | None = None,
) -> FastStream | Served:
    """The front door, wired. Each dependency defaults to the real one its settings describe; a test passes an
    in-memory broker and store instead."""
    settings = settings or IntakeSettings()
    model = load_model(settings.model)  # a broken model file stops the front door here, not on the first referral
    configure_logging(SERVICE, settings.log_level)
    registry = registry or CollectorRegistry()
    broker = broker or make_broker(SERVICE, KafkaSettings(), settings.traces_dir, registry)
    firewall = firewall or Firewall(SERVICE, settings.keys_dir)
    db = db or Database(settings.db_url(SERVICE), *TABLES, identity=expected(settings.keys_dir, SERVICE))
    relay = OutboxRelay(db, broker)
    handlers = IntakeHandlers(firewall, db, relay, model, timedelta(hours=settings.duplicate_window_hours))
    anchoring = Anchoring(db, firewall, relay, settings.anchor_seconds)
    route = Route(NotificationSubmission, handlers.on_submission, handlers.on_unreadable)
    subscribe_lanes(
        broker,
        routes={NOTIFICATIONS_SUBMITTED.name: route},
        group_id=SERVICE,
        service=SERVICE,
        firewall=firewall,
        registry=registry,
    )
    app = make_app(broker, SERVICE)
    relay.attach(app)
    anchoring.attach(app)
    app.after_shutdown(db.dispose)
    return serve(app, settings.http_host, settings.http_port, standard_routes(broker, db, registry))


def main() -> None:
    service_main(SERVICE, build, TABLES)
