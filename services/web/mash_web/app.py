"""Composition root of the web front door: the referral form for anyone, sign-in for the hub's people, the call
handler's phone contacts and the MASH manager's workspace, sent to intake as the hub's own referrer."""

from datetime import timedelta
from typing import Unpack

from faststream import FastStream

from mash_contracts import Acknowledgement, OutcomeNotice, Rejection
from mash_contracts.topics import ACKNOWLEDGEMENTS, OUTCOMES, REJECTIONS, WEB
from mash_runtime.consuming import Route
from mash_runtime.http import Served, manager_token
from mash_runtime.service import main as service_main
from mash_runtime.wiring import Given, Parts

from . import people, returns, sent
from .admin import admin_routes
from .decision_api import DecisionApi
from .guard import Guard
from .handlers import WebHandlers
from .pages import public_routes, web_app
from .phone import phone_routes
from .render import Renderer
from .settings import WebSettings
from .signin import signin_routes
from .workspace import workspace_routes

SERVICE = WEB
TABLES = (sent.metadata, people.metadata, returns.metadata)


def build(settings: WebSettings | None = None, **given: Unpack[Given]) -> FastStream | Served:
    settings = settings or WebSettings()
    parts = Parts.wire(SERVICE, settings, TABLES, **given)
    handlers = WebHandlers(parts.firewall, parts.db, parts.relay)
    parts.subscribe(
        {
            ACKNOWLEDGEMENTS.for_referrer(SERVICE): Route(Acknowledgement, handlers.on_acknowledgement),
            REJECTIONS.for_referrer(SERVICE): Route(Rejection, handlers.on_rejection),
            OUTCOMES.for_referrer(SERVICE): Route(OutcomeNotice, handlers.on_outcome),
        }
    )
    token = manager_token(settings.keys_dir)
    render = Renderer()
    guard = Guard(parts.db, render, timedelta(minutes=settings.idle_minutes))
    decision = DecisionApi(settings.decision_url or "", token)
    pages = web_app(
        render,
        [
            *public_routes(handlers, render),
            *signin_routes(parts.db, guard, render),
            *phone_routes(handlers, guard, render),
            *workspace_routes(decision, guard, render, handlers),
        ],
    )
    return parts.serve(parts.app(), admin_routes(parts.db, token), fallback=pages)


def main() -> None:
    service_main(SERVICE, build, TABLES)
