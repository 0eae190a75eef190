"""`GET /referrals/{referral_id}/picture`: the assembled picture a MASH manager reads before deciding, from the
decision service's own store through its HTTP route. Nothing summarised away: each desk's items with relevance,
the desk's rationale and disclosure record, a decline with its reason, an uncertain match marked uncertain, both of
two differing answers, the desks not yet heard from, the recommendation with its full explanation, then the
decision; and the log keeps no names."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta

import pytest

from helpers import MONDAY, contribution
from mash_contracts import Agency, ContributionStatus, SharedItem, UncertainMatch, derived_id
from mash_contracts.topics import DESK_AGENCIES
from mash_decision.http import routes
from mash_runtime.http import match

pytestmark = pytest.mark.unit
TOKEN = "t0ken"


@pytest.fixture
def assembly(assembly_for, tmp_path):
    return assembly_for(f"sqlite:///{tmp_path / 'decision.db'}")


def get(assembly, path: str, token: str = TOKEN) -> tuple[int, dict]:
    """A GET through the service's own route matching (a path with parameters, as served)."""
    found = match(routes(assembly, TOKEN), path)
    assert found is not None, f"no route serves {path}"
    handler, parameters = found
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "path_params": parameters,
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    asyncio.run(handler(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def answers(n) -> list:
    child = next(s.subject_ref for s in n.subjects if s.role.value == "child")
    disclosure = uuid.UUID(int=7)
    police = contribution(
        n,
        Agency.POLICE,
        ["domestic_abuse_history"],
        message_id=derived_id("t", "police"),
        items=[
            SharedItem(
                record_class="domestic_abuse_incident",
                record_ref="INC-77",
                subject_refs=[child],
                summary="Police attended a domestic incident at the home.",
                occurred_on=date(2026, 5, 4),
                relevance="Domestic abuse in the household bears on the child's safety.",
                match_confidence=0.93,
            )
        ],
        uncertain_matches=[UncertainMatch(subject_ref=child, confidence=0.61, matched_fields=["family_name"], candidates=2)],
        finding_explanations={"domestic_abuse_history": "1 domestic abuse incident in 12 months (INC-77)"},
        rationale="Researched 2 subjects on a s47 footing (consent refused). Shared 1 records; 0 held but not shared.",
        disclosure_id=disclosure,
    )
    health = contribution(
        n,
        Agency.HEALTH,
        message_id=derived_id("t", "health"),
        status=ContributionStatus.DECLINED,
        rationale="Consent refused on an s17 footing: health has no lawful basis to research without consent.",
    )
    education = [
        contribution(n, Agency.EDUCATION, message_id=derived_id("t", "education", str(i)), rationale=why)
        for i, why in enumerate(["No records found.", "No records found for these children at any school."])
    ]
    rest = [
        contribution(n, a, message_id=derived_id("t", a.value))
        for a in DESK_AGENCIES
        if a not in (Agency.POLICE, Agency.HEALTH, Agency.EDUCATION)
    ]
    return [police, health, *education, *rest]


def test_the_assembled_picture_shows_every_desks_answer_and_the_recommendation_then_the_decision(assembly, refused_s17, caplog):
    caplog.set_level("INFO", logger="mash.decision")
    n = refused_s17
    assembly.record_notification(n)
    path = f"/referrals/{n.referral_id}/picture"

    status, before = get(assembly, path)
    assert status == 200, before
    assert before["awaiting"] == sorted(a.value for a in DESK_AGENCIES) and before["desks"] == []
    assert before["recommendation"] is None and before["decisions"] == []
    told = before["notification"]
    assert told["referrer"] == {
        "kind": n.referrer.kind.value,
        "agency": n.referrer.agency and n.referrer.agency.value,
        "identity_protected": n.referrer.identity_protected,
        "anonymous": False,
    }
    assert (told["strand"], told["related_referral_id"], told["adult_at_risk"]) == ("whole", None, None)
    assert [(s["subject_ref"], s["role"], s["name"]) for s in told["subjects"]] == [
        (s.subject_ref, s.role.value, " ".join(p for p in (s.given_name, s.family_name) if p)) for s in n.subjects
    ]
    assert [s["date_of_birth"] for s in told["subjects"]] == [
        s.date_of_birth.isoformat() if s.date_of_birth else None for s in n.subjects
    ]
    assert told["concern"]["description"] == n.concern.description and told["concern"]["categories"] == ["neglect"]
    assert told["concern"]["immediate_danger"] is False
    assert told["consent"] == {"status": "refused", "reason": "Parent refused"}
    assert told["statutory_footing"] == "s17" and told["screened_rag"] == n.rag.value
    assert before["received_at"] == n.received_at.isoformat()
    assert before["returns_due_at"] and before["decision_due_at"] > before["received_at"]
    assert [lv["level"] for lv in before["levels"]] == [1, 2, 3, 4] and all(lv["name"] for lv in before["levels"])

    for c in answers(n):
        assembly.record_contribution(c)
    status, picture = get(assembly, path)
    assert status == 200 and picture["awaiting"] == []
    desks = {d["agency"]: d for d in picture["desks"]}
    assert set(desks) == {a.value for a in DESK_AGENCIES}
    police = desks["police"]
    [item] = police["items"]
    assert item["relevance"] == "Domestic abuse in the household bears on the child's safety."
    assert item["record_ref"] == "INC-77" and item["match_confidence"] == 0.93
    assert police["rationale"].startswith("Researched 2 subjects on a s47 footing")
    assert police["disclosure_id"] == str(uuid.UUID(int=7)) and police["policy_version"] == "test-1"
    assert police["findings"] == [
        {"finding": "domestic_abuse_history", "explanation": "1 domestic abuse incident in 12 months (INC-77)"}
    ]
    [uncertain] = police["uncertain_matches"]
    assert uncertain["uncertain"] is True and uncertain["confidence"] == 0.61
    health = desks["health"]
    assert health["declined"] and health["decline_reason"].startswith("Consent refused on an s17 footing")
    education = desks["education"]
    assert education["conflict"] and [d["rationale"] for d in education["differing_answers"]] == ["No records found."]
    assert not police["conflict"] and police["differing_answers"] == []

    rec = picture["recommendation"]
    assert rec is not None, "two differing answers: a manager must decide"
    assert {"level", "level_name", "outcome", "recipients", "score", "factors", "no_answer"} <= set(rec)
    assert rec["conflicts"] == ["education"] and rec["declines"] == {"health": health["rationale"]}
    fired = {f["name"]: f for f in rec["factors"]}
    assert fired and all({"weight", "detail", "source"} <= set(f) for f in fired.values())
    assert any(f["source"] == "police" and f["detail"] for f in fired.values()), fired

    assembly.confirm(n.referral_id, "k.manager")
    status, decided = get(assembly, path)
    assert status == 200 and decided["state"] == "routed" and decided["recommendation"] is None
    [decision] = decided["decisions"]
    assert decision["decided_by"] == "manager k.manager" and decision["level"] == rec["level"]

    assert get(assembly, "/referrals/REF-000000000000/picture")[0] == 404
    assert get(assembly, path, token="wrong")[0] == 401
    # The picture names people and records; the log has the id and a count.
    logged = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records if "picture" in r.getMessage())
    assert n.referral_id in logged
    assert all(s.family_name not in logged for s in n.subjects) and "domestic incident" not in logged


def test_a_picture_read_late_still_names_the_desks_that_never_answered(assembly, refused_s17, manual_clock):
    n = refused_s17
    assembly.record_notification(n)
    assembly.record_contribution(contribution(n, Agency.POLICE, message_id=derived_id("t", "police")))
    manual_clock.at = MONDAY + timedelta(days=3)  # past the return deadline: decided without the others
    assembly.sweep()
    status, picture = get(assembly, f"/referrals/{n.referral_id}/picture")
    assert status == 200
    silent = sorted(a.value for a in DESK_AGENCIES if a is not Agency.POLICE)
    assert picture["awaiting"] == silent
    waiting = picture["recommendation"]
    if waiting is not None:
        assert waiting["no_answer"] == silent
    else:
        [decision] = picture["decisions"]
        assert decision["no_answer"] == silent
