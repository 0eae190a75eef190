"""Shared fixtures. Every test module declares its tier with pytestmark (unit or integration)."""

import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mash_cli.postgres import LocalPostgres
from mash_tools.synthetic import Generator


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
