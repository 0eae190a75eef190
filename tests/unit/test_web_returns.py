"""Save and come back later on the public form (issue 18): the answers kept under a code shown once, stored only as
its digest, for seven days; resumed with the answers in place; deleted when the referral is sent. And the public
pages' other promises: an anonymous referrer is told no outcome; the form's conditional reveals."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from mash_runtime.store import Database
from mash_web import people, returns, sent
from mash_web.handlers import WebHandlers
from mash_web.pages import CSRF_COOKIE, public_routes, web_app
from mash_web.render import Renderer

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CSRF = "c" * 43


class Relay:
    def wake(self) -> None:
        pass


@pytest.fixture
def site(tmp_path, principals):
    db = Database(f"sqlite:///{tmp_path / 'web.db'}", people.metadata, sent.metadata, returns.metadata)
    handlers = WebHandlers(principals.firewall("web"), db, relay=Relay())
    render = Renderer()
    yield web_app(render, public_routes(handlers, render)), db
    db.dispose()


def post(app, path: str, form: dict) -> tuple[int, dict, str]:
    body = urlencode(form, doseq=True).encode()
    return _call(app, "POST", path, body, [(b"content-type", b"application/x-www-form-urlencoded")])


def get(app, path: str) -> tuple[int, dict, str]:
    return _call(app, "GET", path, b"", [])


def _call(app, method, path, body, headers):
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"cookie", f"{CSRF_COOKIE}={CSRF}".encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    out: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        out.append(message)

    asyncio.run(app(scope, receive, send))
    return (
        out[0]["status"],
        {k.decode(): v.decode() for k, v in out[0]["headers"]},
        b"".join(m.get("body", b"") for m in out[1:]).decode(),
    )


HALF_DONE = {
    "csrf": CSRF,
    "referrer_kind": "member_of_public",
    "subject_family_name": "Synthetica",
    "description": "Half written.",
}
DONE = {
    **HALF_DONE,
    "anonymous": "yes",
    "subject_role": "child",
    "categories": ["neglect"],
    "description": "The children are left alone every evening.",
    "immediate_danger": "no",
    "consent": "not_sought",
    "consent_reason": "I do not know the family.",
}


def test_the_store_keeps_only_the_codes_digest_for_seven_days(site):
    _, db = site
    with db.transaction() as s:
        code, expires = returns.save(s, {"description": "Half written.", "csrf": "x"}, NOW)
        assert expires == NOW + timedelta(days=7)
        stored = s.execute(select(returns.saved_forms)).one()
        assert code not in str(tuple(stored)) and stored.code_sha256 == returns.digest(code)
        assert returns.resume(s, code, NOW + timedelta(days=6)) == {"description": "Half written."}, "no CSRF token kept"
        assert returns.resume(s, code, NOW + timedelta(days=7, seconds=1)) is None
        assert s.execute(select(returns.saved_forms)).all() == [], "an expired form is deleted, not only hidden"


def test_save_resume_then_send_deletes_the_saved_answers(site):
    app, db = site
    status, _, page = post(app, "/referral", {**HALF_DONE, "action": "save"})
    assert status == 200 and "Your answers are saved" in page and "shown only once" in page
    [link] = re.findall(r'href="(/referral/resume/[A-Za-z0-9_-]+)"', page)
    status, _, page = get(app, link)
    assert status == 200 and "Half written." in page and "Your saved draft is below" in page
    code = link.rsplit("/", 1)[1]
    assert f'name="resume" value="{code}"' in page, "saving again keeps the same link"
    status, headers, _ = post(app, "/referral", {**DONE, "resume": code})
    assert status == 303 and headers["location"].startswith("/referral/sent/WEB-")
    status, _, page = get(app, link)
    assert status == 404 and "deleted once the referral is sent" in page
    with db.transaction() as s:
        assert s.execute(select(returns.saved_forms)).all() == []


def test_an_unknown_or_malformed_code_is_not_found(site):
    app, _ = site
    assert get(app, "/referral/resume/" + "A" * 32)[0] == 404
    assert get(app, "/referral/resume/short")[0] == 404


def test_an_anonymous_referrer_is_told_no_outcome_and_how_to_call_the_mash_instead(site):
    app, db = site
    decided = "The MASH has considered your notification and decided the response; adult social care will take it forward."
    pages = {}
    for anonymous in (True, False):
        form = DONE if anonymous else {**DONE, "anonymous": "no", "referrer_name": "Sam", "referrer_phone": "01632 960001"}
        status, headers, _ = post(app, "/referral", form)
        assert status == 303
        reference = headers["location"].rsplit("/", 1)[1]
        with db.transaction() as s:
            sent.acknowledged(s, reference, "REF-0123456789AB", NOW, NOW + timedelta(hours=8))
            sent.decided(s, reference, decided, NOW + timedelta(hours=2))
        pages[anonymous] = get(app, headers["location"])[2]
    assert "You stayed anonymous" in pages[True] and "will not tell you what it decides" in pages[True]
    assert decided not in pages[True] and "call the MASH on 01632 960 000" in pages[True]
    assert decided in pages[False] and "You stayed anonymous" not in pages[False]
    # The reference in the confirmation panel is markup, not its escaped text (the tags once showed on the page).
    assert re.search(r"Your reference<br><strong>WEB-[0-9A-F]{20}</strong>", pages[True]) and "&lt;br&gt;" not in pages[True]


def test_the_form_reveals_the_contact_and_adult_questions_as_govuk_conditional_reveals(site):
    app, _ = site
    _, _, page = get(app, "/referral")
    # Both are in the page (a browser without JavaScript shows them); GOV.UK Frontend hides them until chosen.
    assert 'data-aria-controls="conditional-anonymous-2"' in page and 'id="conditional-anonymous-2"' in page
    contact = page.split('id="conditional-anonymous-2"', 1)[1].split("</fieldset>", 1)[0]
    assert 'name="referrer_name"' in contact
    adult = page.split('id="conditional-subject_role-3"', 1)[1]
    assert adult.index('name="adult_needs"') < adult.index('name="subject_family_name"'), "inside the adult's reveal"
    # A professional choosing anonymity: the error summary links to the question, and the answers stay.
    status, _, page = post(app, "/referral", {**DONE, "referrer_kind": "professional", "referrer_agency": "health"})
    assert status == 400 and 'href="#anonymous"' in page and "Only a member of the public or a family member" in page
    assert '<div class="govuk-radios__conditional" id="conditional-anonymous">' in page, "the chosen answer's reveal shows"
