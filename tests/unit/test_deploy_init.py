"""The one-shot steps behind docker-compose.yml and deploy/k8s (mash_cli.deploy_init): what they generate is what
the Kafka nodes and the services are configured to read, and provisioning creates the catalogue the local mesh does."""

import json
import shlex
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from mash_cli import acls, deploy_init, topics
from mash_cli.agencies import enrolled
from mash_cli.deployment import COMPOSE, K8S, NODE_FILES, PLATFORMS
from mash_cli.kafka import ADMIN
from mash_cli.mesh import SERVICES
from mash_contracts.topics import hub_principals
from mash_runtime.firewall import generate

pytestmark = pytest.mark.unit


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


@pytest.fixture(params=sorted(PLATFORMS))
def generated(request, tmp_path):
    platform = PLATFORMS[request.param]
    deploy_init.write_secrets(platform, tmp_path)
    return platform, tmp_path


def test_every_node_speaks_tls_with_scram_on_every_listener_and_denies_by_default(generated):
    platform, out = generated
    voters = ",".join(f"{n.node_id}@{n.host}:9093" for n in platform.nodes)
    for node in platform.nodes:
        props = properties((out / "kafka" / f"{node.name}.properties").read_text())
        protocols = dict(pair.split(":") for pair in props["listener.security.protocol.map"].split(","))
        listeners = [entry.split("://")[0] for entry in props["listeners"].split(",")]
        assert set(protocols.values()) == {"SASL_SSL"} and set(listeners) <= set(protocols), "a listener without TLS"
        assert "PLAINTEXT" not in props["listeners"] + props["advertised.listeners"]
        assert props["advertised.listeners"] == f"CLIENT://{node.host}:9092"
        assert props["sasl.enabled.mechanisms"] == props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
        assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
        assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        assert props["allow.everyone.if.no.acl.found"] == "false" and props["super.users"] == "User:admin"
        assert (props["node.id"], props["controller.quorum.voters"]) == (str(node.node_id), voters)
        assert props["offsets.topic.replication.factor"] == props["transaction.state.log.replication.factor"] == "3"
        assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
        assert props["default.replication.factor"] == "3" and props["unclean.leader.election.enable"] == "false"
        assert props["ssl.keystore.location"] == str(NODE_FILES / f"{node.name}.p12")
        assert props["ssl.truststore.location"] == str(NODE_FILES / "ca.pem")
        assert props["ssl.endpoint.identification.algorithm"] == "https"


def test_each_nodes_certificate_names_its_host_and_is_signed_by_the_hub_ca(generated):
    platform, out = generated
    ca = x509.load_pem_x509_certificate((out / "kafka" / "ca.pem").read_bytes())
    for node in platform.nodes:
        password = properties((out / "kafka" / f"{node.name}.properties").read_text())["ssl.keystore.password"]
        _, cert, _ = pkcs12.load_key_and_certificates((out / "kafka" / f"{node.name}.p12").read_bytes(), password.encode())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        assert names == [node.host]
        cert.verify_directly_issued_by(ca)


def test_the_admin_and_every_hub_principal_get_a_scram_user_at_format_and_each_service_its_own_password(generated):
    _, out = generated
    passwords = json.loads((out / "init" / "credentials.json").read_text())
    args = (out / "kafka" / "scram-users").read_text().split()
    users = {a.split("name=")[1].split(",")[0]: a.split("password=")[1].rstrip("]") for a in args[1::2]}
    assert set(args[0::2]) == {"--add-scram"} and all(a.startswith("SCRAM-SHA-512=[") for a in args[1::2])
    assert users == passwords and set(users) == {ADMIN, *hub_principals()}
    assert len(set(passwords.values())) == len(passwords)
    for service in SERVICES:
        own = out / "services" / service
        [assignment] = shlex.split((own / "kafka.env").read_text())  # as the shell reads it (tests/process run it)
        assert assignment == f"KAFKA_PASSWORD={passwords[service]}" and (own / "password").read_text() == passwords[service]
        assert (own / "kafka.env").stat().st_mode & 0o077 == 0
    assert json.loads((out / "provision" / "credentials.json").read_text()) == passwords


def test_run_again_it_keeps_the_ca_the_passwords_and_the_certificates_unless_asked_to_renew(generated):
    platform, out = generated
    kept = {p: p.read_bytes() for p in [out / "init" / "ca.pem", out / "init" / "credentials.json", out / "kafka" / "cluster-id"]}
    stores = {n.name: (out / "kafka" / f"{n.name}.p12").read_bytes() for n in platform.nodes}
    deploy_init.write_secrets(platform, out)
    assert {p: p.read_bytes() for p in kept} == kept
    assert {n: (out / "kafka" / f"{n}.p12").read_bytes() for n in stores} == stores
    deploy_init.write_secrets(platform, out, renew=True)
    assert {p: p.read_bytes() for p in kept} == kept
    assert all((out / "kafka" / f"{n}.p12").read_bytes() != s for n, s in stores.items())
    for node in platform.nodes:  # the properties name the new keystore's password
        password = properties((out / "kafka" / f"{node.name}.properties").read_text())["ssl.keystore.password"]
        pkcs12.load_key_and_certificates((out / "kafka" / f"{node.name}.p12").read_bytes(), password.encode())


def test_kubernetes_gets_a_script_that_loads_the_files_as_the_secrets_the_manifests_name(tmp_path):
    deploy_init.write_secrets(K8S, tmp_path)
    creations = [line for line in (tmp_path / "create-secrets.sh").read_text().splitlines() if "create secret" in line]
    for line in creations:
        for source in line.split("--from-file=")[1:]:
            path = source.split("=")[-1].strip()
            assert (tmp_path / path).exists(), f"{line}: {path} is not generated"
            assert not path.startswith("init"), "the CA's key and the init step's records stay out of the cluster"


class RecordingAdmin:
    """AIOKafkaAdminClient as topics.create_topics drives it on an empty cluster."""

    created: list = []

    def __init__(self, **client):
        self.client = client

    async def start(self):
        pass

    async def close(self):
        pass

    async def list_topics(self):
        return []

    async def create_topics(self, new):
        RecordingAdmin.created = list(new)
        return SimpleNamespace(topic_errors=[(t.name, 0, None) for t in new])


@pytest.mark.parametrize("platform", [COMPOSE, K8S], ids=lambda p: p.name)
def test_provisioning_creates_the_catalogue_at_three_replicas_two_in_sync_with_users_and_acls(platform, tmp_path, monkeypatch):
    deploy_init.write_secrets(platform, tmp_path)
    keys = tmp_path / "keys"
    generate(keys, hub_principals())  # what the init step made: the web front door is an enrolled referrer in it
    calls = {}

    async def alter(client, *, upsert=None, delete=None):
        calls["scram"] = (client, upsert)

    async def apply(access, agencies=None, timeout=30.0):
        calls["acls"] = (access, agencies)
        return len(acls.bindings(agencies))

    monkeypatch.setattr(topics, "AIOKafkaAdminClient", RecordingAdmin)
    monkeypatch.setattr(deploy_init, "answers", lambda access: True)
    monkeypatch.setattr(deploy_init.scram, "alter", alter)
    monkeypatch.setattr(topics.acls, "apply", apply)
    credentials = tmp_path / "provision" / "credentials.json"
    deploy_init.provision(platform.bootstrap, credentials, tmp_path / "provision" / "ca.pem", keys)

    expected = topics.wanted(enrolled(keys))
    assert any(t.name == "mash.acknowledgements.web" for t in expected)
    created = {t.name: t for t in RecordingAdmin.created}
    assert set(created) == {t.name for t in expected}
    for topic in expected:
        made = created[topic.name]
        assert (made.num_partitions, made.replication_factor) == (topic.partitions, 3)
        assert made.topic_configs == {**topic.configs, "min.insync.replicas": "2"}
    passwords = json.loads(credentials.read_text())
    client, upsert = calls["scram"]
    assert client["sasl_plain_username"] == ADMIN and client["security_protocol"] == "SASL_SSL"
    assert client["bootstrap_servers"] == platform.bootstrap
    assert upsert == {p: passwords[p] for p in hub_principals()}
    access, agencies = calls["acls"]
    assert agencies == enrolled(keys) and access.protocol == "SASL_SSL" and access.replication == 3
