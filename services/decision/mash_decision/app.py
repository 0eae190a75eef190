"""Composition root of the decision service."""

import dataclasses
from datetime import timedelta
from typing import Any, Unpack

from faststream import FastStream

from mash_contracts import Agency, Contribution, Notification, RagRating, ThresholdLevel
from mash_contracts.threshold import ThresholdModel, load_model
from mash_contracts.topics import NOTIFICATIONS, contributions_topic
from mash_runtime.consuming import Route
from mash_runtime.http import Served, manager_token
from mash_runtime.service import in_background
from mash_runtime.service import main as service_main
from mash_runtime.wiring import Given, Parts

from . import assembly, http, metrics
from .handlers import DecisionHandlers
from .settings import DecisionSettings

SERVICE = "decision"
TABLES = (assembly.metadata,)


def threshold_model(settings: DecisionSettings) -> ThresholdModel:
    model = load_model(settings.model)
    if settings.auto_confirm_levels is not None:
        model = dataclasses.replace(model, auto_confirm_levels=frozenset(ThresholdLevel(x) for x in settings.auto_confirm_levels))
    if settings.timescales:
        t = dict(settings.timescales)
        changes: dict[str, Any] = {
            "return_hours": {
                **model.timescales.return_hours,
                **{RagRating(k.removesuffix("_return_hours")): float(v) for k, v in t.items() if k.endswith("_return_hours")},
            }
        }
        if "around_the_clock" in t:
            changes["around_the_clock"] = frozenset(RagRating(r) for r in t["around_the_clock"])
        if "alert_before_minutes" in t:
            changes["alert_before_minutes"] = int(t["alert_before_minutes"])
        model = dataclasses.replace(model, timescales=dataclasses.replace(model.timescales, **changes))
    return model


class MissingDeclarations(SystemExit):
    """The decision service cannot tell a desk's own findings from another's: it refuses to start."""


def declared_findings(settings: DecisionSettings) -> dict[Agency, frozenset[str]]:
    declared = settings.declared_findings or {}
    missing = sorted(a.value for a in settings.expected_desks if a not in declared)
    if missing:
        raise MissingDeclarations(
            f"decision: no declared findings for {', '.join(missing)}: set MASH_DECLARED_FINDINGS to each desk's `findings` "
            "from its policy.toml (the operator CLI's mesh does this), so a finding outside its desk's declaration can be refused"
        )
    return {a: frozenset(f) for a, f in declared.items()}


def build(settings: DecisionSettings | None = None, **given: Unpack[Given]) -> FastStream | Served:
    """The decision service, wired. Each dependency defaults to the real one its settings describe; a test passes
    an in-memory broker and store instead."""
    settings = settings or DecisionSettings()
    parts = Parts.wire(SERVICE, settings, TABLES, **given)
    handlers = DecisionHandlers(
        assembly.Assembly(
            parts.db,
            settings.expected_desks,
            parts.firewall,
            threshold_model(settings),
            declared_findings=declared_findings(settings),
            hold=timedelta(seconds=settings.contribution_hold_seconds),
        ),
        parts.relay,
    )

    consumed = {NOTIFICATIONS.name: Route(Notification, handlers.on_notification)}
    consumed |= {contributions_topic(a): Route(Contribution, handlers.on_contribution) for a in settings.expected_desks}
    parts.subscribe(consumed)

    app = parts.app()
    in_background(app, lambda: handlers.keep_time(settings.sweep_seconds))  # stops before the relay drains
    parts.registry.register(metrics.AssemblyCollector(handlers.assembly))
    return parts.serve(app, http.routes(handlers.assembly, manager_token(settings.keys_dir)))


def main() -> None:
    service_main(SERVICE, build, TABLES)
