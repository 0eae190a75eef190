"""`mash decision`: the MASH manager's desk. Lists recommendations waiting for a person, confirms them, or
overrides them with a recorded rationale. Writes through the decision service's own store and outbox
(the service relays within a few seconds), so a manager's decision is routed exactly like the model's. A
referral's chronology is read from the running service's manager API."""

from __future__ import annotations

import json
import sys

from mash_contracts import Agency, Outcome, ThresholdLevel
from mash_runtime.firewall import Firewall
from mash_runtime.identity import StoreRefused, expected
from mash_runtime.store import Database

from .mesh import MODEL_SETTINGS, Mesh


def _assembly(mesh: Mesh):
    from mash_decision.app import threshold_model
    from mash_decision.assembly import Assembly, metadata
    from mash_decision.settings import DecisionSettings

    url = mesh.database_url("decision")
    if url is None:
        raise SystemExit("no decision store in this state directory (is the mesh running? try --state)")
    settings = DecisionSettings(**_model_settings(mesh))
    # A manager confirms or overrides; no contribution is recorded here, so no findings need checking.
    # The store the decision service was initialised with, and no other: a missing one is not quietly made here.
    try:
        db = Database(url, metadata, identity=expected(mesh.keys_dir, "decision"))
    except StoreRefused as e:
        raise SystemExit(str(e)) from None
    return Assembly(
        db, settings.expected_desks, Firewall("decision", mesh.keys_dir), threshold_model(settings), declared_findings={}
    )


def _model_settings(mesh: Mesh) -> dict:
    """The model the running decision service decides with, not whatever this shell's environment names: a
    manager's decision must carry the model version and level names its recommendation was made with."""
    chosen = mesh.started_with("decision")
    if chosen is None:  # never started from this state directory: the mesh's settings, then the environment
        chosen = {k: v for k, v in mesh.extra_env.items() if k in MODEL_SETTINGS}
    out = {}
    for k, v in chosen.items():
        name = k.removeprefix("MASH_").lower()
        out[name] = (v or "default") if k == "MASH_MODEL" else (json.loads(v) if v else None)
    return out


def pending(mesh: Mesh) -> None:
    waiting = _assembly(mesh).pending()
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
    from mash_contracts import GroundsKind

    print(json.dumps(_assembly(mesh).record_grounds(referral_id, manager, GroundsKind(kind), rationale)))


def confirm(mesh: Mesh, referral_id: str, manager: str) -> None:
    decision = _assembly(mesh).confirm(referral_id, manager)
    print(
        json.dumps(
            {
                "referral_id": decision.referral_id,
                "level": decision.level.value,
                "outcome": decision.outcome.value,
                "recipients": [a.value for a in decision.recipients],
                "decided_by": decision.decided_by,
            }
        )
    )


def override(mesh: Mesh, referral_id: str, manager: str, level: int, outcome: str, recipients: list[str], rationale: str) -> None:
    decision = _assembly(mesh).override(
        referral_id, manager, ThresholdLevel(level), Outcome(outcome), [Agency(a) for a in recipients], rationale
    )
    print(
        json.dumps(
            {
                "referral_id": decision.referral_id,
                "level": decision.level.value,
                "outcome": decision.outcome.value,
                "recommended_level": decision.recommended_level.value if decision.recommended_level else None,
                "recipients": [a.value for a in decision.recipients],
                "decided_by": decision.decided_by,
            }
        )
    )


def chronology(mesh: Mesh, referral_id: str, subject: str | None, as_json: bool) -> int:
    """The referral's multi-agency chronology, asked of the running decision service over its manager API."""
    import urllib.error
    import urllib.parse
    import urllib.request

    port, token = mesh.http_port("decision"), mesh.keys_dir / "manager-token"
    if port is None or mesh.pid("decision") is None or not token.exists():
        raise SystemExit("the decision service is not running from this state directory (start the mesh, or try --state)")
    path = f"/referrals/{urllib.parse.quote(referral_id, safe='')}/chronology"
    if subject:
        path += "?" + urllib.parse.urlencode({"subject": subject})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token.read_text().strip()}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            found = json.loads(response.read())
    except urllib.error.HTTPError as e:
        print(f"refused: {json.loads(e.read()).get('error')}", file=sys.stderr)
        return 1
    except OSError as e:
        raise SystemExit(f"the decision service did not answer on port {port}: {e}") from None
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        print("\n".join(chronology_table(found)))
    return 0


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
