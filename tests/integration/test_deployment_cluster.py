"""What docker-compose.yml and deploy/k8s run, run here for real: the three nodes' generated server.properties,
keystores and SCRAM users (mash_cli.deploy_init secrets) on Kafka's own jars, each node on a loopback address of its
own with the ports the containers use; then the provisioning step against them, and a service as its own principal.
The paths are the containers' mounts moved under this test's directory; nothing else is changed."""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAuthorizationFailedError

from mash_cli import deploy_init, processes
from mash_cli.agencies import enrolled
from mash_cli.deployment import CLIENT_PORT, CONTROLLER_PORT, NODE_FILES, NODE_LOGS, Node, Platform
from mash_cli.kafka import ADMIN, Access, jars
from mash_cli.paths import KAFKA_DEPLOY
from mash_cli.topics import wanted
from mash_contracts.topics import hub_principals
from mash_runtime.firewall import generate

pytestmark = pytest.mark.integration


def loopback_hosts(count: int) -> list[str]:
    """Addresses in 127.0.0.0/8 where both of a node's ports are free (a node binds all interfaces in a container)."""
    for _ in range(50):
        base = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}"
        hosts = [f"{base}.{i}" for i in range(1, count + 1)]
        try:
            for host in hosts:
                for port in (CLIENT_PORT, CONTROLLER_PORT):
                    with socket.socket() as s:
                        s.bind((host, port))
            return hosts
        except OSError:
            continue
    raise RuntimeError("no free loopback addresses for three nodes")


def java(libs, *args: str) -> list[str]:
    logging = f"-Dlog4j.configuration=file:{KAFKA_DEPLOY / 'log4j.properties'}"
    return ["java", "-Xms128m", "-Xmx512m", logging, "-cp", f"{libs}/*", *args]


@pytest.fixture
def cluster(tmp_path):
    platform = Platform("compose", tuple(Node(i, f"kafka-{i}", h) for i, h in enumerate(loopback_hosts(3), 1)))
    deploy_init.write_secrets(platform, tmp_path)
    files, libs = tmp_path / "kafka", jars()
    cluster_id = (files / "cluster-id").read_text()
    users = (files / "scram-users").read_text().split()
    pids = []
    try:
        for node in platform.nodes:
            text = (files / f"{node.name}.properties").read_text()
            text = text.replace(str(NODE_LOGS), str(tmp_path / "data" / node.name)).replace(str(NODE_FILES), str(files))
            props = tmp_path / f"{node.name}.properties"
            props.write_text(text.replace("0.0.0.0", node.host))
            # What the node's command runs first: kafka-storage.sh is kafka.tools.StorageTool.
            formatting = java(libs, "kafka.tools.StorageTool", "format", "--ignore-formatted")
            formatting += ["--cluster-id", cluster_id, "--config", str(props), *users]
            done = subprocess.run(formatting, capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stdout + done.stderr
        for node in platform.nodes:
            argv = java(libs, "kafka.Kafka", str(tmp_path / f"{node.name}.properties"))
            pids.append(processes.spawn(argv, tmp_path / f"{node.name}.log", tmp_path / f"{node.name}.pid"))
        yield platform, tmp_path
    finally:
        for pid in pids:  # all at once: the last node of a quorum stopped alone would wait for the others
            os.killpg(pid, signal.SIGTERM)
        for pid in pids:
            processes.terminate(pid, timeout=60)


def test_the_generated_cluster_runs_secured_provisions_the_catalogue_and_serves_each_service_as_itself(cluster):
    platform, out = cluster
    keys = out / "keys"
    generate(keys, hub_principals())  # the hub step's keys: the web front door is an enrolled referrer in them
    credentials, ca = out / "provision" / "credentials.json", out / "provision" / "ca.pem"
    created = deploy_init.provision(platform.bootstrap, credentials, ca, keys, timeout=240)
    expected = {t.name for t in wanted(enrolled(keys))}
    assert set(created) == expected
    admin_access = Access(platform.bootstrap, {ADMIN: json.loads(credentials.read_text())[ADMIN]}, ca_file=ca)
    own = out / "services" / "intake"
    intake = Access(platform.bootstrap, {"intake": (own / "password").read_text()}, ca_file=own / "ca.pem")

    async def check() -> None:
        admin = AIOKafkaAdminClient(**admin_access.client(ADMIN))
        await admin.start()
        try:
            described = await admin.describe_topics(sorted(expected))
            assert {t["topic"]: {len(p["replicas"]) for p in t["partitions"]} for t in described} == {n: {3} for n in expected}
            configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in sorted(expected)])
            insync = {
                r["resource_name"]: e["config_value"]
                for response in configs
                for r in response.to_object()["resources"]
                for e in r["config_entries"]
                if e["config_names"] == "min.insync.replicas"
            }
            assert insync == {n: "2" for n in expected}
        finally:
            await admin.close()
        producer = AIOKafkaProducer(**intake.client("intake"), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait("mash.notifications", b"{}", key=b"r-1")  # its own topic, on two replicas
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait("mash.decisions", b"{}", key=b"r-1")  # the decision service's
        finally:
            await producer.stop()

    asyncio.run(check())
