"""Process-level wiring shared by every service: logging, the run loop and the `init` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from faststream import FastStream
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from sqlalchemy import MetaData

from .background import Background
from .http import Served
from .identity import StoreRefused
from .settings import ServiceSettings
from .store import Database

# Fields a handler may attach to a log record with extra=...; anything else is left out on purpose,
# so a careless extra cannot leak a message body into the logs.
_SAFE_EXTRAS = ("referral_id", "agency", "dead_letter_id", "topic", "partition", "lag", "outcome", "level")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # the log line joins its referral's trace
            entry["trace_id"], entry["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        entry.update({k: getattr(record, k) for k in _SAFE_EXTRAS if hasattr(record, k)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry)


class Throttle(logging.Filter):
    """While the broker is away aiokafka reports the same connection failure thousands of times a second:
    each distinct message is let through once per window, with a count of what was held back."""

    def __init__(self, window: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window = window
        self.clock = clock
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        key, now = f"{record.name}:{record.msg}", self.clock()
        since, held = self._seen.get(key, (None, 0))
        if since is not None and now - since < self.window:
            self._seen[key] = (since, held + 1)
            return False
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.window:.0f}s)"
        return True


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(Throttle())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def make_app(broker: KafkaBroker, service: str) -> FastStream:
    return FastStream(broker, logger=logging.getLogger(f"mash.{service}"))


def run(build: Callable[[], FastStream | Served], first_retry: float = 1.0, max_retry: float = 30.0) -> None:
    """Run until SIGINT or SIGTERM; FastStream then stops consuming and finishes in-flight handlers.

    A broker that is not reachable at start-up (still booting, restarting) is waited for with backoff,
    rather than the service exiting: the app is built afresh for each attempt.
    """
    delay = first_retry
    while True:
        try:
            asyncio.run(build().run())
            return
        except KafkaError as e:  # the broker away or restarting (refused, no leader, topics not yet known)
            logging.getLogger("mash.service").warning("broker unreachable at start-up (%s); retrying in %.0fs", e, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_retry)
        except StoreRefused as e:
            # Not transient: waiting would not bring the records back, and starting would answer from nothing.
            logging.getLogger("mash.service").critical("%s", e)
            sys.exit(1)


def main(
    service: str, build: Callable[[], FastStream | Served], tables: Sequence[MetaData] = (), argv: list[str] | None = None
) -> None:
    """`python -m mash_<service>` runs the service on the store it was initialised with;
    `python -m mash_<service> init [--replace]` creates and stamps that store (once, before the first start)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["init"] and set(argv[1:]) <= {"--replace"}:
        settings = ServiceSettings()
        try:
            done = Database.initialise(settings.db_url(service), service, settings.keys_dir, *tables, replace="--replace" in argv)
        except StoreRefused as e:
            sys.exit(str(e))
        print(f"{service}: {done}")
        return
    if argv:
        sys.exit(f"usage: python -m mash_{service} [init [--replace]]")
    run(build)


def in_background(app: FastStream, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `work` (a service's clock or sweep) for the app's lifetime: started once the app is up, cancelled when it
    starts to shut down, before the outbox relay's last flush, so the work queues nothing after it."""
    loop = Background(getattr(work, "__name__", "background"))

    async def start() -> None:
        loop.start(work)

    app.on_shutdown(loop.stop)
    app.after_startup(start)
