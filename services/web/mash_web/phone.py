"""A MASH call handler records a phone contact: the referral form, signed in, with the caller's details as the
referrer. The draft is saved on every "Save draft" and kept through a timed-out session, so nothing typed is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from . import form, people
from .guard import Guard
from .handlers import WebHandlers, new_reference
from .people import Role, SignedIn
from .render import Renderer

MAY_TAKE_CALLS = (Role.CALL_HANDLER, Role.MANAGER)


def phone_routes(handlers: WebHandlers, guard: Guard, render: Renderer) -> list[BaseRoute]:
    db = handlers.db

    async def show(request: Request) -> Response:
        who = await guard.require(request, *MAY_TAKE_CALLS)
        if isinstance(who, Response):
            return who
        draft = await db.run(_draft, handlers, who)
        return render.page(
            "referral.html",
            signed_in=who,
            answers=draft or {},
            errors={},
            csrf=who.csrf,
            phone_contact=True,
            restored=bool(draft),
        )

    async def record(request: Request) -> Response:
        data = await request.form()
        answers = {
            k: data.getlist(k) if k == "categories" else data.get(k, "") for k in data.keys() if k not in ("csrf", "action")
        }
        who = await guard.require(request, *MAY_TAKE_CALLS, keep=answers, csrf=data.get("csrf"))
        if isinstance(who, Response):
            return who
        if not guard.csrf_ok(who, data.get("csrf")):
            return render.page("refused.html", 403, signed_in=who, roles=[])
        if data.get("action") == "save":
            await db.run(_save, handlers, who, answers)
            return render.page(
                "referral.html", signed_in=who, answers=answers, errors={}, csrf=who.csrf, phone_contact=True, saved=True
            )
        reference = new_reference()
        try:
            submission = form.submission_from(answers, submission_id=reference, now=datetime.now(UTC))
        except form.FormErrors as e:
            await db.run(_save, handlers, who, answers)  # what was typed survives even a session that then times out
            return render.page(
                "referral.html",
                400,
                signed_in=who,
                answers=answers,
                errors=e.by_field(),
                error_list=e.errors,
                csrf=who.csrf,
                phone_contact=True,
            )
        await db.run(handlers.send, submission, "phone", who.person.username)
        await db.run(_discard, handlers, who)
        return RedirectResponse(f"/referral/sent/{reference}", status_code=303)

    return [Route("/phone", show, methods=["GET"]), Route("/phone", record, methods=["POST"])]


def _draft(handlers: WebHandlers, who: SignedIn) -> dict | None:
    with handlers.db.transaction() as s:
        return people.draft_of(s, who.person.username)


def _save(handlers: WebHandlers, who: SignedIn, answers: dict) -> None:
    with handlers.db.transaction() as s:
        people.save_draft(s, who.person.username, answers, datetime.now(UTC))


def _discard(handlers: WebHandlers, who: SignedIn) -> None:
    with handlers.db.transaction() as s:
        people.discard_draft(s, who.person.username)
