"""The embedded broker: a real Apache Kafka (KRaft, broker+controller) on 127.0.0.1.

Jars come from Maven Central through deploy/kafka/pom.xml into a cache outside the repository; storage is
formatted on first use; the broker's data, log and pid live in the state directory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from . import processes
from .paths import KAFKA_DEPLOY, cache_dir

MAIN_CLASS = "kafka.Kafka"


class KafkaError(RuntimeError):
    pass


def jars() -> Path:
    """The broker's runtime jars, fetched once with mvn into the cache (keyed by the pom's content)."""
    pom = KAFKA_DEPLOY / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    target = cache_dir() / f"kafka-{digest}"
    libs = target / "libs"
    if (target / ".complete").exists():
        return libs
    shutil.rmtree(target, ignore_errors=True)
    staging = target / "staging"
    cmd = [
        "mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        raise KafkaError(f"fetching Kafka jars with mvn failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    staging.rename(libs)
    (target / ".complete").write_text(digest)
    return libs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalKafka:
    home: Path  # <state dir>/kafka

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    @property
    def bootstrap(self) -> str:
        for line in self.properties.read_text().splitlines():
            if line.startswith("advertised.listeners="):
                return line.split("//", 1)[1]
        raise KafkaError(f"no advertised listener in {self.properties}")

    def pid(self) -> int | None:
        return processes.read_pid(self.pid_file, MAIN_CLASS)

    def _configure(self, libs: Path) -> None:
        """Write server.properties with free ports and format KRaft storage, once per state directory."""
        if self.properties.exists():
            return
        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        client, controller = free_port(), free_port()
        while controller == client:
            controller = free_port()
        text = (KAFKA_DEPLOY / "server.properties.template").read_text().format(
            client_port=client, controller_port=controller, data_dir=data
        )
        staged = self.home / "server.properties.new"
        staged.write_text(text)
        self._java(libs, "kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()), "-c", str(staged), "--ignore-formatted")
        staged.rename(self.properties)

    def _java_opts(self) -> list[str]:
        return [
            "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{KAFKA_DEPLOY / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.home}",
        ]

    def _java(self, libs: Path, main: str, *args: str) -> None:
        result = subprocess.run(
            ["java", *self._java_opts(), "-cp", f"{libs}/*", main, *args], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise KafkaError(f"{main} failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker if it is not running; return its bootstrap address once it answers."""
        if self.pid() is not None:
            self.wait_until_answering(timeout)
            return self.bootstrap
        libs = jars()
        self.home.mkdir(parents=True, exist_ok=True)
        self._configure(libs)
        pid = processes.spawn(
            ["java", *self._java_opts(), "-cp", f"{libs}/*", MAIN_CLASS, str(self.properties)],
            self.log_file, self.pid_file,
        )
        try:
            self.wait_until_answering(timeout, pid)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def wait_until_answering(self, timeout: float, pid: int | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid is not None and not processes.alive(pid):
                raise KafkaError(f"the broker exited during start-up; see {self.log_file}:\n{self._log_tail()}")
            if answers(self.bootstrap):
                return
            time.sleep(0.5)
        raise KafkaError(f"the broker did not answer within {timeout:.0f}s; see {self.log_file}")

    def stop(self, timeout: float = 60.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        processes.terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> str:
        pid = self.pid()
        if pid is None:
            return "stopped"
        return f"running (pid {pid}, {self.bootstrap}, {'answering' if answers(self.bootstrap) else 'not answering'})"

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def answers(bootstrap: str, timeout: float = 5.0) -> bool:
    """True when the broker answers a metadata request."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refused is the expected answer while it boots

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
        try:
            await asyncio.wait_for(admin.start(), timeout)
            await asyncio.wait_for(admin.list_topics(), timeout)
            return True
        except Exception:
            return False
        finally:
            try:
                await admin.close()
            except Exception:
                pass

    return asyncio.run(probe())
