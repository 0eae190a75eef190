"""The manager's HTTP routes refuse a body of the wrong shape with a reason, before any value reaches the store: a
list as the referral id used to fail inside SQL (500, and the value in the log through the traceback), and a
missing manager was recorded as "None"."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from mash_contracts import ConcernCategory as C, ConsentPosition, ConsentStatus, StatutoryFooting
from mash_contracts.threshold import load_model
from mash_contracts.topics import DESK_AGENCIES
from mash_decision.assembly import Assembly, metadata
from mash_decision.http import routes
from mash_intake.screening import accept
from mash_runtime.store import Database

pytestmark = pytest.mark.unit
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOKEN = "t0ken"
RATIONALE = "Reasonable cause to suspect significant harm: the agencies' history must be checked today."


@pytest.fixture
def assembly(tmp_path, principals, declared_findings):
    db = Database(f"sqlite:///{tmp_path / 'decision.db'}", metadata)
    yield Assembly(db, DESK_AGENCIES, principals.firewall("decision"), load_model("default"), now=lambda: MONDAY,
                   declared_findings=declared_findings)
    db.dispose()


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


def referral(assembly, generator) -> str:
    s = generator.notification()
    s = s.model_copy(update={"concern": s.concern.model_copy(update={"categories": [C.NEGLECT], "immediate_danger": False}),
                             "consent": ConsentPosition(status=ConsentStatus.REFUSED, reason="Parent refused")})
    n = accept(s, MONDAY).model_copy(update={"statutory_footing": StatutoryFooting.S17})
    assembly.record_notification(n)
    return n.referral_id


@pytest.mark.parametrize("path", ["/grounds", "/decisions"])
def test_a_body_of_the_wrong_shape_is_refused_with_a_reason(assembly, generator, path):
    ref = referral(assembly, generator)
    good = {"referral_id": ref, "manager": "k.manager", "kind": "s47", "action": "confirm", "rationale": RATIONALE}
    for body, reason in (([1, 2], "JSON object"), ({**good, "referral_id": ["Mia Okafor"]}, "referral_id"),
                         ({**good, "referral_id": {"name": "Mia Okafor"}}, "referral_id"), ({**good, "manager": None}, "manager"),
                         ({**good, "manager": 7}, "manager"), ({**good, "manager": "  "}, "manager")):
        status, answer = call(assembly, path, json.dumps(body).encode())
        assert status == 400 and reason in answer["error"], (body, status, answer)
        assert "Okafor" not in answer["error"]


def test_grounds_over_http_need_a_sentence_not_a_word(assembly, generator):
    ref = referral(assembly, generator)
    status, answer = call(assembly, "/grounds", json.dumps({"referral_id": ref, "manager": "k.manager", "kind": "s47",
                                                             "rationale": "Safeguarding"}).encode())
    assert status == 400 and "at least a sentence" in answer["error"]
    status, answer = call(assembly, "/grounds", json.dumps({"referral_id": ref, "manager": "k.manager", "kind": "s47",
                                                             "rationale": RATIONALE}).encode())
    assert status == 200 and answer["recorded_by"] == "k.manager"
