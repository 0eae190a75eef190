"""Pages rendered from the templates, with the headers every page carries."""

from __future__ import annotations

import secrets
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape
from starlette.responses import HTMLResponse

from . import form
from .people import ROLE_NAMES, SignedIn

SERVICE_NAME = "Northshire Multi-Agency Safeguarding Hub"
PHONE = "01632 960 000"  # the MASH's own line (a drama number: this hub is synthetic)
LONDON = ZoneInfo("Europe/London")


def static_dir() -> Path:
    return Path(str(files("mash_web"))) / "static"


class Renderer:
    def __init__(self) -> None:
        self.env = Environment(
            loader=ChoiceLoader(
                [PackageLoader("mash_web"), PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]
            ),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            service_name=SERVICE_NAME,
            phone=PHONE,
            role_names=ROLE_NAMES,
            referrer_kinds=form.REFERRER_KINDS,
            agencies=form.AGENCIES,
            at_risk=form.AT_RISK,
            categories=form.CATEGORIES,
            consent_options=form.CONSENT,
            adult_locations=form.LOCATIONS,
            adult_sources=form.SOURCES,
            options=_options,
            summary=_summary,
        )
        self.env.filters["when"] = when

    def page(self, name: str, code: int = 200, signed_in: SignedIn | None = None, **context: object) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        html = self.env.get_template(name).render(cspNonce=nonce, signed_in=signed_in, **context)
        response = HTMLResponse(html, status_code=code)
        response.headers.update(security_headers(nonce))
        return response


def when(t: datetime) -> str:
    return t.astimezone(LONDON).strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def security_headers(nonce: str) -> dict[str, str]:
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


def _options(labels: dict, chosen: object, mark: str = "checked", reveal: dict | None = None) -> list[dict]:
    """GOV.UK radios, checkboxes or select items from an option -> words map, with the person's answers marked.
    `reveal`: an option's value -> the HTML its choice conditionally reveals (GOV.UK's conditional reveal)."""
    picked = set(chosen) if isinstance(chosen, (list, tuple)) else {chosen}
    items = [{"value": option.value, "text": words, mark: option.value in picked} for option, words in labels.items()]
    for item in items:
        if reveal and item["value"] in reveal:
            item["conditional"] = {"html": reveal[item["value"]]}
    return items


def _summary(errors: list[form.FieldError]) -> list[dict]:
    """The error summary's links: each to its field (a date to its day, as GOV.UK's date input expects)."""
    return [{"text": e.message, "href": f"#{e.field}-day" if e.field == "subject_dob" else f"#{e.field}"} for e in errors]
