import os
import subprocess
import sys

import pytest

from mash_cli import processes

pytestmark = pytest.mark.process


def test_a_just_spawned_process_is_never_mistaken_for_a_stale_pid(tmp_path):
    """Right after exec, /proc/<pid>/cmdline can read empty; the pid file must survive that moment."""
    for i in range(20):
        pid_file = tmp_path / f"p{i}.pid"
        pid = processes.spawn([sys.executable, "-c", "import time; time.sleep(5)"], tmp_path / "log", pid_file)
        try:
            assert processes.read_pid(pid_file, "time.sleep") == pid
            assert pid_file.exists()
        finally:
            assert processes.terminate(pid, timeout=5)
        assert not processes.alive(pid)


def test_a_reused_pid_is_stale(tmp_path):
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(str(os.getpid()))  # alive, but not the program the file is about
    assert processes.read_pid(pid_file, "kafka.Kafka") is None and not pid_file.exists()


def test_terminate_kills_what_ignores_sigterm(tmp_path):
    pid = processes.spawn(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"],
        tmp_path / "log",
        tmp_path / "y.pid",
    )
    subprocess.run(["sleep", "0.3"])
    assert processes.terminate(pid, timeout=1) is False  # needed SIGKILL
    assert not processes.alive(pid)
