"""The broker's ACLs, derived from the topic catalogue and the enrolled agencies: a principal may write a topic only
if the catalogue names it a writer, and read it only if it names it a reader. REFERRERS stands for each enrolled
referrer: each writes the front door and reads its own per-referrer topics, and no other referrer's. Everything
else is denied by the broker.

aiokafka has no CreateAcls call, so the request is built from its protocol structs (Kafka API key 30).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest_v1, DeleteAclsRequest, DescribeAclsRequest
from aiokafka.protocol.api import Request

from mash_contracts.topics import CATALOGUE, REFERRERS, hub_principals

from .kafka import ADMIN, Access

# Kafka's wire codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP = 2, 3
LITERAL, PREFIXED = 3, 4
READ, WRITE, DESCRIBE = 3, 4, 8
ALLOW = 3
ANY = 1
OPERATIONS = {READ: "read", WRITE: "write", DESCRIBE: "describe"}


@dataclass(frozen=True)
class Binding:
    resource_type: int
    name: str
    pattern: int
    principal: str
    operation: int

    @property
    def key(self) -> tuple:
        """As a broker describes it."""
        return (self.resource_type, self.name, self.pattern, f"User:{self.principal}", self.operation)

    def describe(self) -> str:
        kind = {TOPIC: "topic", GROUP: "group"}[self.resource_type]
        suffix = "*" if self.pattern == PREFIXED else ""
        return f"User:{self.principal} {OPERATIONS[self.operation]} {kind} {self.name}{suffix}"


def bindings(agencies: dict[str, tuple[str, ...]] | None = None) -> list[Binding]:
    """Every ACL: the hub's principals', and each enrolled agency's (name -> roles, as the key directory lists them)."""
    agencies = agencies or {}
    referrers = sorted(n for n, roles in agencies.items() if "referrer" in roles)
    recipients = {n for n, roles in agencies.items() if "recipient" in roles}
    out: list[Binding] = []
    for topic in CATALOGUE:
        for p in topic.writers:
            if topic.per_referrer:  # a writer of every referrer's topic of this family
                out.append(Binding(TOPIC, topic.name + ".", PREFIXED, p, WRITE))
            else:
                out.extend(Binding(TOPIC, topic.name, LITERAL, w, WRITE) for w in (referrers if p == REFERRERS else [p]))
        for p in topic.readers:
            if p == REFERRERS and topic.per_referrer:
                out.extend(Binding(TOPIC, topic.for_referrer(r), LITERAL, r, READ) for r in referrers)
            elif p == REFERRERS:
                out.extend(Binding(TOPIC, topic.name, LITERAL, r, READ) for r in referrers)
            elif p in hub_principals() or p in recipients:
                out.append(Binding(TOPIC, topic.name, LITERAL, p, READ))
    # Each principal commits offsets only in its own consumer groups: "<principal>" and "<principal>.<anything>".
    for p in sorted({*hub_principals(), *agencies}):
        out.append(Binding(GROUP, p, LITERAL, p, READ))
        out.append(Binding(GROUP, f"{p}.", PREFIXED, p, READ))
    return list(dict.fromkeys(out))


class _CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, creations: list[tuple]):
        self.creations = creations

    def build(self, request_struct_class):
        return request_struct_class(self.creations)


async def apply(access: Access, agencies: dict[str, tuple[str, ...]] | None = None, timeout: float = 30.0) -> int:
    """Create every binding (idempotent: the authorizer keeps one copy of an identical ACL)."""
    if not access.secured:
        return 0
    wanted = bindings(agencies)
    admin = AIOKafkaAdminClient(**access.client(ADMIN))
    await admin.start()
    try:
        creations = [(b.resource_type, b.name, b.pattern, f"User:{b.principal}", "*", b.operation, ALLOW) for b in wanted]
        response = await admin._send_to_controller(_CreateAcls(creations))
        errors = [(wanted[i].describe(), msg) for i, (code, msg) in enumerate(response.creation_responses) if code != 0]
        if errors:
            raise RuntimeError(f"the broker refused ACLs: {errors[:5]}")
        # ACLs reach each broker's authorizer through the metadata log a moment later, and each broker on its own
        # time; a client started before its broker has them is refused, so wait until every broker reports them.
        await _until_every_broker(admin, lambda held: {b.key for b in wanted} <= held, timeout, "the ACLs")
        return len(wanted)
    finally:
        await admin.close()


async def remove(access: Access, principal: str, timeout: float = 30.0) -> int:
    """Delete every ACL that names the principal: a revoked agency's open connections lose their rights at once
    (deleting its SCRAM user only stops new logins)."""
    if not access.secured:
        return 0
    admin = AIOKafkaAdminClient(**access.client(ADMIN))
    await admin.start()
    try:
        response = await admin._send_to_controller(DeleteAclsRequest(ANY, None, ANY, f"User:{principal}", None, ANY, ANY))
        results = response.filter_responses
        errors = [r for r in results if r[0] != 0]
        if errors:
            raise RuntimeError(f"the broker refused to delete ACLs for {principal}: {errors}")
        name = f"User:{principal}"
        await _until_every_broker(admin, lambda held: all(h[3] != name for h in held), timeout, f"{principal}'s ACLs gone")
        return sum(len(r[-1]) for r in results)
    finally:
        await admin.close()


async def _until_every_broker(admin: AIOKafkaAdminClient, holds, timeout: float, what: str) -> None:
    """Ask each broker in turn for the ACLs its own authorizer holds, until `holds` is true of every one."""
    deadline = time.monotonic() + timeout
    await admin._client.force_metadata_update()
    for broker in sorted(admin._client.cluster.brokers(), key=lambda b: b.nodeId):
        while not holds(await _held(admin, broker.nodeId)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"broker {broker.nodeId} does not hold {what} after {timeout:.0f}s")
            await asyncio.sleep(0.1)


async def _held(admin: AIOKafkaAdminClient, node_id: int) -> set[tuple]:
    response = await admin._send_request_to_node(node_id, DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY))
    return {
        (resource_type, name, pattern, acl[0], acl[2])
        for resource_type, name, pattern, acls in response.resources
        for acl in acls
        if acl[3] == ALLOW
    }


def matrix_markdown() -> str:
    """Principal x topic: what the broker allows (W write, R read, - nothing). `referrers` is each enrolled
    referrer; on a `{referrer}` topic, only the referrer it is named for."""
    from mash_contracts.topics import principals

    names = principals()
    rows = ["| topic | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for t in CATALOGUE:
        cells = [("W" if p in t.writers else "") + ("R" if p in t.readers else "") or "-" for p in names]
        rows.append(f"| `{t.address}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(matrix_markdown())
