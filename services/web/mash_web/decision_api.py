"""The decision service's HTTP API, as the manager's workspace calls it: the one way the web front door reads and
changes decisions (it imports nothing of the decision service and never opens its store).

Two ways a call can fail, kept apart so a page never shows "nothing waiting" when nobody answered:
- `DecisionRefused`: the service answered 4xx, with its reason (a rationale too short, a referral no longer pending);
- `DecisionUnavailable`: nobody answered, the service failed (5xx), or its answer could not be read.
urllib in a thread: no HTTP client dependency for five calls on loopback."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any


class DecisionRefused(Exception):
    """The decision service refused the request, with a reason a manager can act on."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class DecisionUnavailable(Exception):
    """The decision service did not answer, or failed: what was asked is not known to have happened."""


class DecisionApi:
    def __init__(self, base_url: str, token: str, timeout: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    async def recommendations(self) -> list[dict]:
        """Recommendations waiting for a manager."""
        waiting = await self._call("GET", "/recommendations")
        if not isinstance(waiting, list):
            raise DecisionUnavailable("the decision service's queue was not a list")
        return waiting

    async def picture(self, referral_id: str) -> dict:
        return await self._object("GET", f"/referrals/{_segment(referral_id)}/picture")

    async def chronology(self, referral_id: str) -> dict:
        return await self._object("GET", f"/referrals/{_segment(referral_id)}/chronology")

    async def grounds(self, referral_id: str, manager: str, kind: str, rationale: str) -> dict:
        body = {"referral_id": referral_id, "manager": manager, "kind": kind, "rationale": rationale}
        return await self._object("POST", "/grounds", body)

    async def confirm(self, referral_id: str, manager: str, role: str = "manager") -> dict:
        body = {"referral_id": referral_id, "manager": manager, "action": "confirm", "role": role}
        return await self._object("POST", "/decisions", body)

    async def override(
        self,
        referral_id: str,
        manager: str,
        level: int,
        outcome: str,
        recipients: Sequence[str],
        rationale: str,
        role: str = "manager",
    ) -> dict:
        body = {
            "referral_id": referral_id,
            "manager": manager,
            "role": role,
            "action": "override",
            "level": level,
            "outcome": outcome,
            "recipients": list(recipients),
            "rationale": rationale,
        }
        return await self._object("POST", "/decisions", body)

    async def _object(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = await self._call(method, path, body)
        if not isinstance(answer, dict):
            raise DecisionUnavailable(f"the decision service's answer to {method} {path} was not a JSON object")
        return answer

    async def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        return await asyncio.to_thread(self._send, method, path, body)

    def _send(self, method: str, path: str, body: dict | None) -> Any:
        if not self.base_url:
            raise DecisionUnavailable("no address is set for the decision service (MASH_DECISION_URL)")
        request = urllib.request.Request(
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the service's own URL
                raw = response.read()
        except urllib.error.HTTPError as e:
            reason = _reason(e)
            if 400 <= e.code < 500:
                raise DecisionRefused(e.code, reason) from None
            raise DecisionUnavailable(f"the decision service failed ({e.code}): {reason}") from None
        except (OSError, ValueError) as e:  # refused, reset, timed out, a malformed address
            raise DecisionUnavailable(f"the decision service did not answer at {self.base_url}: {e}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise DecisionUnavailable(f"the decision service's answer to {method} {path} was not JSON") from None


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _reason(e: urllib.error.HTTPError) -> str:
    try:
        reason = json.loads(e.read()).get("error")
    except (ValueError, AttributeError, OSError):
        reason = None
    return str(reason or e.reason or "no reason given")
