"""Audit chains anchored outside their stores, on each real backend: a service queues its signed chain head
through its outbox, and a chain that verifies on its own but was cut short or replaced fails against its anchors."""

import pytest
from sqlalchemy import delete, select, update

from mash_contracts import AuditAnchor, decode
from mash_contracts.topics import AUDIT_ANCHORS
from mash_runtime.anchors import Anchoring, unheld
from mash_runtime.audit import AuditLog, audit_head, audit_log, verify
from mash_runtime.firewall import Directory, Firewall, generate
from mash_runtime.identity import expected
from mash_runtime.store import Database, outbox

pytestmark = pytest.mark.unit
SERVICE = "police_desk"


@pytest.fixture
def keys(tmp_path):
    generate(tmp_path / "keys", [SERVICE, "operations"])
    return tmp_path / "keys"


def service_store(url: str, keys, replace: bool = False) -> Database:
    Database.initialise(url, SERVICE, keys, replace=replace)
    return Database(url, identity=expected(keys, SERVICE))


def work(db: Database, keys, n: int) -> None:
    log = AuditLog(Firewall(SERVICE, keys).custody)
    for i in range(n):
        with db.transaction() as s:
            log.append(s, "researched", referral_id="REF-0123456789AB", reason=f"search {i}")


def queued_anchors(db: Database) -> list[AuditAnchor]:
    with db.transaction() as s:
        rows = s.execute(select(outbox.c.topic, outbox.c.key, outbox.c.payload).order_by(outbox.c.id)).all()
    assert all(r.topic == AUDIT_ANCHORS.name and r.key == SERVICE.encode() for r in rows)
    return [decode(AuditAnchor, r.payload) for r in rows]


def test_the_head_is_queued_once_per_move_signed_and_with_ids_and_hashes_only(durable_database_url, keys):
    db = service_store(durable_database_url, keys)
    anchoring = Anchoring(db, Firewall(SERVICE, keys), relay=None)
    assert anchoring.anchor() is None, "an empty chain has nothing to anchor"
    work(db, keys, 3)
    first = anchoring.anchor()
    assert anchoring.anchor() is None, "the same head is not queued twice"
    work(db, keys, 1)
    second = anchoring.anchor()
    assert [a.seq for a in queued_anchors(db)] == [first.seq, second.seq] == [3, 4]
    assert str(second.store_id) == db.identity.store_id
    assert set(AuditAnchor.model_fields) == {
        "schema_version",
        "message_id",
        "service",
        "store_id",
        "seq",
        "entry_hash",
        "at",
        "key_id",
        "signature",
    }, "no field that could carry personal data"
    assert unheld(db.engine, queued_anchors(db), Directory.load(keys)) == []
    db.dispose()


def test_a_chain_cut_short_verifies_on_its_own_but_not_against_its_anchor(durable_database_url, keys):
    db = service_store(durable_database_url, keys)
    work(db, keys, 5)
    anchor = Anchoring(db, Firewall(SERVICE, keys), relay=None).anchor()
    with db.transaction() as s:  # someone with the database but not the key drops the last entries and rewinds the head
        s.execute(delete(audit_log).where(audit_log.c.seq > 2))
        kept = s.execute(select(audit_log.c.entry_hash).where(audit_log.c.seq == 2)).scalar_one()
        s.execute(update(audit_head).values(seq=2, entry_hash=kept))
    assert verify(db.engine, Directory.load(keys)).ok, "the chain alone cannot tell"
    [problem] = unheld(db.engine, [anchor], Directory.load(keys))
    assert f"anchor of entry 5 (hash {anchor.entry_hash[:16]}" in problem and "the chain ends at entry 2" in problem
    db.dispose()


def test_a_replaced_chain_fails_against_the_old_stores_anchor(tmp_path, keys):
    url = f"sqlite:///{tmp_path / 'police_desk.db'}"
    db = service_store(url, keys)
    work(db, keys, 3)
    old = Anchoring(db, Firewall(SERVICE, keys), relay=None).anchor()
    db.dispose()
    (tmp_path / "police_desk.db").rename(tmp_path / "lost.db")
    db = service_store(url, keys, replace=True)
    work(db, keys, 6)  # longer than the old one, so only the hashes differ
    new = Anchoring(db, Firewall(SERVICE, keys), relay=None).anchor()
    [problem] = unheld(db.engine, [old, new], Directory.load(keys))
    assert f"anchor of entry 3 (hash {old.entry_hash[:16]}" in problem and f"store {old.store_id}" in problem
    assert "its entry 3 has hash" in problem and "(replaced)" in problem
    db.dispose()


def test_a_forged_anchor_is_reported_not_trusted(durable_database_url, keys):
    db = service_store(durable_database_url, keys)
    work(db, keys, 2)
    anchor = Anchoring(db, Firewall(SERVICE, keys), relay=None).anchor()
    forged = anchor.model_copy(update={"seq": 1})
    [problem] = unheld(db.engine, [forged], Directory.load(keys))
    assert "anchor of entry 1" in problem and "signature does not verify" in problem
    db.dispose()
