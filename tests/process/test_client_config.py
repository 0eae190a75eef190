"""`mash kafka client-config`: a principal's connection settings hold its password, so the file is the owner's alone."""

import json
import os
import stat
import subprocess
import sys

import pytest

from mash_cli.__main__ import main

pytestmark = pytest.mark.process


@pytest.fixture
def state(tmp_path, monkeypatch):
    kafka = tmp_path / "state" / "kafka"
    kafka.mkdir(parents=True)
    (kafka / "server.properties").write_text("advertised.listeners=SASL_PLAINTEXT://127.0.0.1:19092\n")
    (kafka / "credentials.json").write_text(json.dumps({"admin": "a-secret", "referrers": "r-secret"}))
    (kafka / "cluster.json").write_text(json.dumps({"nodes": 1, "tls": True}))
    (kafka / "tls").mkdir()
    (kafka / "tls" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n(the hub CA's)\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("MASH_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def test_output_file_is_written_0600_from_the_first_byte(state):
    target = state / "referrers.conf"
    assert main(["kafka", "client-config", "referrers", "--output", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert "sasl.username=referrers" in text and "sasl.password=r-secret" in text
    assert "bootstrap.servers=127.0.0.1:19092" in text
    # TLS, verified against the hub's CA, whose certificate is written beside the configuration to travel with it
    beside = state / "mash-hub-ca.pem"
    assert "security.protocol=SASL_SSL" in text and f"ssl.ca.location={beside}" in text
    assert beside.read_text() == (state / "state" / "kafka" / "tls" / "ca.pem").read_text()


def test_an_existing_world_readable_file_is_replaced_by_an_owner_only_one(state):
    target = state / "referrers.conf"
    target.write_text("old")
    target.chmod(0o644)
    main(["kafka", "client-config", "referrers", "-o", str(target)])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and "r-secret" in target.read_text()


def test_a_shell_redirect_is_narrowed_to_the_owner_before_the_password_is_written(state):
    target = state / "redirected.conf"
    with open(target, "w") as out:  # what `> file` does: created 0644 under the usual umask
        os.chmod(target, 0o644)
        subprocess.run(
            [sys.executable, "-m", "mash_cli", "kafka", "client-config", "referrers"],
            stdout=out,
            env={**os.environ, "MASH_STATE_DIR": str(state / "state")},
            check=True,
            timeout=60,
        )
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "sasl.password=r-secret" in target.read_text()


@pytest.mark.parametrize(
    "argv,why",
    [
        (["agency", "add", "x", "--referrer", "--public-keys", "{pub}"], "2-48 characters"),
        (["agency", "add", "st_marys", "--referrer", "--public-keys", "{priv}"], "private key"),
        (["agency", "add", "st_marys", "--recipient", "--public-keys", "{pub}"], "a recipient is one of"),
        (["agency", "add", "intake", "--referrer", "--public-keys", "{pub}"], "hub's own principals"),
        (["agency", "add", "st_marys", "--public-keys", "{pub}"], "--referrer, --recipient or both"),
        (["agency", "rotate", "nobody", "--public-keys", "{pub}"], "not enrolled"),
        (["agency", "add", "st_marys", "--referrer", "--public-keys", "{pub}"], "broker is not running"),
    ],
    ids=["bad name", "private key sent", "not a recipient", "a hub service", "no role", "rotate unknown", "no broker"],
)
def test_agency_enrolment_refuses_plainly_before_touching_the_broker(tmp_path, monkeypatch, capsys, argv, why):
    from mash_runtime.firewall.keys import new_agency_keys

    monkeypatch.setenv("MASH_STATE_DIR", str(tmp_path / "state"))
    agency = tmp_path / "agency"
    (tmp_path / "pub.pem").write_bytes(new_agency_keys(agency))
    paths = {"pub": str(tmp_path / "pub.pem"), "priv": str(agency / "signing.pem")}
    assert main([a.format(**paths) for a in argv]) == 1
    assert why in capsys.readouterr().err
