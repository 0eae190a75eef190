"""Backing off when no broker answers a metadata request.

aiokafka's metadata loop answers a failed update at once, and its fetcher, coordinator and sender ask again at once:
with the broker down, each client retried about 500 times a second (measured: every service at a fifth of a core,
the whole of a two-core machine), and the broker, restarting beside them, took over 90 s to come back. Here a
failed update waits before it reports, doubling from the client's retry backoff up to a second, so every caller
waiting on it waits too; the first success resets it. With one broker of a cluster down the update succeeds
through another, so this only slows a total outage's retries, to one a second at most.
"""

from __future__ import annotations

import asyncio

from aiokafka.client import AIOKafkaClient

CAP = 1.0  # seconds: the longest a client then waits to notice the broker is back

_update = AIOKafkaClient._metadata_update
_installed = False


async def _metadata_update_backing_off(self: AIOKafkaClient, cluster_metadata: object, topics: object) -> bool:
    ok = bool(await _update(self, cluster_metadata, topics))
    if ok:
        self._mash_failed_updates = 0
        return ok
    failures = getattr(self, "_mash_failed_updates", 0)
    self._mash_failed_updates = failures + 1
    await asyncio.sleep(min(CAP, self._retry_backoff * 2**failures))
    return ok


def install() -> None:
    """For every aiokafka client in this process (once; a service's broker, its lag monitor)."""
    global _installed
    if not _installed:
        AIOKafkaClient._metadata_update = _metadata_update_backing_off
        _installed = True
