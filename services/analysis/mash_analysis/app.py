"""Composition root of the hub research service (core element 5): its store, its rules, its linker, its consumers."""

from typing import Unpack

from faststream import FastStream

from mash_contracts import Decision, Notification
from mash_contracts.topics import ANALYSIS, DECISIONS, NOTIFICATIONS
from mash_runtime.consuming import Route
from mash_runtime.firewall import FileCaseKeys
from mash_runtime.http import Served, manager_token
from mash_runtime.service import in_background
from mash_runtime.service import main as service_main
from mash_runtime.wiring import Given, Parts

from . import http
from .handlers import AnalysisHandlers
from .harm import HarmRules
from .history import History, metadata
from .linkage import PersonLinker
from .settings import AnalysisSettings

SERVICE = ANALYSIS
TABLES = (metadata,)


def build(settings: AnalysisSettings | None = None, **given: Unpack[Given]) -> FastStream | Served:
    """The hub research service, wired. Each dependency defaults to the real one its settings describe; a test
    passes an in-memory broker and store instead."""
    settings = settings or AnalysisSettings()
    parts = Parts.wire(SERVICE, settings, TABLES, **given)
    history = History(parts.firewall.pepper, PersonLinker())
    handlers = AnalysisHandlers(parts.db, history, HarmRules.load(), parts.firewall, parts.relay, parts.registry)

    # Its own sealed copies of notifications and decisions only: a decision carries the times of the answers it
    # rests on, so the desks' contributions (and their contents) stay between the desks and the decision service.
    parts.subscribe(
        {NOTIFICATIONS.name: Route(Notification, handlers.on_notification), DECISIONS.name: Route(Decision, handlers.on_decision)}
    )

    app = parts.app()
    case_keys = FileCaseKeys(settings.keys_dir)
    in_background(app, lambda: handlers.keep_forgetting(case_keys.shredded, settings.retention_sweep_seconds))
    return parts.serve(app, http.routes(parts.db, handlers.history, manager_token(settings.keys_dir)))


def main() -> None:
    service_main(SERVICE, build, TABLES)
