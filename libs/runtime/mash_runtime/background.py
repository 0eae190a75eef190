"""The one task a part of a service runs for its lifetime (the relay's loop, audit anchoring, a service's clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class Background:
    def __init__(self, name: str):
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._task = asyncio.create_task(work(), name=self._name)

    async def stop(self) -> None:
        """Cancelled and awaited, so nothing it was doing is still running when the caller goes on."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
