"""The hub beyond one machine, as docker-compose.yml (compose.py) and the Kubernetes manifests (k8s.py) both describe
it, and as their one-shot steps (deploy_init.py) make it: three Kafka nodes, each broker and controller, SASL_SSL on
every listener with certificates from the hub's own CA, a SCRAM user per principal, and every hub service running as
its own principal, most of them twice.

Both descriptions take their facts from here, and the Kafka nodes their properties from the template the local
broker uses (deploy/kafka/server.properties.template), so neither can drift from the code or from each other."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from mash_contracts.topics import LARGEST_RECORD_BYTES, RESEARCHERS, WEB

from .kafka import ADMIN, SCRAM, Access
from .mesh import SERVICES, declared_findings
from .paths import KAFKA_DEPLOY
from .tls import broker_tls_properties

KAFKA_IMAGE = "apache/kafka:3.9.1"
HUB_IMAGE = "mash-hub:local"
# Who reads the generated files: the apache/kafka image's appuser, and deploy/Dockerfile's mash user.
KAFKA_UID = 1000
HUB_UID = 10001
CLIENT_PORT, CONTROLLER_PORT, HTTP_PORT = 9092, 9093, 8080
PROTOCOL = "SASL_SSL"

# Inside the containers (the same paths in compose and Kubernetes).
NODE_FILES = PurePosixPath("/etc/kafka/secrets")  # every node's properties and keystore, the cluster id, the SCRAM users
NODE_DATA = PurePosixPath("/var/lib/kafka/data")
NODE_LOGS = NODE_DATA / "kraft"  # below the mount point: a fresh volume's lost+found is not taken for a partition
SECRETS = PurePosixPath("/run/mash")  # a service's own Kafka password (kafka.env) and the hub CA's certificate
STATE = PurePosixPath("/var/lib/mash")  # a service's store
KEYS = PurePosixPath("/var/lib/mash-keys")  # the hub's key custody, shared: see docs/deployment.md
CA_FILE = SECRETS / "ca.pem"

# Two instances of each, in one consumer group on one store (outbox rows leased, each step one transaction), so one
# can be lost or restarted while the other carries on. Two exceptions, kept at one:
WHY_ONE = {
    WEB: "the front door publishes the hub's one HTTP port on the host (compose maps it to one container); its sessions, "
    "drafts and lockouts are in its store, so behind a load balancer (Kubernetes' Service) it can be scaled"
}
REPLICAS: dict[str, int] = {service: 1 if service in WHY_ONE else 2 for service in SERVICES}


@dataclass(frozen=True)
class Node:
    """One KRaft node: `name` is its container (compose service, or StatefulSet pod), `host` how others reach it."""

    node_id: int
    name: str
    host: str

    @property
    def properties(self) -> PurePosixPath:
        return NODE_FILES / f"{self.name}.properties"

    @property
    def keystore(self) -> PurePosixPath:
        return NODE_FILES / f"{self.name}.p12"


@dataclass(frozen=True)
class Platform:
    name: str
    nodes: tuple[Node, ...]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{n.host}:{CLIENT_PORT}" for n in self.nodes)

    @property
    def voters(self) -> str:
        return ",".join(f"{n.node_id}@{n.host}:{CONTROLLER_PORT}" for n in self.nodes)


COMPOSE = Platform("compose", tuple(Node(i, f"kafka-{i}", f"kafka-{i}") for i in (1, 2, 3)))
# A StatefulSet's pods are kafka-0..2, reached through its headless Service `kafka` (in their own namespace).
K8S = Platform("k8s", tuple(Node(i, f"kafka-{i}", f"kafka-{i}.kafka") for i in (0, 1, 2)))
PLATFORMS = {p.name: p for p in (COMPOSE, K8S)}


def broker_properties(platform: Platform, node: Node, admin_password: str, keystore_password: str) -> str:
    """The node's server.properties: the local broker's template (the same security, replication and limits), with
    the container's listeners and the files the init step made."""
    tls = broker_tls_properties(node.keystore, keystore_password, NODE_FILES / "ca.pem")
    durability = Access("", brokers=len(platform.nodes))  # the local cluster's rule: three replicas, two in sync
    text = (KAFKA_DEPLOY / "server.properties.template").read_text()
    text = text.format(
        node_id=node.node_id,
        voters=platform.voters,
        client_port=CLIENT_PORT,
        controller_port=CONTROLLER_PORT,
        protocol=PROTOCOL,
        tls=tls,
        data_dir=NODE_LOGS,
        admin_password=admin_password,
        largest_record_bytes=LARGEST_RECORD_BYTES,
        replication=durability.replication,
        min_insync=durability.min_insync,
    )
    return _override(
        text,
        {
            "listeners": f"CLIENT://0.0.0.0:{CLIENT_PORT},CONTROLLER://0.0.0.0:{CONTROLLER_PORT}",
            "advertised.listeners": f"CLIENT://{node.host}:{CLIENT_PORT}",
        },
    )


def _override(properties: str, values: dict[str, str]) -> str:
    """`properties` with each key's line replaced; a key the template no longer has is an error, never appended."""
    lines = properties.splitlines()
    for key, value in values.items():
        found = [i for i, line in enumerate(lines) if line.startswith(f"{key}=")]
        if len(found) != 1:
            raise ValueError(f"the broker template has {len(found)} `{key}=` lines; expected one")
        lines[found[0]] = f"{key}={value}"
    return "\n".join(lines) + "\n"


def admin_client_properties(admin_password: str) -> str:
    """For Kafka's own tools on a node (the health check): the admin over SASL_SSL, trusting the hub CA."""
    jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" password="{admin_password}";'
    return (
        "\n".join(
            [
                f"security.protocol={PROTOCOL}",
                f"sasl.mechanism={SCRAM}",
                f"sasl.jaas.config={jaas}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={NODE_FILES / 'ca.pem'}",
            ]
        )
        + "\n"
    )


def node_command(node_name: str) -> str:
    """Format the node's storage with every SCRAM user (once: --ignore-formatted), then run it. `set -f`: the
    users' arguments hold brackets a shell would otherwise take for a glob."""
    files = NODE_FILES
    return (
        f"set -euf; node={node_name}; "
        f'/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$(cat {files}/cluster-id)" '
        f"--config {files}/$node.properties $(cat {files}/scram-users) && "
        f"exec /opt/kafka/bin/kafka-server-start.sh {files}/$node.properties"
    )


def node_health(host: str) -> str:
    return (
        f"/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server {host}:{CLIENT_PORT} "
        f"--command-config {NODE_FILES}/admin.properties > /dev/null"
    )


def service_env(platform: Platform, service: str) -> dict[str, str]:
    """What the service reads (mash_runtime.settings and its own settings), all but its password: that comes from its
    own secret (compose: kafka.env in its secrets volume; Kubernetes: its Secret)."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": platform.bootstrap,
        "KAFKA_USERNAME": service,
        "KAFKA_SASL_MECHANISM": SCRAM,
        "KAFKA_SECURITY_PROTOCOL": PROTOCOL,
        "KAFKA_SSL_CA_FILE": str(CA_FILE),
        "MASH_STATE_DIR": str(STATE),
        "MASH_KEYS_DIR": str(KEYS),
        "MASH_DATABASE_URL": f"sqlite:///{STATE / service}.db",
        "MASH_LOG_LEVEL": "INFO",
        "MASH_HTTP_HOST": "0.0.0.0",  # noqa: S104 - health and metrics for the orchestrator's probes, inside its network
        "MASH_HTTP_PORT": str(HTTP_PORT),
    }
    if service == "decision":
        env["MASH_EXPECTED_DESKS"] = json.dumps([a.value for a in RESEARCHERS])
        env["MASH_DECLARED_FINDINGS"] = json.dumps(declared_findings(), sort_keys=True)
    if service == WEB:
        env["MASH_DECISION_URL"] = f"http://decision:{HTTP_PORT}"
    return env


def service_command(service: str) -> list[str]:
    return ["python", "-m", f"mash_{service}"]


def dns_name(service: str) -> str:
    """A Kubernetes object's name for a service (DNS-1123: no underscores)."""
    return service.replace("_", "-")
