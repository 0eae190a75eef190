"""Each audit chain anchored outside its own store.

A chain verifies on its own only against itself: a store replaced by a fresh one, or cut back to an earlier
entry with its head rewritten, holds a perfectly good chain. So every service publishes its chain head, signed,
to mash.audit.anchors (at start, every `anchor_seconds` while the head moves, and on shutdown), through its
outbox like any other message; `mash audit verify` then requires each anchored entry, with that hash, to be in
the store's chain. The anchor carries ids and hashes only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from faststream import FastStream
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from mash_contracts import AuditAnchor, derived_id
from mash_contracts.topics import AUDIT_ANCHORS

from .audit import audit_head, audit_log, canonical
from .background import Background
from .calendar import as_utc
from .firewall import Firewall
from .firewall.keys import Directory, KeyCustody, KeyError_
from .store import Database, OutboxRelay, enqueue, outbox

log = logging.getLogger("mash.audit")
_DOMAIN = b"mash-audit-anchor-1\x1f"


def signed_part(anchor: AuditAnchor) -> bytes:
    return (
        _DOMAIN
        + canonical(
            {
                "service": anchor.service,
                "store_id": str(anchor.store_id),
                "seq": anchor.seq,
                "entry_hash": anchor.entry_hash,
                "at": as_utc(anchor.at).isoformat(),
                "key_id": anchor.key_id,
            }
        ).encode()
    )


def sign_anchor(custody: KeyCustody, store_id: str, seq: int, entry_hash: str, at: datetime) -> AuditAnchor:
    unsigned = AuditAnchor(
        message_id=derived_id("audit-anchor", store_id, str(seq)),
        service=custody.service,
        store_id=store_id,
        seq=seq,
        entry_hash=entry_hash,
        at=at,
        key_id=custody.signing_key_id(),
        signature="0" * 128,
    )
    return unsigned.model_copy(update={"signature": custody.sign(signed_part(unsigned)).hex()})


def _name(anchor: AuditAnchor) -> str:
    return (
        f"anchor of entry {anchor.seq} (hash {anchor.entry_hash[:16]}..., store {anchor.store_id}, "
        f"published {as_utc(anchor.at):%Y-%m-%d %H:%M:%S} UTC)"
    )


def forged(anchor: AuditAnchor, directory: Directory) -> str | None:
    """Why the anchor cannot be trusted, or None when the service's key signed it."""
    try:
        directory.verify_key(anchor.service, anchor.key_id).verify(bytes.fromhex(anchor.signature), signed_part(anchor))
    except KeyError_:
        return f"{_name(anchor)}: signed with key {anchor.key_id}, which {anchor.service} does not have"
    except (InvalidSignature, ValueError):
        return f"{_name(anchor)}: signature does not verify (forged)"
    return None


def unheld(engine: Engine, anchors: Iterable[AuditAnchor], directory: Directory) -> list[str]:
    """What the store's chain fails to hold of the service's anchors: a chain replaced (an anchored entry has
    another hash) or cut short (it ends before an anchored entry). Empty when every anchor is in the chain."""
    problems, trusted = [], []
    for anchor in anchors:
        if problem := forged(anchor, directory):
            problems.append(problem)
        else:
            trusted.append(anchor)
    seqs = sorted({a.seq for a in trusted})
    held: dict[int, str] = {}
    with engine.connect() as conn:
        for i in range(0, len(seqs), 500):  # within any database's limit on bound parameters
            chunk = seqs[i : i + 500]
            held |= dict(conn.execute(select(audit_log.c.seq, audit_log.c.entry_hash).where(audit_log.c.seq.in_(chunk))).all())
        last = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
    missing = sorted((a for a in trusted if held.get(a.seq) != a.entry_hash), key=lambda a: (a.seq, as_utc(a.at)))
    if missing:
        newest = missing[-1]
        why = (
            f"the chain ends at entry {last} (truncated or replaced)"
            if newest.seq > last
            else f"its entry {newest.seq} has hash {held[newest.seq][:16]}... (replaced)"
        )
        more = f"; {len(missing) - 1} earlier anchors are not in it either" if len(missing) > 1 else ""
        problems.append(f"{_name(newest)} is not in this chain: {why}{more}")
    return problems


class Anchoring:
    """Publishes the service's chain head through its outbox: at start, every `every` seconds when the head has
    moved, and on shutdown after the last handlers have committed."""

    def __init__(self, db: Database, firewall: Firewall, relay: OutboxRelay, every: float = 60.0):
        if db.identity is None:
            raise ValueError("anchoring needs a store initialised with an identity (`init`)")
        self._db, self._firewall, self._relay, self._every = db, firewall, relay, every
        self._store_id = db.identity.store_id
        self._loop = Background("audit-anchoring")

    def anchor(self) -> AuditAnchor | None:
        """Queue an anchor of the current head, unless it is already queued (or the chain is empty)."""
        with self._db.transaction() as s:
            if s.get_bind().dialect.name == "sqlite":
                # Write lock first, as AuditLog.append does: a read that later writes would fail, not wait, when
                # another process commits in between.
                s.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq))
            # FOR UPDATE: another instance anchoring the same head at once waits, then finds it queued (PostgreSQL).
            head = s.execute(
                select(audit_head.c.seq, audit_head.c.entry_hash).where(audit_head.c.id == 1).with_for_update()
            ).first()
            if head is None or head.seq == 0:
                return None
            message_id = str(derived_id("audit-anchor", self._store_id, str(head.seq)))
            if s.execute(select(outbox.c.id).where(outbox.c.message_id == message_id)).first():
                return None
            anchor = sign_anchor(self._firewall.custody, self._store_id, head.seq, head.entry_hash, datetime.now(UTC))
            enqueue(s, self._firewall, AUDIT_ANCHORS.name, anchor.service, anchor, message_id)
        return anchor

    async def _anchor(self) -> None:
        try:
            if await asyncio.to_thread(self.anchor):
                self._relay.wake()
        except Exception as e:  # the store briefly busy or away: the next round anchors the head it finds then
            log.warning("could not anchor the audit chain (%r); trying again in %.0fs", e, self._every)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self._anchor()

    async def start(self) -> None:
        await self._anchor()
        self._loop.start(self._run)

    async def stop(self, timeout: float = 10.0) -> None:
        await self._loop.stop()
        await self._anchor()
        try:  # the relay has drained by now: this sends the last anchor
            await asyncio.wait_for(self._relay.flush(), timeout)
        except Exception as e:
            log.warning("the last audit anchor waits in the outbox for the next start (%r)", e)

    def attach(self, app: FastStream) -> None:
        """After the relay's own hooks: anchoring starts once the relay runs, and its last anchor follows the drain."""
        app.after_startup(self.start)
        app.on_shutdown(self.stop)
