"""`mash audit verify`, as an operator runs it, over a service's real store."""

import subprocess
import sys

import pytest
from sqlalchemy import delete, update

from mash_cli.kafka import Access
from mash_cli.mesh import Mesh
from mash_runtime.audit import AuditLog, audit_log
from mash_runtime.firewall import FileCustody, generate
from mash_runtime.store import Database

pytestmark = pytest.mark.process


def verify_command(state, offline: bool = True) -> subprocess.CompletedProcess:
    # No broker in this tier: the chains alone (the anchors are checked over the real broker, tests/integration).
    return subprocess.run(
        [sys.executable, "-m", "mash_cli", "audit", "verify", "--state", str(state), *(["--offline"] if offline else [])],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def state(tmp_path):
    mesh = Mesh(Access(""), tmp_path)
    generate(mesh.keys_dir, ["police_desk"])
    path = tmp_path / "services" / "police_desk"
    path.mkdir(parents=True)
    db = Database(f"sqlite:///{path / 'police_desk.db'}")
    log = AuditLog(FileCustody(mesh.keys_dir, "police_desk"))
    for action in ("researched", "shared", "researched", "declined"):
        with db.transaction() as s:
            log.append(s, action, referral_id="REF-0123456789AB", reason=f"{action} under policy")
    yield tmp_path, db
    db.dispose()


def test_an_intact_chain_verifies(state):
    result = verify_command(state[0])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "police_desk: 4 entries, chain and signatures verify" in result.stdout


def test_an_edited_entry_is_detected(state):
    root, db = state
    with db.transaction() as s:
        s.execute(update(audit_log).where(audit_log.c.seq == 2).values(reason="nothing was shared"))
    result = verify_command(root)
    assert result.returncode == 1 and "TAMPERED" in result.stdout and "entry 2" in result.stdout


def test_a_deleted_entry_is_detected(state):
    root, db = state
    with db.transaction() as s:
        s.execute(delete(audit_log).where(audit_log.c.seq == 3))
    result = verify_command(root)
    assert result.returncode == 1 and "entry 4" in result.stdout


def test_without_the_anchors_verify_does_not_pass_quietly(state):
    result = verify_command(state[0], offline=False)  # and no broker for this state
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot read mash.audit.anchors" in result.stdout and "--offline" in result.stdout
