"""Managing the people who sign in, for `mash users` (bearer token, loopback, like every service's manager routes).

GET  /admin/users                                            everyone, with role and whether disabled
POST /admin/users          {"username", "display_name", "role", "password"}   add someone
POST /admin/users/disable  {"username"}                     disable someone: their sessions end at once
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from mash_runtime.http import refused, respond
from mash_runtime.store import Database

from . import people
from .people import Role

USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")
MAX_BODY = 16 * 1024


async def _fields(receive) -> dict:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_BODY:
            raise ValueError("request body too large")
    fields = json.loads(body)
    if not isinstance(fields, dict):
        raise ValueError("the body must be a JSON object")
    return fields


def admin_routes(db: Database, token: str) -> list[tuple[str, Callable]]:
    async def users(scope, receive, send):
        if scope["method"] == "GET":
            if await refused(scope, send, "GET", token):
                return
            return await respond(send, 200, await db.run(_everyone, db))
        if await refused(scope, send, "POST", token):
            return
        try:
            f = await _fields(receive)
            username, name, role, password = (f.get(k) for k in ("username", "display_name", "role", "password"))
            if not isinstance(username, str) or not USERNAME.fullmatch(username):
                raise ValueError("username: lower-case letters, digits, '.', '_' or '-', starting with a letter")
            if not isinstance(name, str) or not name.strip():
                raise ValueError("display_name is required: the name decisions and the audit record show")
            if role not in {r.value for r in Role}:
                raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}")
            if not isinstance(password, str):
                raise ValueError("password is required")
            await db.run(_add, db, username, name.strip(), Role(role), password)
        except ValueError as e:
            return await respond(send, 400, {"error": str(e)})
        await respond(send, 200, {"username": username, "role": role})

    async def disable(scope, receive, send):
        if await refused(scope, send, "POST", token):
            return
        try:
            username = (await _fields(receive)).get("username")
            if not isinstance(username, str):
                raise ValueError("username is required")
        except ValueError as e:
            return await respond(send, 400, {"error": str(e)})
        if not await db.run(_disable, db, username):
            return await respond(send, 404, {"error": f"there is nobody called {username}"})
        await respond(send, 200, {"username": username, "disabled": True})

    return [("/admin/users", users), ("/admin/users/disable", disable)]


def _everyone(db: Database) -> list[dict]:
    with db.transaction() as s:
        return people.everyone(s)


def _add(db: Database, username: str, name: str, role: Role, password: str) -> None:
    with db.transaction() as s:
        people.add(s, username, name, role, password)


def _disable(db: Database, username: str) -> bool:
    with db.transaction() as s:
        return people.disable(s, username)
