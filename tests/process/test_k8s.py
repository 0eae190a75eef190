"""deploy/k8s rendered for real (`kubectl kustomize`, offline) and checked against the code: the Kafka StatefulSet,
each hub service's Deployment, its principal, settings and replicas, the init and provisioning Jobs, the claims where
state lives, and Secrets named only, never held. No cluster runs here; docs/deployment.md says how one is used."""

import importlib
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mash_cli import deploy_init, k8s
from mash_cli.deployment import K8S, KAFKA_IMAGE, NODE_FILES, REPLICAS, SECRETS, WHY_ONE, dns_name, node_command
from mash_cli.mesh import DESKS, SERVICES
from mash_contracts.topics import hub_principals
from mash_runtime.settings import KafkaSettings

pytestmark = pytest.mark.process
ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "web": "mash_web.settings.WebSettings",
    "intake": "mash_intake.settings.IntakeSettings",
    "analysis": "mash_analysis.settings.AnalysisSettings",
    "decision": "mash_decision.settings.DecisionSettings",
}


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: this test renders deploy/k8s with `kubectl kustomize` (Debian's kubectl package)")
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy" / "k8s")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(by_name) == len(docs), "two objects of one kind share a name"
    return by_name


def known_settings(service: str) -> set[str]:
    module, name = SETTINGS.get(service, "mash_desk.service.DeskSettings").rsplit(".", 1)
    names = set()
    for cls in (KafkaSettings, getattr(importlib.import_module(module), name)):
        prefix = cls.model_config.get("env_prefix", "")
        names |= {(prefix + field).upper() for field in cls.model_fields}
    return names


def pod(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def test_the_committed_manifests_are_the_rendering_of_the_code():
    stale = [p.name for p, text in k8s.render().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"deploy/k8s drifted from the code, run `./mash docs`: {stale}"
    assert {p.name for p in (ROOT / "deploy" / "k8s").iterdir()} == {p.name for p in k8s.render()}


def test_three_kafka_nodes_in_a_statefulset_behind_a_headless_service(rendered):
    service, nodes = rendered[("Service", "kafka")], rendered[("StatefulSet", "kafka")]
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    assert nodes["spec"]["serviceName"] == "kafka" and nodes["spec"]["replicas"] == len(K8S.nodes) == 3
    assert nodes["spec"]["podManagementPolicy"] == "Parallel"
    assert [n.name for n in K8S.nodes] == [f"kafka-{i}" for i in range(3)]  # the StatefulSet's own pod names
    [container] = pod(nodes)["containers"]
    assert container["image"] == KAFKA_IMAGE
    assert container["command"] == ["/bin/sh", "-c", node_command("$HOSTNAME").replace("$", "$$")]
    assert {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]} == {
        str(NODE_FILES): True,
        "/var/lib/kafka/data": False,
    }
    [files] = pod(nodes)["volumes"]
    assert [s["secret"]["name"] for s in files["projected"]["sources"]] == ["mash-kafka"]
    assert nodes["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert rendered[("PodDisruptionBudget", "kafka")]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_is_a_deployment_of_its_module_as_its_own_principal(rendered, service):
    deployment = rendered[("Deployment", dns_name(service))]
    assert deployment["spec"]["replicas"] == REPLICAS[service]
    [container] = pod(deployment)["containers"]
    assert container["command"] == ["python", "-m", f"mash_{service}"]
    assert importlib.util.find_spec(f"mash_{service}") is not None
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= known_settings(service), f"unknown settings: {set(env) - known_settings(service)}"
    assert service in hub_principals() and env["KAFKA_USERNAME"]["value"] == service
    assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL" and env["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
    assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092"
    assert env["KAFKA_SSL_CA_FILE"]["value"] == f"{SECRETS}/ca.pem"
    assert env["KAFKA_PASSWORD"] == {
        "name": "KAFKA_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": f"mash-kafka-{dns_name(service)}", "key": "password"}},
    }
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod(deployment)["volumes"] if "persistentVolumeClaim" in v
    }
    assert claims == {"state": f"mash-state-{dns_name(service)}", "keys": "mash-keys"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["state"] == env["MASH_STATE_DIR"]["value"] and mounts["keys"] == env["MASH_KEYS_DIR"]["value"]
    assert mounts["secrets"] == str(SECRETS)
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": 8080}


def test_intake_decision_and_every_desk_run_twice_on_one_node_and_any_service_run_once_says_why(rendered):
    replicas = {s: rendered[("Deployment", dns_name(s))]["spec"]["replicas"] for s in SERVICES}
    assert replicas == REPLICAS and {s for s, n in replicas.items() if n == 2} >= {"intake", "decision", *DESKS}
    assert {s for s, n in replicas.items() if n == 1} == set(WHY_ONE)
    for service, n in replicas.items():
        deployment = rendered[("Deployment", dns_name(service))]
        assert deployment["metadata"]["annotations"]["mash.hub/replicas"]
        # Replicas share one SQLite file: held on one node, where its locks work.
        assert ("affinity" in pod(deployment)) == (n > 1)


def test_secrets_are_only_named_and_each_one_named_is_made_by_the_operators_script(rendered, tmp_path):
    assert not [name for kind, name in rendered if kind == "Secret"]
    named = set()
    for obj in rendered.values():
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = pod(obj)
        for container in spec.get("initContainers", []) + spec["containers"]:
            for e in container.get("env", []):
                assert "value" not in e or "PASSWORD" not in e["name"], f"{obj['metadata']['name']}: {e['name']} inlined"
                if ref := e.get("valueFrom", {}).get("secretKeyRef"):
                    named.add(ref["name"])
        for volume in spec.get("volumes", []):
            named |= {s["secret"]["name"] for s in volume.get("projected", {}).get("sources", []) if "secret" in s}
    script = deploy_init.kubernetes_secrets_script()
    made = {line.split("create secret generic ")[1].split()[0] for line in script.splitlines() if "create secret" in line}
    assert named == made


def test_the_jobs_make_the_keys_and_stores_then_provision_the_cluster_as_admin(rendered):
    init = pod(rendered[("Job", "mash-init")])
    [container] = init["containers"]
    assert container["command"][:4] == ["python", "-m", "mash_cli.deploy_init", "hub"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in init["volumes"]}
    assert claims == {"mash-keys", *(f"mash-state-{dns_name(s)}" for s in SERVICES)}
    provision = pod(rendered[("Job", "mash-provision")])
    [container] = provision["containers"]
    args = dict(zip(container["command"][4::2], container["command"][5::2], strict=True))
    assert container["command"][:4] == ["python", "-m", "mash_cli.deploy_init", "provision"]
    assert args["--bootstrap"] == K8S.bootstrap
    assert args["--credentials"] == f"{SECRETS}/credentials.json" and args["--ca"] == f"{SECRETS}/ca.pem"


def test_state_lives_on_claims_and_the_shared_key_custody_is_readwritemany(rendered):
    claims = {name: obj for (kind, name), obj in rendered.items() if kind == "PersistentVolumeClaim"}
    assert set(claims) == {"mash-keys", *(f"mash-state-{dns_name(s)}" for s in SERVICES)}
    assert claims["mash-keys"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_web_front_door_and_the_decision_api_are_reachable_by_service_name(rendered):
    for name in ("web", "decision"):
        assert rendered[("Service", name)]["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    web = {e["name"]: e.get("value") for e in pod(rendered[("Deployment", "web")])["containers"][0]["env"]}
    assert web["MASH_DECISION_URL"] == "http://decision:8080"
