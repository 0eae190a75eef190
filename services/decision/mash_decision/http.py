"""The MASH manager's HTTP interface (mounted on the decision service's ASGI app, loopback only).

    GET  /recommendations                      recommendations waiting for a manager
    POST /decisions  {"referral_id", "manager", "action": "confirm"}
    POST /decisions  {"referral_id", "manager", "action": "override", "level", "outcome", "recipients", "rationale"}
    POST /grounds    {"referral_id", "manager", "kind": "s47" | "strategy_discussion", "rationale"}  s47 grounds: the desks research again
    GET  /referrals/{referral_id}/chronology[?subject=<subject_ref>]  the multi-agency chronology, of one child if asked
    GET  /referrals/{referral_id}/picture      the assembled picture: notification, each desk's answer, the
                                               recommendation waiting with its explanation, decisions, deadlines
    POST /retention  {"older_than_days": N, "outcomes": [...], "dry_run": false}  crypto-shred closed cases by policy
    POST /retention  {"referral_ids": [...], "dry_run": false}                    crypto-shred the named cases
    (and the runtime's /health/live, /health/ready, /metrics)

Every call but health needs `Authorization: Bearer <token>`; the token is generated at setup in the keys
directory (`manager-token`, mode 0600). Refusals are 4xx with a reason a person can act on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs

from mash_contracts import Agency, GroundsKind, Outcome, ThresholdLevel
from mash_runtime.http import refused, respond

from . import queries, retention
from .assembly import Assembly, NotPending
from .chronology import UnknownSubject, chronology
from .grounds import NoReferral
from .picture import assembled

log = logging.getLogger("mash.decision")
MAX_BODY = 16 * 1024


async def _body(receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ValueError("request body too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _fields(receive) -> dict:
    """The request body: a JSON object. Anything else is refused here, before a value of the wrong type can reach
    the store (where a failing statement would also put it in the log)."""
    body = json.loads(await _body(receive))
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _text(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} is required, as text")
    return value


def routes(assembly: Assembly, token: str) -> list[tuple[str, Callable]]:
    async def recommendations(scope, receive, send):
        if await refused(scope, send, "GET", token):
            return
        await respond(send, 200, await asyncio.to_thread(assembly.pending))

    async def decide(scope, receive, send):
        if await refused(scope, send, "POST", token):
            return
        try:
            body = await _fields(receive)
            ref, manager, action = _text(body, "referral_id"), _text(body, "manager"), _text(body, "action")
            role = body.get("role", "manager")  # or practice_consultant: an allocated team's adults only
            if action == "confirm":
                decision = await asyncio.to_thread(assembly.confirm, ref, manager, role)
            elif action == "override":
                decision = await asyncio.to_thread(
                    assembly.override,
                    ref,
                    manager,
                    ThresholdLevel(int(body["level"])),
                    Outcome(body["outcome"]),
                    [Agency(a) for a in body.get("recipients", [])],
                    body.get("rationale", ""),
                    role,
                )
            else:
                return await respond(send, 400, {"error": "action must be confirm or override"})
        except NotPending as e:
            return await respond(send, 409, {"error": str(e)})
        except (KeyError, TypeError, ValueError) as e:  # missing field, bad JSON, unknown level or outcome, no rationale
            return await respond(send, 400, {"error": f"{type(e).__name__}: {e}"})
        await respond(
            send,
            200,
            {
                "referral_id": decision.referral_id,
                "level": decision.level.value,
                "outcome": decision.outcome.value,
                "recipients": [a.value for a in decision.recipients],
                "decided_by": decision.decided_by,
                "recommended_level": decision.recommended_level,
                "route": decision.route.value if decision.route else None,
            },
        )

    async def record_grounds(scope, receive, send):
        if await refused(scope, send, "POST", token):
            return
        try:
            body = await _fields(receive)
            recorded = await asyncio.to_thread(
                assembly.record_grounds,
                _text(body, "referral_id"),
                _text(body, "manager"),
                GroundsKind(_text(body, "kind")),
                body.get("rationale", ""),
            )
        except NoReferral as e:
            return await respond(send, 404, {"error": str(e)})
        except (KeyError, TypeError, ValueError) as e:  # missing field, bad JSON, unknown kind, no rationale
            return await respond(send, 400, {"error": f"{type(e).__name__}: {e}"})
        await respond(send, 200, recorded)

    async def chronology_of(scope, receive, send):
        if await refused(scope, send, "GET", token):
            return
        referral_id = scope.get("path_params", {}).get("referral_id", "")
        subject = _query(scope).get("subject")
        facts = await asyncio.to_thread(queries.chronology_facts, assembly.db, referral_id)
        if facts is None:
            return await respond(send, 404, {"error": "the decision service holds no referral with that id"})
        try:
            found = chronology(facts.notifications, facts.contributions, facts.decisions, facts.grounds, subject)
        except UnknownSubject as e:
            return await respond(
                send, 400, {"error": f"the referral names no such subject: use one of {', '.join(e.known)}", "subjects": e.known}
            )
        # The entries name people and records: the log has the ids and counts only.
        log.info(
            "chronology read",
            extra={"referral_id": referral_id, "entries": len(found.entries), "one_subject": subject is not None},
        )
        await respond(send, 200, found.as_json())

    async def picture_of(scope, receive, send):
        if await refused(scope, send, "GET", token):
            return
        referral_id = scope.get("path_params", {}).get("referral_id", "")
        facts = await asyncio.to_thread(queries.picture_facts, assembly.db, referral_id)
        if facts is None:
            return await respond(send, 404, {"error": "the decision service holds no referral with that id"})
        found = assembled(facts, assembly.expected, assembly.model)
        # The picture names people and records: the log has the id and counts only.
        log.info("picture read", extra={"referral_id": referral_id, "desks": len(found["desks"])})
        await respond(send, 200, found)

    async def shred(scope, receive, send):
        if await refused(scope, send, "POST", token):
            return
        try:
            asked = _retention_request(await _fields(receive))
        except (TypeError, ValueError) as e:
            return await respond(send, 400, {"error": str(e)})
        case_keys = assembly.firewall.case_keys
        assert case_keys is not None  # a hub service's firewall always holds the case keys
        done = await asyncio.to_thread(retention.shred, assembly.db, case_keys, assembly.audit, **asked)
        log.info("retention: %d cases %s", len(done), "would be shredded" if asked["dry_run"] else "shredded")
        await respond(send, 200, {"dry_run": asked["dry_run"], "shredded": [d.as_json() for d in done]})

    return [
        ("/recommendations", recommendations),
        ("/decisions", decide),
        ("/grounds", record_grounds),
        ("/referrals/{referral_id}/chronology", chronology_of),
        ("/referrals/{referral_id}/picture", picture_of),
        ("/retention", shred),
    ]


def _retention_request(body: dict) -> dict:
    """The retention call's fields, checked: whole days, known outcomes, referral ids as text, dry_run true or false."""
    referral_ids = body.get("referral_ids", [])
    if not isinstance(referral_ids, list) or not all(isinstance(r, str) and r.strip() for r in referral_ids):
        raise ValueError("referral_ids must be a list of referral ids")
    days = body.get("older_than_days", 0 if referral_ids else None)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError("older_than_days is required (a whole number of days, 0 or more) unless referral_ids are named")
    outcomes = body.get("outcomes", list(retention.DEFAULT_OUTCOMES))
    if not isinstance(outcomes, list) or not outcomes:
        raise ValueError("outcomes must be a list of outcomes")
    unknown = sorted({str(o) for o in outcomes} - {o.value for o in Outcome})
    if unknown:
        raise ValueError(f"unknown outcomes: {', '.join(unknown)}; use {', '.join(o.value for o in Outcome)}")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ValueError("dry_run must be true or false")
    return {
        "older_than": timedelta(days=days),
        "outcomes": tuple(outcomes),
        "referral_ids": tuple(referral_ids),
        "dry_run": dry_run,
    }


def _query(scope) -> dict[str, str]:
    """The query string's parameters, the last of each name."""
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
