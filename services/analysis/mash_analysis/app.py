"""Composition root of the hub research service (core element 5): its store, its rules, its linker, its consumers."""

from faststream import FastStream
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from mash_contracts import Decision, Notification
from mash_contracts.topics import ANALYSIS, DECISIONS, NOTIFICATIONS
from mash_runtime.anchors import Anchoring
from mash_runtime.broker import make_broker
from mash_runtime.consuming import Route, subscribe_lanes
from mash_runtime.firewall import FileCaseKeys, Firewall
from mash_runtime.http import Served, manager_token, serve, standard_routes
from mash_runtime.identity import expected
from mash_runtime.service import configure_logging, in_background, make_app
from mash_runtime.service import main as service_main
from mash_runtime.settings import KafkaSettings
from mash_runtime.store import Database, OutboxRelay

from . import http
from .handlers import AnalysisHandlers
from .harm import HarmRules
from .history import History, metadata
from .linkage import PersonLinker
from .settings import AnalysisSettings

SERVICE = ANALYSIS
TABLES = (metadata,)


def build(
    settings: AnalysisSettings | None = None,
    *,
    broker: KafkaBroker | None = None,
    db: Database | None = None,
    firewall: Firewall | None = None,
    registry: CollectorRegistry | None = None,
) -> FastStream | Served:
    """The hub research service, wired. Each dependency defaults to the real one its settings describe; a test
    passes an in-memory broker and store instead."""
    settings = settings or AnalysisSettings()
    configure_logging(SERVICE, settings.log_level)
    registry = registry or CollectorRegistry()
    broker = broker or make_broker(SERVICE, KafkaSettings(), settings.traces_dir, registry)
    db = db or Database(settings.db_url(SERVICE), *TABLES, identity=expected(settings.keys_dir, SERVICE))
    relay = OutboxRelay(db, broker)
    firewall = firewall or Firewall(SERVICE, settings.keys_dir)
    handlers = AnalysisHandlers(db, History(firewall.pepper, PersonLinker()), HarmRules.load(), firewall, relay, registry)

    # Its own sealed copies of notifications and decisions only: a decision carries the times of the answers it
    # rests on, so the desks' contributions (and their contents) stay between the desks and the decision service.
    consumed = {
        NOTIFICATIONS.name: Route(Notification, handlers.on_notification),
        DECISIONS.name: Route(Decision, handlers.on_decision),
    }
    subscribe_lanes(broker, routes=consumed, group_id=SERVICE, service=SERVICE, firewall=firewall, registry=registry)

    app = make_app(broker, SERVICE)
    case_keys = FileCaseKeys(settings.keys_dir)
    in_background(app, lambda: handlers.keep_forgetting(case_keys.shredded, settings.retention_sweep_seconds))
    relay.attach(app)
    Anchoring(db, firewall, relay, settings.anchor_seconds).attach(app)
    app.after_shutdown(db.dispose)
    routes = standard_routes(broker, db, registry) + http.routes(db, handlers.history, manager_token(settings.keys_dir))
    return serve(app, settings.http_host, settings.http_port, routes)


def main() -> None:
    service_main(SERVICE, build, TABLES)
