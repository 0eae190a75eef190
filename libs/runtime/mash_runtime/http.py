"""Every service's HTTP surface, on its ASGI app (loopback by default): liveness, readiness (connected to
the broker and to its database, and no consumed partition stalled) and Prometheus metrics. A service adds its
own routes (the decision service's manager interface) to the same app."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from aiokafka.errors import KafkaConnectionError
from faststream import FastStream
from faststream.asgi import AsgiFastStream
from faststream.asgi.types import ASGIApp, Receive, Scope, Send
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .lag import ConsumerLag
from .settings import ServiceSettings
from .store import Database, OutboxCollector

Route = tuple[str, ASGIApp]


async def respond(send: Send, status: int, body: object, content_type: bytes = b"application/json") -> None:
    data = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


def readiness(
    broker: KafkaBroker, db: Database | None, lag: ConsumerLag | None = None
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The readiness state: `ready`, `not ready` (broker or database not answering) or `stalled` with each
    stalled partition. Asked of the broker on every probe, bounded in time, never left to a scrape."""

    async def ready() -> dict[str, Any]:
        try:
            if db is not None:
                await asyncio.to_thread(db.ping)
            if not await broker.ping(timeout=2.0):
                return {"status": "not ready"}
        except Exception:
            return {"status": "not ready"}
        stalled = await lag.refresh(timeout=2.0) if lag is not None else []
        if stalled:
            return {"status": "stalled", "stalled": [p.as_dict() for p in stalled]}
        return {"status": "ready"}

    return ready


def standard_routes(
    broker: KafkaBroker, db: Database | None, registry: CollectorRegistry, stall_seconds: float | None = None
) -> list[Route]:
    """Health and metrics for a service; its metrics gain consumer lag, stalled partitions and, with a store,
    the outbox backlog. `stall_seconds` defaults to the MASH_STALL_SECONDS setting."""
    if stall_seconds is None:
        stall_seconds = ServiceSettings().stall_seconds
    lag = ConsumerLag(broker, registry, stall_seconds=stall_seconds)
    ready = readiness(broker, db, lag)
    if db is not None:
        registry.register(OutboxCollector(db))

    async def live(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, 200, {"status": "live"})

    async def ready_route(scope: Scope, receive: Receive, send: Send) -> None:
        state = await ready()
        await respond(send, 200 if state["status"] == "ready" else 503, state)

    # The stall watch starts and stops with the app (see serve), so a stall is logged with nobody probing.
    ready_route.attach = lag.attach  # type: ignore[attr-defined]

    async def metrics(scope: Scope, receive: Receive, send: Send) -> None:
        await lag.refresh()
        body = await asyncio.to_thread(generate_latest, registry)
        await respond(send, 200, body, CONTENT_TYPE_LATEST.encode())

    return [("/health/live", live), ("/health/ready", ready_route), ("/metrics", metrics)]


class Served:
    """The service's ASGI app (the broker's lifespan plus its routes), run by uvicorn until SIGTERM."""

    def __init__(self, app: AsgiFastStream, host: str, port: int):
        self.app, self.host, self.port = app, host, port

    async def run(self) -> None:
        """Serve until SIGTERM. The broker starts inside the app's lifespan, after uvicorn has reported start-up
        complete: when it fails there (a broker restarting as the service starts), uvicorn would log the error and go
        on serving health checks for an app that consumes nothing. Instead the server stops and the failure is raised,
        so the run loop (service.run) builds the app afresh and tries again with backoff."""
        failed: list[BaseException] = []
        server: uvicorn.Server | None = None

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "lifespan":
                return await self.app(scope, receive, send)
            try:
                await self.app(scope, receive, send)
            except BaseException as e:
                # A failure while stopping on request (SIGTERM) is not a failed start: the service exits, it does not
                # build itself again.
                if server is None or not server.should_exit:
                    failed.append(e)
                    if server is not None:
                        server.should_exit = True
                raise

        server = uvicorn.Server(uvicorn.Config(app=app, host=self.host, port=self.port, access_log=False, lifespan="on"))
        await server.serve()
        if failed:
            raise failed[0]
        if not server.started:
            raise KafkaConnectionError("the service did not start (see the error above): trying again")


def serve(
    app: FastStream, host: str, port: int | None, routes: Sequence[Route], fallback: ASGIApp | None = None
) -> FastStream | Served:
    """The service's routes on its app; `fallback` (a web application of its own) answers every other path."""
    for _, route in routes:
        if attach := getattr(route, "attach", None):  # a route with work alongside the app: the stall watch
            attach(app)
    if port is None:
        return app
    served = _WithParameters.from_app(app, asgi_routes=[(p, r) for p, r in routes if "{" not in p])
    served.parameterised = routes
    served.fallback = fallback
    return Served(served, host, port)


class _WithParameters(AsgiFastStream):
    """The app matches exact paths only: a path with parameters ("/referrals/{referral_id}/chronology") is tried
    where it would answer 404, and then the fallback, if there is one."""

    parameterised: Sequence[Route] = ()
    fallback: ASGIApp | None = None

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = match(self.parameterised, scope.get("path", "")) if scope.get("type") == "http" else None
        if found is None and self.fallback is not None and scope.get("type") == "http":
            return await self.fallback(scope, receive, send)
        if found is None:
            return await super().not_found(scope, receive, send)
        route, parameters = found
        await route({**scope, "path_params": parameters}, receive, send)


def match(routes: Sequence[Route], path: str) -> tuple[ASGIApp, dict[str, str]] | None:
    """The route for a request path and its parameters: an exact path, or a pattern whose `{name}` is one segment."""
    for pattern, route in routes:
        if pattern == path:
            return route, {}
        if "{" in pattern:
            regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$"
            if found := re.match(regex, path):
                return route, found.groupdict()
    return None


async def refused(scope: Scope, send: Send, method: str, token: str) -> bool:
    """A manager route's guard: answer a wrong method (405) or a missing or wrong bearer token (401); True when the
    request was refused and answered."""
    if scope["method"] != method:
        await respond(send, 405, {"error": f"use {method}"})
        return True
    given = dict(scope.get("headers", [])).get(b"authorization", b"").decode()
    if not hmac.compare_digest(given, f"Bearer {token}"):
        await respond(send, 401, {"error": "a manager's bearer token is required"})
        return True
    return False


MANAGER_TOKEN_FILE = "manager-token"


def manager_token(keys_dir: Path) -> str:
    """The bearer token the MASH managers' tools present to a service's manager routes (made at first use, 0600)."""
    import secrets

    from .firewall.keys import write_secret

    path = keys_dir / MANAGER_TOKEN_FILE
    if not path.exists():
        write_secret(path, secrets.token_urlsafe(32))
    return path.read_text().strip()
