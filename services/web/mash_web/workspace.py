"""The MASH manager's workspace: the queue of referrals waiting for a decision, each referral's assembled picture with
the model's recommendation and the chronology, and the manager's confirmation or override. Managers only.

GET  /workspace                            the queue: RAG, then deadline; working time left, overdue and due soon
GET  /workspace/{referral_id}              the assembled picture, the recommendation, the chronology, the forms
POST /workspace/{referral_id}/confirm      confirm the model's recommendation
POST /workspace/{referral_id}/override     decide another level, outcome or recipients, with a rationale

Every read and decision goes through the decision service's HTTP API (decision_api.py); the manager is recorded
there by name and username. A page that shows a referral's personal data is on the audit chain as viewed by that
person. A decision service that does not answer is said to be not answering, never shown as an empty queue."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mash_contracts import Outcome
from mash_contracts.topics import PRODUCT_RECIPIENTS
from mash_contracts.vocabulary import agency_name
from mash_runtime.calendar import WorkingCalendar

from .decision_api import DecisionApi, DecisionRefused, DecisionUnavailable
from .decision_queue import in_order
from .guard import Guard
from .handlers import WebHandlers
from .people import Role, SignedIn
from .render import Renderer, when

REFERRAL_ID = re.compile(r"REF-[0-9A-F]{12}")
OUTCOME_NAMES: dict[str, str] = {o.value: o.value.replace("_", " ").capitalize() for o in Outcome}
OUTCOME_NAMES[Outcome.CIN_ASSESSMENT] = "Child in need assessment"
OUTCOME_NAMES[Outcome.S42_ENQUIRY] = "Section 42 enquiry"
RAG_TAGS = {"red": "govuk-tag--red", "amber": "govuk-tag--orange", "green": "govuk-tag--green", "blue": "govuk-tag--blue"}


def workspace_routes(
    decision: DecisionApi,
    guard: Guard,
    render: Renderer,
    handlers: WebHandlers,
    calendar: WorkingCalendar | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[BaseRoute]:
    calendar = calendar or WorkingCalendar()

    def page(name: str, code: int, who: SignedIn, **context: object) -> Response:
        return render.page(name, code, signed_in=who, labels=LABELS, **context)

    def unavailable(who: SignedIn, reason: str, code: int = 503) -> Response:
        return page("decision_unavailable.html", code, who, reason=reason)

    async def queue(request: Request) -> Response:
        who = await guard.require(request, *DECIDERS)
        if isinstance(who, Response):
            return who
        try:
            waiting = in_order(await decision.recommendations(), now(), calendar)
            if who.person.role is Role.PRACTICE_CONSULTANT:  # their queue: the allocated teams' adults only
                waiting = [w for w in waiting if w.recommendation.get("route") == ALLOCATED_TEAM]
        except DecisionUnavailable as e:
            return unavailable(who, str(e))
        except DecisionRefused as e:
            return unavailable(who, f"it refused the web front door's request ({e.status}): {e.reason}", 502)
        except (KeyError, TypeError, ValueError) as e:  # an answer without a readable deadline
            return unavailable(who, f"its queue could not be read: {type(e).__name__}: {e}", 502)
        return page("workspace.html", 200, who, waiting=waiting)

    async def referral(request: Request) -> Response:
        who = await guard.require(request, *DECIDERS)
        if isinstance(who, Response):
            return who
        referral_id = request.path_params["referral_id"]
        if not REFERRAL_ID.fullmatch(referral_id):
            return page("not_found.html", 404, who)
        recorded = request.query_params.get("recorded")
        return await picture(who, referral_id, recorded=recorded == "1", grounds_recorded=recorded == "grounds")

    async def picture(
        who: SignedIn,
        referral_id: str,
        code: int = 200,
        errors: list[dict] | None = None,
        answers: dict | None = None,
        recorded: bool = False,
        grounds_recorded: bool = False,
    ) -> Response:
        try:
            found = await decision.picture(referral_id)
        except DecisionRefused as e:
            if e.status == 404:
                return page("not_found.html", 404, who)
            return unavailable(who, f"it refused the web front door's request ({e.status}): {e.reason}", 502)
        except DecisionUnavailable as e:
            return unavailable(who, str(e))
        chronology, chronology_missing = None, None
        try:
            chronology = await decision.chronology(referral_id)
        except (DecisionRefused, DecisionUnavailable) as e:  # the picture stands without it; the page says why
            chronology_missing = e.reason if isinstance(e, DecisionRefused) else str(e)
        try:
            [deadline] = in_order([found], now(), calendar)
        except (KeyError, TypeError, ValueError) as e:
            return unavailable(who, f"its picture of {referral_id} could not be read: {type(e).__name__}: {e}", 502)
        # On the record before anything is shown: "who has seen this child" names people too.
        await handlers.db.run(handlers.viewed, who, referral_id, "assembled picture")
        return page(
            "referral_picture.html",
            code,
            who,
            p=found,
            deadline=deadline,
            chronology=chronology,
            chronology_missing=chronology_missing,
            error_list=errors or [],
            answers=answers or _recommended(found.get("recommendation")),
            recorded=recorded,
            grounds_recorded=grounds_recorded,
            recipients=PRODUCT_RECIPIENTS,
            outcomes=list(Outcome),
        )

    async def confirm(request: Request) -> Response:
        return await decide(request, "confirm")

    async def override(request: Request) -> Response:
        return await decide(request, "override")

    async def decide(request: Request, action: str) -> Response:
        who = await guard.require(request, *DECIDERS)
        if isinstance(who, Response):
            return who
        referral_id = request.path_params["referral_id"]
        if not REFERRAL_ID.fullmatch(referral_id):
            return page("not_found.html", 404, who)
        data = await request.form()
        if not guard.csrf_ok(who, data.get("csrf")):
            return page("refused.html", 403, who, roles=[])
        manager = f"{who.person.display_name} ({who.person.username})"
        role = who.person.role.value  # the decision service refuses a consultant any referral not routed to a team
        answers: dict = {}
        try:
            if action == "confirm":
                await decision.confirm(referral_id, manager, role)
            else:
                answers = {
                    "level": str(data.get("level", "")),
                    "outcome": str(data.get("outcome", "")),
                    "recipients": [str(r) for r in data.getlist("recipients")],
                    "rationale": str(data.get("rationale", "")),
                }
                missing = override_errors(answers)
                if missing:
                    return await picture(who, referral_id, 400, missing, answers)
                await decision.override(
                    referral_id,
                    manager,
                    int(answers["level"]),
                    answers["outcome"],
                    answers["recipients"],
                    answers["rationale"],
                    role,
                )
        except DecisionRefused as e:
            return await picture(who, referral_id, e.status, [refusal(e.reason, action)], answers or None)
        except DecisionUnavailable as e:
            # Not known to be recorded: say so, and let the manager look before trying again.
            return unavailable(who, f"{e} Your decision may not have been recorded: open the referral again to check.")
        return RedirectResponse(f"/workspace/{referral_id}?recorded=1", status_code=303)

    async def record_grounds(request: Request) -> Response:
        """s47 grounds (or a strategy discussion's decision) from the workspace: the declined desks research again."""
        who = await guard.require(request, Role.MANAGER)  # children's grounds: a MASH manager's, never a consultant's
        if isinstance(who, Response):
            return who
        referral_id = request.path_params["referral_id"]
        if not REFERRAL_ID.fullmatch(referral_id):
            return page("not_found.html", 404, who)
        data = await request.form()
        if not guard.csrf_ok(who, data.get("csrf")):
            return page("refused.html", 403, who, roles=[])
        answers = {"grounds_kind": str(data.get("grounds_kind", "")), "grounds_rationale": str(data.get("grounds_rationale", ""))}
        missing = grounds_errors(answers)
        if missing:
            return await picture(who, referral_id, 400, missing, answers)
        try:
            await decision.grounds(
                referral_id,
                f"{who.person.display_name} ({who.person.username})",
                answers["grounds_kind"],
                answers["grounds_rationale"],
            )
        except DecisionRefused as e:
            return await picture(who, referral_id, e.status, [{"text": e.reason, "href": "#grounds_rationale"}], answers)
        except DecisionUnavailable as e:
            return unavailable(who, f"{e} The grounds may not have been recorded: open the referral again to check.")
        return RedirectResponse(f"/workspace/{referral_id}?recorded=grounds", status_code=303)

    return [
        Route("/workspace", queue, methods=["GET"]),
        Route("/workspace/{referral_id}/grounds", record_grounds, methods=["POST"]),
        Route("/workspace/{referral_id}", referral, methods=["GET"]),
        Route("/workspace/{referral_id}/confirm", confirm, methods=["POST"]),
        Route("/workspace/{referral_id}/override", override, methods=["POST"]),
    ]


# Who decides in the workspace: a MASH manager any referral; a practice consultant the allocated teams' adults.
DECIDERS = (Role.MANAGER, Role.PRACTICE_CONSULTANT)
ALLOCATED_TEAM = "allocated_team"


def grounds_errors(answers: Mapping) -> list[dict]:
    errors = []
    if answers.get("grounds_kind") not in ("s47", "strategy_discussion"):
        errors.append({"text": "Select what was decided: s47 grounds, or a strategy discussion", "href": "#grounds_kind"})
    if not str(answers.get("grounds_rationale", "")).strip():
        errors.append(
            {
                "text": "Give the reasonable cause to suspect significant harm, in at least a sentence",
                "href": "#grounds_rationale",
            }
        )
    return errors


def override_errors(answers: Mapping) -> list[dict]:
    """What the override form left out or sent that the hub does not know, each linked to its field. Whether the
    rationale is enough is the decision service's to say (its refusal is shown the same way)."""
    errors = []
    if answers["level"] not in ("1", "2", "3", "4"):
        errors.append({"text": "Select the level you decide on", "href": "#level"})
    if answers["outcome"] not in {o.value for o in Outcome}:
        errors.append({"text": "Select the outcome", "href": "#outcome"})
    if set(answers["recipients"]) - {a.value for a in PRODUCT_RECIPIENTS}:
        errors.append({"text": "Select recipients from the list", "href": "#recipients"})
    if not answers["rationale"].strip():
        errors.append({"text": "Enter why you are overriding the recommendation", "href": "#rationale"})
    return errors


def refusal(reason: str, action: str) -> dict:
    """The decision service's refusal as an error summary entry, linked to the field it is about."""
    text = re.sub(r"^[A-Za-z]*Error: ", "", reason)
    text = text[:1].upper() + text[1:]
    if action == "confirm":
        return {"text": text, "href": "#confirm"}
    return {"text": text, "href": "#rationale" if "rationale" in text else "#level"}


def _recommended(rec: Mapping | None) -> dict:
    """The override form starts from the model's recommendation, so a manager changes only what they disagree with."""
    if not rec:
        return {}
    return {"level": str(rec.get("level", "")), "outcome": rec.get("outcome", ""), "recipients": list(rec.get("recipients", []))}


def _at(iso: str | None) -> str:
    return when(datetime.fromisoformat(iso)) if iso else ""


def _day(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%-d %B %Y") if iso else ""


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


LABELS = {
    "agency": agency_name,
    "outcome": lambda o: OUTCOME_NAMES.get(o, _words(o).capitalize()),
    "rag_tag": lambda r: RAG_TAGS.get(r, "govuk-tag--grey"),
    "at": _at,
    "day": _day,
    "words": _words,
    "listed": lambda values: ", ".join(_words(v) for v in values),
    "agencies": lambda values: ", ".join(agency_name(a) for a in values),
    "known": lambda b: "Yes" if b is True else "No" if b is False else "Not known",
}
