"""`mash retention`: crypto-shred closed cases by policy, through the running decision service's API
(`POST /retention`); the policy, the erasure and its audit entry are the service's (mash_decision.retention)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .mesh import Mesh
from .service_api import call_service

DEFAULT_OUTCOMES = ("no_further_action", "advice_and_signposting")


@dataclass(frozen=True)
class Shredded:
    referral_id: str
    outcome: str
    decided_at: datetime


def run(
    mesh: Mesh,
    *,
    older_than: timedelta,
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES,
    referral_ids: tuple[str, ...] = (),
    dry_run: bool = False,
) -> list[Shredded]:
    body = {
        "older_than_days": older_than.days,
        "outcomes": list(outcomes),
        "referral_ids": list(referral_ids),
        "dry_run": dry_run,
    }
    answer = call_service(mesh, "decision", "POST", "/retention", body, timeout=300)
    return [Shredded(d["referral_id"], d["outcome"], datetime.fromisoformat(d["decided_at"])) for d in answer["shredded"]]
