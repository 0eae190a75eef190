"""The unit tier keeps its promise (one process, no network): the guard in tests/conftest.py refuses both."""

import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_a_unit_test_cannot_start_a_process():
    with pytest.raises(AssertionError, match="started a process"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_a_unit_test_cannot_connect_a_socket():
    with socket.socket() as s, pytest.raises(AssertionError, match="connected a socket"):
        s.connect(("127.0.0.1", 9))


@pytest.mark.anyio
async def test_nor_through_the_event_loop():
    import asyncio

    with pytest.raises(AssertionError, match="connected a socket"):
        await asyncio.open_connection("127.0.0.1", 9)
