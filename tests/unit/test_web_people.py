"""Signing in to the web front door: argon2 hashes, one refusal for every failure, a lockout after five wrong
passwords, sessions stored only as digests, an idle timeout that keeps what was being typed, disabling ends sessions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mash_runtime.store import Database
from mash_web import people
from mash_web.people import Role, SignInRefused

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
        assert people.session_of(s, who.token, NOW + timedelta(minutes=10), IDLE) is not None, "still in use"
        typed = {"description": "The caller says the baby was left alone overnight."}
        assert people.session_of(s, who.token, NOW + timedelta(minutes=26), IDLE, keep={"x": "forged"}, csrf="wrong") is None
    with db.transaction() as s:
        assert people.draft_of(s, "k.manager") is None, "a post without the session's token saves nothing"
    who = sign_in(db, now=NOW + timedelta(minutes=30))
    with db.transaction() as s:
        assert people.session_of(s, who.token, NOW + timedelta(minutes=50), IDLE, keep=typed, csrf=who.csrf) is None
        assert people.draft_of(s, "k.manager") == typed


def test_disabling_someone_ends_their_sessions_at_once(db):
    who = sign_in(db)
    with db.transaction() as s:
        assert people.disable(s, "k.manager") and not people.disable(s, "nobody")
        assert people.session_of(s, who.token, NOW, IDLE) is None
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
