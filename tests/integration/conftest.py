"""The integration tier runs on a real Kafka broker and the five services as real OS processes.

Broker, in order: KAFKA_BOOTSTRAP_SERVERS if set; a testcontainers Kafka if a Docker engine answers;
else the project's own local KRaft broker (`mash kafka start`, the same code the demo uses): one node, or with
MASH_KAFKA_NODES=3 a three-node cluster keeping three replicas of every topic. Either speaks TLS with the hub's CA.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mash_cli.kafka import Access, LocalKafka
from mash_cli.mesh import UNATTENDED, Mesh
from mash_cli.topics import create_topics
from mash_tools import population

from .watch import Watcher


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kafka_access(tmp_path_factory) -> Iterator[Access]:
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield Access(bootstrap)
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:3.9.1").with_kraft() as kafka:
            yield Access(kafka.get_bootstrap_server())
    else:
        broker = LocalKafka(tmp_path_factory.mktemp("broker") / "kafka")
        access = broker.start()
        try:
            yield access
        finally:
            broker.stop()


@pytest.fixture(scope="session")
def topics(kafka_access: Access) -> Access:
    asyncio.run(create_topics(kafka_access))
    return kafka_access


@pytest.fixture(scope="session")
def scripted() -> dict:
    return {case.name: case for case in population.scripted_cases()}


@pytest.fixture(scope="session")
def mesh(topics: Access, scripted: dict, tmp_path_factory) -> Iterator[Mesh]:
    root = tmp_path_factory.mktemp("mesh")
    # Retention's sweep in the hub research service every 2 s, so a test sees a shredded case's identifiers erased.
    mesh = Mesh(topics, root, extra_env={**UNATTENDED, "MASH_RETENTION_SWEEP_SECONDS": "2"})
    world = root / "population.json"
    population.write_population(
        world, population.merge(population.build_population(seed=5, families=60), list(scripted.values()))
    )
    mesh.init()  # once: the fixtures and tests restart services, which never re-init
    mesh.enrol_simulated_agencies()
    mesh.seed(world)
    mesh.start()
    try:
        mesh.wait_ready()
        yield mesh
    finally:
        stopped = mesh.stop()
        assert all(stopped.values()), f"services did not stop on SIGTERM: {stopped}"


@pytest.fixture
def watcher(topics: Access, mesh: Mesh) -> Watcher:
    return Watcher(mesh.access, mesh.keys_dir)


def service_log(mesh: Mesh, service: str) -> str:
    return Path(mesh.log_file(service)).read_text(errors="replace")
