"""The project's own broker command: first start formats storage, starts are idempotent, stop is clean."""

from __future__ import annotations

import os

import pytest

from mash_cli import processes
from mash_cli.kafka import LocalKafka, answers

pytestmark = pytest.mark.integration


def test_start_is_idempotent_handles_a_stale_pid_and_stops_cleanly(tmp_path):
    broker = LocalKafka(tmp_path / "kafka")
    try:
        access = broker.start()
        pid = broker.pid()
        assert pid and answers(access)
        assert (tmp_path / "kafka" / "data" / "meta.properties").exists(), "KRaft storage was formatted"

        assert broker.start() == access and broker.pid() == pid, "a second start is a no-op"

        assert broker.stop() and not processes.alive(pid)
        assert broker.status() == "stopped" and not answers(access, timeout=2)

        broker.pid_file.write_text(str(os.getpid()))  # a live pid that is not Kafka: stale
        assert broker.pid() is None and not broker.pid_file.exists()
        broker.pid_file.write_text("999999999")  # a dead pid: stale
        assert broker.start() == access, "restart on the same storage and ports"
        assert broker.pid() not in (None, pid)
    finally:
        broker.stop()
    assert broker.pid() is None
