"""The web front door's pages: server-rendered HTML that works without JavaScript, in GOV.UK Frontend's components.

GET  /                           what the MASH is, and how to refer (or call)
GET  /referral                   the referral form
POST /referral                   send it: errors shown as a GOV.UK error summary, or on to the confirmation
GET  /referral/sent/{reference}  the reference, and what the hub has said since (received, decide-by time, outcome)
/assets/..., /static/...         GOV.UK Frontend's fonts, images, CSS and JavaScript, vendored at setup
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import form
from .handlers import WebHandlers, new_reference

SERVICE_NAME = "Northshire Multi-Agency Safeguarding Hub"
PHONE = "01632 960 000"  # the MASH's own line (a drama number: this hub is synthetic)
LONDON = ZoneInfo("Europe/London")
CSRF_COOKIE = "mash_csrf"
_REFERENCE = re.compile(r"WEB-[0-9A-F]{20}")


def templates() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [PackageLoader("mash_web"), PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]
        ),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        service_name=SERVICE_NAME,
        phone=PHONE,
        referrer_kinds=form.REFERRER_KINDS,
        agencies=form.AGENCIES,
        at_risk=form.AT_RISK,
        categories=form.CATEGORIES,
        consent_options=form.CONSENT,
    )
    env.globals.update(options=_options, summary=_summary)
    env.filters["when"] = lambda t: t.astimezone(LONDON).strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")
    return env


def static_dir() -> Path:
    return Path(str(files("mash_web"))) / "static"


def build_pages(handlers: WebHandlers) -> Starlette:
    env = templates()

    def page(name: str, code: int = 200, **context) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        html = env.get_template(name).render(cspNonce=nonce, **context)
        response = HTMLResponse(html, status_code=code)
        response.headers.update(_security_headers(nonce))
        return response

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
        reference = new_reference()
        try:
            submission = form.submission_from(answers, submission_id=reference, now=datetime.now(UTC))
        except form.FormErrors as e:
            return page("referral.html", 400, answers=answers, errors=e.by_field(), error_list=e.errors, csrf=token)
        await handlers.db.run(handlers.send, submission, "form")
        return RedirectResponse(f"/referral/sent/{reference}", status_code=303)

    async def sent_page(request: Request) -> Response:
        reference = request.path_params["reference"]
        status = await handlers.db.run(handlers.status, reference) if _REFERENCE.fullmatch(reference) else None
        if status is None:
            return page("not_found.html", 404)
        return page("sent.html", status=status)

    routes = [
        Route("/", start),
        Route("/referral", referral_form, methods=["GET"]),
        Route("/referral", send_referral, methods=["POST"]),
        Route("/referral/sent/{reference}", sent_page),
        Mount("/assets", StaticFiles(directory=static_dir() / "assets", check_dir=False), name="assets"),
        Mount("/static", StaticFiles(directory=static_dir(), check_dir=False), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return page("not_found.html", 404)

    return Starlette(routes=routes, exception_handlers={404: not_found})


def _options(labels: dict, chosen: object, mark: str = "checked") -> list[dict]:
    """GOV.UK radios, checkboxes or select items from an option -> words map, with the person's answers marked."""
    picked = set(chosen) if isinstance(chosen, (list, tuple)) else {chosen}
    return [{"value": option.value, "text": words, mark: option.value in picked} for option, words in labels.items()]


def _summary(errors: list[form.FieldError]) -> list[dict]:
    """The error summary's links: each to its field (a date to its day, as GOV.UK's date input expects)."""
    return [{"text": e.message, "href": f"#{e.field}-day" if e.field == "subject_dob" else f"#{e.field}"} for e in errors]


def _set_csrf(response: Response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/referral")


def _security_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self'; "
            "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",  # a referral's answers never sit in a shared computer's cache
    }
