"""Thin handlers: store the message, then wake the relay for whatever the transaction put in the outbox."""

from __future__ import annotations

import asyncio
import logging

from mash_contracts import Contribution, Notification
from mash_runtime.consuming import Source
from mash_runtime.store import OutboxRelay

from .assembly import Assembly

log = logging.getLogger("mash.decision")


class DecisionHandlers:
    def __init__(self, assembly: Assembly, relay: OutboxRelay):
        self.assembly = assembly
        self.relay = relay

    async def on_notification(self, notification: Notification, _source: Source) -> None:
        await self._after(await self.assembly.db.run(self.assembly.record_notification, notification), notification.referral_id)

    async def on_contribution(self, contribution: Contribution, source: Source) -> None:
        await self._after(
            await self.assembly.db.run(self.assembly.record_contribution, contribution, source.value, source.topic),
            contribution.referral_id,
        )

    async def keep_time(self, every: float) -> None:
        """The clock: deadlines are checked, and decisions a manager made through the CLI are relayed."""
        while True:
            await asyncio.sleep(every)
            try:
                if await asyncio.to_thread(self.assembly.sweep):
                    self.relay.wake()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed sweep is retried at the next tick; the work is idempotent
                log.exception("deadline sweep failed")

    async def _after(self, decided: bool, referral_id: str) -> None:
        if not decided:
            return  # nothing was queued; rows a crash left behind go out at start-up or with the next decision
        log.info("decided", extra={"referral_id": referral_id})
        # The products are committed in the outbox; the relay sends them (at the next start, after a crash).
        self.relay.wake()
