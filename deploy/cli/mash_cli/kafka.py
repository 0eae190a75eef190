"""The embedded broker: a real Apache Kafka (KRaft, broker+controller) on 127.0.0.1, secured: one node, or a
cluster of three whose topics keep three replicas (`mash kafka start --nodes 3`).

Jars come from Maven Central through deploy/kafka/pom.xml into a cache outside the repository; storage is
formatted on first use; each node's data, log and pid live in the state directory. Every listener speaks TLS with a
certificate signed by the hub's own CA (tls.py), made at first start. Every hub principal in the
topic catalogue gets its own SASL/SCRAM user with a password generated at format time (credentials.json,
mode 0600, in the state directory; outside agencies get theirs when enrolled, mash_cli.agencies); the StandardAuthorizer denies whatever the ACLs (acls.py) do not allow.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context

from mash_contracts.topics import LARGEST_RECORD_BYTES, hub_principals
from mash_runtime.firewall.keys import write_secret

from . import processes, scram, tls
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
    """Where the broker is and each principal's credentials; no credentials means an open broker. With the hub CA's
    certificate (`ca_file`) every connection is TLS and the broker must prove it holds a certificate the CA signed."""

    bootstrap: str
    passwords: Mapping[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    brokers: int = 1  # how many brokers hold each topic's replicas

    @property
    def secured(self) -> bool:
        return bool(self.passwords)

    @property
    def protocol(self) -> str:
        return "SASL_SSL" if self.ca_file is not None else "SASL_PLAINTEXT"

    @property
    def replication(self) -> int:
        """Replicas per partition: three where three brokers run (one may be lost), else one per broker."""
        return min(3, self.brokers)

    @property
    def min_insync(self) -> int:
        return 2 if self.replication >= 3 else 1

    def client(self, principal: str = ADMIN) -> dict:
        """Keyword arguments for an aiokafka client acting as `principal`."""
        kwargs: dict = {"bootstrap_servers": self.bootstrap}
        if self.secured:
            kwargs |= {
                "security_protocol": self.protocol,
                "sasl_mechanism": SCRAM,
                "sasl_plain_username": principal,
                "sasl_plain_password": self.passwords[principal],
            }
            if self.ca_file is not None:
                kwargs["ssl_context"] = create_ssl_context(cafile=str(self.ca_file))
        return kwargs

    def env(self, principal: str) -> dict[str, str]:
        """Environment for a service process acting as `principal` (mash_runtime.settings.KafkaSettings)."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        if self.secured:
            env |= {
                "KAFKA_USERNAME": principal,
                "KAFKA_PASSWORD": self.passwords[principal],
                "KAFKA_SASL_MECHANISM": SCRAM,
                "KAFKA_SECURITY_PROTOCOL": self.protocol,
            }
            if self.ca_file is not None:
                env["KAFKA_SSL_CA_FILE"] = str(self.ca_file)
        return env

    def librdkafka(self, principal: str, password: str | None) -> str:
        """librdkafka properties (kcat -F, the reference client) for `principal`'s own identity."""
        lines = [f"bootstrap.servers={self.bootstrap}"]
        if password is not None:
            lines += [f"security.protocol={self.protocol}", f"sasl.mechanisms={SCRAM}", f"sasl.username={principal}"]
            lines += [f"sasl.password={password}"]
            if self.ca_file is not None:
                lines.append(f"ssl.ca.location={self.ca_file}")
        return "\n".join(lines) + "\n"


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A free loopback port for a server to listen on later, outside the kernel's ephemeral range: a port the kernel
    handed out (bind to 0) can be given to another process's outgoing connection (a client reaching Kafka) before the
    server binds it, and the server then fails with "address already in use". Never the same port twice here."""
    low, high = _ephemeral_range()
    below, above = range(20000, low), range(high + 1, 65536)
    pool = below if len(below) >= len(above) else above
    for _ in range(500):
        port = secrets.choice(pool)
        if port not in _HANDED_OUT and port_is_free(port):
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as s:  # a crowded machine: the kernel's choice, with its small risk
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


def _java_opts(home: Path) -> list[str]:
    return [
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{KAFKA_DEPLOY / 'log4j.properties'}",
        f"-Dkafka.logs.dir={home}",
    ]


@dataclass
class KafkaNode:
    """One KRaft node (broker and controller): its properties, storage, log and pid in its own directory."""

    home: Path
    node_id: int

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

    def spawn(self, libs: Path) -> int:
        argv = ["java", *_java_opts(self.home), "-cp", f"{libs}/*", MAIN_CLASS, str(self.properties)]
        return processes.spawn(argv, self.log_file, self.pid_file)

    def start(self) -> int:
        """Start this node again (after a stop or a kill) with its own storage."""
        return self.pid() or self.spawn(jars())

    def stop(self, timeout: float = 60.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        processes.terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, no chance to flush or hand over leadership: for fault tests."""
        pid = self.pid()
        if pid is not None:
            processes.terminate(pid, timeout=10, sig=signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wanted_nodes() -> int:
    return int(os.environ.get("MASH_KAFKA_NODES") or 1)


def _wanted_tls() -> bool:
    return os.environ.get("MASH_KAFKA_PLAINTEXT", "") not in ("1", "true", "yes")


@dataclass
class LocalKafka:
    """The local broker: one KRaft node by default, or a cluster of three (`mash kafka start --nodes 3`,
    MASH_KAFKA_NODES=3). Node 1 lives in `home` itself, the others in home/node-N; the credentials, the cluster's
    shape (cluster.json) and the CA (tls/) are shared. TLS unless MASH_KAFKA_PLAINTEXT=1 chose plain SASL."""

    home: Path  # <state dir>/kafka
    node_count: int | None = None  # None: as configured, or MASH_KAFKA_NODES for a new one
    tls: bool | None = None  # None: as configured, or not MASH_KAFKA_PLAINTEXT for a new one
    credentials_file: Path = field(init=False)
    shape_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.credentials_file = self.home / "credentials.json"
        self.shape_file = self.home / "cluster.json"

    def _shape(self) -> dict:
        if self.shape_file.exists():
            return json.loads(self.shape_file.read_text())
        return {"nodes": self.node_count or _wanted_nodes(), "tls": _wanted_tls() if self.tls is None else self.tls}

    @property
    def nodes(self) -> list[KafkaNode]:
        count = self._shape()["nodes"]
        return [KafkaNode(self.home if i == 1 else self.home / f"node-{i}", i) for i in range(1, count + 1)]

    # Node 1's files, where a single broker keeps them.
    @property
    def properties(self) -> Path:
        return self.nodes[0].properties

    @property
    def pid_file(self) -> Path:
        return self.nodes[0].pid_file

    @property
    def log_file(self) -> Path:
        return self.nodes[0].log_file

    @property
    def ca_file(self) -> Path | None:
        return self.home / "tls" / "ca.pem" if self._shape()["tls"] else None

    @property
    def access(self) -> Access:
        nodes = self.nodes
        return Access(self.bootstrap, json.loads(self.credentials_file.read_text()), ca_file=self.ca_file, brokers=len(nodes))

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def pid(self) -> int | None:
        """Node 1's process (any node's, for a cluster whose first node is down)."""
        for node in self.nodes:
            if (pid := node.pid()) is not None:
                return pid
        return None

    def _configured(self) -> bool:
        if not (self.shape_file.exists() and self.credentials_file.exists()):
            return False
        return all(n.properties.exists() for n in self.nodes)

    def _configure(self, libs: Path) -> None:
        """Write each node's server.properties with free ports and format its KRaft storage, once per state directory."""
        if self._configured():
            shape = self._shape()
            if self.node_count is not None and self.node_count != shape["nodes"]:
                raise KafkaError(
                    f"{self.home} holds a {shape['nodes']}-node broker; stop it and remove the directory to start "
                    f"{self.node_count} nodes (its data is local and would be lost)"
                )
            return
        if self.home.exists() and any(self.home.iterdir()):
            # State from an earlier broker of another shape (or an open one): local data only, so start again.
            logging.getLogger("mash.kafka").warning("re-formatting %s: it was made by an older version", self.home)
            keep = {"tls"}
            for child in self.home.iterdir():
                if child.name not in keep:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        shape = self._shape()  # no cluster.json any more: what was asked for
        if shape["nodes"] < 1:
            raise KafkaError("a cluster needs at least one node")
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = {p: secrets.token_urlsafe(24) for p in (ADMIN, *hub_principals())}
        write_secret(self.credentials_file, json.dumps(passwords, indent=1))
        self.shape_file.write_text(json.dumps(shape))
        nodes = self.nodes
        ports = _distinct_ports(2 * len(nodes))
        voters = ",".join(f"{n.node_id}@127.0.0.1:{ports[2 * i + 1]}" for i, n in enumerate(nodes))
        replication = min(3, len(nodes))
        cluster_id = cluster_uuid()
        users = [a for p, pw in passwords.items() for a in ("--add-scram", f"{SCRAM}=[name={p},password={pw}]")]
        formatting = []
        for i, node in enumerate(nodes):
            data = node.home / "data"
            data.mkdir(parents=True, exist_ok=True)
            text = (
                (KAFKA_DEPLOY / "server.properties.template")
                .read_text()
                .format(
                    node_id=node.node_id,
                    voters=voters,
                    client_port=ports[2 * i],
                    controller_port=ports[2 * i + 1],
                    protocol="SASL_SSL" if shape["tls"] else "SASL_PLAINTEXT",
                    tls=self._tls_properties(node) if shape["tls"] else "# (plain SASL: MASH_KAFKA_PLAINTEXT)",
                    data_dir=data,
                    admin_password=passwords[ADMIN],
                    largest_record_bytes=LARGEST_RECORD_BYTES,
                    replication=replication,
                    min_insync=2 if replication >= 3 else 1,
                )
            )
            staged = node.home / "server.properties.new"
            write_secret(staged, text)  # it holds the admin password (and the keystore's)
            formatting.append(
                subprocess.Popen(
                    ["java", *_java_opts(node.home), "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format"]
                    + ["-t", cluster_id, "-c", str(staged), "--ignore-formatted", *users],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        for node, proc in zip(nodes, formatting, strict=True):
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise KafkaError(f"formatting node {node.node_id} failed: {out[-2000:]}")
            (node.home / "server.properties.new").rename(node.properties)

    def _tls_properties(self, node: KafkaNode) -> str:
        """The node's keystore (signed by the hub's CA, naming 127.0.0.1 and localhost) and the CA it trusts."""
        ca = tls.ensure_ca(self.home / "tls")
        store = tls.issue_broker(self.home / "tls", node.home / "broker.p12", ["127.0.0.1", "localhost"])
        return tls.broker_tls_properties(store.path, store.password, ca)

    def _register_missing_users(self) -> None:
        """A principal added to the catalogue after the storage was formatted (a new agency desk) gets its
        SCRAM user over the admin API."""
        known = json.loads(self.credentials_file.read_text())
        pending = {p: secrets.token_urlsafe(24) for p in hub_principals() if p not in known}
        if not pending:
            return
        asyncio.run(scram.alter(self.access.client(ADMIN), upsert=pending))
        write_secret(self.credentials_file, json.dumps({**known, **pending}, indent=1))

    def start(self, timeout: float = 90.0) -> Access:
        """Start every node that is not running; return how to reach the broker once every node answers."""
        libs = jars()
        self.home.mkdir(parents=True, exist_ok=True)
        self._configure(libs)
        started = [node.spawn(libs) for node in self.nodes if node.pid() is None]
        try:
            self.wait_until_answering(timeout, started)
            self._register_missing_users()
        except BaseException:
            if started:
                self.stop()
            raise
        return self.access

    def wait_until_answering(self, timeout: float, pids: list[int] | None = None) -> None:
        """Every node registered as a broker (a cluster elects its controller and its nodes register)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if pids and node.pid() is None:
                    raise KafkaError(f"node {node.node_id} exited during start-up; see {node.log_file}:\n{node.log_tail()}")
            # Each node on its own listener: a cluster's metadata still lists a restarted node before it serves.
            access = self.access
            if all(answers(replace(access, bootstrap=node.bootstrap)) for node in self.nodes):
                return
            time.sleep(0.5)
        raise KafkaError(f"the broker did not answer within {timeout:.0f}s; see {self.log_file}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop every node: the controller quorum loses its majority only as the last nodes go."""
        stopped = [node.stop(timeout) for node in self.nodes if node.properties.exists()]
        return any(stopped)

    def status(self) -> str:
        if not self.shape_file.exists():
            return "stopped"
        running = [(n, n.pid()) for n in self.nodes]
        if all(pid is None for _, pid in running):
            return "stopped"
        access = self.access
        security = "SASL_SSL, hub CA" if access.ca_file else "SASL/SCRAM over plain TCP"
        up = ", ".join(f"node {n.node_id} pid {pid}" if pid else f"node {n.node_id} stopped" for n, pid in running)
        answering = "answering" if answers(access) else "not answering"
        return f"running ({up}; {access.bootstrap}; {security}; {answering})"


def cluster_uuid() -> str:
    """A KRaft cluster id: Kafka's own form (URL-safe base64 of 16 random bytes), never beginning with "-", which
    kafka-storage's argument parser would take for an option (Kafka's Uuid.randomUuid avoids it the same way)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


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
