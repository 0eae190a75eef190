"""The yardstick for `mash bench`: a plain aiokafka relay with the mesh's topology on the same broker.

Intake, one process per desk and the decision service become relays that do no work but the broker's: each consumes
its input topics in batches, produces a record of the size the mesh's sealed records have (acks=all, idempotent), and
commits its offsets after the batch is sent. Decision waits for every desk's record for a referral, as the mesh's
does, then writes the decision. The mesh's throughput over the relay's says what the hub's own work costs.
Same SASL listener, same topics and partitions; the relay runs as the operator (its ACLs are not what is measured).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mash_cli.kafka import ADMIN, Access
from mash_contracts.topics import DECISIONS, NOTIFICATIONS, NOTIFICATIONS_SUBMITTED, RESEARCHERS, contributions_topic

RECORD_BYTES = 2600  # a sealed notification, as the mesh carries it


async def _relay(access: Access, group: str, inputs: list[str], output: str, wait_for: int, ready: Any) -> None:
    # From the end of each topic (what the mesh left there is not the relay's), once it has its partitions.
    consumer = AIOKafkaConsumer(
        *inputs, **access.client(ADMIN), group_id=group, auto_offset_reset="latest", enable_auto_commit=False
    )
    producer = AIOKafkaProducer(**access.client(ADMIN), acks="all", enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    seen: dict[bytes, int] = {}
    payload = bytes(RECORD_BYTES)
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        for tp in consumer.assignment():
            await consumer.position(tp)
        ready.set()
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            sends = []
            for records in batches.values():
                for r in records:
                    seen[r.key] = seen.get(r.key, 0) + 1
                    if seen[r.key] == wait_for:
                        sends.append(await producer.send(output, payload, key=r.key))
            if sends:
                await asyncio.gather(*sends)
            if batches:
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


def _run(access: Access, group: str, inputs: list[str], output: str, wait_for: int, ready: Any) -> None:
    asyncio.run(_relay(access, group, inputs, output, wait_for, ready))


def relay_throughput(access: Access, referrals: int) -> float:
    """Referrals per second from the first submission to the last decision, through six (or more) relay processes."""
    run = uuid.uuid4().hex[:8]
    desks = [contributions_topic(a) for a in RESEARCHERS]  # the desks and the hub's own research
    stages = [(f"relay-{run}-intake", [NOTIFICATIONS_SUBMITTED.name], NOTIFICATIONS.name, 1)]
    stages += [(f"relay-{run}-{t}", [NOTIFICATIONS.name], t, 1) for t in desks]
    stages += [(f"relay-{run}-decision", desks, DECISIONS.name, len(desks))]
    context = multiprocessing.get_context("spawn")
    ready = [context.Event() for _ in stages]
    processes = [context.Process(target=_run, args=(access, *s, r), daemon=True) for s, r in zip(stages, ready, strict=True)]
    for p in processes:
        p.start()
    try:
        for r in ready:
            if not r.wait(120):
                raise TimeoutError("a relay process did not get its partitions within 120 s")
        return asyncio.run(_drive(access, run, referrals))
    finally:
        for p in processes:
            p.terminate()
            p.join(10)


async def _drive(access: Access, run: str, referrals: int) -> float:
    consumer = AIOKafkaConsumer(DECISIONS.name, **access.client(ADMIN), group_id=f"relay-{run}-watch", auto_offset_reset="latest")
    producer = AIOKafkaProducer(**access.client(ADMIN), acks="all", enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        for tp in consumer.assignment():
            await consumer.position(tp)
        keys = {f"relay-{run}-{i}".encode() for i in range(referrals)}
        payload = bytes(RECORD_BYTES)
        started = time.monotonic()
        await asyncio.gather(*[await producer.send(NOTIFICATIONS_SUBMITTED.name, payload, key=k) for k in keys])
        done: set[bytes] = set()
        while done != keys and time.monotonic() - started < 300:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                done |= {r.key for r in records} & keys
        if done != keys:
            raise TimeoutError(f"the relay decided {len(done)} of {referrals} referrals in 300 s")
        return referrals / (time.monotonic() - started)
    finally:
        await producer.stop()
        await consumer.stop()
