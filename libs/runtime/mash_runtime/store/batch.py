"""A consumer's batch as one transaction, and turns at a SQLite file's one write lock.

SQLite lets one transaction write at a time, and a connection waiting for the lock sleeps and polls (up to 100 ms a
time): a consumer committing a batch and starting the next at once would keep the relay, the clock and a manager's
action waiting for ever. Writers therefore take turns first, in the order they asked, inside a process and between the
processes sharing the file (the instances of a service), and a batch gives its turn up at the next record when anyone
is waiting."""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import BinaryIO, TypeVar

from sqlalchemy.orm import Session

from ..errors import TransientError

T = TypeVar("T")


class BatchAborted(TransientError):
    """The batch's transaction can no longer be used (a savepoint could not be rolled back): the whole batch is handed
    back to Kafka and redone, rather than its later records failing one by one."""


class FileTurns:
    """Turns between the processes sharing one SQLite file, queued in the kernel on two lock files beside it.

    Left to SQLite's polling, a second instance behind a busy one waited up to 10 s for a single write (8 writes in
    15 s). Here a writer waits at the door while it waits for the turn, so the holder sees it there (`waiting`) and
    gives the turn up; and the holder, to take the turn again, must pass the door first, so it cannot come back before
    the waiter has had its turn. flock() locks belong to the open file, so a crashed process's go with it."""

    def __init__(self, database: str):
        self._paths = (f"{database}-door", f"{database}-turn")
        self._files: tuple[BinaryIO, BinaryIO] | None = None

    def _open(self) -> tuple[BinaryIO, BinaryIO]:
        # Opened at first use, and again after close(): a disposed store's engine can be used again too.
        if self._files is None:
            door, turn = (open(path, "ab") for path in self._paths)  # noqa: SIM115 - held until close()
            self._files = door, turn
        return self._files

    def acquire(self) -> None:
        door, turn = self._open()
        fcntl.flock(door, fcntl.LOCK_EX)
        try:
            fcntl.flock(turn, fcntl.LOCK_EX)
        finally:
            fcntl.flock(door, fcntl.LOCK_UN)

    def release(self) -> None:
        fcntl.flock(self._open()[1], fcntl.LOCK_UN)

    @property
    def waiting(self) -> bool:
        """Another process is at the door. Only the holder asks, and it never holds the door."""
        door = self._open()[0]
        try:
            fcntl.flock(door, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(door, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        files, self._files = self._files, None
        for f in files or ():
            f.close()


class WriterTurns:
    """First come, first served at the store's write lock, among this process's threads: a turn released while others
    wait passes to the longest waiting, so nobody can take it back first. With `between` (a SQLite file), the holder
    then takes the file's turn among processes as well."""

    def __init__(self, between: FileTurns | None = None) -> None:
        self._guard = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._held = False
        self._owner: int | None = None
        self._between = between

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                # Its second connection would wait for the lock its first one holds, for ever.
                raise RuntimeError("a transaction opened inside another on the same SQLite store, in the same thread")
            if not self._held:
                self._held, self._owner = True, me
                mine = None
            else:
                mine = threading.Event()
                self._queue.append(mine)
        if mine is not None:
            mine.wait()  # handed over by release(): the turn is ours, still marked held
            self._owner = me
        if self._between is not None:
            try:
                self._between.acquire()
            except BaseException:
                self._release_here()
                raise

    def release(self) -> None:
        try:
            if self._between is not None:
                self._between.release()
        finally:
            self._release_here()

    def _release_here(self) -> None:
        with self._guard:
            self._owner = None
            if self._queue:
                self._queue.popleft().set()
            else:
                self._held = False

    @property
    def waiting(self) -> bool:
        return bool(self._queue) or (self._between is not None and self._between.waiting)

    def close(self) -> None:
        if self._between is not None:
            self._between.close()

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
