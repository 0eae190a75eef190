"""A desk that lost its database, on the running mesh over the real broker: it refuses to start rather than answer
"no records found", and once an operator initialises a new empty store, `mash audit verify` fails for that desk,
naming the anchor of the chain that is gone. The session's desk is put back as it was afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from mash_cli import audit as audit_cli
from mash_contracts.topics import ACKNOWLEDGEMENTS, CONTRIBUTIONS, lanes
from mash_runtime.audit import audit_head
from mash_runtime.firewall.keys import write_secret
from mash_runtime.identity import identity_file
from mash_runtime.store import make_engine
from mash_tools.synthetic import Generator

from .test_mesh import referral_ids
from .watch import run

pytestmark = pytest.mark.integration
DESK = "police_desk"
POLICE_CONTRIBUTIONS = [n for t in CONTRIBUTIONS if t.name.endswith(".police") for n in lanes(t.name)]
SQLITE_FILES = ("", "-wal", "-shm")


def chain_head(store: Path) -> tuple[int, str]:
    engine = make_engine(f"sqlite:///{store}")
    with engine.connect() as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.entry_hash).where(audit_head.c.id == 1)).one()
    engine.dispose()
    return head.seq, head.entry_hash


def anchored(mesh, seq: int, entry_hash: str, timeout: float = 60.0) -> bool:
    """Poll mash.audit.anchors until the desk's anchor of this head is on it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found, _ = audit_cli.read_anchors(mesh.access)
        if any((a.seq, a.entry_hash) == (seq, entry_hash) for a in found.get(DESK, [])):
            return True
        time.sleep(1)
    return False


def test_a_desk_that_lost_its_store_refuses_to_start_and_its_new_chain_fails_against_its_anchor(mesh, watcher, capsys):
    submission = Generator(seed=uuid.uuid4().int).notification()
    run(watcher.submit(submission))

    def answered(seen) -> bool:
        refs = referral_ids(seen, {submission.submission_id})
        return bool(refs) and any(c.referral_id in refs for t in POLICE_CONTRIBUTIONS for c in seen.decoded(t))

    run(watcher.read_until([ACKNOWLEDGEMENTS.name, *POLICE_CONTRIBUTIONS], answered, timeout=90))
    assert mesh.stop(DESK)[DESK], "the desk drains on SIGTERM"
    store = Path(mesh.env(DESK)["MASH_STATE_DIR"]) / f"{DESK}.db"
    seq, entry_hash = chain_head(store)
    assert seq >= 1 and anchored(mesh, seq, entry_hash), "the desk anchored its head on the way down"

    kept_identity = identity_file(mesh.keys_dir, DESK).read_text()
    for suffix in SQLITE_FILES:  # the operator's mistake: the store is renamed away
        if Path(f"{store}{suffix}").exists():
            Path(f"{store}{suffix}").rename(f"{store}{suffix}.lost")
    try:
        started = subprocess.run(
            [sys.executable, "-m", f"mash_{DESK}"], env=mesh.env(DESK), capture_output=True, text=True, timeout=120
        )
        assert started.returncode != 0, "it must not start on an empty store"
        assert f"its store sqlite:///{store} is missing, but it was initialised as store" in started.stderr, started.stderr
        assert f"python -m mash_{DESK} init --replace" in started.stderr
        assert not store.exists(), "refusing made no empty store in its place"

        with pytest.raises(RuntimeError, match="--replace"):
            mesh.init(DESK)  # a plain init does not paper over the loss
        mesh.init(DESK, replace=True)  # the operator decides the records are gone for good
        capsys.readouterr()
        assert not audit_cli.verify(mesh)
        out = capsys.readouterr().out
        desk_report = out[out.index(f"{DESK}:") :].split("\n", 2)
        assert desk_report[0] == f"{DESK}: 0 entries, chain and signatures verify, but NOT the chain its service anchored", out
        assert f"anchor of entry {seq} (hash {entry_hash[:16]}..." in desk_report[1], out
        assert "the chain ends at entry 0" in desk_report[1], out
    finally:
        mesh.stop(DESK)
        for suffix in SQLITE_FILES:
            Path(f"{store}{suffix}").unlink(missing_ok=True)
            if Path(f"{store}{suffix}.lost").exists():
                Path(f"{store}{suffix}.lost").rename(f"{store}{suffix}")
        write_secret(identity_file(mesh.keys_dir, DESK), kept_identity)
        mesh.start(DESK)
        mesh.wait_ready(DESK)
    capsys.readouterr()
    audit_cli.verify(mesh)
    restored = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{DESK}:"))
    assert "chain and signatures verify, every anchor held" in restored, restored
