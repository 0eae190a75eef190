"""A consumer's batch as one transaction, and turns at a SQLite file's one write lock.

SQLite lets one transaction write at a time, and a connection waiting for the lock sleeps and polls (up to 100 ms a
time): a consumer committing a batch and starting the next at once would keep the relay, the clock and a manager's
action waiting for ever. Inside a process, writers therefore take turns first, in the order they asked, and a batch
gives its turn up at the next record when anyone is waiting."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session

from ..errors import TransientError

T = TypeVar("T")


class BatchAborted(TransientError):
    """The batch's transaction can no longer be used (a savepoint could not be rolled back): the whole batch is handed
    back to Kafka and redone, rather than its later records failing one by one."""


class WriterTurns:
    """First come, first served at the store's write lock, among this process's threads: a turn released while others
    wait passes to the longest waiting, so nobody can take it back first."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._held = False
        self._owner: int | None = None

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                # Its second connection would wait for the lock its first one holds, for ever.
                raise RuntimeError("a transaction opened inside another on the same SQLite store, in the same thread")
            if not self._held:
                self._held, self._owner = True, me
                return
            mine = threading.Event()
            self._queue.append(mine)
        mine.wait()  # handed over by release(): the turn is ours, still marked held
        self._owner = me

    def release(self) -> None:
        with self._guard:
            self._owner = None
            if self._queue:
                self._queue.popleft().set()
            else:
                self._held = False

    @property
    def waiting(self) -> bool:
        return bool(self._queue)

    @contextmanager
    def turn(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


class StoreBatch:
    """One transaction for a consumer's batch of records. Each `Database.transaction()` inside it is a savepoint, so
    a record that fails rolls back only its own work; the batch commits once, before its offsets are committed.
    The session lives on the consumer's own thread: every use of it, and the commit, goes through `run`."""

    def __init__(self, session: Session, executor: ThreadPoolExecutor, turns: WriterTurns | None, window: float = 0.05):
        self.session = session
        self.window = window  # the longest a record's effects wait for the records after it before they commit
        self.began = 0.0
        self.executor = executor
        self.turns = turns
        self.holding = False  # this batch's turn at the write lock, taken at its first statement
        self.open = True
        self.aborted = False
        self._thread: int | None = None

    async def run(self, fn: Callable[..., T], /, *args: object) -> T:
        work = functools.partial(contextvars.copy_context().run, self._on_own_thread, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    def _on_own_thread(self, fn: Callable[..., T], *args: object) -> T:
        self._thread = threading.get_ident()
        return fn(*args)

    def serves_this_thread(self) -> bool:
        """Only work run on the batch's own thread is part of it: a task or thread started inside the batch inherits
        its context, but never shares its session."""
        return self.open and self._thread == threading.get_ident()

    def take_turn(self) -> None:
        if not self.holding:
            if self.turns is not None:
                self.turns.acquire()
            self.holding, self.began = True, time.monotonic()

    def end(self, how: Callable[[], None]) -> None:
        """Commit or roll back, then pass the turn on (the next statement waits for another)."""
        try:
            how()
        finally:
            if self.holding:
                self.holding = False
                if self.turns is not None:
                    self.turns.release()

    def should_commit(self) -> bool:
        """Between records: commit now if another writer waits for the lock, or if the work done so far has waited
        long enough to be seen (the relay sends nothing of a batch until it commits)."""
        if not self.holding:
            return False
        return (self.turns is not None and self.turns.waiting) or time.monotonic() - self.began >= self.window
