"""docs/integration.md runs as written: every sh block, in order, in a fresh state directory."""

from __future__ import annotations

import os
import re
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
    env = {**os.environ, "WORK": str(tmp_path), "MASH_STATE_DIR": str(tmp_path / "state")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    try:
        result = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    finally:
        subprocess.run([str(REPO / "mash"), "down"], cwd=REPO, env=env, capture_output=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert re.search(r'^GUIDE-0001 \{.*"referral_id":"REF-', out, re.M), "the acknowledgement was read with kcat"
    assert "the early help service will take it forward" in out, "the outcome notice was read with kcat"
    assert '"outcome":"early_help"' in out, "early help opened its product"
    assert "Topic authorization failed" in out, "the broker refused what the ACLs do not allow"
    assert "Baldwin" not in (tmp_path / "ack.txt").read_text() + (tmp_path / "outcome.txt").read_text()
