"""What every service's composition root is wired from, so each root says only what is its own (its handlers, its
routes, its background work). Each part defaults to the real one the service's settings describe; a test passes an
in-memory broker and store instead (tests/unit/test_composition.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

from faststream import FastStream
from faststream.asgi.types import ASGIApp
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData

from .anchors import Anchoring
from .broker import make_broker
from .consuming import Route, subscribe_lanes
from .firewall import Firewall
from .http import Route as HttpRoute
from .http import Served, serve, standard_routes
from .identity import expected
from .service import configure_logging, make_app
from .settings import KafkaSettings, ServiceSettings
from .store import Database, OutboxRelay


class Given(TypedDict, total=False):
    """The parts a test passes in place of the real ones."""

    broker: KafkaBroker
    db: Database
    firewall: Firewall
    registry: CollectorRegistry


def open_store(service: str, settings: ServiceSettings, tables: Sequence[MetaData]) -> Database:
    """The store `init` made for this service and no other (see identity.py)."""
    return Database(settings.db_url(service), *tables, identity=expected(settings.keys_dir, service))


@dataclass(frozen=True)
class Parts:
    service: str
    settings: ServiceSettings
    registry: CollectorRegistry
    broker: KafkaBroker
    db: Database
    firewall: Firewall
    relay: OutboxRelay

    @classmethod
    def wire(cls, service: str, settings: ServiceSettings, tables: Sequence[MetaData], **given: Unpack[Given]) -> Parts:
        configure_logging(service, settings.log_level)
        registry = given.get("registry") or CollectorRegistry()
        broker = given.get("broker") or make_broker(service, KafkaSettings(), settings.traces_dir, registry)
        # Keys first: a service without them cannot do anything, and says that before anything about its store.
        firewall = given.get("firewall") or Firewall(service, settings.keys_dir)
        db = given.get("db") or open_store(service, settings, tables)
        return cls(service, settings, registry, broker, db, firewall, OutboxRelay(db, broker))

    def subscribe(self, routes: dict[str, Route]) -> None:
        """The service's consumer group on the routine and urgent lanes of each topic."""
        subscribe_lanes(
            self.broker,
            routes=routes,
            group_id=self.service,
            service=self.service,
            firewall=self.firewall,
            registry=self.registry,
            db=self.db,
        )

    def app(self) -> FastStream:
        return make_app(self.broker, self.service)

    def serve(self, app: FastStream, routes: Sequence[HttpRoute] = (), fallback: ASGIApp | None = None) -> FastStream | Served:
        """Attach what every service runs alongside its consumers, in the order shutdown needs: work a service put in
        the background before this stops first; the relay then sends whatever is queued (at start, whatever a crash
        left unsent goes out before new work); the last audit anchor follows the drain; the store closes last."""
        self.relay.attach(app)
        Anchoring(self.db, self.firewall, self.relay, self.settings.anchor_seconds).attach(app)
        app.after_shutdown(self.db.dispose)
        standard = standard_routes(self.broker, self.db, self.registry)
        return serve(app, self.settings.http_host, self.settings.http_port, [*standard, *routes], fallback)
