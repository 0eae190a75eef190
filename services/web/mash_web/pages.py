"""The web front door's pages: server-rendered HTML that works without JavaScript, in GOV.UK Frontend's components.

GET  /                           what the MASH is, and how to refer (or call)
GET  /referral                   the referral form
POST /referral                   send it: errors shown as a GOV.UK error summary, or on to the confirmation
GET  /referral/sent/{reference}  the reference, and what the hub has said since (received, decide-by time, outcome)
GET  /referral/resume/{code}     a form saved to come back to later (seven days), with its answers
/assets/..., /static/...         GOV.UK Frontend's fonts, images, CSS and JavaScript, vendored at setup
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import form, returns
from .handlers import WebHandlers, new_reference
from .render import Renderer, static_dir

CSRF_COOKIE = "mash_csrf"
_REFERENCE = re.compile(r"WEB-[0-9A-F]{20}")


def public_routes(handlers: WebHandlers, render: Renderer) -> list[BaseRoute]:
    """The pages anyone may use: no sign-in."""
    page = render.page

    async def start(request: Request) -> Response:
        return page("start.html")

    async def referral_form(request: Request) -> Response:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = page("referral.html", answers={}, errors={}, csrf=token)
        _set_csrf(response, token)
        return response

    async def send_referral(request: Request) -> Response:
        data = await request.form()
        answers = {k: data.getlist(k) if k == "categories" else data.get(k, "") for k in data.keys()}
        token = request.cookies.get(CSRF_COOKIE, "")
        if not token or not hmac.compare_digest(token, str(answers.get("csrf", ""))):
            # The form came from elsewhere, or the cookie expired: show it again (the answers are kept), not an error page.
            token = secrets.token_urlsafe(32)
            response = page("referral.html", 400, answers=answers, errors={}, csrf=token, expired=True)
            _set_csrf(response, token)
            return response
        code = str(answers.get("resume", "")) or None  # came back to a saved form: it is saved under the same code
        if answers.get("action") == "save":
            code, expires = await handlers.db.run(_save, handlers, answers, code)
            return page("saved.html", resume_code=code, expires=expires)
        reference = new_reference()
        try:
            submission = form.submission_from(answers, submission_id=reference, now=datetime.now(UTC))
        except form.FormErrors as e:
            return page("referral.html", 400, answers=answers, errors=e.by_field(), error_list=e.errors, csrf=token)
        await handlers.db.run(handlers.send, submission, "form", None, code)
        return RedirectResponse(f"/referral/sent/{reference}", status_code=303)

    async def resume_form(request: Request) -> Response:
        code = request.path_params["code"]
        answers = await handlers.db.run(_resume, handlers, code) if _CODE.fullmatch(code) else None
        if answers is None:
            return page("not_found.html", 404, gone="saved")
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = page("referral.html", answers={**answers, "resume": code}, errors={}, csrf=token, restored=True)
        _set_csrf(response, token)
        return response

    async def sent_page(request: Request) -> Response:
        reference = request.path_params["reference"]
        status = await handlers.db.run(handlers.status, reference) if _REFERENCE.fullmatch(reference) else None
        if status is None:
            return page("not_found.html", 404)
        return page("sent.html", status=status)

    return [
        Route("/", start),
        Route("/referral", referral_form, methods=["GET"]),
        Route("/referral", send_referral, methods=["POST"]),
        Route("/referral/sent/{reference}", sent_page),
        Route("/referral/resume/{code}", resume_form),
    ]


_CODE = re.compile(r"[A-Za-z0-9_-]{20,64}")


def _save(handlers: WebHandlers, answers: dict, code: str | None) -> tuple[str, datetime]:
    with handlers.db.transaction() as s:
        return returns.save(s, answers, datetime.now(UTC), code if code and _CODE.fullmatch(code) else None)


def _resume(handlers: WebHandlers, code: str) -> dict | None:
    with handlers.db.transaction() as s:
        return returns.resume(s, code, datetime.now(UTC))


def web_app(render: Renderer, routes: list[BaseRoute]) -> Starlette:
    """The pages, GOV.UK Frontend's assets, and a page of our own for anything else."""
    assets = [
        Mount("/assets", StaticFiles(directory=static_dir() / "assets", check_dir=False), name="assets"),
        Mount("/static", StaticFiles(directory=static_dir(), check_dir=False), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return render.page("not_found.html", 404)

    async def refused_method(request: Request, exc: Exception) -> Response:
        return render.page("not_found.html", 405)

    return Starlette(routes=[*routes, *assets], exception_handlers={404: not_found, 405: refused_method})


def _set_csrf(response: Response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/referral")
