"""The manager's HTTP routes refuse a body of the wrong shape with a reason, before any value reaches the store: a
list as the referral id used to fail inside SQL (500, and the value in the log through the traceback), and a
missing manager was recorded as "None"."""

from __future__ import annotations

import asyncio
import json

import pytest

from helpers import MONDAY
from mash_contracts import ConcernCategory as C
from mash_contracts.topics import DESK_AGENCIES
from mash_decision.http import routes
from mash_intake.screening import accept

pytestmark = pytest.mark.unit
TOKEN = "t0ken"
RATIONALE = "Reasonable cause to suspect significant harm: the agencies' history must be checked today."


@pytest.fixture
def assembly(assembly_for, tmp_path):
    return assembly_for(f"sqlite:///{tmp_path / 'decision.db'}")


def call(assembly, path: str, body: bytes) -> tuple[int, dict]:
    handler = dict(routes(assembly, TOKEN))[path]
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"authorization", f"Bearer {TOKEN}".encode())]}
    asyncio.run(handler(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def referral(assembly, notification) -> str:
    assembly.record_notification(notification)
    return notification.referral_id


@pytest.mark.parametrize("path", ["/grounds", "/decisions"])
def test_a_body_of_the_wrong_shape_is_refused_with_a_reason(assembly, refused_s17, path):
    ref = referral(assembly, refused_s17)
    good = {"referral_id": ref, "manager": "k.manager", "kind": "s47", "action": "confirm", "rationale": RATIONALE}
    for body, reason in (
        ([1, 2], "JSON object"),
        ({**good, "referral_id": ["Mia Okafor"]}, "referral_id"),
        ({**good, "referral_id": {"name": "Mia Okafor"}}, "referral_id"),
        ({**good, "manager": None}, "manager"),
        ({**good, "manager": 7}, "manager"),
        ({**good, "manager": "  "}, "manager"),
    ):
        status, answer = call(assembly, path, json.dumps(body).encode())
        assert status == 400 and reason in answer["error"], (body, status, answer)
        assert "Okafor" not in answer["error"]


def test_grounds_over_http_need_a_sentence_not_a_word(assembly, refused_s17):
    ref = referral(assembly, refused_s17)
    status, answer = call(
        assembly,
        "/grounds",
        json.dumps({"referral_id": ref, "manager": "k.manager", "kind": "s47", "rationale": "Safeguarding"}).encode(),
    )
    assert status == 400 and "at least a sentence" in answer["error"]
    status, answer = call(
        assembly,
        "/grounds",
        json.dumps({"referral_id": ref, "manager": "k.manager", "kind": "s47", "rationale": RATIONALE}).encode(),
    )
    assert status == 200 and answer["recorded_by"] == "k.manager"


def get(assembly, path: str, query: bytes = b"", token: str = TOKEN) -> tuple[int, dict]:
    """A GET through the service's own route matching (a path with parameters, as served)."""
    from mash_runtime.http import match

    handler, parameters = match(routes(assembly, TOKEN), path)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "path_params": parameters,
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    asyncio.run(handler(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_a_referrals_chronology_over_http_every_revision_the_desks_items_and_the_decision(assembly, generator, caplog):
    from datetime import date, timedelta

    from mash_contracts import Agency, Contribution, ContributionStatus, SharedItem, derived_id

    caplog.set_level("INFO", logger="mash.decision")
    s = generator.notification()
    s = s.model_copy(
        update={
            "concern": s.concern.model_copy(
                update={"categories": [C.NEGLECT], "immediate_danger": False, "occurred_at": MONDAY - timedelta(days=1)}
            )
        }
    )
    first = accept(
        s, MONDAY - timedelta(hours=3), referrer_system="northshire_schools"
    )  # the service's clock stands at MONDAY: it decides last
    second = first.model_copy(
        update={
            "revision": 2,
            "received_at": MONDAY - timedelta(hours=2),
            "changes": ["concern"],
            "concern": first.concern.model_copy(update={"categories": [C.NEGLECT, C.DOMESTIC_ABUSE]}),
        }
    )
    assembly.record_notification(first)
    assembly.record_notification(second)
    child = next(x.subject_ref for x in first.subjects if x.role.value == "child")
    for agency in DESK_AGENCIES:
        items = (
            [
                SharedItem(
                    record_class="domestic_abuse_incident",
                    record_ref="INC-77",
                    subject_refs=[child],
                    summary="Police attended.",
                    occurred_on=date(2026, 5, 4),
                    relevance="test",
                )
            ]
            if agency is Agency.POLICE
            else []
        )
        assembly.record_contribution(
            Contribution(
                message_id=derived_id("contribution", first.referral_id, agency.value),
                referral_id=first.referral_id,
                agency=agency,
                status=ContributionStatus.SHARED if items else ContributionStatus.NO_RECORDS_FOUND,
                items=items,
                rationale="test",
                policy_version="test-1",
                researched_at=MONDAY - timedelta(hours=1),
                notification_revision=2,
            )
        )
    if any(p["referral_id"] == first.referral_id for p in assembly.pending()):
        assembly.confirm(first.referral_id, "k.manager")
    path = f"/referrals/{first.referral_id}/chronology"

    status, found = get(assembly, path)
    assert status == 200, found
    events = [e["event"] for e in found["entries"]]
    assert events[0] == "Police: domestic abuse incident" and found["entries"][0]["reference"] == "INC-77"
    assert "Referral received: neglect (Green)" in events, "the first revision is kept, not only the newest"
    assert any(e.startswith("Referral updated (revision 2; concern)") for e in events)
    assert events[-1].startswith("Decision: Level"), events
    dated = [(e["date"], e["time"] or "") for e in found["entries"]]
    assert dated == sorted(dated)
    assert {x["subject_ref"] for x in found["subjects"]} == {x.subject_ref for x in first.subjects}

    status, mine = get(assembly, path, f"subject={child}".encode())
    assert (
        status == 200 and mine["subject"] == child and "Police: domestic abuse incident" in [e["event"] for e in mine["entries"]]
    )
    other = next((x.subject_ref for x in first.subjects if x.subject_ref != child), None)
    if other:
        status, theirs = get(assembly, path, f"subject={other}".encode())
        assert status == 200 and "Police: domestic abuse incident" not in [e["event"] for e in theirs["entries"]]

    status, refused = get(assembly, path, b"subject=nobody")
    assert status == 400 and set(refused["subjects"]) == {x.subject_ref for x in first.subjects}
    assert all(x.subject_ref in refused["error"] for x in first.subjects)
    assert get(assembly, "/referrals/REF-000000000000/chronology")[0] == 404
    assert get(assembly, path, token="wrong")[0] == 401
    # The entries name people; the log has ids and counts only.
    logged = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert first.referral_id in logged and all(x.family_name not in logged for x in first.subjects)
    assert "Police attended" not in logged


def test_retention_refuses_a_request_it_cannot_read_and_shreds_nothing(assembly, refused_s17):
    ref = referral(assembly, refused_s17)
    for body, reason in (
        ({}, "older_than_days is required"),
        ({"older_than_days": "90"}, "older_than_days"),
        ({"older_than_days": True}, "older_than_days"),
        ({"older_than_days": -1}, "older_than_days"),
        ({"older_than_days": 90, "outcomes": ["forget_it"]}, "unknown outcomes: forget_it"),
        ({"older_than_days": 90, "outcomes": "no_further_action"}, "outcomes must be a list"),
        ({"referral_ids": [ref, 7]}, "referral_ids"),
        ({"referral_ids": [ref], "dry_run": "no"}, "dry_run"),
    ):
        status, answer = call(assembly, "/retention", json.dumps(body).encode())
        assert status == 400 and reason in answer["error"], (body, answer)
    assert not assembly.firewall.case_keys.shredded(ref)


def test_retention_names_the_cases_it_would_shred_on_a_dry_run_and_changes_nothing(assembly, refused_s17):
    ref = referral(assembly, refused_s17)
    status, answer = call(assembly, "/retention", json.dumps({"referral_ids": [ref], "dry_run": True}).encode())
    assert status == 200 and answer == {"dry_run": True, "shredded": []}, "undecided: nothing to shred"
    assert not assembly.firewall.case_keys.shredded(ref)
