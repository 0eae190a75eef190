"""The README's main command, run as a user would: it completes, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mash_cli import processes
from mash_cli.mesh import SERVICES

pytestmark = pytest.mark.integration


def start_demo(state: Path) -> subprocess.Popen:
    env = {**os.environ, "MASH_STATE_DIR": str(state)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "mash_tools", "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def leftovers(state: Path, service_pids: list[int]) -> list[str]:
    alive = [f"service pid {p}" for p in service_pids if processes.alive(p)]
    brokers = subprocess.run(["pgrep", "-f", f"{state}/demo/kafka"], capture_output=True, text=True).stdout.split()
    return alive + [f"broker pid {p}" for p in brokers]


def test_demo_routes_every_referral_and_stops_everything(tmp_path):
    demo = start_demo(tmp_path)
    out, _ = demo.communicate(timeout=240)
    assert demo.returncode == 0, out[-3000:]
    # Ten submissions, one a mixed household's: the children's referral and the adult at risk's.
    assert "11 referrals decided and routed, 1 malformed message dead-lettered and rejected" in out
    assert "the adult at risk's referral is REF-" in out and "outcome s42 enquiry, route allocated team (" in out
    assert len(re.findall(r"information product routed to", out)) >= 10
    assert "uncertain match(es) not shared" in out and ": declined" in out
    # The later concerns about the same children from other agencies are seen together by the hub's research.
    assert "multi_agency_low_level_concerns: 3 contacts from 3 agencies in 90 days" in out
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) == len(SERVICES) and leftovers(tmp_path, pids) == []


def test_ctrl_c_during_the_demo_leaves_no_process_behind(tmp_path):
    demo = start_demo(tmp_path)
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if "services running" in line:
            break
    time.sleep(0.5)
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=120)
    out = "".join(lines) + rest
    assert demo.returncode == 130 and "interrupted: shutting down" in out and "stopped the services and the broker" in out
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) == len(SERVICES) and leftovers(tmp_path, pids) == []
