"""Composition root of the web front door: the referral form's pages, sent to intake as the hub's own referrer."""

from typing import Unpack

from faststream import FastStream

from mash_contracts import Acknowledgement, OutcomeNotice, Rejection
from mash_contracts.topics import ACKNOWLEDGEMENTS, OUTCOMES, REJECTIONS, WEB
from mash_runtime.consuming import Route
from mash_runtime.http import Served
from mash_runtime.service import main as service_main
from mash_runtime.settings import ServiceSettings
from mash_runtime.wiring import Given, Parts

from . import sent
from .handlers import WebHandlers
from .pages import build_pages

SERVICE = WEB
TABLES = (sent.metadata,)


def build(settings: ServiceSettings | None = None, **given: Unpack[Given]) -> FastStream | Served:
    settings = settings or ServiceSettings()
    parts = Parts.wire(SERVICE, settings, TABLES, **given)
    handlers = WebHandlers(parts.firewall, parts.db, parts.relay)
    parts.subscribe(
        {
            ACKNOWLEDGEMENTS.for_referrer(SERVICE): Route(Acknowledgement, handlers.on_acknowledgement),
            REJECTIONS.for_referrer(SERVICE): Route(Rejection, handlers.on_rejection),
            OUTCOMES.for_referrer(SERVICE): Route(OutcomeNotice, handlers.on_outcome),
        }
    )
    return parts.serve(parts.app(), fallback=build_pages(handlers))


def main() -> None:
    service_main(SERVICE, build, TABLES)
