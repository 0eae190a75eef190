import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.process


@pytest.mark.parametrize("http", [False, True], ids=["no HTTP", "with health and metrics"])
def test_a_service_waits_for_an_unreachable_broker_instead_of_exiting(tmp_path, keys_dir, http):
    """With its HTTP routes too (as the mesh runs it): found by the fault tier, a broker restarting while a service
    started left it serving health checks with an app that consumed nothing."""
    own_keys = shutil.copytree(keys_dir, tmp_path / "keys")  # init keeps the store's identity beside the keys
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "MASH_STATE_DIR": str(tmp_path),
        "MASH_KEYS_DIR": str(own_keys),
        **({"MASH_HTTP_PORT": str(_free_port())} if http else {}),
    }
    subprocess.run([sys.executable, "-m", "mash_intake", "init"], env=env, check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "mash_intake"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        assert proc.poll() is None, "still running, still trying"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert err.count("broker unreachable at start-up") >= 2


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_service_without_keys_refuses_to_start(tmp_path):
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "MASH_STATE_DIR": str(tmp_path),
        "MASH_KEYS_DIR": str(tmp_path / "none"),
    }
    result = subprocess.run([sys.executable, "-m", "mash_intake"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "no keys for intake" in result.stderr
