"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code instead."""

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from mash_cli.mesh import SERVICES
from mash_cli.topics import wanted
from mash_runtime.settings import KafkaSettings, ServiceSettings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = set(SERVICES)


def settings_classes(service: str) -> list[type]:
    if service == "decision":
        return [KafkaSettings, importlib.import_module("mash_decision.settings").DecisionSettings]
    if service == "intake":
        return [KafkaSettings, ServiceSettings]
    return [KafkaSettings, importlib.import_module("mash_desk.service").DeskSettings]


def env_names(cls: type) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    return {(prefix + name).upper() for name in cls.model_fields}


def test_compose_runs_every_service_the_mesh_runs():
    assert set(COMPOSE["services"]) - {"kafka", "topics"} == APP_SERVICES


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_each_service_runs_its_module_from_the_hub_image(service):
    spec = COMPOSE["services"][service]
    assert spec["command"] == ["python", "-m", f"mash_{service}"]
    assert importlib.util.find_spec(f"mash_{service}") is not None
    assert spec["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert spec["image"] == "mash-hub:local"


def test_the_hub_image_installs_the_whole_workspace_of_libraries_and_services():
    """One image holds every desk, so the catalogue inside it discovers them all (intake seals for each)."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY libs ./libs" in dockerfile and "COPY services ./services" in dockerfile
    assert "pip install --no-cache-dir -c constraints.txt ./libs/* ./services/*" in dockerfile
    workspace = re.search(r"^packages=\((.*)\)$", (ROOT / "deploy" / "setup.sh").read_text(), re.M).group(1).split()
    folders = {f"{p.parent.name}/{p.name}" for p in ROOT.glob("*/*") if p.parent.name in ("libs", "services") and p.is_dir()}
    assert {w for w in workspace if w.split("/")[0] in ("libs", "services")} == folders


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_environment_variable_is_a_setting_of_that_service(service):
    known = set().union(*(env_names(c) for c in settings_classes(service)))
    configured = set(COMPOSE["services"][service]["environment"])
    assert configured <= known, f"unknown settings: {configured - known}"
    assert "KAFKA_BOOTSTRAP_SERVERS" in configured


def test_decision_expects_the_desks_that_compose_runs():
    expected = yaml.safe_load(COMPOSE["services"]["decision"]["environment"]["MASH_EXPECTED_DESKS"])
    from mash_contracts.topics import RESEARCHERS

    assert expected == [a.value for a in RESEARCHERS]


def test_topics_service_creates_exactly_the_catalogue():
    command = " ".join(COMPOSE["services"]["topics"]["command"])
    created = dict(re.findall(r"--topic (\S+) --partitions (\d+)", command))
    assert created == {t.name: str(t.partitions) for t in wanted({})}  # per-referrer topics come with enrolment
    assert COMPOSE["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_every_topic_and_the_broker_take_the_record_sizes_of_the_catalogue():
    from mash_contracts.topics import LARGEST_RECORD_BYTES

    command = " ".join(COMPOSE["services"]["topics"]["command"])
    limits = dict(re.findall(r"--topic (\S+) --partitions \d+ --replication-factor 1 --config max.message.bytes=(\d+)", command))
    assert limits == {t.name: str(t.max_message_bytes) for t in wanted({})}
    broker = COMPOSE["services"]["kafka"]["environment"]
    assert broker["KAFKA_MESSAGE_MAX_BYTES"] == broker["KAFKA_REPLICA_FETCH_MAX_BYTES"] == str(LARGEST_RECORD_BYTES)


def test_every_topic_gets_the_whole_configuration_of_the_catalogue():
    """Not only sizes: a front-door topic left on its producers' clocks would let a referrer's clock set deadlines."""
    command = " ".join(COMPOSE["services"]["topics"]["command"])
    created = {}
    for part in command.split("&&"):
        [name] = re.findall(r"--topic (\S+)", part)
        created[name] = dict(re.findall(r"--config ([\w.]+)=(\S+)", part))
    assert created == {t.name: t.configs for t in wanted({})}
