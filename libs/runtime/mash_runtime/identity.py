"""Which store a service runs on. A desk that lost its database and started on a fresh one would answer every
referral "no records found", and a swapped store would carry someone else's history: both look healthy.

So `init` is the only way a store comes to be: it creates the tables and stamps the store with an identity (the
service, a random store id, when), and keeps the identity the service must find in the service's own key custody
(<keys>/<service>/store.json, 0600), outside the store. A plain start opens nothing else: a store that is missing,
empty, unstamped or another store is refused with what is wrong and the command that initialises one. Readiness
asks again, so a store swapped under a running service turns it not ready.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, String, Table, insert, inspect, select
from sqlalchemy.engine import Connection, Engine

from .calendar import as_utc
from .firewall.keys import write_secret

IDENTITY_FILE = "store.json"
log = logging.getLogger("mash.store")

identity_metadata = MetaData()

store_identity = Table(
    "store_identity",
    identity_metadata,
    Column("service", String(64), primary_key=True),
    Column("store_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class StoreRefused(RuntimeError):
    """Not the store the service was initialised with, or no store at all: not transient, so never retried."""


@dataclass(frozen=True)
class StoreIdentity:
    service: str
    store_id: str
    created_at: datetime

    def __str__(self) -> str:
        return f"store {self.store_id} of {self.service}, initialised {as_utc(self.created_at):%Y-%m-%d %H:%M:%S} UTC"

    def same_store(self, other: StoreIdentity | None) -> bool:
        return other is not None and (other.service, other.store_id) == (self.service, self.store_id)


def init_command(service: str, replace: bool = False) -> str:
    flag = " --replace" if replace else ""
    return f"`python -m mash_{service} init{flag}` (or `./mash init{flag} {service}`)"


def identity_file(keys_dir: Path, service: str) -> Path:
    return keys_dir / service / IDENTITY_FILE


def read_expected(keys_dir: Path, service: str) -> StoreIdentity | None:
    try:
        raw = json.loads(identity_file(keys_dir, service).read_text())
    except FileNotFoundError:
        return None
    return StoreIdentity(raw["service"], raw["store_id"], datetime.fromisoformat(raw["created_at"]))


def expected(keys_dir: Path, service: str) -> StoreIdentity:
    """The identity the service was initialised with; refused when it never was."""
    found = read_expected(keys_dir, service)
    if found is None:
        raise StoreRefused(
            f"{service}: no store has been initialised for it ({identity_file(keys_dir, service)} is missing): "
            f"run {init_command(service)} once, before its first start"
        )
    return found


def _keep_expected(keys_dir: Path, identity: StoreIdentity) -> None:
    path = identity_file(keys_dir, identity.service)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_secret(
        path,
        json.dumps(
            {"service": identity.service, "store_id": identity.store_id, "created_at": as_utc(identity.created_at).isoformat()}
        ),
    )


def sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database)
    return None


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _stamp(conn: Connection) -> StoreIdentity | None:
    rows = conn.execute(select(store_identity)).all()
    if len(rows) > 1:
        raise StoreRefused(
            f"the store carries {len(rows)} identities ({', '.join(r.service for r in rows)}): it has been tampered with"
        )
    return StoreIdentity(rows[0].service, rows[0].store_id, as_utc(rows[0].created_at)) if rows else None


def survey(engine: Engine) -> tuple[str, StoreIdentity | None]:
    """What is at the store's address: "missing", "empty", "unstamped" (tables, no identity) or "stamped".

    A missing SQLite file is not opened, so looking does not create one."""
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        return "missing", None
    tables = set(inspect(engine).get_table_names())
    if not tables:
        return "empty", None
    if store_identity.name not in tables:
        return "unstamped", None
    with engine.connect() as conn:
        stamp = _stamp(conn)
    return ("stamped", stamp) if stamp else ("unstamped", None)


def check(engine: Engine, want: StoreIdentity) -> None:
    """At start: refuse any store but the one the service was initialised with, before anything is created in it."""
    state, found = survey(engine)
    service, where = want.service, _where(engine)
    if state in ("missing", "empty"):
        raise StoreRefused(
            f"{service}: its store {where} is {state}, but it was initialised as {want}: refusing to start on an empty "
            f"store, which would answer as if it held no records. Restore the store or point MASH_DATABASE_URL at it; "
            f"if it is lost for good, start a new empty one with {init_command(service, replace=True)}"
        )
    if state == "unstamped":
        raise StoreRefused(
            f"{service}: the store {where} carries no store identity, but the service was initialised as {want}: refusing "
            f"to start on it. If it is the right store, stamp it with {init_command(service, replace=True)}"
        )
    if not want.same_store(found):
        raise StoreRefused(
            f"{service}: the store {where} is {found}, not {want} that this service was initialised with: refusing to "
            f"start on another store. Point MASH_DATABASE_URL at the right one, or adopt this one with "
            f"{init_command(service, replace=True)}"
        )


class Watch:
    """Readiness: is the store still the one the service started on? One file stat and a one-row read."""

    def __init__(self, engine: Engine, want: StoreIdentity):
        self.engine, self.want = engine, want
        self.path = sqlite_file(engine)
        self._inode = self._stat()
        self._last_refusal: str | None = None

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        st = os.stat(self.path)
        return st.st_dev, st.st_ino

    def check(self) -> None:
        try:
            self._check()
        except StoreRefused as e:
            if str(e) != self._last_refusal:  # once per change, not at every readiness probe
                log.error("%s", e)
                self._last_refusal = str(e)
            raise
        self._last_refusal = None

    def _check(self) -> None:
        service = self.want.service
        if self.path is not None:
            # Open connections keep the file they opened, so a moved or replaced file shows only here.
            try:
                moved = self._stat() != self._inode
            except FileNotFoundError:
                moved = True
            if moved:
                raise StoreRefused(
                    f"{service}: its store file {self.path} was moved or replaced while it ran: not ready; "
                    "restart it on the right store"
                )
        with self.engine.connect() as conn:
            found = _stamp(conn)  # a store without the table fails here with the database's own "no such table"
        if not self.want.same_store(found):
            raise StoreRefused(
                f"{service}: its store {_where(self.engine)} is now {found or 'unstamped'}, not {self.want}: not ready"
            )


def initialise(engine: Engine, service: str, keys_dir: Path, create_tables: Callable[[], None], replace: bool = False) -> str:
    """`init`: make the service's store and stamp it, or confirm the one it has; what was done, in words.

    Safe to run again: it never changes the identity a service already expects unless `replace` says so, and
    never takes over a store stamped for another service."""
    want = read_expected(keys_dir, service)
    state, found = survey(engine)
    where = _where(engine)
    if found is not None and found.service != service:
        raise StoreRefused(f"{service}: the store {where} is {found}: it belongs to another service, refusing to take it over")
    if want is not None and want.same_store(found):
        create_tables()  # tables a newer version added
        return f"{found} at {where} is already initialised"
    if want is not None and not replace:
        what = f"is {found}" if found else f"is {state}"
        raise StoreRefused(
            f"{service}: was initialised as {want}, but the store {where} {what}. Restore the right store; to start "
            f"on this one instead (its records and audit chain, not the lost ones), run {init_command(service, replace=True)}"
        )
    create_tables()
    if found is not None:
        _keep_expected(keys_dir, found)
        return f"adopted {found} at {where}"
    stamp = StoreIdentity(service, str(uuid.uuid4()), datetime.now(UTC))
    identity_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(store_identity).values(service=stamp.service, store_id=stamp.store_id, created_at=stamp.created_at))
    _keep_expected(keys_dir, stamp)  # after the stamp commits: a crash between leaves a store the next init adopts
    if state == "unstamped":
        return f"stamped the existing store at {where} as {stamp}"
    return f"initialised a new store at {where}: {stamp}"
