"""Signing in to the web front door: argon2 hashes, one refusal for every failure, a lockout after five wrong
passwords, sessions stored only as digests, an idle timeout that keeps what was being typed, disabling ends sessions
(and the person is told it was their account, not a time-out)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mash_runtime.store import Database
from mash_web import people
from mash_web.guard import SESSION_COOKIE, Guard
from mash_web.pages import web_app
from mash_web.people import Ended, Role, SignInRefused
from mash_web.render import Renderer
from mash_web.signin import signin_routes

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
IDLE = timedelta(minutes=15)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def db(tmp_path):
    store = Database(f"sqlite:///{tmp_path / 'web.db'}", people.metadata)
    with store.transaction() as s:
        people.add(s, "k.manager", "Kim Manager", Role.MANAGER, PASSWORD)
    yield store
    store.dispose()


def sign_in(db, username=("k.manager"), password=PASSWORD, now=NOW):
    with db.transaction() as s:
        try:
            return people.sign_in(s, username, password, now)
        except SignInRefused as e:
            refused = e
    raise refused


def test_a_password_is_kept_only_as_its_argon2_hash_and_a_session_only_as_a_digest(db):
    who = sign_in(db)
    with db.transaction() as s:
        stored = s.execute(select(people.people.c.password_hash)).scalar_one()
        tokens = s.execute(select(people.sessions.c.token_sha256)).scalars().all()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert who.token not in tokens and len(tokens) == 1
    assert who.person.role is Role.MANAGER and who.csrf


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes_even_against_the_right_one(db):
    for _ in range(people.LOCK_AFTER):
        with pytest.raises(SignInRefused):
            sign_in(db, password="wrong password here")
    with pytest.raises(SignInRefused):
        sign_in(db, now=NOW + timedelta(minutes=14))
    assert sign_in(db, now=NOW + timedelta(minutes=16)).person.username == "k.manager"


def test_an_unknown_name_is_refused_like_a_wrong_password(db):
    with pytest.raises(SignInRefused):
        sign_in(db, username="nobody")


def test_an_idle_session_ends_and_keeps_what_was_posted_into_it_as_the_draft(db):
    who = sign_in(db)
    with db.transaction() as s:
        assert isinstance(people.session_of(s, who.token, NOW + timedelta(minutes=10), IDLE), people.SignedIn), "in use"
        typed = {"description": "The caller says the baby was left alone overnight."}
        ended = people.session_of(s, who.token, NOW + timedelta(minutes=26), IDLE, keep={"x": "forged"}, csrf="wrong")
        assert ended is Ended.TIMED_OUT
    with db.transaction() as s:
        assert people.draft_of(s, "k.manager") is None, "a post without the session's token saves nothing"
    who = sign_in(db, now=NOW + timedelta(minutes=30))
    with db.transaction() as s:
        assert people.session_of(s, who.token, NOW + timedelta(minutes=50), IDLE, keep=typed, csrf=who.csrf) is Ended.TIMED_OUT
        assert people.draft_of(s, "k.manager") == typed
        assert people.session_of(s, who.token, NOW + timedelta(minutes=51), IDLE) is Ended.UNKNOWN, "deleted when it ended"


def test_disabling_someone_ends_their_sessions_at_once_and_says_so_not_that_they_timed_out(db):
    who, other = sign_in(db), sign_in(db)
    with db.transaction() as s:
        assert people.disable(s, "k.manager") and not people.disable(s, "nobody")
    with db.transaction() as s:
        # Told apart from an idle timeout, even when the session had also been idle: the account is what ended it.
        assert people.session_of(s, who.token, NOW, IDLE) is Ended.DISABLED
        assert people.session_of(s, other.token, NOW + timedelta(hours=1), IDLE, keep={"x": "y"}, csrf=other.csrf) is (
            Ended.DISABLED
        )
        assert people.draft_of(s, "k.manager") is None, "a disabled account keeps no draft"
        assert people.session_of(s, who.token, NOW, IDLE) is Ended.UNKNOWN, "the dead session is deleted when it is used"
        assert s.execute(select(people.sessions)).all() == []
    with pytest.raises(SignInRefused):
        sign_in(db)


def test_a_short_password_or_a_second_account_of_the_same_name_is_refused(db):
    with db.transaction() as s, pytest.raises(ValueError, match="12 characters"):
        people.add(s, "c.handler", "Chris Handler", Role.CALL_HANDLER, "short")
    with db.transaction() as s, pytest.raises(ValueError, match="already exists"):
        people.add(s, "k.manager", "Another Kim", Role.MANAGER, PASSWORD)


@pytest.mark.parametrize("given", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", ""])
def test_after_sign_in_a_person_goes_only_to_a_page_of_this_site(given):
    from mash_web.signin import _safe_next

    assert _safe_next(given) == ""
    assert _safe_next("/workspace/REF-0123456789AB") == "/workspace/REF-0123456789AB"


def test_every_role_has_a_name_and_a_page_to_land_on_after_sign_in():
    # A role added without them made sign-in fail with a server error (practice_consultant, once).
    from mash_web.people import ROLE_NAMES, Role
    from mash_web.signin import HOME

    assert set(HOME) == set(Role) == set(ROLE_NAMES)


def _get(app, path: str, token: str) -> tuple[int, dict, str]:
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), (b"cookie", f"{SESSION_COOKIE}={token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    out: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        out.append(message)

    asyncio.run(app(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in out[0]["headers"]}
    return out[0]["status"], headers, b"".join(m.get("body", b"") for m in out[1:]).decode()


def test_a_disabled_person_still_holding_a_session_is_signed_out_and_told_their_account_is_disabled(db):
    render = Renderer()
    guard = Guard(db, render, IDLE)

    async def managers_page(request):
        who = await guard.require(request, Role.MANAGER)
        return who if isinstance(who, Response) else PlainTextResponse("signed in")

    app = web_app(render, [Route("/managers", managers_page), *signin_routes(db, guard, render)])
    who = sign_in(db, now=datetime.now(UTC))
    assert _get(app, "/managers", who.token)[0] == 200
    with db.transaction() as s:
        people.disable(s, "k.manager")
    status, headers, _ = _get(app, "/managers", who.token)
    assert status == 303 and headers["location"] == "/sign-in?next=/managers&disabled=1"
    assert f"{SESSION_COOKIE}=" in headers["set-cookie"] and "Max-Age=0" in headers["set-cookie"], "the cookie is dropped"
    _, _, page = _get(app, headers["location"], who.token)
    assert "your account has been disabled" in page and "had not done anything" not in page
    # A session that only timed out still says so.
    with db.transaction() as s:
        people.add(s, "c.handler", "Chris Handler", Role.CALL_HANDLER, PASSWORD)
    idle = sign_in(db, "c.handler", now=datetime.now(UTC) - IDLE - timedelta(minutes=1))
    status, headers, _ = _get(app, "/managers", idle.token)
    assert status == 303 and headers["location"].endswith("&timed_out=1")
    _, _, page = _get(app, headers["location"], idle.token)
    assert "had not done anything" in page and "disabled" not in page
