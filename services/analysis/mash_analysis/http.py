"""The hub research service's own routes: the commissioning figures (aggregates only, small numbers suppressed),
behind the managers' bearer token."""

from __future__ import annotations

import asyncio

from mash_runtime.http import Route, refused, respond
from mash_runtime.store import Database

from .history import History


def routes(db: Database, history: History, token: str) -> list[Route]:
    async def figures(scope, receive, send):
        if await refused(scope, send, "GET", token):
            return
        await respond(send, 200, await asyncio.to_thread(_figures, db, history))

    return [("/figures", figures)]


def _figures(db: Database, history: History) -> dict:
    from .figures import figures_json  # built from the contacts the store holds; see figures.py

    with db.transaction() as s:
        rows = history.contact_rows(s)
    return figures_json(rows)
