"""The embedded broker: a real Apache Kafka (KRaft, broker+controller) on 127.0.0.1, secured.

Jars come from Maven Central through deploy/kafka/pom.xml into a cache outside the repository; storage is
formatted on first use; the broker's data, log and pid live in the state directory. Every hub principal in the
topic catalogue gets its own SASL/SCRAM user with a password generated at format time (credentials.json,
mode 0600, in the state directory; outside agencies get theirs when enrolled, mash_cli.agencies); the StandardAuthorizer denies whatever the ACLs (acls.py) do not allow.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from mash_contracts.topics import LARGEST_RECORD_BYTES, hub_principals
from mash_runtime.firewall.keys import write_secret

from . import processes
from .paths import KAFKA_DEPLOY, cache_dir

MAIN_CLASS = "kafka.Kafka"
ADMIN = "admin"  # the operator's super user: creates topics, users and ACLs; no service runs as it
SCRAM = "SCRAM-SHA-512"


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
        "mvn",
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        raise KafkaError(f"fetching Kafka jars with mvn failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    staging.rename(libs)
    (target / ".complete").write_text(digest)
    return libs


@dataclass(frozen=True)
class Access:
    """Where the broker is and each principal's credentials; no credentials means an open broker."""

    bootstrap: str
    passwords: Mapping[str, str] = field(default_factory=dict)

    @property
    def secured(self) -> bool:
        return bool(self.passwords)

    def client(self, principal: str = ADMIN) -> dict:
        """Keyword arguments for an aiokafka client acting as `principal`."""
        kwargs: dict = {"bootstrap_servers": self.bootstrap}
        if self.secured:
            kwargs |= {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": SCRAM,
                "sasl_plain_username": principal,
                "sasl_plain_password": self.passwords[principal],
            }
        return kwargs

    def env(self, principal: str) -> dict[str, str]:
        """Environment for a service process acting as `principal` (mash_runtime.settings.KafkaSettings)."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        if self.secured:
            env |= {"KAFKA_USERNAME": principal, "KAFKA_PASSWORD": self.passwords[principal], "KAFKA_SASL_MECHANISM": SCRAM}
        return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: a port in TIME_WAIT is free
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class LocalKafka:
    home: Path  # <state dir>/kafka
    properties: Path = field(init=False)
    pid_file: Path = field(init=False)
    log_file: Path = field(init=False)
    credentials_file: Path = field(init=False)

    def __post_init__(self) -> None:
        names = ("server.properties", "kafka.pid", "kafka.log", "credentials.json")
        self.properties, self.pid_file, self.log_file, self.credentials_file = (self.home / n for n in names)

    @property
    def access(self) -> Access:
        return Access(self.bootstrap, json.loads(self.credentials_file.read_text()))

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
            if "StandardAuthorizer" in self.properties.read_text() and self.credentials_file.exists():
                return
            # State from an earlier, open broker: local data only, so start again secured.
            logging.getLogger("mash.kafka").warning("re-formatting %s: it was an unsecured broker", self.home)
            shutil.rmtree(self.home / "data", ignore_errors=True)
            self.properties.unlink()
        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        client, controller = free_port(), free_port()
        while controller == client:
            controller = free_port()
        passwords = {p: secrets.token_urlsafe(24) for p in (ADMIN, *hub_principals())}
        self._write_credentials(passwords)
        text = (
            (KAFKA_DEPLOY / "server.properties.template")
            .read_text()
            .format(
                client_port=client,
                controller_port=controller,
                data_dir=data,
                admin_password=passwords[ADMIN],
                largest_record_bytes=LARGEST_RECORD_BYTES,
            )
        )
        staged = self.home / "server.properties.new"
        write_secret(staged, text)  # it holds the admin password
        users = [a for p, pw in passwords.items() for a in ("--add-scram", f"{SCRAM}=[name={p},password={pw}]")]
        self._java(
            libs, "kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()), "-c", str(staged), "--ignore-formatted", *users
        )
        staged.rename(self.properties)

    def _write_credentials(self, passwords: dict[str, str]) -> None:
        write_secret(self.credentials_file, json.dumps(passwords, indent=1))

    def _register_missing_users(self, libs: Path) -> None:
        """A principal added to the catalogue after the storage was formatted (a new agency desk) gets its
        SCRAM user through Kafka's own ConfigCommand."""
        known = json.loads(self.credentials_file.read_text())
        pending = {p: secrets.token_urlsafe(24) for p in hub_principals() if p not in known}
        if not pending:
            return
        config = self.home / "admin.properties"
        admin_pw = known[ADMIN]
        write_secret(  # 0600 from the first byte: it holds the admin password
            config,
            "security.protocol=SASL_PLAINTEXT\n"
            f"sasl.mechanism={SCRAM}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{admin_pw}";\n',
        )
        try:
            for principal, password in pending.items():
                self._java(
                    libs,
                    "kafka.admin.ConfigCommand",
                    "--bootstrap-server",
                    self.bootstrap,
                    "--command-config",
                    str(config),
                    "--alter",
                    "--add-config",
                    f"{SCRAM}=[password={password}]",
                    "--entity-type",
                    "users",
                    "--entity-name",
                    principal,
                )
        finally:
            config.unlink(missing_ok=True)
        self._write_credentials({**known, **pending})

    def _java_opts(self) -> list[str]:
        return [
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{KAFKA_DEPLOY / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.home}",
        ]

    def _java(self, libs: Path, main: str, *args: str) -> None:
        result = subprocess.run(["java", *self._java_opts(), "-cp", f"{libs}/*", main, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise KafkaError(f"{main} failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")

    def start(self, timeout: float = 90.0) -> Access:
        """Start the broker if it is not running; return how to reach it once it answers."""
        if self.pid() is not None:
            self.wait_until_answering(timeout)
            return self.access
        libs = jars()
        self.home.mkdir(parents=True, exist_ok=True)
        self._configure(libs)
        pid = processes.spawn(
            ["java", *self._java_opts(), "-cp", f"{libs}/*", MAIN_CLASS, str(self.properties)], self.log_file, self.pid_file
        )
        try:
            self.wait_until_answering(timeout, pid)
            self._register_missing_users(libs)
        except BaseException:
            self.stop()
            raise
        return self.access

    def wait_until_answering(self, timeout: float, pid: int | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid is not None and not processes.alive(pid):
                raise KafkaError(f"the broker exited during start-up; see {self.log_file}:\n{self._log_tail()}")
            if answers(self.access):
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
        return f"running (pid {pid}, {self.bootstrap}, {'answering' if answers(self.access) else 'not answering'})"

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def answers(access: Access, timeout: float = 5.0) -> bool:
    """True when the broker answers a metadata request."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refused is the expected answer while it boots

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(**access.client(ADMIN), request_timeout_ms=int(timeout * 1000))
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
