"""Shared fixtures. Every test module declares its tier with pytestmark (unit or integration)."""

import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from helpers import MONDAY
from mash_cli.postgres import LocalPostgres
from mash_tools.synthetic import Generator

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


class LeftTheProcess(AssertionError):
    """A unit test reached outside its process."""


@pytest.fixture(autouse=True)
def _unit_means_one_process(request, monkeypatch):
    """The unit tier is one process with no network: a unit test that spawns a process or connects a socket fails
    here, and belongs in the process or integration tier (a PostgreSQL-backed store test carries `postgres`)."""
    marks = {m.name for m in request.node.iter_markers()}
    if "unit" not in marks or "postgres" in marks:
        return

    def refuse(what):
        def refused(*args, **kwargs):
            raise LeftTheProcess(f"a unit test {what}: move it to the process or integration tier")

        return refused

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("started a process"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connected a socket"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connected a socket"))


@pytest.fixture
def generator() -> Generator:
    return Generator(seed=11)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL from Debian's package, started by the project's own script (mash_cli.postgres)."""
    home = Path(tempfile.mkdtemp(prefix="mash-pg-"))  # under /tmp: reachable by the postgres user
    server = LocalPostgres(home)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def _store_url(request, tmp_path, backend: str) -> str:
    if backend == "memory":
        from mash_runtime.store import IN_MEMORY

        return IN_MEMORY
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"create database {name}"))
    engine.dispose()
    return server.url(name)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """Store tests are written once and run against each backend: SQLite in memory (one process, one store per
    Database), a SQLite file, and PostgreSQL."""
    return _store_url(request, tmp_path, request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def durable_database_url(request, tmp_path) -> str:
    """For what only a store outside the process has: a restart, a second handle on the same store, a store
    initialised by one handle and opened by another, writers on several connections at once."""
    return _store_url(request, tmp_path, request.param)


@pytest.fixture(params=["memory", pytest.param("postgresql", marks=pytest.mark.postgres)])
def racing_url(request, tmp_path) -> str:
    """For a race between two transactions: a SQLite file has none, since a transaction takes its write lock when it
    begins (tests/unit/test_concurrent_writes.py shows it)."""
    return _store_url(request, tmp_path, request.param)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    """Real keys for the hub's principals, as `mash keys init` makes them, and the simulated agencies enrolled from
    keys of their own (in ../agencies, outside the hub's keys)."""
    from mash_cli.agencies import simulate_keys
    from mash_contracts.topics import hub_principals
    from mash_runtime.firewall import generate

    path = tmp_path_factory.mktemp("state") / "keys"
    generate(path, hub_principals())
    simulate_keys(path, path.parent)
    return path


@pytest.fixture(scope="session")
def principals(keys_dir):
    from mash_cli.principals import Principals

    return Principals(keys_dir)


@pytest.fixture(scope="session")
def declared_findings() -> dict:
    """Each desk's declared findings, from its policy file, as the mesh hands them to the decision service."""
    from mash_cli.mesh import declared_findings as read
    from mash_contracts import Agency

    return {Agency(a): frozenset(f) for a, f in read().items()}


@pytest.fixture(scope="module")
def linker():
    """The hub's person linker, one per module (it holds a DuckDB connection)."""
    from mash_analysis.linkage import PersonLinker

    return PersonLinker()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the services run on asyncio; trio is not installed


class Clock:
    """A clock the test moves by hand (`manual_clock.at = ...`), given to a service as its `now`."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def manual_clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
def assembly_for(principals, declared_findings, manual_clock):
    """The decision service's assembly on the store at a URL: the default model and the test's clock unless given;
    its stores closed after the test."""
    from mash_contracts.threshold import load_model
    from mash_contracts.topics import DESK_AGENCIES
    from mash_decision.assembly import Assembly, metadata
    from mash_runtime.store import Database

    stores = []

    def build(url: str, model=None, **options):
        stores.append(db := Database(url, metadata))
        options.setdefault("now", manual_clock)
        model = model or load_model("default")
        return Assembly(db, DESK_AGENCIES, principals.firewall("decision"), model, declared_findings=declared_findings, **options)

    yield build
    for db in stores:
        db.dispose()


@pytest.fixture
def assembly(assembly_for, database_url):
    return assembly_for(database_url)


@pytest.fixture
def refused_s17(generator):
    """A neglect referral on an s17 footing whose parent refused consent: the desks that need consent decline it."""
    from mash_contracts import ConcernCategory, ConsentPosition, ConsentStatus, StatutoryFooting
    from mash_intake.screening import accept

    s = generator.notification()
    s = s.model_copy(
        update={
            "concern": s.concern.model_copy(update={"categories": [ConcernCategory.NEGLECT], "immediate_danger": False}),
            "consent": ConsentPosition(status=ConsentStatus.REFUSED, reason="Parent refused"),
        }
    )
    return accept(s, MONDAY, referrer_system="northshire_schools").model_copy(update={"statutory_footing": StatutoryFooting.S17})


@pytest.fixture
def desk_for(principals):
    """A desk on the store at a URL, holding these records; its stores closed after the test."""
    from mash_contracts.topics import desk_service
    from mash_desk import disclosure
    from mash_desk.records import load_tables
    from mash_desk.service import Desk
    from mash_runtime.store import Database

    stores = []

    def build(definition, rows: dict, url: str):
        stores.append(db := Database(url, definition.metadata, disclosure.metadata))
        load_tables(db, definition.metadata, rows)
        return Desk(definition, db, relay=None, firewall=principals.firewall(desk_service(definition.agency)))

    yield build
    for db in stores:
        db.dispose()


@pytest.fixture
def answered(principals, queued):
    """A desk's answer to a notification, given as it arrives: the one contribution it queued, opened as the decision
    service, and the disclosure record it kept. `never_in_payload`: bytes the sealed contribution must not show."""
    from mash_desk import disclosure

    def answer(desk, notification, never_in_payload: bytes | None = None):
        assert desk.answer(notification, notification.received_at)
        [row] = queued(desk.db)
        with desk.db.transaction() as s:
            [record] = disclosure.for_referral(s, notification.referral_id)
        assert never_in_payload is None or never_in_payload not in row.payload, "the contribution is sealed in the outbox"
        return principals.read(row.topic, row.key, row.payload), record

    return answer


def _queued(db, topic: str | None = None, prefix: str | None = None) -> list:
    from sqlalchemy import select

    from mash_runtime.store import outbox

    query = select(outbox.c.topic, outbox.c.key, outbox.c.payload).order_by(outbox.c.id)
    if topic is not None:
        query = query.where(outbox.c.topic == topic)
    if prefix is not None:
        query = query.where(outbox.c.topic.startswith(prefix))
    with db.transaction() as s:
        return s.execute(query).all()


@pytest.fixture
def queued():
    """A store's outbox, oldest first: (topic, key, payload) rows, for one topic or the topics under a prefix."""
    return _queued


@pytest.fixture
def published(principals):
    """What a store's outbox holds for a topic (or the topics under a prefix), opened as each topic's reader would."""

    def read(db, topic: str | None = None, prefix: str | None = None) -> list:
        return [principals.read(t, k, p) for t, k, p in _queued(db, topic, prefix)]

    return read


@pytest.fixture
def guarded_intake(principals):
    """Intake's guarded consumer of the front door on FastStream's in-memory broker, with this handler: the broker
    and the dead letters it writes, as they arrive."""
    from faststream.kafka import KafkaBroker

    from mash_contracts import DeadLetter, NotificationSubmission
    from mash_contracts.topics import DEAD_LETTERS, NOTIFICATIONS_SUBMITTED
    from mash_runtime.consuming import Retry, Route, subscribe

    def build(handler, on_unreadable=None):
        broker, dead = KafkaBroker(), []

        @broker.subscriber(DEAD_LETTERS.name)
        async def collect(letter: DeadLetter) -> None:
            dead.append(letter)

        subscribe(
            broker,
            routes={NOTIFICATIONS_SUBMITTED.name: Route(NotificationSubmission, handler, on_unreadable)},
            group_id="t",
            service="intake",
            firewall=principals.firewall("intake"),
            retry=Retry(attempts=3, first_backoff=0.0),
        )
        return broker, dead

    return build


@pytest.fixture
def model_file(tmp_path):
    """The default threshold model's file, edited, written where ThresholdModel.load reads it."""
    from mash_contracts.threshold import MODELS

    def write(edit) -> Path:
        path = tmp_path / "edited.toml"
        path.write_text(edit((MODELS / "default.toml").read_text()))
        return path

    return write


@pytest.fixture(scope="session")
def mash():
    """The operator CLI as a person runs it, `mash ARGS [--state STATE]`: the finished process, its output as text."""

    def run(*args: str, state: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        where = ["--state", str(state)] if state is not None else []
        return subprocess.run([sys.executable, "-m", "mash_cli", *args, *where], capture_output=True, text=True, timeout=timeout)

    return run


# -- a real browser: Debian's Chromium, launched by Playwright from /usr/bin (Playwright downloads none) -------------
# Here, not in tests/browser, so the integration tier's web tests drive the same browser against the running mesh.
CHROMIUM = Path("/usr/bin/chromium")


# Per module, not per session: while Playwright's sync API runs, this thread has an event loop running, and every
# asyncio.run after it (the mesh, the watcher, the fault tier) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./deploy/browser.sh (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        # As root (here and in CI) Chromium refuses to start inside its own sandbox; /dev/shm may be small in a container.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: "Browser") -> Iterator["Page"]:
    # A context per test: no cookies, storage or cache carried from one test into the next.
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
