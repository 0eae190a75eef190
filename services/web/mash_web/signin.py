"""Signing in and out. One message for every refusal (wrong name, wrong password, locked, disabled), so the page
tells an attacker nothing; the lockout and the idle timeout are people.py's."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mash_runtime.store import Database

from . import people
from .guard import SESSION_COOKIE, Guard, set_session
from .people import Role
from .render import Renderer

REFUSED = "Enter a correct username and password. After 5 wrong attempts an account is locked for 15 minutes."
HOME = {Role.CALL_HANDLER: "/phone", Role.MANAGER: "/workspace", Role.PRACTICE_CONSULTANT: "/workspace", Role.OPERATIONS: "/"}


def signin_routes(db: Database, guard: Guard, render: Renderer) -> list[BaseRoute]:
    async def form(request: Request) -> Response:
        return render.page(
            "sign_in.html",
            next=_safe_next(request.query_params.get("next")),
            timed_out=bool(request.query_params.get("timed_out")),
            disabled=bool(request.query_params.get("disabled")),
            errors={},
        )

    async def sign_in(request: Request) -> Response:
        data = await request.form()
        username, password = str(data.get("username", "")).strip(), str(data.get("password", ""))
        next_page = _safe_next(str(data.get("next", "")))
        try:
            who = await db.run(_sign_in, db, username, password)
        except people.SignInRefused:
            errors = {"username": REFUSED}
            return render.page("sign_in.html", 400, next=next_page, errors=errors, username=username, timed_out=False)
        response = RedirectResponse(next_page or HOME[who.person.role], status_code=303)
        set_session(response, who.token)
        return response

    async def sign_out(request: Request) -> Response:
        who = await guard.signed_in(request)
        if who is not None:
            data = await request.form()
            if not guard.csrf_ok(who, data.get("csrf")):
                return render.page("refused.html", 403, signed_in=who, roles=[])
            await db.run(_sign_out, db, who.token)
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route("/sign-in", form, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]


def _sign_in(db: Database, username: str, password: str) -> people.SignedIn:
    with db.transaction() as s:
        try:
            return people.sign_in(s, username, password, datetime.now(UTC))
        except people.SignInRefused as e:
            refused = e  # the failed attempt is counted: it commits, then the refusal is raised
    raise refused


def _sign_out(db: Database, token: str) -> None:
    with db.transaction() as s:
        people.sign_out(s, token)


def _safe_next(path: str | None) -> str:
    """Only a path on this site: never another site someone put in a link."""
    # "//site" and "/\\site" are other sites to a browser, which reads a backslash as a slash.
    return path if path and path.startswith("/") and not path.startswith("//") and "\\" not in path else ""
