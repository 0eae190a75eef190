"""Create every topic in the catalogue, explicitly, with its partition count. Idempotent."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mash_contracts.topics import CATALOGUE


async def create_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in CATALOGUE if t.name not in existing]
        if missing:
            await admin.create_topics([NewTopic(t.name, t.partitions, 1) for t in missing])
        return [t.name for t in missing]
    finally:
        await admin.close()
