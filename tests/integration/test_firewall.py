"""The firewall on the running mesh: tampered and forged messages are refused and recorded, a canary name
never appears in plaintext outside the hub's decrypted view, and a shredded case can no longer be opened."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from mash_cli import audit as audit_cli
from mash_cli import retention
from mash_cli.mesh import SERVICES
from mash_contracts import Agency, ConcernCategory
from mash_contracts.topics import (
    CATALOGUE,
    CONTRIBUTIONS,
    DEAD_LETTERS,
    NOTIFICATIONS,
    PRODUCTS,
    by_name,
    contributions_topic,
    lanes,
)
from mash_runtime.audit import verify, who_has_seen
from mash_runtime.firewall import Directory, SealError
from mash_runtime.store import make_engine, outbox
from mash_tools.synthetic import Generator

from .test_mesh import FLOW, referral_ids, routed
from .watch import Seen, run

pytestmark = pytest.mark.integration
POLICE = contributions_topic(Agency.POLICE)


@pytest.fixture
def fresh() -> Generator:
    return Generator(seed=uuid.uuid4().int)  # fresh submission ids, so no other test's records share the key


def routine(generator: Generator):
    """A notification that screens below Red, so its contributions travel the routine lane this test tampers with."""
    s = generator.notification()
    return s.model_copy(
        update={"concern": s.concern.model_copy(update={"categories": [ConcernCategory.OTHER], "immediate_danger": False})}
    )


def route(watcher, *submissions) -> tuple[Seen, list[str]]:
    run(watcher.submit(*submissions))
    ours = {s.submission_id for s in submissions}
    seen = run(
        watcher.read_until(FLOW, lambda s: len(referral_ids(s, ours)) == len(ours) and routed(s, referral_ids(s, ours)), settle=1)
    )
    refs = referral_ids(seen, ours)
    return seen, [
        next(
            r
            for r in refs
            if any(a.submission_id == s.submission_id and a.referral_id == r for a in seen.decoded("mash.acknowledgements"))
        )
        for s in submissions
    ]


def record_of(seen: Seen, topic: str, ref: str):
    return next(r for r in seen.records[topic] if r.key == ref.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_tampered_forged_and_replayed_contributions_are_refused_and_recorded(mesh, watcher, fresh):
    seen, (a, b) = route(watcher, routine(fresh), routine(fresh))
    original = json.loads(record_of(seen, POLICE, a).value)
    other = json.loads(record_of(seen, POLICE, b).value)

    flipped = json.loads(json.dumps(original))
    ct = bytearray(base64.b64decode(flipped["ciphertext"]))
    ct[len(ct) // 2] ^= 0x01
    flipped["ciphertext"] = _b64(bytes(ct))

    moved = json.loads(json.dumps(original))
    moved["header"]["referral_id"] = b  # and delivered under b, so only the signature can tell

    swapped = json.loads(json.dumps(original))
    swapped["wrapped_keys"] = other["wrapped_keys"]

    contribution = watcher.principals.read(POLICE, a.encode(), record_of(seen, POLICE, a).value)
    wrong_desk = watcher.principals.firewall("health_desk").wrap(POLICE, a, contribution)

    cases = {
        "flipped byte": (a, json.dumps(flipped).encode(), "signature check failed"),
        "referral id swapped in the header": (b, json.dumps(moved).encode(), "signature check failed"),
        "wrapped keys swapped": (a, json.dumps(swapped).encode(), "signature check failed"),
        "signed by the wrong desk": (a, wrong_desk, "health_desk may not write here"),
        "old contribution replayed into another referral": (b, record_of(seen, POLICE, a).value, "replay refused"),
    }
    sent = {name: run(watcher.publish_raw(POLICE, ref.encode(), value)) for name, (ref, value, _) in cases.items()}

    def letters(s: Seen) -> dict:
        by_offset = {(d.source_partition, d.source_offset): d for d in s.decoded(DEAD_LETTERS.name) if d.source_topic == POLICE}
        return {name: by_offset.get((m.partition, m.offset)) for name, m in sent.items()}

    seen = run(watcher.read_until([DEAD_LETTERS.name, *FLOW], lambda s: all(letters(s).values()), settle=2))
    outcomes = letters(seen)
    for name, (_, value, reason) in cases.items():
        letter = outcomes[name]
        assert letter.service == "decision" and letter.error_type == "SealError", name
        assert reason in letter.error, f"{name}: {letter.error}"
        assert watcher.principals.original_of(letter) == value, f"{name}: the dead letter keeps the original bytes"
    decisions = [d for d in seen.decoded("mash.decisions") if d.referral_id in (a, b)]
    assert sorted(d.referral_id for d in decisions) == sorted([a, b]), "no second decision from a forged message"
    print("\n" + "\n".join(f"  {name}: {outcomes[name].error}" for name in cases))


def test_a_canary_name_appears_in_plaintext_on_no_topic_log_or_outbox(mesh, watcher, fresh):
    canary = f"Canary{uuid.uuid4().hex[:10]}"
    submission = fresh.notification()
    child = submission.subjects[0].model_copy(update={"family_name": canary, "given_name": canary + "ina"})
    submission = submission.model_copy(update={"subjects": [child, *submission.subjects[1:]]})
    seen, [ref] = route(watcher, submission)
    assert any(canary in s.family_name for n in seen.lanes(NOTIFICATIONS.name) if n.referral_id == ref for s in n.subjects), (
        "the hub's decrypted view does hold the name: the canary is really in the referral"
    )

    # Every topic read raw with a plain consumer, from the beginning.
    raw = run(
        watcher.read_until(
            [t.name for t in CATALOGUE], lambda s: any(r.key == ref.encode() for r in s.records["mash.decisions"]), settle=1
        )
    )
    needles = [canary.encode(), canary.lower().encode(), canary.upper().encode()]
    for topic, records in raw.records.items():
        for r in records:
            blob = b"".join([r.key or b"", r.value or b"", *(v for _, v in r.headers)])
            assert not any(n in blob for n in needles), f"canary in plaintext on {topic}"
            assert not any(base64.b64encode(n) in blob for n in needles), f"canary base64-encoded on {topic}"
    for spans in (mesh.state_dir / "traces").glob("*.jsonl"):
        assert canary.lower() not in spans.read_text(errors="replace").lower(), f"canary in a span attribute ({spans.name})"
    for service in SERVICES:
        assert canary.lower() not in mesh.log_file(service).read_text(errors="replace").lower(), f"canary in {service}'s log"
        engine = make_engine(mesh.database_url(service))
        with engine.connect() as conn:  # what leaves a service (outbox) and what auditors read (audit log)
            for row in conn.execute(select(outbox.c.payload, outbox.c.headers)):
                assert canary.encode() not in row.payload and canary not in json.dumps(row.headers), (
                    f"canary in {service}'s outbox"
                )
            for row in conn.execute(select(audit_log_table())):
                assert canary not in json.dumps([str(v) for v in row]), f"canary in {service}'s audit log"
        engine.dispose()


def audit_log_table():
    from mash_runtime.audit import audit_log

    return audit_log


def test_after_shredding_a_case_its_messages_cannot_be_opened_and_the_erasure_is_recorded(mesh, watcher, fresh):
    seen, [ref] = route(watcher, fresh.notification())
    topics = [*lanes(NOTIFICATIONS.name), *(n for t in CONTRIBUTIONS for n in lanes(t.name)), *(t.name for t in PRODUCTS)]
    sealed = [(t, r) for t in topics for r in seen.records[t] if r.key == ref.encode()]
    assert len(sealed) >= 1 + len(CONTRIBUTIONS) + 1
    for topic, r in sealed:  # readable before
        assert watcher.principals.read(topic, r.key, r.value).referral_id == ref

    done = retention.run(mesh, older_than=timedelta(0), referral_ids=(ref,))
    assert [d.referral_id for d in done] == [ref]

    hub_internal = [(t, r) for t, r in sealed if by_name(t).case_bound]
    sent_outside = [(t, r) for t, r in sealed if not by_name(t).case_bound]
    assert {t for t, _ in sent_outside} <= {t.name for t in PRODUCTS} and len(hub_internal) >= 1 + len(CONTRIBUTIONS)
    for topic, r in hub_internal:
        with pytest.raises(SealError, match="shredded"):
            watcher.principals.read(topic, r.key, r.value)
    # What was sent to an outside agency is that agency's record now: it still opens with the recipient's own key.
    for topic, r in sent_outside:
        assert watcher.principals.read(topic, r.key, r.value).referral_id == ref
    engine = make_engine(mesh.database_url("decision"))
    try:
        report = verify(engine, Directory.load(mesh.keys_dir))
        assert report.ok, report.problems
        from mash_decision.tables import notification_revisions, referrals

        with engine.connect() as conn:
            assert conn.execute(select(referrals).where(referrals.c.referral_id == ref)).first() is None, "the hub's copy is gone"
            assert (
                conn.execute(select(notification_revisions).where(notification_revisions.c.referral_id == ref)).first() is None
            ), "and every revision kept for the chronology"
            from mash_runtime.audit import audit_log

            actions = [row.action for row in conn.execute(select(audit_log.c.action).where(audit_log.c.referral_id == ref))]
        assert "shredded" in actions and "decided" in actions
        assert who_has_seen(engine, ref), "the record of who saw the case outlives the case"
    finally:
        engine.dispose()

    # The hub research service finds the tombstone and erases what it held to link the case's people.
    from mash_analysis.history import appearances, blocking

    analysis = make_engine(mesh.database_url("analysis"))
    try:
        deadline = time.monotonic() + 60
        while True:
            with analysis.connect() as conn:
                rows = conn.execute(select(appearances).where(appearances.c.referral_id == ref)).all()
                keys = conn.execute(select(blocking).where(blocking.c.appearance_id.in_([r.appearance_id for r in rows]))).all()
                erased = conn.execute(
                    select(audit_log.c.action).where(audit_log.c.referral_id == ref, audit_log.c.action == "shredded")
                ).all()
            if rows and all(r.erased for r in rows) and erased:
                break
            assert time.monotonic() < deadline, "the analysis service did not erase the shredded case's identifiers"
            time.sleep(0.5)
        assert all(r.family_name is None and r.date_of_birth is None and r.nhs_number is None for r in rows) and keys == []
    finally:
        analysis.dispose()
    assert audit_cli.verify(mesh)
    assert retention.run(mesh, older_than=timedelta(0), referral_ids=(ref,)) == [], "a shredded case is not shredded twice"
