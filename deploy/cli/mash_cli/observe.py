"""Operations you can look at (`mash up --observe`): Zipkin for every referral's trace, Prometheus for the services'
metrics and the hub's alert rules (deploy/alerts/mash.rules.yml).

Zipkin is the server's executable jar from Maven Central (deploy/zipkin/pom.xml, fetched with mvn into the cache
outside the repository), keeping spans in memory; Prometheus is Debian's package, installed on demand. Both listen on
free loopback ports and keep their pid, port, configuration and log in the state directory (<state>/observe).

Zipkin must be up before the services start, since a service reads MASH_ZIPKIN_ENDPOINT once: `start_traces()` gives
the environment to start them with. Prometheus comes once their HTTP ports are known: `start_metrics(mesh)` writes the
targets it scrapes (one job per service, the `job` label every rule names) and starts it with the rules loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import processes
from .kafka import free_port, port_is_free
from .paths import REPO, cache_dir

if TYPE_CHECKING:
    from .mesh import Mesh

ZIPKIN_DEPLOY = REPO / "deploy" / "zipkin"
RULES = REPO / "deploy" / "alerts" / "mash.rules.yml"
ZIPKIN_ENV = "MASH_ZIPKIN_ENDPOINT"


class ObserveError(RuntimeError):
    pass


@dataclass(frozen=True)
class Urls:
    zipkin: str
    prometheus: str


def zipkin_jar() -> Path:
    """Zipkin's executable jar, fetched once with mvn into the cache (keyed by the pom's content)."""
    pom = ZIPKIN_DEPLOY / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    target = cache_dir() / f"zipkin-{digest}"
    if (target / ".complete").exists():
        return next(target.glob("zipkin-server-*-exec.jar"))
    shutil.rmtree(target, ignore_errors=True)
    staging = target.with_name(target.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={staging}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    jars = list(staging.glob("zipkin-server-*-exec.jar"))
    if result.returncode != 0 or not jars:
        raise ObserveError(f"fetching Zipkin with mvn failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    staging.rename(target)
    (target / ".complete").write_text(digest)
    return target / jars[0].name


def prometheus_binary(name: str = "prometheus") -> str:
    """Debian's prometheus (or its promtool), installed with apt-get the first time it is needed."""
    if found := shutil.which(name):
        return found
    if os.geteuid() != 0:
        raise ObserveError("Prometheus is not installed: run `apt-get install prometheus` as root")
    try:
        processes.apt_install("prometheus")
    except RuntimeError as e:
        raise ObserveError(str(e)) from None
    if found := shutil.which(name):
        return found
    raise ObserveError(f"the prometheus package installed no {name}")


def check_rules(rules: Path = RULES) -> str:
    """`promtool check rules`: its report, or ObserveError with it."""
    result = subprocess.run([prometheus_binary("promtool"), "check", "rules", str(rules)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ObserveError(f"{rules} does not pass promtool:\n{result.stdout}{result.stderr}")
    return result.stdout


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own loopback servers
            return answer.status == 200
    except OSError:
        return False


@dataclass
class Server:
    """One background server: its pid, port and log in `home`, recognised by `marker` in its command line."""

    home: Path
    name: str
    marker: str

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def port(self) -> int | None:
        path = self.home / f"{self.name}.port"
        return int(path.read_text()) if path.exists() else None

    def choose_port(self) -> int:
        """The port it had while that is free, so a page or a service told it before still finds it."""
        kept = self.port
        port = kept if kept is not None and port_is_free(kept) else free_port()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / f"{self.name}.port").write_text(str(port))
        return port

    def pid(self) -> int | None:
        return processes.read_pid(self.pid_file, self.marker)

    def wait(self, probe: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not answers(probe):
            if self.pid() is None:
                raise ObserveError(f"{self.name} exited during start-up; see {self.log_file}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ObserveError(f"{self.name} did not answer {probe} within {timeout:.0f}s; see {self.log_file}")
            time.sleep(0.5)

    def stop(self, timeout: float = 30.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        processes.terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Observability:
    """Zipkin and Prometheus for a local mesh, in `home` (<state dir>/observe)."""

    home: Path
    # How often Prometheus scrapes the services, and how long it waits for one (a scrape asks the broker for the
    # service's lag: on a busy machine that takes a second or two).
    scrape_seconds: float = 5.0
    evaluation_seconds: float = 5.0  # how often the rules are evaluated

    def __post_init__(self) -> None:
        self.zipkin = Server(self.home, "zipkin", "zipkin-server")
        self.prometheus = Server(self.home, "prometheus", "prometheus")

    @property
    def targets_file(self) -> Path:
        return self.home / "targets.json"

    @property
    def config_file(self) -> Path:
        return self.home / "prometheus.yml"

    def zipkin_url(self) -> str:
        return f"http://127.0.0.1:{self.zipkin.port}"

    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus.port}"

    def service_env(self) -> dict[str, str]:
        """What a service needs to send its spans to Zipkin (mash_runtime.telemetry)."""
        return {ZIPKIN_ENV: f"{self.zipkin_url()}/api/v2/spans"}

    def start_traces(self, timeout: float = 180.0) -> dict[str, str]:
        """Zipkin, answering; the environment to start the services with. Before the services: each reads it once."""
        if self.zipkin.pid() is None:
            jar = zipkin_jar()
            port = self.zipkin.choose_port()
            # Loopback only. Armeria takes its ports as a list, so the whole entry is given, not just its address.
            argv = [
                "java",
                "-Xms64m",
                "-Xmx512m",
                "-XX:TieredStopAtLevel=1",  # starts in half the time on a small machine; a local UI needs no peak speed
                "-jar",
                str(jar),
                f"--armeria.ports[0].port={port}",
                "--armeria.ports[0].ip=127.0.0.1",
                "--armeria.ports[0].protocols[0]=http",
            ]
            env = {**os.environ, "STORAGE_TYPE": "mem", "MEM_MAX_SPANS": "200000", "SELF_TRACING_ENABLED": "false"}
            processes.spawn(argv, self.zipkin.log_file, self.zipkin.pid_file, env=env, cwd=self.home)
        try:
            self.zipkin.wait(f"{self.zipkin_url()}/health", timeout)
        except ObserveError:
            self.zipkin.stop()
            raise
        return self.service_env()

    def write_targets(self, mesh: Mesh) -> list[str]:
        """Every service of the mesh with an HTTP port, as its own job, each of its instances a target of it (`mash up
        --replicas N`). Prometheus re-reads the file when it changes, so a service restarted on another port is found
        again. A service that stopped stays listed: it shows as down."""
        from .mesh import HTTP_SERVICES

        ports = {s: [p for i in mesh.instances(s) if (p := mesh.http_port(s, i)) is not None] for s in HTTP_SERVICES}
        services = [s for s in HTTP_SERVICES if ports[s]]
        groups = [{"targets": [f"127.0.0.1:{p}" for p in ports[s]], "labels": {"job": s}} for s in services]
        self.home.mkdir(parents=True, exist_ok=True)
        staged = self.targets_file.with_suffix(".new")
        staged.write_text(json.dumps(groups, indent=1))
        staged.replace(self.targets_file)  # whole or not at all: Prometheus may read it at any moment
        return services

    def write_config(self, rules: Path = RULES) -> Path:
        interval = f"{self.scrape_seconds:g}s"
        config = {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": f"{self.evaluation_seconds:g}s",
            },
            "rule_files": [str(rules)],
            "scrape_configs": [
                {
                    "job_name": "mash",  # each target's own `job` label (the service) takes its place
                    "metrics_path": "/metrics",
                    "file_sd_configs": [{"files": [str(self.targets_file)], "refresh_interval": interval}],
                }
            ],
        }
        # JSON is YAML: no YAML library needed to write it, and promtool and Prometheus read it as is.
        self.config_file.write_text(
            "# Written by `mash up --observe` (mash_cli.observe); rewritten at each start.\n" + json.dumps(config, indent=1)
        )
        return self.config_file

    def start_metrics(self, mesh: Mesh, timeout: float = 60.0, rules: Path = RULES) -> str:
        """Prometheus scraping every service of the mesh, with the alert rules loaded; its URL once it is ready."""
        self.write_targets(mesh)
        self.write_config(rules)
        pid = self.prometheus.pid()
        if pid is not None:
            os.kill(pid, signal.SIGHUP)  # Prometheus re-reads its configuration and rules
        else:
            binary = prometheus_binary()
            port = self.prometheus.choose_port()
            argv = [
                binary,
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.home / 'prometheus-data'}",
                "--storage.tsdb.retention.time=2d",
                f"--web.listen-address=127.0.0.1:{port}",
            ]
            processes.spawn(argv, self.prometheus.log_file, self.prometheus.pid_file, cwd=self.home)
        try:
            self.prometheus.wait(f"{self.prometheus_url()}/-/ready", timeout)
        except ObserveError:
            self.prometheus.stop()
            raise
        return self.prometheus_url()

    def start(self, mesh: Mesh) -> Urls:
        """Both, for a mesh already running. Its services send spans only if they were started with start_traces()'s
        environment (`mash up --observe` does that)."""
        self.start_traces()
        return Urls(self.zipkin_url(), self.start_metrics(mesh))

    def stop(self) -> bool:
        """Prometheus, then Zipkin (after the services, so their last spans are taken): True if either was running."""
        stopped = [self.prometheus.stop(), self.zipkin.stop()]
        return any(stopped)

    def status(self) -> str:
        parts = []
        for server, url, probe in ((self.zipkin, self.zipkin_url, "/health"), (self.prometheus, self.prometheus_url, "/-/ready")):
            pid = server.pid()
            if pid is None:
                parts.append(f"{server.name} stopped")
            else:
                answering = "answering" if answers(url() + probe) else "not answering"
                parts.append(f"{server.name} running (pid {pid}; {url()}; {answering})")
        return "; ".join(parts)
