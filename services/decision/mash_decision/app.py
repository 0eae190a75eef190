"""Composition root of the decision service."""

import asyncio
import dataclasses

from faststream import FastStream
from faststream.asgi import AsgiFastStream

from mash_contracts import Contribution, Notification, RagRating, ThresholdLevel
from mash_contracts.topics import NOTIFICATIONS, NOTIFICATIONS_URGENT, URGENT_SUFFIX, contributions_topic
from mash_runtime.broker import make_broker
from mash_runtime.consuming import Route, subscribe
from mash_runtime.firewall import Firewall
from mash_runtime.service import configure_logging, make_app, run
from mash_runtime.settings import KafkaSettings
from mash_runtime.store import Database, OutboxRelay

from . import assembly, http
from .http import manager_token
from .handlers import DecisionHandlers
from .model import ThresholdModel, load_model
from .settings import DecisionSettings

SERVICE = "decision"


def threshold_model(settings: DecisionSettings) -> ThresholdModel:
    model = load_model(settings.model)
    if settings.auto_confirm_levels is not None:
        model = dataclasses.replace(model, auto_confirm_levels=frozenset(ThresholdLevel(x) for x in settings.auto_confirm_levels))
    if settings.timescales:
        t = dict(settings.timescales)
        changes = {"return_hours": {**model.timescales.return_hours,
                                    **{RagRating(k.removesuffix("_return_hours")): float(v) for k, v in t.items() if k.endswith("_return_hours")}}}
        if "around_the_clock" in t:
            changes["around_the_clock"] = frozenset(RagRating(r) for r in t["around_the_clock"])
        if "alert_before_minutes" in t:
            changes["alert_before_minutes"] = int(t["alert_before_minutes"])
        model = dataclasses.replace(model, timescales=dataclasses.replace(model.timescales, **changes))
    return model


class Served:
    """The service's ASGI app (broker lifespan + the manager's HTTP routes), run by uvicorn."""

    def __init__(self, app: AsgiFastStream, host: str, port: int):
        self.app, self.host, self.port = app, host, port

    async def run(self) -> None:
        await self.app.run(run_extra_options={"host": self.host, "port": self.port})


def build() -> FastStream | Served:
    settings = DecisionSettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(SERVICE, KafkaSettings(), settings.traces_dir)
    db = Database(settings.db_url(SERVICE), assembly.metadata)
    relay = OutboxRelay(db, broker)
    firewall = Firewall(SERVICE, settings.keys_dir)
    handlers = DecisionHandlers(assembly.Assembly(db, settings.expected_desks, firewall, threshold_model(settings)), relay)

    for urgent in (False, True):  # two consumers: the urgent lane never waits behind routine assembly
        routes = {(NOTIFICATIONS_URGENT if urgent else NOTIFICATIONS).name: Route(Notification, handlers.on_notification)}
        routes |= {contributions_topic(a, urgent): Route(Contribution, handlers.on_contribution) for a in settings.expected_desks}
        subscribe(broker, routes=routes, group_id=SERVICE + (URGENT_SUFFIX if urgent else ""), service=SERVICE, firewall=firewall)

    app = make_app(broker, SERVICE)
    sweeper: list[asyncio.Task] = []

    async def start_clock() -> None:
        await relay.flush()  # whatever a crash left unsent goes out before new work
        sweeper.append(asyncio.create_task(handlers.keep_time(settings.sweep_seconds)))

    async def stop_clock() -> None:
        for task in sweeper:
            task.cancel()
        await asyncio.gather(*sweeper, return_exceptions=True)

    app.after_startup(start_clock)
    app.on_shutdown(stop_clock)
    app.after_shutdown(db.dispose)
    if settings.http_port is None:
        return app

    async def ready() -> bool:
        try:
            await asyncio.to_thread(db.ping)
            return await broker.ping(timeout=2.0)
        except Exception:
            return False

    token = manager_token(settings.keys_dir)
    asgi = AsgiFastStream.from_app(app, asgi_routes=http.routes(handlers.assembly, token, ready))
    return Served(asgi, settings.http_host, settings.http_port)


def main() -> None:
    run(build)
