"""Save and come back later on the public form (issue 18): the answers kept under a code shown once, stored only as
its digest, for seven days; resumed with the answers in place; deleted when the referral is sent."""

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
