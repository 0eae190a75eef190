"""Composition root of the intake service."""

from datetime import timedelta
from typing import Unpack

from faststream import FastStream

from mash_contracts import NotificationSubmission
from mash_contracts.threshold import load_model
from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
from mash_runtime.consuming import Route
from mash_runtime.http import Served
from mash_runtime.service import main as service_main
from mash_runtime.wiring import Given, Parts

from . import links, revisions
from .handlers import IntakeHandlers
from .settings import IntakeSettings

SERVICE = "intake"
TABLES = (revisions.metadata, links.metadata)


def build(settings: IntakeSettings | None = None, **given: Unpack[Given]) -> FastStream | Served:
    """The front door, wired. Each dependency defaults to the real one its settings describe; a test passes an
    in-memory broker and store instead."""
    settings = settings or IntakeSettings()
    model = load_model(settings.model)  # a broken model file stops the front door here, not on the first referral
    parts = Parts.wire(SERVICE, settings, TABLES, **given)
    window = timedelta(hours=settings.duplicate_window_hours)
    handlers = IntakeHandlers(parts.firewall, parts.db, parts.relay, model, window)
    parts.subscribe({NOTIFICATIONS_SUBMITTED.name: Route(NotificationSubmission, handlers.on_submission, handlers.on_unreadable)})
    return parts.serve(parts.app())


def main() -> None:
    service_main(SERVICE, build, TABLES)
