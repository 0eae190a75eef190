"""The mesh: each service as its own OS process, started and stopped the same way by the demo and the tests."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from mash_contracts import Agency
from mash_contracts.topics import DESKS as DESK_SERVICES
from mash_contracts.topics import WEB, hub_principals
from mash_desk.policy import SharingPolicy
from mash_runtime.firewall import generate

from . import processes
from .kafka import ADMIN, Access, free_port, port_is_free

# Service name -> its consumer groups (a service is ready when each of its groups has joined).
# The desks are whatever desk packages are installed (mash_contracts.topics.DESKS): a new one joins the mesh by being
# in the workspace.
DESKS: tuple[str, ...] = tuple(DESK_SERVICES.values())
# The web front door first: it is a referrer, stopped before intake so what it sent is drained first. Its consumer reads
# only its own per-referrer topics, which have no urgent lane.
SERVICES: dict[str, tuple[str, ...]] = {
    WEB: (WEB,),
    **{s: (s, s + ".urgent") for s in ("intake", *DESKS, "analysis", "decision")},
}
# The demo, the benchmark and the tests let the model route every level; a real run keeps the model's
# default, where nothing at Level 4 is routed without a MASH manager's confirmation.
HTTP_SERVICES = tuple(SERVICES)  # health, metrics (and the manager's routes) on a free loopback port each
UNATTENDED = {"MASH_AUTO_CONFIRM_LEVELS": "[1, 2, 3, 4]", "MASH_SWEEP_SECONDS": "1"}


@dataclass
class Mesh:
    access: Access
    state_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    # Each service's own store when it is not the SQLite file in its state directory (its own database:
    # services never share tables).
    database_urls: dict[str, str] = field(default_factory=dict)
    # How many instances of each service start() runs (`mash up --replicas N`): every service's instances share its
    # store and consumer groups (docs/reliability.md#replicas). Instance "1" keeps the service's own file names.
    replicas: int = 1

    def on_postgres(self, server) -> None:
        """Give every service its own database on a PostgreSQL server (mash_cli.postgres.LocalPostgres)."""
        self.database_urls = {service: server.database(f"mash_{service}") for service in SERVICES}

    def _pid_file(self, service: str, instance: str = "1") -> Path:
        return self.state_dir / "run" / f"{_named(service, instance)}.pid"

    def _port_file(self, service: str, instance: str = "1") -> Path:
        return self.state_dir / "run" / f"{_named(service, instance)}.http"

    def log_file(self, service: str, instance: str = "1") -> Path:
        return self.state_dir / "logs" / f"{_named(service, instance)}.log"

    def instances(self, service: str) -> list[str]:
        """The service's instances: up to `replicas`, and any other that is running (`mash down` and `mash ps` are not
        told how many `mash up` started). "1" first."""
        found = {str(n) for n in range(1, self.replicas + 1)}
        others = {p.stem.removeprefix(f"{service}-") for p in (self.state_dir / "run").glob(f"{service}-*.pid")}
        found |= {i for i in others if self.pid(service, i) is not None}
        return sorted(found, key=lambda i: (len(i), i))

    def running_instances(self) -> dict[str, dict[str, int | None]]:
        """Each service's instances and their pids (None: not running)."""
        return {s: {i: self.pid(s, i) for i in self.instances(s)} for s in SERVICES}

    def env(self, service: str) -> dict[str, str]:
        return {
            **os.environ,
            **self.access.env(service),
            "MASH_STATE_DIR": str(self.state_dir / "services" / service),
            "MASH_KEYS_DIR": str(self.keys_dir),
            "MASH_TRACES_DIR": str(self.state_dir / "traces"),
            **({"MASH_DATABASE_URL": self.database_urls[service]} if service in self.database_urls else {}),
            **({"MASH_DECLARED_FINDINGS": json.dumps(declared_findings())} if service == "decision" else {}),
            **({"MASH_DECISION_URL": f"http://127.0.0.1:{self.http_port('decision')}"} if service == WEB else {}),
            **self.extra_env,
        }

    @property
    def keys_dir(self) -> Path:
        return self.state_dir / "keys"

    def ensure_keys(self) -> None:
        """Keys for the hub's own principals: its services, managers and operations (idempotent). Outside agencies
        bring their own (enrol_simulated_agencies, `mash agency add`)."""
        generate(self.keys_dir, hub_principals())

    def enrol_simulated_agencies(self) -> None:
        """The local mesh's partner agencies, enrolled from keys each makes in its own directory; from now on the
        harness acts as them with their own credentials (mash_cli.agencies)."""
        from .agencies import simulate

        self.ensure_keys()
        self.access = asyncio.run(simulate(self.access, self.keys_dir, self.state_dir))

    def database_url(self, service: str) -> str | None:
        """The service's store, as the service itself resolves it (MASH_DATABASE_URL or its SQLite file)."""
        env = self.env(service)
        if url := env.get("MASH_DATABASE_URL"):
            return url
        path = Path(env["MASH_STATE_DIR"]) / f"{service}.db"
        return f"sqlite:///{path}" if path.exists() else None

    def start_instance(self, service: str, instance: str) -> int:
        """An instance of a service (same groups, same store): for sharing load and for fault tests. One that serves
        HTTP listens on a port of its own; the first instance's is the one others are told (the web front door calls
        the decision service's)."""
        (self.state_dir / "run").mkdir(parents=True, exist_ok=True)
        env = {**self.env(service), "MASH_INSTANCE": instance}
        if service in HTTP_SERVICES:
            env["MASH_HTTP_PORT"] = str(self._choose_port(service, instance))
        return processes.spawn(
            [sys.executable, "-m", f"mash_{service}"],
            self.log_file(service, instance),
            self._pid_file(service, instance),
            env=env,
        )

    def _choose_port(self, service: str, instance: str) -> int:
        # A restarted instance keeps its port while it is free, so whoever was told it still finds it.
        kept = self.http_port(service, instance)
        port = kept if kept is not None and port_is_free(kept) else free_port()
        self._port_file(service, instance).write_text(str(port))
        return port

    def pid(self, service: str, instance: str = "1") -> int | None:
        return processes.read_pid(self._pid_file(service, instance), f"mash_{service}")

    def init(self, *services: str, replace: bool = False) -> dict[str, str]:
        """Create and stamp each service's store, through the service's own `init` (the CLI opens no store).

        Once, before the first start: a plain start never makes a store. Running it again is safe, since it
        never replaces the store a service was initialised with unless `replace` says so."""
        self.ensure_keys()
        command = ["init", "--replace"] if replace else ["init"]
        running = {
            service: subprocess.Popen(
                [sys.executable, "-m", f"mash_{service}", *command],
                env=self.env(service),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for service in services or tuple(SERVICES)
        }
        done, failed = {}, {}
        for service, proc in running.items():
            out, err = proc.communicate(timeout=120)
            if proc.returncode:
                failed[service] = err.strip()[-3000:]
            else:
                done[service] = out.strip()
        if failed:
            raise RuntimeError("\n".join(f"initialising {service} failed: {why}" for service, why in failed.items()))
        return done

    def seed(self, population: Path) -> None:
        """Load each desk's synthetic records from a population file, through the desk's own loader (into the
        store `init` made)."""
        for service in DESKS:
            result = subprocess.run(
                [sys.executable, "-m", f"mash_{service}", "seed", str(population)],
                env=self.env(service),
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"seeding {service} failed:\n{result.stderr[-3000:]}")

    def http_port(self, service: str, instance: str = "1") -> int | None:
        path = self._port_file(service, instance)
        return int(path.read_text()) if path.exists() else None

    def start(self, *services: str) -> None:
        """Start each instance (up to `replicas`) of each service that is not running: all of them unless named."""
        self.ensure_keys()
        wanted = [(s, str(n)) for s in services or tuple(SERVICES) for n in range(1, self.replicas + 1)]
        starting = [(s, i) for s, i in wanted if self.pid(s, i) is None]
        (self.state_dir / "run").mkdir(parents=True, exist_ok=True)
        for service, instance in starting:  # every port first: the web front door is told the decision service's
            if service in HTTP_SERVICES:
                self._choose_port(service, instance)
        for service, instance in starting:
            self.start_instance(service, instance)  # each keeps the port just chosen, still free

    def stop(self, *services: str, timeout: float = 30.0) -> dict[str, bool]:
        """SIGTERM each service (intake first, decision last, so in-flight work can drain) and wait; a service's
        instances stop together. True for a service when every instance stopped within the timeout."""
        stopped = {}
        for service in services or tuple(SERVICES):
            instances = self.instances(service)
            pids = [pid for i in instances if (pid := self.pid(service, i)) is not None]
            if pids:
                with ThreadPoolExecutor(max_workers=len(pids)) as each:
                    stopped[service] = all(each.map(lambda pid: processes.terminate(pid, timeout), pids))
            for instance in instances:
                self._pid_file(service, instance).unlink(missing_ok=True)
        return stopped

    def kill(self, service: str, instance: str = "1") -> None:
        """SIGKILL, no chance to clean up: for fault tests."""
        pid = self.pid(service, instance)
        if pid is not None:
            processes.terminate(pid, timeout=10, sig=signal.SIGKILL)
        self._pid_file(service, instance).unlink(missing_ok=True)

    def running(self) -> dict[str, int | None]:
        return {s: self.pid(s) for s in SERVICES}

    def wait_ready(self, *services: str, timeout: float = 60.0) -> None:
        """Each service's consumer groups joined and every instance alive and, for a service with HTTP, its server
        answering: a group can look joined before a restarted service's server listens (the server starts after the
        broker), and one instance joining makes the group look ready for all of them."""
        deadline = time.monotonic() + timeout
        chosen = services or tuple(SERVICES)
        asyncio.run(_wait_groups(self.access, [g for s in chosen for g in SERVICES[s]], timeout, self))
        for service in chosen:
            for instance in self.instances(service):
                port = self.http_port(service, instance) if service in HTTP_SERVICES else None
                while True:
                    if self.pid(service, instance) is None:
                        raise RuntimeError(f"{_named(service, instance)} is not running; see {self.log_file(service, instance)}")
                    if port is None or _answers(port):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{_named(service, instance)} is not answering on port {port}; see {self.log_file(service, instance)}"
                        )
                    time.sleep(0.2)


def _named(service: str, instance: str) -> str:
    """The first instance's files carry the service's own name, as with one instance; the others add theirs."""
    return service if instance == "1" else f"{service}-{instance}"


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2) as answer:  # noqa: S310 - loopback
            return answer.status == 200
    except OSError:
        return False


@functools.cache
def declared_findings() -> dict[str, list[str]]:
    """Each desk's declared findings, from its policy file, and the hub research service's, from its emerging-harm
    rules (read, not imported: the CLI runs no service code)."""
    policies = (SharingPolicy.load(_package_file(desk, "policy.toml")) for desk in DESKS)
    declared = {p.agency.value: list(p.findings) for p in policies}
    rules = tomllib.loads(_package_file("analysis", "emerging_harm.toml").read_text())["rules"]
    declared[Agency.HUB_RESEARCH.value] = sorted({r["finding"] for r in rules})
    return declared


def _package_file(service: str, name: str) -> Path:
    return Path(importlib.util.find_spec(f"mash_{service}").origin).parent / name


async def _wait_groups(access: Access, groups: list[str], timeout: float, mesh: Mesh) -> None:
    admin = AIOKafkaAdminClient(**access.client(ADMIN))
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        pending = set(groups)
        while pending:
            for service, pid in mesh.running().items():
                if pid is None and any(g in pending for g in SERVICES[service]):
                    raise RuntimeError(f"{service} is not running; see {mesh.log_file(service)}")
            # A group is listed once a member has joined it. (aiokafka 0.14 cannot decode Kafka 3.9's
            # DescribeGroups answer, so membership detail is not available here.)
            try:
                listed = {g[0] for g in await admin.list_consumer_groups()}
            except KafkaError:  # the group coordinator is still being elected on a fresh broker
                listed = set()
            pending -= listed
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"consumer groups not ready after {timeout:.0f}s: {sorted(pending)}")
            await asyncio.sleep(0.3)
    finally:
        await admin.close()
