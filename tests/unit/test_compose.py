"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code instead: the services and
their settings, the three secured Kafka nodes, the init and provisioning steps, and that it holds no secret."""

import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from mash_cli import compose, deploy_init
from mash_cli.deployment import COMPOSE, KAFKA_IMAGE, NODE_FILES, REPLICAS, SECRETS, WHY_ONE, node_command
from mash_cli.mesh import DESKS, SERVICES, declared_findings
from mash_contracts.topics import RESEARCHERS, hub_principals
from mash_runtime.settings import KafkaSettings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docker-compose.yml").read_text()
FILE = yaml.safe_load(TEXT)
APP_SERVICES = set(SERVICES)
STEPS = {"init", "provision"}
NODES = {n.name for n in COMPOSE.nodes}
SETTINGS = {
    "web": "mash_web.settings.WebSettings",
    "intake": "mash_intake.settings.IntakeSettings",
    "analysis": "mash_analysis.settings.AnalysisSettings",
    "decision": "mash_decision.settings.DecisionSettings",
}


def settings_classes(service: str) -> list[type]:
    module, name = SETTINGS.get(service, "mash_desk.service.DeskSettings").rsplit(".", 1)
    return [KafkaSettings, getattr(importlib.import_module(module), name)]


def env_names(cls: type) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    return {(prefix + name).upper() for name in cls.model_fields}


def mounts(spec: dict) -> dict[str, str]:
    """Volume name -> where it is mounted (with any :ro)."""
    return dict(m.split(":", 1) for m in spec.get("volumes", []))


def test_the_committed_file_is_the_rendering_of_the_code():
    assert compose.render() == TEXT, "docker-compose.yml drifted from the code: run `./mash docs`"


def test_compose_runs_every_service_the_mesh_runs_on_three_kafka_nodes():
    assert set(FILE["services"]) == APP_SERVICES | STEPS | NODES
    assert NODES == {"kafka-1", "kafka-2", "kafka-3"}


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_each_service_runs_its_module_from_the_hub_image(service):
    spec = FILE["services"][service]
    assert spec["command"] == ["python", "-m", f"mash_{service}"]
    assert importlib.util.find_spec(f"mash_{service}") is not None
    assert spec["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert spec["image"] == "mash-hub:local"


def test_the_hub_image_installs_the_whole_workspace_of_libraries_services_and_the_operators_steps():
    """One image holds every desk, so the catalogue inside it discovers them all (intake seals for each), and the
    deployment's own steps (mash_cli.deploy_init) with the broker template they render."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY libs ./libs" in dockerfile and "COPY services ./services" in dockerfile
    assert "COPY deploy/cli ./deploy/cli" in dockerfile and "COPY deploy/kafka ./deploy/kafka" in dockerfile
    assert "pip install --no-cache-dir -c constraints.txt ./libs/* ./services/* ./deploy/cli" in dockerfile
    assert "MASH_HOME=/app" in dockerfile and "--uid 10001 mash" in dockerfile
    workspace = re.search(r"^packages=\((.*)\)$", (ROOT / "deploy" / "setup.sh").read_text(), re.M).group(1).split()
    folders = {f"{p.parent.name}/{p.name}" for p in ROOT.glob("*/*") if p.parent.name in ("libs", "services") and p.is_dir()}
    assert {w for w in workspace if w.split("/")[0] in ("libs", "services")} == folders


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_environment_variable_is_a_setting_of_that_service(service):
    known = set().union(*(env_names(c) for c in settings_classes(service)))
    configured = set(FILE["services"][service]["environment"])
    assert configured <= known, f"unknown settings: {configured - known}"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_each_service_is_its_own_principal_over_tls_on_every_node(service):
    spec = FILE["services"][service]
    env = spec["environment"]
    assert service in hub_principals() and env["KAFKA_USERNAME"] == service
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == ",".join(f"{n}:9092" for n in sorted(NODES))
    assert env["KAFKA_SSL_CA_FILE"] == f"{SECRETS}/ca.pem"
    assert "KAFKA_PASSWORD" not in env
    # Its password is its own: read from its own secrets volume, which no other service mounts.
    assert mounts(spec)[f"{service}-secrets"] == f"{SECRETS}:ro"
    assert spec["entrypoint"][:3] == ["/bin/sh", "-c", f'set -a && . {SECRETS}/kafka.env && set +a && exec "$$@"']
    others = [s for s in APP_SERVICES - {service} if f"{service}-secrets" in mounts(FILE["services"][s])]
    assert not others and mounts(FILE["services"]["init"])[f"{service}-secrets"] == f"/volumes/services/{service}"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_each_service_keeps_its_store_in_a_volume_of_its_own_and_shares_the_key_custody(service):
    spec = FILE["services"][service]
    assert mounts(spec)[f"{service}-state"] == spec["environment"]["MASH_STATE_DIR"]
    assert spec["environment"]["MASH_DATABASE_URL"] == f"sqlite:///{spec['environment']['MASH_STATE_DIR']}/{service}.db"
    assert mounts(spec)["keys"] == spec["environment"]["MASH_KEYS_DIR"]
    assert spec["depends_on"] == {"provision": {"condition": "service_completed_successfully"}}


def test_intake_decision_and_every_desk_run_twice_and_any_service_run_once_says_why_beside_it():
    replicas = {s: FILE["services"][s]["deploy"]["replicas"] for s in APP_SERVICES}
    assert replicas == REPLICAS and set(replicas.values()) <= {1, 2}
    assert {s for s, n in replicas.items() if n == 2} >= {"intake", "decision", *DESKS}
    assert {s for s, n in replicas.items() if n == 1} == set(WHY_ONE) >= {"web"}  # compose publishes one host port
    for service in WHY_ONE:
        block = TEXT.split(f"\n  {service}:\n", 1)[1].split("deploy:", 1)[0]
        assert "# 1: " in block, f"{service} runs once without saying why"


def test_decision_expects_the_desks_and_their_declared_findings():
    env = FILE["services"]["decision"]["environment"]
    assert json.loads(env["MASH_EXPECTED_DESKS"]) == [a.value for a in RESEARCHERS]
    assert json.loads(env["MASH_DECLARED_FINDINGS"]) == declared_findings()  # required: decision refuses to start without


def test_every_service_answers_health_checks_and_the_web_front_door_reaches_the_decision_service():
    for service in APP_SERVICES:
        spec = FILE["services"][service]
        assert spec["environment"]["MASH_HTTP_HOST"] == "0.0.0.0" and spec["environment"]["MASH_HTTP_PORT"] == "8080"
        assert "/health/live" in spec["healthcheck"]["test"][-1]
    assert FILE["services"]["web"]["environment"]["MASH_DECISION_URL"] == "http://decision:8080"
    assert FILE["services"]["web"]["ports"] == ["8080:8080"]
    assert [s for s in APP_SERVICES if "ports" in FILE["services"][s]] == ["web"]


@pytest.mark.parametrize("node", COMPOSE.nodes, ids=lambda n: n.name)
def test_each_kafka_node_formats_its_storage_with_the_scram_users_then_runs_its_generated_properties(node):
    spec = FILE["services"][node.name]
    assert spec["image"] == KAFKA_IMAGE and spec["hostname"] == node.host
    assert spec["entrypoint"] == ["/bin/sh", "-c"]
    [command] = spec["command"]
    assert command == node_command(node.name).replace("$", "$$")  # compose leaves the shell its own $
    assert "kafka-storage.sh format --ignore-formatted" in command and "$$(cat /etc/kafka/secrets/scram-users)" in command
    assert "exec /opt/kafka/bin/kafka-server-start.sh /etc/kafka/secrets/$$node.properties" in command
    assert mounts(spec) == {"kafka-config": f"{NODE_FILES}:ro", f"{node.name}-data": "/var/lib/kafka/data"}
    assert spec["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    health = spec["healthcheck"]["test"][1]
    assert f"--bootstrap-server {node.host}:9092 --command-config {NODE_FILES}/admin.properties" in health
    assert not {k for k in spec.get("environment", {}) if "LISTENER" in k}, "listeners come from the generated properties"


def test_the_init_step_fills_every_volume_the_others_read():
    init = FILE["services"]["init"]
    assert init["command"] == ["python", "-m", "mash_cli.deploy_init", "init", "--root", "/volumes"]
    assert init["user"] == "0:0" and init["restart"] == "no"
    read = {v for name, spec in FILE["services"].items() if name != "init" for v in mounts(spec)}
    assert read <= set(mounts(init)) and set(mounts(init)) == set(FILE["volumes"])


def test_provisioning_waits_for_every_node_and_acts_as_admin_with_the_catalogues_code():
    spec = FILE["services"]["provision"]
    command = spec["command"]
    assert command[:4] == ["python", "-m", "mash_cli.deploy_init", "provision"]
    args = dict(zip(command[4::2], command[5::2], strict=True))
    assert args["--bootstrap"] == COMPOSE.bootstrap == FILE["services"]["intake"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert args["--credentials"] == f"{SECRETS}/credentials.json" and args["--ca"] == f"{SECRETS}/ca.pem"
    assert mounts(spec) == {"provision-secrets": f"{SECRETS}:ro", "keys": f"{args['--keys']}:ro"}
    assert spec["depends_on"] == {n: {"condition": "service_healthy"} for n in NODES}
    # What it runs is deploy_init.provision: tests/unit/test_deploy_init.py checks the topics, users and ACLs it makes.
    assert deploy_init.provision.__module__ == "mash_cli.deploy_init"


def test_no_password_key_or_certificate_is_in_the_file(tmp_path):
    deploy_init.write_secrets(COMPOSE, tmp_path)
    passwords = json.loads((tmp_path / "init" / "credentials.json").read_text())
    keystores = json.loads((tmp_path / "init" / "keystores.json").read_text())
    secrets = [*passwords.values(), *keystores.values()]
    assert secrets and not [s for s in secrets if s in TEXT]
    assert "BEGIN" not in TEXT and not re.search(r"(?i)password\w*\s*[:=]", TEXT)
    assert set(passwords) == {"admin", *hub_principals()}
