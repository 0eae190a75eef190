"""A service runs on the store it was initialised with, and on no other, on each real backend (SQLite, PostgreSQL):
`init` makes and stamps the store and keeps the identity outside it; a start on a missing, empty, unstamped or
other store is refused before anything is created; readiness notices a store swapped under a running service."""

import os
import shutil
import stat
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, delete, text, update

from mash_desk.service import main as desk_main
from mash_police_desk.app import DESK
from mash_runtime.identity import StoreRefused, expected, identity_file, store_identity
from mash_runtime.store import Database

pytestmark = pytest.mark.process
SERVICE = "police_desk"


@pytest.fixture
def keys(tmp_path):
    return tmp_path / "keys"


def lose(url: str) -> None:
    """What an operator's mistake or a failed disk does: the store is gone (SQLite) or emptied (PostgreSQL)."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.rename(path + suffix, path + suffix + ".lost")
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("drop schema public cascade"))
        conn.execute(text("create schema public"))
    engine.dispose()


def test_init_makes_a_stamped_store_that_the_service_then_opens(durable_database_url, keys):
    done = Database.initialise(durable_database_url, SERVICE, keys)
    assert done.startswith("initialised a new store")
    kept = identity_file(keys, SERVICE)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600, "the expected identity is the service's own secret state"
    want = expected(keys, SERVICE)
    db = Database(durable_database_url, identity=want)
    db.ping()
    db.dispose()
    assert "already initialised" in Database.initialise(durable_database_url, SERVICE, keys), "init again changes nothing"
    assert expected(keys, SERVICE) == want


def test_a_service_never_initialised_is_refused_with_the_command_that_initialises_it(keys):
    with pytest.raises(StoreRefused, match=r"no store has been initialised.*python -m mash_police_desk init"):
        expected(keys, SERVICE)


def test_a_lost_store_is_refused_and_nothing_is_created_in_its_place(durable_database_url, keys):
    Database.initialise(durable_database_url, SERVICE, keys)
    want = expected(keys, SERVICE)
    lose(durable_database_url)
    with pytest.raises(
        StoreRefused, match=rf"is (missing|empty), but it was initialised as store {want.store_id}.*init --replace"
    ):
        Database(durable_database_url, identity=want)
    if durable_database_url.startswith("sqlite"):
        assert not os.path.exists(durable_database_url.removeprefix("sqlite:///")), "refusing created no empty file"
    with pytest.raises(StoreRefused, match="--replace"):
        Database.initialise(durable_database_url, SERVICE, keys)  # a plain init does not paper over the loss either
    assert expected(keys, SERVICE) == want
    assert Database.initialise(durable_database_url, SERVICE, keys, replace=True).startswith("initialised a new store")
    new = expected(keys, SERVICE)
    assert new.store_id != want.store_id
    Database(durable_database_url, identity=new).dispose()


def test_another_store_is_refused_and_one_swapped_under_a_running_service_turns_it_not_ready(durable_database_url, keys):
    Database.initialise(durable_database_url, SERVICE, keys)
    want = expected(keys, SERVICE)
    db = Database(durable_database_url, identity=want)
    db.ping()
    with db.transaction() as s:  # the store now says it is another one
        s.execute(update(store_identity).values(store_id="00000000-0000-4000-8000-000000000000"))
    with pytest.raises(StoreRefused, match="00000000-0000-4000-8000-000000000000"):
        db.ping()
    db.dispose()
    with pytest.raises(
        StoreRefused, match=rf"is store 00000000-0000-4000-8000-000000000000 of police_desk.*not store {want.store_id}"
    ):
        Database(durable_database_url, identity=want)


def test_a_sqlite_file_replaced_under_a_running_service_turns_it_not_ready(tmp_path, keys):
    url = f"sqlite:///{tmp_path / 'police_desk.db'}"
    Database.initialise(url, SERVICE, keys)
    db = Database(url, identity=expected(keys, SERVICE))
    db.ping()
    lose(url)
    with pytest.raises(StoreRefused, match="moved or replaced"):
        db.ping()  # the pooled connection still reads the moved file: only the file itself shows it
    assert not (tmp_path / "police_desk.db").exists(), "the readiness check created no empty store"
    db.dispose()


def test_a_store_stamped_for_another_service_is_never_taken_over(durable_database_url, keys):
    Database.initialise(durable_database_url, SERVICE, keys)
    with pytest.raises(StoreRefused, match="belongs to another service"):
        Database.initialise(durable_database_url, "health_desk", keys, replace=True)
    Database(durable_database_url, identity=expected(keys, SERVICE)).dispose()


def test_a_store_without_a_stamp_is_refused_until_init_stamps_it(durable_database_url, keys):
    Database(durable_database_url, DESK.metadata).dispose()  # tables and no identity: every store made before `init` existed
    assert Database.initialise(durable_database_url, SERVICE, keys).startswith("stamped the existing store")
    want = expected(keys, SERVICE)
    Database(durable_database_url, DESK.metadata, identity=want).dispose()

    engine = create_engine(durable_database_url)
    with engine.begin() as conn:
        conn.execute(delete(store_identity))
    engine.dispose()
    with pytest.raises(StoreRefused, match="carries no store identity"):
        Database(durable_database_url, identity=want)
    with pytest.raises(StoreRefused, match="--replace"):
        Database.initialise(durable_database_url, SERVICE, keys)
    assert "stamped the existing store" in Database.initialise(durable_database_url, SERVICE, keys, replace=True)


def test_seed_needs_an_initialised_store(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("MASH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MASH_KEYS_DIR", str(keys))
    monkeypatch.delenv("MASH_DATABASE_URL", raising=False)
    population = tmp_path / "population.json"
    population.write_text("{}")
    with pytest.raises(SystemExit, match="no store has been initialised.*mash_police_desk init"):
        desk_main(DESK, ["seed", str(population)])
    assert not (tmp_path / "state" / "police_desk.db").exists()


def test_a_desk_whose_store_was_moved_away_exits_saying_why_and_how_to_init(tmp_path, keys_dir):
    own_keys = shutil.copytree(keys_dir, tmp_path / "keys")
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "MASH_STATE_DIR": str(tmp_path / "state"),
        "MASH_KEYS_DIR": str(own_keys),
    }
    env.pop("MASH_DATABASE_URL", None)
    init = subprocess.run(
        [sys.executable, "-m", "mash_police_desk", "init"], env=env, capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0 and "initialised a new store" in init.stdout, init.stderr
    lose(f"sqlite:///{tmp_path / 'state' / 'police_desk.db'}")
    run = subprocess.run([sys.executable, "-m", "mash_police_desk"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0, "it must not start on an empty store"
    assert "is missing, but it was initialised as store" in run.stderr
    assert "python -m mash_police_desk init --replace" in run.stderr
    assert not (tmp_path / "state" / "police_desk.db").exists()
