"""The hub research service's own routes, behind the managers' bearer token: the commissioning figures (aggregates
only, small numbers suppressed) as JSON, and the same figures rendered as the report (index.html and one CSV per
table), so a client writes the report without rendering it."""

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

    async def report(scope, receive, send):
        if await refused(scope, send, "GET", token):
            return
        await respond(send, 200, await asyncio.to_thread(_report, db, history))

    return [("/figures", figures), ("/report", report)]


def _rows(db: Database, history: History) -> list:
    with db.transaction() as s:
        return history.contact_rows(s)


def _figures(db: Database, history: History) -> dict:
    from .figures import figures_json  # built from the contacts the store holds; see figures.py

    return figures_json(_rows(db, history))


def _report(db: Database, history: History) -> dict:
    """`{"headline": [...], "files": {name: text}}`: the headline as in `/figures`, the files as `write_report` writes them."""
    from .figures import figures
    from .report import report_files  # matplotlib: loaded when a report is first asked for

    published = figures(_rows(db, history))
    return {"headline": published.to_json()["headline"], "files": report_files(published)}
