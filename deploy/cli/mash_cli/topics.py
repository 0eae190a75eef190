"""Create every topic in the catalogue, explicitly, with its partition count and configuration, and the ACLs that
go with it. Idempotent: a topic that exists with another max.message.bytes (made by an older version) is brought
back to the catalogue's, since the dead-letter sizing rests on every topic's limit."""

from __future__ import annotations

from dataclasses import replace

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from mash_contracts.topics import CATALOGUE, Topic

from . import acls
from .kafka import ADMIN, Access, KafkaError

TOPIC_ALREADY_EXISTS = 36
DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' config_source for a value set on the topic itself


def wanted(agencies: dict[str, tuple[str, ...]] | None = None) -> list[Topic]:
    """The catalogue's topics, each per-referrer family once for every enrolled referrer."""
    referrers = sorted(n for n, roles in (agencies or {}).items() if "referrer" in roles)
    return [t for t in CATALOGUE if not t.per_referrer] + [
        replace(t, name=t.for_referrer(r), per_referrer=False) for t in CATALOGUE if t.per_referrer for r in referrers
    ]


async def create_topics(access: Access, agencies: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Every topic and ACL for the hub and the enrolled agencies (name -> roles, as the key directory lists them)."""
    topics = wanted(agencies)
    admin = AIOKafkaAdminClient(**access.client(ADMIN))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(t.name, t.partitions, access.replication, topic_configs=_configs(t, access)) for t in missing]
            )
            _raise_on_errors(
                "creating", [(e[0], e[1], e[2] if len(e) > 2 else "") for e in response.topic_errors], ignore=TOPIC_ALREADY_EXISTS
            )
        await _align(admin, [t for t in topics if t.name in existing], access)
    finally:
        await admin.close()
    await acls.apply(access, agencies)
    return [t.name for t in missing]


def _configs(topic: Topic, access: Access) -> dict[str, str]:
    """The catalogue's configuration, and on a cluster the writes' durability: an acks=all write is taken only
    once two replicas hold it."""
    return {**topic.configs, "min.insync.replicas": str(access.min_insync)}


async def _align(admin: AIOKafkaAdminClient, topics: list[Topic], access: Access) -> None:
    if not topics:
        return
    described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t.name) for t in topics])
    resources = [r for response in described for r in response.to_object()["resources"]]
    _raise_on_errors("describing", [(r["resource_name"], r["error_code"], r["error_message"]) for r in resources])
    own = {
        r["resource_name"]: {
            e["config_names"]: e["config_value"] for e in r["config_entries"] if e.get("config_source") == DYNAMIC_TOPIC_CONFIG
        }
        for r in resources
    }
    drifted = [t for t in topics if any(own[t.name].get(k) != v for k, v in _configs(t, access).items())]
    if not drifted:
        return
    # AlterConfigs replaces a topic's whole set of overrides: the ones it has are passed back with the catalogue's.
    altered = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t.name, configs={**own[t.name], **_configs(t, access)}) for t in drifted]
    )
    _raise_on_errors(
        "configuring",
        [
            (r["resource_name"], r["error_code"], r["error_message"])
            for response in altered
            for r in response.to_object()["resources"]
        ],
    )


def _raise_on_errors(doing: str, results: list[tuple[str, int, str | None]], ignore: int | None = None) -> None:
    failed = [f"{name}: error {code} {message or ''}".strip() for name, code, message in results if code not in (0, ignore)]
    if failed:
        raise KafkaError(f"{doing} topics failed: {'; '.join(failed)}")
