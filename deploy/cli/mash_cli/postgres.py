"""A local PostgreSQL server from Debian's package, for the stores' PostgreSQL test tier and for operators.

Installs the package with apt-get when it is missing, creates a cluster on first use (trust auth, loopback
only: a development and test server, never a production one), and runs it on a free port. PostgreSQL will
not run as root, so under root the server runs as the `postgres` system user the package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .kafka import free_port
from .processes import apt_install


class PostgresError(RuntimeError):
    pass


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        if os.geteuid() != 0:
            raise PostgresError("PostgreSQL is not installed: run `apt-get install postgresql` as root")
        try:
            apt_install("postgresql")
        except RuntimeError as e:
            raise PostgresError(str(e)) from None
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class LocalPostgres:
    home: Path  # its data, port and log; must be reachable by the postgres user when run as root

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def port(self) -> int:
        return int((self.home / "port").read_text())

    def url(self, database: str = "mash") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(_as_server_user(list(argv)), capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise PostgresError(f"{argv[0]} failed: {result.stdout[-1500:]} {result.stderr[-1500:]}")
        return result

    def _chown(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")

    def start(self, timeout: float = 60.0) -> str:
        bin_dir = binaries()
        self.home.mkdir(parents=True, exist_ok=True)
        self._chown()
        if not (self.data / "PG_VERSION").exists():
            self._run(
                str(bin_dir / "initdb"),
                "-D",
                str(self.data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
            )
            (self.home / "port").write_text(str(free_port()))
        if self.running():
            return self.url()
        self._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.home / "postgres.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c fsync=off",
            "start",
        )
        deadline = time.monotonic() + timeout
        while self._run(str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise PostgresError(f"PostgreSQL did not accept connections; see {self.home / 'postgres.log'}")
            time.sleep(0.2)
        return self.database("mash")

    def database(self, name: str) -> str:
        """The URL of a database on this server, created if it is not there yet."""
        bin_dir = binaries()
        exists = self._run(
            str(bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-tAc",
            f"select 1 from pg_database where datname = '{name}'",
        ).stdout.strip()
        if exists != "1":
            self._run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        return self._run(str(binaries() / "pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0

    def stop(self) -> bool:
        if not self.running():
            return False
        self._run(str(binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        return True

    def status(self) -> str:
        return f"running ({self.url()})" if self.running() else "stopped"
