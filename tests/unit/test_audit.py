"""The audit log on each real backend (SQLite, PostgreSQL): a chain that shows edits, deletions and forgeries."""

import hashlib
import json
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, insert, select, text, update

from mash_runtime.audit import (
    AuditLog,
    audit_head,
    audit_log,
    audit_metadata,
    nhs_token,
    shared_about,
    subject_token,
    verify,
    who_has_seen,
)
from mash_runtime.firewall.keys import Directory, FileCustody
from mash_runtime.store import Database

pytestmark = pytest.mark.unit
PEPPER = b"test-pepper-not-a-secret"


@pytest.fixture
def db(database_url):
    database = Database(database_url, audit_metadata)
    yield database
    database.dispose()


@pytest.fixture
def log(keys_dir):
    return AuditLog(FileCustody(keys_dir, "police_desk"))


@pytest.fixture
def directory(keys_dir):
    return Directory.load(keys_dir)


def append_n(db, log, n, referral_id="ref-1"):
    hashes = []
    for i in range(n):
        with db.transaction() as s:
            hashes.append(log.append(s, "researched", referral_id=referral_id, reason=f"step {i + 1}", detail={"n": i}))
    return hashes


def test_appended_entries_chain_and_verify(db, log, directory):
    hashes = append_n(db, log, 3)
    with db.transaction() as s:
        rows = s.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3]
    assert [r.entry_hash for r in rows] == hashes
    assert [r.prev_hash for r in rows] == ["0" * 64, *hashes[:2]]
    assert {r.actor for r in rows} == {"police_desk"}
    report = verify(db.engine, directory)
    assert (report.entries, report.ok, report.problems) == (3, True, [])


def test_an_edited_entry_is_named(db, log, directory):
    append_n(db, log, 4)
    with db.transaction() as s:
        s.execute(update(audit_log).where(audit_log.c.seq == 2).values(reason="nothing to see"))
    report = verify(db.engine, directory)
    assert not report.ok
    assert report.problems == ["entry 2: hash does not match its contents (edited)"]


def test_a_deleted_middle_entry_is_detected(db, log, directory):
    append_n(db, log, 5)
    with db.transaction() as s:
        s.execute(delete(audit_log).where(audit_log.c.seq == 3))
    report = verify(db.engine, directory)
    assert not report.ok and report.entries == 4
    assert any(p.startswith("entry 4:") and "missing (deleted)" in p for p in report.problems)
    assert "entry 4: previous hash does not match entry 2 (deleted or reordered)" in report.problems


def test_a_deleted_last_entry_is_detected_by_the_head(db, log, directory):
    append_n(db, log, 5)
    with db.transaction() as s:
        s.execute(delete(audit_log).where(audit_log.c.seq == 5))
    report = verify(db.engine, directory)
    assert report.problems == ["head points at entry 5 but the log ends at 4 (tail deleted)"]


def forge(db, keys_dir, key_id_from):
    """Append entry 3 as police_desk, hashed correctly, but signed by intake's key."""
    with db.transaction() as s:
        head = s.execute(select(audit_head).where(audit_head.c.id == 1)).one()
        fields = {
            "seq": head.seq + 1,
            "service": "police_desk",
            "at": datetime.now(UTC),
            "action": "shared",
            "referral_id": "ref-1",
            "actor": "police_desk",
            "reason": "forged",
            "subjects": [],
            "detail": {},
            "prev_hash": head.entry_hash,
            "key_id": FileCustody(keys_dir, key_id_from).signing_key_id(),
        }
        # the hash as documented, computed independently of the module
        hashed = {**fields, "at": fields["at"].isoformat()}
        entry_hash = hashlib.sha256(json.dumps(hashed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        signature = FileCustody(keys_dir, "intake").sign(entry_hash.encode()).hex()
        s.execute(insert(audit_log).values(**fields, entry_hash=entry_hash, signature=signature))
        s.execute(update(audit_head).values(seq=fields["seq"], entry_hash=entry_hash))


def test_a_forged_entry_signed_by_another_service_fails_its_signature(db, log, directory, keys_dir):
    append_n(db, log, 2)
    forge(db, keys_dir, key_id_from="police_desk")
    report = verify(db.engine, directory)
    assert report.problems == ["entry 3: signature does not verify"]


def test_a_forged_entry_naming_another_services_key_is_detected(db, log, directory, keys_dir):
    append_n(db, log, 2)
    forge(db, keys_dir, key_id_from="intake")
    report = verify(db.engine, directory)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("entry 3: signed with key sig-") and "police_desk does not have" in report.problems[0]


def test_unknown_actions_and_names_as_subjects_are_refused(db, log, directory):
    with pytest.raises(ValueError, match="unknown audit action"), db.transaction() as s:
        log.append(s, "peeked", referral_id="ref-1")
    with pytest.raises(ValueError, match="never names"), db.transaction() as s:
        log.append(s, "shared", referral_id="ref-1", subjects=["Jane Smith"])
    assert verify(db.engine, directory).entries == 0


def test_who_has_seen_and_shared_about(db, log):
    alice = subject_token(PEPPER, family_name="Smith", given_name="Alice", date_of_birth="2015-03-04")
    bob = nhs_token(PEPPER, "943 476 5919")
    with db.transaction() as s:
        log.append(s, "received", referral_id="ref-1", actor="intake", reason="referral arrived")
        log.append(s, "viewed", referral_id="ref-1", actor="user:jdoe", reason="triage")
        log.append(s, "researched", referral_id="ref-1", reason="records searched", subjects=[alice])
        log.append(s, "shared", referral_id="ref-1", reason="contribution", subjects=[alice], detail={"records": 2})
        log.append(s, "received", referral_id="ref-2", actor="intake")
        log.append(s, "decided", referral_id="ref-2", subjects=[bob])
        log.append(s, "routed", referral_id="ref-1", subjects=[alice, bob])
    seen = who_has_seen(db.engine, "ref-1")
    assert [(e["seq"], e["action"], e["actor"]) for e in seen] == [
        (1, "received", "intake"),
        (2, "viewed", "user:jdoe"),
        (3, "researched", "police_desk"),
    ]
    assert seen[1]["reason"] == "triage" and seen[0]["at"].tzinfo is not None
    assert [(e["seq"], e["action"]) for e in shared_about(db.engine, alice)] == [(4, "shared"), (7, "routed")]
    assert [(e["seq"], e["action"]) for e in shared_about(db.engine, bob)] == [(6, "decided"), (7, "routed")]
    assert shared_about(db.engine, alice)[0]["detail"] == {"records": 2}
    assert shared_about(db.engine, subject_token(PEPPER, family_name="X", given_name="Y", date_of_birth="2000-01-01")) == []


def test_subject_tokens_are_stable_and_discriminating():
    token = subject_token(PEPPER, family_name="Smith", given_name="Jane Ann", date_of_birth=date(2015, 3, 4))
    assert token.startswith("subj-") and len(token) == 5 + 64
    assert subject_token(PEPPER, family_name="  SMITH ", given_name="jane   ann", date_of_birth=" 2015-03-04") == token
    assert subject_token(PEPPER, family_name="Smith", given_name="Jane Ann", date_of_birth="2015-03-05") != token
    assert subject_token(b"other-pepper", family_name="Smith", given_name="Jane Ann", date_of_birth="2015-03-04") != token
    assert "smith" not in token.casefold()
    assert nhs_token(PEPPER, "943 476 5919") == nhs_token(PEPPER, "9434765919") != nhs_token(PEPPER, "9434765918")
    with pytest.raises(ValueError):
        nhs_token(PEPPER, "n/a")


def test_a_rolled_back_transaction_leaves_no_entries(db, log, directory):
    with pytest.raises(RuntimeError), db.transaction() as s:
        log.append(s, "received", referral_id="ref-1")
        log.append(s, "researched", referral_id="ref-1")
        raise RuntimeError("the state change failed")
    assert verify(db.engine, directory).entries == 0
    with db.transaction() as s:
        log.append(s, "received", referral_id="ref-1")
    report = verify(db.engine, directory)
    assert (report.entries, report.ok) == (1, True)
    with db.engine.connect() as conn:
        assert conn.execute(text("select seq from audit_log")).scalars().all() == [1]


@pytest.fixture
def shared_db(durable_database_url):
    database = Database(durable_database_url, audit_metadata)
    yield database
    database.dispose()


def test_concurrent_writers_keep_one_chain(shared_db, log, directory):
    """Writers on connections of their own: a store outside the process (in memory, every thread shares one)."""
    db = shared_db
    errors = []

    def writer(name):
        try:
            for i in range(10):
                with db.transaction() as s:
                    log.append(s, "viewed", referral_id="ref-1", actor=name, reason=f"look {i}")
        except Exception as exc:  # noqa: BLE001 - reported below, a thread cannot raise into the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"user:{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(db.engine, directory)
    assert (report.entries, report.ok, report.problems) == (40, True, [])
