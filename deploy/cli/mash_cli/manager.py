"""`mash decision`: the MASH manager's desk, through the running decision service's manager API (the same one any
web page uses): recommendations waiting for a person, confirm, override with a recorded rationale, s47 grounds, a
referral's chronology. The service decides with its own threshold model and store; this command opens neither."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .mesh import Mesh
from .service_api import Refused, call_service

__all__ = ["Refused"]


def _call(mesh: Mesh, method: str, path: str, body: dict | None = None) -> Any:
    return call_service(mesh, "decision", method, path, body)


def pending(mesh: Mesh) -> None:
    waiting = _call(mesh, "GET", "/recommendations")
    for p in waiting:
        print(
            f"{p['referral_id']}  RAG {p['rag']:<5}  due {p['decision_due_at']}  model: level {p['level']} {p['level_name']}, "
            f"{p['outcome']} -> {', '.join(p['recipients'])} (score {p['score']})"
        )
        for f in p["factors"]:  # the full explanation, naming the contribution and disclosure record: not the short name
            print(f"    {f['weight']:>4}  {f.get('detail') or f['name']}  [{f['source']}]")
        if p.get("conflicts"):
            print(f"    conflicting answers from {', '.join(p['conflicts'])}: both are on the record")
        for agency, why in p.get("declines", {}).items():
            print(f"    {agency} declined: {why}")
        for g in p.get("grounds", []):
            print(f"    {g['kind']} grounds recorded by {g['recorded_by']} at {g['recorded_at']} ({g['grounds_id']})")
    if not waiting:
        print("no recommendations waiting for a manager")


def grounds(mesh: Mesh, referral_id: str, manager: str, kind: str, rationale: str) -> None:
    """s47 grounds or a strategy discussion's decision: the desks that declined research again."""
    body = {"referral_id": referral_id, "manager": manager, "kind": kind, "rationale": rationale}
    print(json.dumps(_call(mesh, "POST", "/grounds", body)))


def confirm(mesh: Mesh, referral_id: str, manager: str, role: str = "manager") -> None:
    body = {"referral_id": referral_id, "manager": manager, "action": "confirm", "role": role}
    print(json.dumps(_call(mesh, "POST", "/decisions", body)))


def override(
    mesh: Mesh,
    referral_id: str,
    manager: str,
    level: int,
    outcome: str,
    recipients: list[str],
    rationale: str,
    role: str = "manager",
) -> None:
    body = {
        "referral_id": referral_id,
        "manager": manager,
        "role": role,
        "action": "override",
        "level": level,
        "outcome": outcome,
        "recipients": recipients or [],
        "rationale": rationale,
    }
    print(json.dumps(_call(mesh, "POST", "/decisions", body)))


def chronology(mesh: Mesh, referral_id: str, subject: str | None, as_json: bool) -> None:
    """The referral's multi-agency chronology."""
    path = f"/referrals/{urllib.parse.quote(referral_id, safe='')}/chronology"
    if subject:
        path += "?" + urllib.parse.urlencode({"subject": subject})
    found = _call(mesh, "GET", path)
    print(json.dumps(found, indent=2) if as_json else "\n".join(chronology_table(found)))


def chronology_table(found: dict) -> list[str]:
    """date | agency | event | outcome, with each subject first and each entry's reference beneath it."""
    lines = [f"Chronology of {found['referral_id']}" + (f" for {found['subject']}" if found.get("subject") else "")]
    lines += [
        f"  {s['subject_ref']}: {s['name']} ({s['role'].replace('_', ' ')}"
        + (f", {'due' if s.get('expected') else 'born'} {s['date_of_birth']}" if s.get("date_of_birth") else "")
        + ")"
        for s in found["subjects"]
    ]
    rows = [("date", "agency", "event", "outcome")]
    for e in found["entries"]:
        when = "undated" if e["undated"] else e["date"] + (f" {e['time']}" if e["time"] else "")
        rows.append((when, e["source"], e["event"], e["outcome"] or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, r in enumerate(rows):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + f" | {r[3]}")
        if i == 0:
            lines.append("-+-".join("-" * w for w in widths) + "-+-" + "-" * 7)
            continue
        e = found["entries"][i - 1]
        follow = ", ".join(
            x
            for x in (e["reference"] and f"ref {e['reference']}", e["subject_refs"] and f"about {', '.join(e['subject_refs'])}")
            if x
        )
        if follow:
            lines.append(" " * (widths[0] + 3) + "  " + follow)
    if not found["entries"]:
        lines.append("(nothing recorded)")
    return lines
