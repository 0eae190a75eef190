"""The MASH manager's workspace pages, over the web front door's own routes with the decision service's API stood in
for (the whole flow through a browser and a running mesh is the browser tier's): a decision service that does not
answer is said to be not answering, never shown as an empty queue; the queue is ordered and tagged; the assembled
picture (the decision service's own JSON for a real referral) is shown and its viewing is on the audit chain under
the manager's username; confirm and override carry the manager's name and CSRF token; a refusal is a GOV.UK error
summary on the referral's page."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from helpers import MONDAY, contribution
from mash_contracts import Agency, SharedItem, UncertainMatch, derived_id
from mash_contracts.topics import DESK_AGENCIES
from mash_decision.http import routes as decision_routes
from mash_runtime.audit import who_has_seen
from mash_runtime.http import match
from mash_runtime.store import Database
from mash_web import people
from mash_web.decision_api import DecisionApi, DecisionRefused, DecisionUnavailable
from mash_web.guard import SESSION_COOKIE, Guard
from mash_web.handlers import WebHandlers
from mash_web.pages import web_app
from mash_web.people import Role
from mash_web.render import Renderer
from mash_web.workspace import workspace_routes

pytestmark = pytest.mark.unit
PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # a Monday afternoon


class StandIn:
    """The decision service's API as the workspace calls it: scripted answers, and what it was asked."""

    def __init__(self):
        self.queue: list[dict] | Exception = []
        self.pictures: dict[str, dict] = {}
        self.entries: dict | Exception = {"referral_id": "", "subject": None, "subjects": [], "entries": []}
        self.refusal: Exception | None = None
        self.asked: list[tuple] = []

    async def recommendations(self):
        if isinstance(self.queue, Exception):
            raise self.queue
        return self.queue

    async def picture(self, referral_id):
        if referral_id not in self.pictures:
            raise DecisionRefused(404, "the decision service holds no referral with that id")
        return self.pictures[referral_id]

    async def chronology(self, referral_id):
        if isinstance(self.entries, Exception):
            raise self.entries
        return self.entries

    async def grounds(self, referral_id, manager, kind, rationale):
        return self._decide(("grounds", referral_id, manager, kind, rationale))

    async def confirm(self, referral_id, manager, role="manager"):
        return self._decide(("confirm", referral_id, manager) + (() if role == "manager" else (role,)))

    async def override(self, referral_id, manager, level, outcome, recipients, rationale, role="manager"):
        asked = ("override", referral_id, manager, level, outcome, list(recipients), rationale)
        return self._decide(asked + (() if role == "manager" else (role,)))

    def _decide(self, asked):
        self.asked.append(asked)
        if self.refusal is not None:
            raise self.refusal
        return {"referral_id": asked[1]}


@pytest.fixture
def web(tmp_path, principals):
    db = Database(f"sqlite:///{tmp_path / 'web.db'}", people.metadata)
    with db.transaction() as s:
        people.add(s, "k.manager", "Kim Manager", Role.MANAGER, PASSWORD)
        people.add(s, "c.handler", "Chris Handler", Role.CALL_HANDLER, PASSWORD)
        people.add(s, "p.consultant", "Pat Consultant", Role.PRACTICE_CONSULTANT, PASSWORD)
    render = Renderer()
    decision = StandIn()
    handlers = WebHandlers(principals.firewall("web"), db, relay=None)
    app = web_app(render, workspace_routes(decision, Guard(db, render, timedelta(minutes=15)), render, handlers, now=lambda: NOW))
    yield app, decision, db
    db.dispose()


def sign_in(db, username="k.manager") -> people.SignedIn:
    with db.transaction() as s:
        return people.sign_in(s, username, PASSWORD, datetime.now(UTC))


def call(app, method: str, path: str, who=None, form: dict | None = None) -> tuple[int, dict, str]:
    """One request through the ASGI app, in process."""
    body = urlencode(form or {}, doseq=True).encode()
    headers = [(b"host", b"testserver")]
    if who is not None:
        headers.append((b"cookie", f"{SESSION_COOKIE}={who.token}".encode()))
    if form is not None:
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    text = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, text


def test_a_decision_service_that_does_not_answer_is_said_so_never_an_empty_queue(web):
    app, decision, db = web
    decision.queue = DecisionUnavailable("the decision service did not answer at http://127.0.0.1:1: connection refused")
    status, _, page = call(app, "GET", "/workspace", sign_in(db))
    assert status == 503
    assert "the decision service is not answering" in page and "connection refused" in page
    assert "No referrals are waiting" not in page
    decision.queue = DecisionRefused(401, "a manager's bearer token is required")
    status, _, page = call(app, "GET", "/workspace", sign_in(db))
    assert status == 502 and "bearer token is required" in page and "No referrals are waiting" not in page


def test_the_queue_is_ordered_by_rag_then_deadline_with_overdue_and_due_soon_tagged(web):
    app, decision, db = web
    row = {"level": 3, "level_name": "Child in need (s17)", "outcome": "cin_assessment", "recipients": [], "factors": []}
    decision.queue = [
        {**row, "referral_id": "REF-00000000000A", "rag": "green", "decision_due_at": (NOW + timedelta(hours=30)).isoformat()},
        {**row, "referral_id": "REF-00000000000B", "rag": "amber", "decision_due_at": (NOW + timedelta(hours=1)).isoformat()},
        {**row, "referral_id": "REF-00000000000C", "rag": "red", "decision_due_at": (NOW - timedelta(hours=1)).isoformat()},
    ]
    status, _, page = call(app, "GET", "/workspace", sign_in(db))
    assert status == 200
    order = [page.index(ref) for ref in ("REF-00000000000C", "REF-00000000000B", "REF-00000000000A")]
    assert order == sorted(order)
    assert "Overdue by 1 hour" in page and "govuk-tag--red" in page
    assert "Due soon" in page and "1 hour" in page
    decision.queue = []
    status, _, page = call(app, "GET", "/workspace", sign_in(db))
    assert status == 200 and "No referrals are waiting for a decision" in page


def test_only_managers_see_the_workspace(web):
    app, decision, db = web
    status, _, page = call(app, "GET", "/workspace", sign_in(db, "c.handler"))
    assert status == 403 and "MASH manager" in page
    status, headers, _ = call(app, "GET", "/workspace")
    assert status == 303 and headers["location"].startswith("/sign-in?next=/workspace")


def real_picture(assembly, notification) -> dict:
    """The decision service's own answer for a referral waiting for a manager, through its route."""
    child = next(s.subject_ref for s in notification.subjects if s.role.value == "child")
    assembly.record_notification(notification)
    # A desk that sent two differing answers: the model never decides on its own, so a manager must.
    assembly.record_contribution(
        contribution(notification, Agency.EDUCATION, message_id=derived_id("t", "first"), rationale="first")
    )
    for agency in DESK_AGENCIES:
        extra = {}
        if agency is Agency.POLICE:
            extra = {
                "items": [
                    SharedItem(
                        record_class="domestic_abuse_incident",
                        record_ref="INC-77",
                        subject_refs=[child],
                        summary="Police attended a domestic incident at the home.",
                        relevance="Domestic abuse in the household bears on the child's safety.",
                    )
                ],
                "uncertain_matches": [
                    UncertainMatch(subject_ref=child, confidence=0.6, matched_fields=["family_name"], candidates=2)
                ],
            }
        findings = ["domestic_abuse_history"] if agency is Agency.POLICE else []
        assembly.record_contribution(
            contribution(notification, agency, findings, message_id=derived_id("t", agency.value), **extra)
        )
    assert any(p["referral_id"] == notification.referral_id for p in assembly.pending())
    handler, parameters = match(decision_routes(assembly, "t"), f"/referrals/{notification.referral_id}/picture")
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path_params": parameters, "headers": [(b"authorization", b"Bearer t")]}
    asyncio.run(handler(scope, receive, send))
    return json.loads(sent[1]["body"])


@pytest.fixture
def picture(assembly_for, tmp_path, refused_s17):
    return real_picture(assembly_for(f"sqlite:///{tmp_path / 'decision.db'}"), refused_s17)


def test_the_assembled_picture_is_shown_and_its_viewing_is_on_the_audit_chain(web, picture, refused_s17):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    decision.entries = {
        "referral_id": ref,
        "subject": None,
        "subjects": [],
        "entries": [
            {
                "date": "2026-05-04",
                "time": None,
                "undated": False,
                "source": "police",
                "event": "Police: domestic abuse incident",
                "outcome": None,
                "subject_refs": [],
                "reference": "INC-77",
                "disclosure_id": None,
                "detail": None,
                "revision": 1,
            }
        ],
    }
    who = sign_in(db)
    status, _, page = call(app, "GET", f"/workspace/{ref}", who)
    assert status == 200, page
    child = next(s for s in refused_s17.subjects if s.role.value == "child")
    assert child.family_name in page, "the subjects by name"
    assert "Domestic abuse in the household bears on the child&#39;s safety." in page, "each item's relevance"
    assert "Uncertain" in page and "Police: domestic abuse incident" in page
    assert "Confirm the recommendation" in page and f'value="{who.csrf}"' in page
    seen = who_has_seen(db.engine, ref)
    assert [(e["action"], e["actor"]) for e in seen] == [("viewed", "k.manager")]

    decision.entries = DecisionUnavailable("the decision service did not answer")
    status, _, page = call(app, "GET", f"/workspace/{ref}", who)
    assert status == 200 and "The chronology could not be shown: the decision service did not answer" in page

    status, _, page = call(app, "GET", "/workspace/REF-000000000000", who)
    assert status == 404 and len(who_has_seen(db.engine, ref)) == 2, "nothing shown, nothing recorded"


def test_confirm_records_the_managers_name_and_shows_decision_recorded(web, picture):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    who = sign_in(db)
    status, headers, _ = call(app, "POST", f"/workspace/{ref}/confirm", who, {"csrf": who.csrf})
    assert status == 303 and headers["location"] == f"/workspace/{ref}?recorded=1"
    assert decision.asked == [("confirm", ref, "Kim Manager (k.manager)")]
    status, _, page = call(app, "GET", headers["location"], who)
    assert status == 200 and "Decision recorded" in page and "govuk-notification-banner--success" in page


def test_a_practice_consultant_sees_and_decides_the_allocated_teams_adults_only(web, picture):
    app, decision, db = web
    team = "Open adult social care case since 2026-01-03 with the East locality team, allocated worker: social worker"
    row = {"rag": "green", "decision_due_at": "2026-11-24T10:00:00+00:00", "level": 4, "outcome": "s42_enquiry"}
    decision.queue = [
        {**row, "referral_id": "REF-00000000000A", "route": "allocated_team", "route_detail": team},
        {**row, "referral_id": "REF-00000000000B", "route": "mash", "route_detail": None},
        {**row, "referral_id": "REF-00000000000C", "level": 3, "outcome": "cin_assessment"},
    ]
    status, _, page = call(app, "GET", "/workspace", sign_in(db, "p.consultant"))
    assert status == 200 and "REF-00000000000A" in page and "East locality team" in page
    assert "REF-00000000000B" not in page and "REF-00000000000C" not in page, "the MASH's referrals are not theirs"
    status, _, page = call(app, "GET", "/workspace", sign_in(db))
    assert all(r in page for r in ("REF-00000000000A", "REF-00000000000B", "REF-00000000000C")), "a manager sees both routes"
    assert "Allocated team's practice consultant" in page and "MASH (an adult at risk)" in page
    ref = picture["referral_id"]
    told = {"desired_outcomes": ["To stay in my own home"], "care_and_support_needs": True, "location_of_risk": "own_home"}
    notification = {**picture["notification"], "adult_at_risk": told, "related_referral_id": "REF-00000000000D"}
    recommendation = {**picture["recommendation"], "route": "allocated_team", "route_detail": team}
    decision.pictures[ref] = {**picture, "notification": notification, "recommendation": recommendation}
    who = sign_in(db, "p.consultant")
    status, _, page = call(app, "GET", f"/workspace/{ref}", who)
    assert status == 200 and "What the adult wants to happen" in page and "To stay in my own home" in page
    assert "Safeguarding Adults Practice Consultant: Open adult social care case" in page and "REF-00000000000D" in page
    status, headers, _ = call(app, "POST", f"/workspace/{ref}/confirm", who, {"csrf": who.csrf})
    assert status == 303 and decision.asked == [("confirm", ref, "Pat Consultant (p.consultant)", "practice_consultant")]
    # The decision service refuses a consultant a referral routed through the MASH; the page says why.
    decision.refusal = DecisionRefused(409, f"{ref} is not routed to an allocated team: a MASH manager decides it")
    status, _, page = call(app, "POST", f"/workspace/{ref}/confirm", who, {"csrf": who.csrf})
    assert status == 409 and "not routed to an allocated team" in page


def test_a_manager_records_s47_grounds_from_the_workspace(web, picture):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    who = sign_in(db)
    status, _, page = call(app, "GET", f"/workspace/{ref}", who)
    assert status == 200 and "Record s47 grounds" in page, "an s17 referral: the manager may record grounds"
    status, _, page = call(app, "POST", f"/workspace/{ref}/grounds", who, {"csrf": who.csrf, "grounds_kind": "s47"})
    assert status == 400 and 'href="#grounds_rationale"' in page and decision.asked == []
    why = "The child disclosed a burn from an iron this morning; reasonable cause to suspect significant harm."
    form = {"csrf": who.csrf, "grounds_kind": "s47", "grounds_rationale": why}
    status, headers, _ = call(app, "POST", f"/workspace/{ref}/grounds", who, form)
    assert status == 303 and headers["location"] == f"/workspace/{ref}?recorded=grounds"
    assert decision.asked == [("grounds", ref, "Kim Manager (k.manager)", "s47", why)]
    status, _, page = call(app, "GET", headers["location"], who)
    assert "Grounds recorded" in page
    consultant = sign_in(db, "p.consultant")
    status, _, _ = call(app, "POST", f"/workspace/{ref}/grounds", consultant, {**form, "csrf": consultant.csrf})
    assert status == 403 and len(decision.asked) == 1, "children's grounds are a MASH manager's"


def test_a_post_without_the_sessions_csrf_token_decides_nothing(web, picture):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    who = sign_in(db)
    for action in ("confirm", "override"):
        status, _, _ = call(
            app, "POST", f"/workspace/{ref}/{action}", who, {"csrf": "forged", "level": "4", "outcome": "strategy_discussion"}
        )
        assert status == 403
    assert decision.asked == []


def test_an_override_refused_by_the_decision_service_is_an_error_summary_with_the_answers_kept(web, picture):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    decision.refusal = DecisionRefused(
        400, "ValueError: an override needs a recorded rationale (at least a sentence giving the reasons, not a word)"
    )
    who = sign_in(db)
    answers = {
        "csrf": who.csrf,
        "level": "4",
        "outcome": "strategy_discussion",
        "recipients": ["police", "childrens_social_care"],
        "rationale": "Concerning",
    }
    status, _, page = call(app, "POST", f"/workspace/{ref}/override", who, answers)
    assert status == 400
    assert "govuk-error-summary" in page and 'href="#rationale"' in page
    assert "An override needs a recorded rationale (at least a sentence" in page and "Traceback" not in page
    assert ">Concerning</textarea>" in page, "what the manager typed is kept"
    assert decision.asked == [
        ("override", ref, "Kim Manager (k.manager)", 4, "strategy_discussion", ["police", "childrens_social_care"], "Concerning")
    ]

    decision.refusal = DecisionRefused(409, f"{ref} was already decided and routed: products are not sent twice")
    status, _, page = call(app, "POST", f"/workspace/{ref}/confirm", who, {"csrf": who.csrf})
    assert status == 409 and "already decided and routed" in page and 'href="#confirm"' in page


def test_an_override_without_a_level_or_outcome_is_not_sent(web, picture):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    who = sign_in(db)
    status, _, page = call(app, "POST", f"/workspace/{ref}/override", who, {"csrf": who.csrf, "level": "", "rationale": ""})
    assert status == 400 and decision.asked == []
    for message in ("Select the level you decide on", "Select the outcome", "Enter why you are overriding"):
        assert message in page


def test_a_decision_service_that_stops_answering_mid_decision_is_not_reported_as_recorded(web, picture):
    app, decision, db = web
    ref = picture["referral_id"]
    decision.pictures[ref] = picture
    decision.refusal = DecisionUnavailable("the decision service did not answer at http://127.0.0.1:1: timed out")
    who = sign_in(db)
    status, _, page = call(app, "POST", f"/workspace/{ref}/confirm", who, {"csrf": who.csrf})
    assert status == 503 and "may not have been recorded" in page and "Decision recorded" not in page


class Answered:
    def __init__(self, body: bytes):
        self.body = body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body


def test_the_client_tells_a_refusal_from_a_service_not_answering(monkeypatch):
    import io

    api = DecisionApi("http://127.0.0.1:1", "token")

    def answer(outcome):
        def urlopen(request, timeout):
            assert request.get_header("Authorization") == "Bearer token"
            if isinstance(outcome, Exception):
                raise outcome
            return Answered(outcome)

        monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    def http_error(code, body):
        return urllib.error.HTTPError("http://127.0.0.1:1/decisions", code, "refused", {}, io.BytesIO(body))  # type: ignore[arg-type]

    answer(http_error(409, b'{"error": "REF-1 was already decided and routed"}'))
    with pytest.raises(DecisionRefused) as refused:
        asyncio.run(api.confirm("REF-1", "Kim Manager (k.manager)"))
    assert refused.value.status == 409 and refused.value.reason == "REF-1 was already decided and routed"
    for failure in (
        http_error(500, b"Internal Server Error"),
        urllib.error.URLError("connection refused"),
        TimeoutError("timed out"),
    ):
        answer(failure)
        with pytest.raises(DecisionUnavailable):
            asyncio.run(api.recommendations())
    answer(b"<html>not json</html>")
    with pytest.raises(DecisionUnavailable):
        asyncio.run(api.recommendations())
    answer(b'{"error": "not a list"}')
    with pytest.raises(DecisionUnavailable):
        asyncio.run(api.recommendations())
    with pytest.raises(DecisionUnavailable, match="MASH_DECISION_URL"):
        asyncio.run(DecisionApi("", "token").recommendations())
    answer(b"[]")
    assert asyncio.run(api.recommendations()) == []
    _ = MONDAY  # the decision service's clock in the pictures above
