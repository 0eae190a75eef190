"""Create every topic in the catalogue, explicitly, with its partition count, and the ACLs that go with it.
Idempotent."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mash_contracts.topics import CATALOGUE

from . import acls
from .kafka import ADMIN, Access


async def create_topics(access: Access) -> list[str]:
    admin = AIOKafkaAdminClient(**access.client(ADMIN))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in CATALOGUE if t.name not in existing]
        if missing:
            await admin.create_topics([NewTopic(t.name, t.partitions, 1) for t in missing])
    finally:
        await admin.close()
    await acls.apply(access)
    return [t.name for t in missing]
