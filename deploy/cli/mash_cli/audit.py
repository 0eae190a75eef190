"""`mash audit`: verify every service's chain of activity and answer who has seen a referral and what was
shared about a person. Reads each service's own store; needs the public key directory, and for person
queries the hub's subject pepper (so only the hub can turn a name into a token).

Verifying also reads every service's anchors from mash.audit.anchors (as operations): a chain that is sound
in itself but lacks an entry its service once anchored was replaced or cut short."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import date

from aiokafka import AIOKafkaConsumer, TopicPartition

from mash_contracts import AuditAnchor, UnreadableMessage, decode
from mash_contracts.topics import AUDIT_ANCHORS, OPERATIONS
from mash_runtime import anchors, audit
from mash_runtime.firewall import Directory
from mash_runtime.firewall.keys import load_pepper
from mash_runtime.store import make_engine

from .kafka import Access
from .mesh import SERVICES, Mesh


class AnchorsUnavailable(RuntimeError):
    """The anchors could not be read in full: verifying without them would miss a replaced chain."""


async def _read_anchors(access: Access, timeout: float) -> tuple[dict[str, list[AuditAnchor]], dict[str, list[str]]]:
    """Every anchor on the topic, by service, and the records that are not anchors (where, and why)."""
    found: dict[str, list[AuditAnchor]] = defaultdict(list)
    unreadable: dict[str, list[str]] = defaultdict(list)
    consumer = AIOKafkaConsumer(**access.client(OPERATIONS), enable_auto_commit=False, request_timeout_ms=int(timeout * 1000))
    try:
        await consumer.start()
        partitions = [TopicPartition(AUDIT_ANCHORS.name, p) for p in range(AUDIT_ANCHORS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            if time.monotonic() > deadline:
                raise AnchorsUnavailable(f"{AUDIT_ANCHORS.name} not read to its end within {timeout:.0f}s")
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    try:
                        anchor = decode(AuditAnchor, r.value)
                        found[anchor.service].append(anchor)
                    except UnreadableMessage as e:
                        key = r.key.decode(errors="replace") if r.key else "?"
                        unreadable[key].append(f"record {r.partition}@{r.offset} on {AUDIT_ANCHORS.name} is not an anchor: {e}")
    finally:
        await consumer.stop()
    return found, unreadable


def read_anchors(access: Access, timeout: float = 30.0) -> tuple[dict[str, list[AuditAnchor]], dict[str, list[str]]]:
    if not access.bootstrap:
        raise AnchorsUnavailable("no broker is known for this state directory")
    try:
        return asyncio.run(asyncio.wait_for(_read_anchors(access, timeout), timeout + 10))
    except AnchorsUnavailable:
        raise
    except Exception as e:  # broker away, credentials refused, topic missing: all mean "not checked"
        raise AnchorsUnavailable(str(e) or type(e).__name__) from e


def _engines(mesh: Mesh):
    for service in SERVICES:
        url = mesh.database_url(service)
        if url is not None:
            yield service, make_engine(url)


def verify(mesh: Mesh, offline: bool = False) -> bool:
    """Every chain, entry by entry, and (unless offline) against every anchor its service published."""
    directory = Directory.load(mesh.keys_dir)
    ok, anchored, unreadable = True, None, {}
    if offline:
        print("anchors not checked (--offline): a replaced or truncated chain would not show")
    else:
        try:
            anchored, unreadable = read_anchors(mesh.access)
        except AnchorsUnavailable as e:
            print(
                f"anchors: cannot read {AUDIT_ANCHORS.name} ({e}): a replaced or truncated chain would not show; "
                "start the broker, or verify the chains alone with --offline"
            )
            ok = False
    for key in set(unreadable) - set(SERVICES):  # under no service's key: reported here, not dropped
        print(f"{AUDIT_ANCHORS.name}: " + "; ".join(unreadable[key]))
        ok = False
    stores = dict(_engines(mesh))
    for service in SERVICES:
        held = (anchored or {}).get(service, [])
        problems = list(unreadable.get(service, []))
        engine = stores.get(service)
        if engine is None:
            if held or problems:
                newest = max(held, key=lambda a: a.seq, default=None)
                print(f"{service}: no store, but its chain was anchored" + (f" up to entry {newest.seq}" if newest else ""))
                ok = False
            continue
        report = audit.verify(engine, directory)
        if anchored is not None:
            problems += anchors.unheld(engine, held, directory)
        engine.dispose()
        sound = report.ok and not problems
        ok &= sound
        status = "chain and signatures verify" if report.ok else "TAMPERED"
        if anchored is not None and report.ok:
            status += (
                ", but NOT the chain its service anchored"
                if problems
                else f", every anchor held ({len(held)})"
                if held
                else ", not anchored yet"
            )
        print(f"{service}: {report.entries} entries, {status}")
        for problem in report.problems + problems:
            print(f"  {problem}")
    return ok


def _print(entries: list[dict]) -> None:
    for e in sorted(entries, key=lambda e: e["at"]):
        print(f"{e['at']:%Y-%m-%d %H:%M:%S} {e['service']:<15} {e['action']:<10} {e['referral_id'] or '-':<17} {e['reason']}")
    if not entries:
        print("no entries")


def _across_services(mesh: Mesh, query) -> list[dict]:
    entries = []
    for _, engine in _engines(mesh):
        entries += query(engine)
        engine.dispose()
    return entries


def seen(mesh: Mesh, referral_id: str) -> None:
    _print(_across_services(mesh, lambda engine: audit.who_has_seen(engine, referral_id)))


def shared(mesh: Mesh, *, nhs: str | None, family: str | None, given: str | None, dob: str | None) -> None:
    pepper = load_pepper(mesh.keys_dir)
    if nhs:
        token = audit.nhs_token(pepper, nhs)
    elif family and dob:
        token = audit.subject_token(pepper, family_name=family, given_name=given or "", date_of_birth=date.fromisoformat(dob))
    else:
        raise SystemExit("give --nhs, or --family and --dob (and --given)")
    _print(_across_services(mesh, lambda engine: audit.shared_about(engine, token)))
