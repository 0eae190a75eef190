"""The hub research service's own routes: the commissioning figures (aggregates only, small numbers suppressed),
behind the managers' bearer token."""

from __future__ import annotations

import asyncio
import hmac

from mash_runtime.http import Route, respond
from mash_runtime.store import Database

from .history import History


def routes(db: Database, history: History, token: str) -> list[Route]:
    def authorised(scope) -> bool:
        given = dict(scope.get("headers", [])).get(b"authorization", b"").decode()
        return hmac.compare_digest(given, f"Bearer {token}")

    async def figures(scope, receive, send):
        if scope["method"] != "GET":
            await respond(send, 405, {"error": "use GET"})
            return
        if not authorised(scope):
            await respond(send, 401, {"error": "a manager's bearer token is required"})
            return
        await respond(send, 200, await asyncio.to_thread(_figures, db, history))

    return [("/figures", figures)]


def _figures(db: Database, history: History) -> dict:
    from .figures import figures_json  # built from the contacts the store holds; see figures.py

    with db.transaction() as s:
        rows = history.contact_rows(s)
    return figures_json(rows)
