"""Driving the mesh as a referrer does, for `mash bench`: submissions sent (all at once or at a steady rate), each
timed from its send to the last information product its decision routes (or the decision itself when it routes none).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mash_cli.agencies import DEFAULT_REFERRER
from mash_cli.kafka import ADMIN, Access
from mash_cli.principals import Principals
from mash_contracts import NotificationSubmission
from mash_contracts.topics import DECISIONS, PRODUCTS


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


@dataclass
class Run:
    """What one run of submissions gave: each watched referral's time to routed, and how long the run took."""

    latencies_ms: list[float]
    wall_s: float
    sent: int

    def summary(self) -> dict[str, float]:
        lat = self.latencies_ms
        return {
            "referrals": self.sent,
            "routed": len(lat),
            "referrals_per_s": len(lat) / self.wall_s if self.wall_s else 0.0,
            **{f"p{q}_ms": percentile(lat, q) for q in (50, 95, 99) if lat},
        }


async def drive(
    access: Access,
    principals: Principals,
    submissions: list[NotificationSubmission],
    *,
    rate: float | None = None,
    watch: set[str] | None = None,
    timeout: float = 600,
    progress: str = "",
) -> Run:
    """Send `submissions` (at `rate` per second, or all at once) and time the ones in `watch` (default: all) to routed."""
    from mash_intake.screening import referral_id_for

    consumer = AIOKafkaConsumer(
        DECISIONS.name,
        *(t.name for t in PRODUCTS),
        **access.client(ADMIN),
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="latest",
    )
    producer = AIOKafkaProducer(**access.client(DEFAULT_REFERRER), acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():  # positioned at the end before anything is sent
            await consumer.getmany(timeout_ms=100)
        for tp in consumer.assignment():
            await consumer.position(tp)
        ids = [referral_id_for(s, DEFAULT_REFERRER) for s in submissions]
        watched = set(ids) if watch is None else {r for r, s in zip(ids, submissions, strict=True) if s.submission_id in watch}
        records = [principals.submission_record(s) for s in submissions]  # sealed before the clock starts
        sent_at: dict[str, float] = {}
        started = time.monotonic()

        async def send() -> None:
            futures = []
            for i, (ref, record) in enumerate(zip(ids, records, strict=True)):
                if rate:
                    await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
                sent_at[ref] = time.monotonic()
                futures.append(await producer.send(**record))
            await asyncio.gather(*futures)

        sending = asyncio.create_task(send())
        expected: dict[str, int] = {}
        received: dict[str, int] = {}
        done: dict[str, float] = {}
        shown = 0.0
        while len(done) < len(watched) and time.monotonic() - started < timeout:
            if sending.done():
                sending.result()  # a producer that failed says so now, not after the timeout
            for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                for r in batch:
                    message = principals.read(tp.topic, r.key, r.value)
                    ref = message.referral_id
                    if tp.topic == DECISIONS.name:
                        expected[ref] = len(message.recipients)
                    else:
                        received[ref] = received.get(ref, 0) + 1
                    if ref in watched and ref in expected and received.get(ref, 0) >= expected[ref] and ref not in done:
                        done[ref] = time.monotonic()
            if progress and time.monotonic() - shown > 5:
                shown = time.monotonic()
                print(f"  {progress}: {len(sent_at)} sent, {len(done)} of {len(watched)} routed", flush=True)
        await sending
        if len(done) < len(watched):
            raise TimeoutError(f"{progress or 'run'}: {len(done)} of {len(watched)} referrals routed within {timeout:.0f} s")
        wall = (max(done.values()) if done else time.monotonic()) - started
        return Run([(done[r] - sent_at[r]) * 1000 for r in done], wall, len(submissions))
    finally:
        await producer.stop()
        await consumer.stop()
