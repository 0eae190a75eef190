"""`mash decision`: the MASH manager's desk. Lists recommendations waiting for a person, confirms them, or
overrides them with a recorded rationale. Writes through the decision service's own store and outbox
(the service relays within a few seconds), so a manager's decision is routed exactly like the model's."""

from __future__ import annotations

import json

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
    return Assembly(db, settings.expected_desks, Firewall("decision", mesh.keys_dir), threshold_model(settings),
                    declared_findings={})


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
        print(f"{p['referral_id']}  RAG {p['rag']:<5}  due {p['decision_due_at']}  model: level {p['level']} {p['level_name']}, "
              f"{p['outcome']} -> {', '.join(p['recipients'])} (score {p['score']})")
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
    print(json.dumps({"referral_id": decision.referral_id, "level": decision.level.value, "outcome": decision.outcome.value,
                      "recipients": [a.value for a in decision.recipients], "decided_by": decision.decided_by}))


def override(mesh: Mesh, referral_id: str, manager: str, level: int, outcome: str, recipients: list[str], rationale: str) -> None:
    decision = _assembly(mesh).override(referral_id, manager, ThresholdLevel(level), Outcome(outcome),
                                        [Agency(a) for a in recipients], rationale)
    print(json.dumps({"referral_id": decision.referral_id, "level": decision.level.value, "outcome": decision.outcome.value,
                      "recommended_level": decision.recommended_level.value if decision.recommended_level else None,
                      "recipients": [a.value for a in decision.recipients], "decided_by": decision.decided_by}))
