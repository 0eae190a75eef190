"""With no broker answering, an aiokafka client's callers ask for metadata again the moment an update fails; the
runtime's backoff makes each failed update wait, so a down broker is asked about once a second, not hundreds of
times (which starved the broker's own restart on a two-core machine)."""

import asyncio
import logging

import pytest
from aiokafka.client import AIOKafkaClient

from mash_runtime import metadata_backoff

pytestmark = pytest.mark.unit


async def hammer(client: AIOKafkaClient, seconds: float) -> None:
    """What aiokafka's fetcher and sender do while leaders are unknown: ask again as soon as the last answer came."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        await asyncio.wait([asyncio.ensure_future(client.force_metadata_update())], timeout=until - loop.time())


def attempts_in(seconds: float, answers) -> int:
    calls = []

    async def update(self, cluster_metadata, topics) -> bool:
        calls.append(asyncio.get_running_loop().time())
        return answers(len(calls))

    async def run() -> None:
        client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9", retry_backoff_ms=100)
        client._md_update_waiter = asyncio.get_running_loop().create_future()
        synchronizer = asyncio.create_task(client._md_synchronizer())
        try:
            await hammer(client, seconds)
        finally:
            synchronizer.cancel()

    original = metadata_backoff._update
    metadata_backoff._update = update
    try:
        asyncio.run(run())
    finally:
        metadata_backoff._update = original
    return len(calls)


class Failures(logging.Handler):
    """aiokafka's own report of each failed update: counted whatever does the waiting."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        self.count += record.getMessage().startswith("Unable to update metadata")


def test_a_client_asks_a_down_broker_at_most_about_once_a_second():
    metadata_backoff.install()
    failures = Failures()
    logging.getLogger("aiokafka").addHandler(failures)

    async def run() -> None:
        # No broker known and none to bootstrap from: aiokafka's own update fails at once, without the network.
        client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9", retry_backoff_ms=100)
        client._md_update_waiter = asyncio.get_running_loop().create_future()
        synchronizer = asyncio.create_task(client._md_synchronizer())
        try:
            await hammer(client, 4.0)
        finally:
            synchronizer.cancel()

    try:
        asyncio.run(run())
    finally:
        logging.getLogger("aiokafka").removeHandler(failures)
    # 0.1 + 0.2 + 0.4 + 0.8 + 1.0 + 1.0 ... seconds between attempts: 7 or so in 4 s. Without the backoff, thousands.
    assert 3 <= failures.count <= 8


def test_an_answer_resets_the_wait():
    metadata_backoff.install()
    # Down for four attempts (0.1 + 0.2 + 0.4 + 0.8 s), then answering: back to prompt updates at once.
    assert attempts_in(3.0, lambda n: n > 4) > 100
