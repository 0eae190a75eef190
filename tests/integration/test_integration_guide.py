"""docs/integration.md runs as written: every sh block, in order, in a fresh state directory, from a shell that
inherits nothing the guide does not set itself (no WORK, no Kafka or MASH settings but the state directory)."""

from __future__ import annotations

import os
import re
import stat
import subprocess

import pytest

from mash_cli.integrate import ensure_kcat
from mash_cli.paths import REPO

pytestmark = pytest.mark.integration
GUIDE = REPO / "docs" / "integration.md"


def test_the_integration_guide_works_as_written(tmp_path):
    ensure_kcat()  # Debian's package; the guide says how to install it
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) >= 5
    script = "set -euo pipefail\n" + "\n".join(blocks)
    # set -u: a variable the guide uses without defining it fails the run. mktemp -d lands under TMPDIR.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k != "WORK" and (not k.startswith(("KAFKA_", "MASH_")) or k in ("MASH_CACHE_DIR", "MASH_HOME"))
    }
    env = {**inherited, "MASH_STATE_DIR": str(tmp_path / "state"), "TMPDIR": str(tmp_path)}
    try:
        result = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    finally:
        subprocess.run([str(REPO / "mash"), "down"], cwd=REPO, env=env, capture_output=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    [work] = {p.parent.parent for p in tmp_path.glob("*/st_marys_academy/client.properties")}  # the guide's WORK=$(mktemp -d)
    school, early_help = work / "st_marys_academy", work / "early_help"
    for conf in (school / "client.properties", early_help / "client.properties"):
        assert stat.S_IMODE(conf.stat().st_mode) == 0o600, f"{conf} holds a password: owner only"
    assert re.search(r'^GUIDE-0001 \{.*"referral_id":"REF-', out, re.M), "the acknowledgement was read with kcat"
    assert "the early help service will take it forward" in out, "the outcome notice was read with kcat"
    assert '"outcome":"early_help"' in out, "early help opened its product with its own key"
    assert out.count("Topic authorization failed") >= 2, "the broker refused another referrer's replies and a recipient's reach"
    assert re.search(r"authentication", (school / "revoked.txt").read_text(), re.I), "a revoked agency cannot connect"
    assert "Baldwin" not in (school / "ack.txt").read_text() + (school / "outcome.txt").read_text()
    # The agencies' private keys never reached the hub: no file of its state holds them.
    for conf in (school / "client.properties", early_help / "client.properties"):
        text = conf.read_text()  # TLS to the brokers, verified against the hub's CA travelling beside the configuration
        assert "security.protocol=SASL_SSL" in text and f"ssl.ca.location={conf.parent / 'mash-hub-ca.pem'}" in text
        assert (conf.parent / "mash-hub-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    secrets_ = [
        b"".join(pem.read_bytes().split(b"\n")[1:-2])
        for d in (school, early_help)
        for pem in d.glob("*.pem")
        if pem.name != "mash-hub-ca.pem"  # the hub CA's certificate: public
    ]
    assert len(secrets_) == 4
    hub_files = [f for f in (tmp_path / "state").rglob("*") if f.is_file()]
    assert hub_files and not [f for f in hub_files for k in secrets_ if k in f.read_bytes()]
