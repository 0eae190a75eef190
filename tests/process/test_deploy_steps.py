"""The deployment's one-shot steps as processes: the hub step makes a service's store through the service's own
`init`, and a compose service's shell wrapper hands the service the password from its own secrets volume."""

import os
import subprocess
import sys

import pytest
import yaml

from mash_cli import compose, deploy_init
from mash_cli.deployment import COMPOSE, HUB_UID, KAFKA_UID, SECRETS
from mash_cli.mesh import SERVICES

pytestmark = pytest.mark.process


def test_the_hub_step_makes_the_keys_and_a_services_store_through_its_own_init(tmp_path):
    keys, state = tmp_path / "keys", tmp_path / "state"
    deploy_init.set_up_hub(keys, state, ["intake"])
    assert (keys / "directory.json").exists() and (state / "intake" / "intake.db").exists()
    stamp = (keys / "intake" / "store.json").read_bytes()
    deploy_init.set_up_hub(keys, state, ["intake"])  # run again (every `docker compose up`): the same store
    assert (keys / "intake" / "store.json").read_bytes() == stamp


def test_a_compose_service_starts_with_the_password_from_its_own_secrets_volume(tmp_path):
    deploy_init.write_secrets(COMPOSE, tmp_path)
    spec = yaml.safe_load(compose.render())["services"]["police_desk"]
    # As compose runs it ($$ is compose's escape for $), with the volume's files where this test wrote them.
    entrypoint = [
        part.replace("$$", "$").replace(str(SECRETS), str(tmp_path / "services" / "police_desk")) for part in spec["entrypoint"]
    ]
    shown = [sys.executable, "-c", "import os; print(os.environ['KAFKA_PASSWORD'])"]
    out = subprocess.run([*entrypoint, *shown], capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == (tmp_path / "services" / "police_desk" / "password").read_text()


def test_compose_init_leaves_every_volume_owned_by_its_reader_and_keeps_the_stores_when_run_again(tmp_path):
    """As compose runs it: as root, handing each volume's files to the user who reads them."""
    if os.geteuid() != 0:
        pytest.fail("compose's init step runs as root (it hands each volume to its reader); run this tier as root")
    deploy_init.compose_init(tmp_path)
    owners = {p.name: {f.stat().st_uid for f in [p, *p.rglob("*")]} for p in tmp_path.iterdir()}
    assert owners["kafka"] == owners["kafka-data"] - {0} == {KAFKA_UID}
    assert owners["provision"] == owners["services"] - {0} == owners["keys"] == owners["state"] - {0} == {HUB_UID}
    assert owners["init"] == {0}
    for service in SERVICES:
        assert (tmp_path / "state" / service / f"{service}.db").stat().st_uid == HUB_UID
        assert (tmp_path / "keys" / service / "store.json").stat().st_uid == HUB_UID
    stamps = {s: (tmp_path / "keys" / s / "store.json").read_bytes() for s in SERVICES}
    deploy_init.compose_init(tmp_path)  # the next `docker compose up`
    assert {s: (tmp_path / "keys" / s / "store.json").read_bytes() for s in SERVICES} == stamps
