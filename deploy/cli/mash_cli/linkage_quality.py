"""`mash analysis linkage [--people 10000] [--seed 7] [--write]`: how well the hub links people.

Generates a synthetic population whose truth is known (mash_analysis.synthetic_people), links it with the committed
model (mash_analysis.linkage) and prints precision, recall and F1 of pairwise person links, overall and by the
corruption either record carries, with counts and timings. --write also writes docs/linkage.md.
Run as `python -m mash_cli.linkage_quality ...` on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs" / "linkage.md"


def _score(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict:
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(found), "true": tp, "false": len(found) - tp, "missed": len(truth) - tp,
            "precision": precision, "recall": recall, "f1": f1}


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def measure(people: int = 10_000, seed: int = 7) -> dict:
    from mash_analysis.linkage import CERTAIN, MODEL, POSSIBLE, PersonLinker, train
    from mash_analysis.synthetic_people import CORRUPTIONS, population

    t = time.perf_counter()
    appearances = population(people, seed)
    generate_s = time.perf_counter() - t
    records = [a.record for a in appearances]
    person = {a.record.record_id: a.person_id for a in appearances}
    household = {a.record.record_id: a.household for a in appearances}
    kinds = {a.record.record_id: set(a.corruptions) for a in appearances}

    by_person: dict[str, list[str]] = defaultdict(list)
    for a in appearances:
        by_person[a.person_id].append(a.record.record_id)
    truth = {_pair(a, b) for ids in by_person.values() for a, b in combinations(ids, 2)}

    linker = PersonLinker(MODEL)
    t = time.perf_counter()
    pairs = linker.pairs(records)
    pairs_s = time.perf_counter() - t
    t = time.perf_counter()
    clusters = linker.clusters(records)
    cluster_s = time.perf_counter() - t
    members: dict[str, list[str]] = defaultdict(list)
    for rid, cid in clusters.items():
        members[cid].append(rid)
    clustered = {_pair(a, b) for ids in members.values() for a, b in combinations(ids, 2)}
    certain = {_pair(a, b) for a, b, _, sure in pairs if sure}
    either = {_pair(a, b) for a, b, _, _ in pairs}

    # Streaming: one record against 50 candidates, as the service scores each subject of a referral.
    probes = records[-200:]
    linker.links(probes[0], records[:50])  # the first call builds the SQL; later ones reuse it
    t = time.perf_counter()
    for r in probes:
        linker.links(r, records[:50])
    per_50_ms = (time.perf_counter() - t) / len(probes) * 1000

    t = time.perf_counter()
    train(people, seed + 1000, out=None)  # a held-out population: the timing of a retrain, not the committed model
    train_s = time.perf_counter() - t

    rows = {"certain links, clustered": _score(clustered, truth), "certain links, pairwise": _score(certain, truth),
            "certain + possible, pairwise": _score(either, truth)}
    by_kind = {}
    for kind in ("none", *CORRUPTIONS):
        touched = (lambda p: not (kinds[p[0]] - {"nhs_missing"}) and not (kinds[p[1]] - {"nhs_missing"})) if kind == "none" \
            else (lambda p, k=kind: k in kinds[p[0]] or k in kinds[p[1]])
        t_k = {p for p in truth if touched(p)}
        by_kind[kind] = {"truth": len(t_k), "certain": _score({p for p in clustered if touched(p)}, t_k),
                         "either": _score({p for p in either if touched(p)}, t_k)}
    wrong = [p for p in clustered if person[p[0]] != person[p[1]]]
    wrong_possible = [p for p in either - certain if person[p[0]] != person[p[1]]]
    return {
        "people": people, "seed": seed, "records": len(records), "true_pairs": len(truth),
        "corruption_counts": dict(Counter(k for a in appearances for k in a.corruptions)),
        "appearances_per_person": dict(sorted(Counter(len(v) for v in by_person.values()).items())),
        "thresholds": {"certain": CERTAIN, "possible": POSSIBLE},
        "overall": rows, "by_kind": by_kind,
        "false_links": {"same_household": sum(household[a] == household[b] for a, b in wrong),
                        "other_households": sum(household[a] != household[b] for a, b in wrong),
                        "possible_same_household": sum(household[a] == household[b] for a, b in wrong_possible),
                        "possible_other_households": sum(household[a] != household[b] for a, b in wrong_possible)},
        "seconds": {"generate": generate_s, "train": train_s, "predict_pairs": pairs_s, "cluster": cluster_s,
                    "links_per_record_50_candidates_ms": per_50_ms},
    }


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def render(m: dict) -> list[str]:
    lines = [f"{m['people']:,} people (seed {m['seed']}): {m['records']:,} records, {m['true_pairs']:,} true pairs; "
             f"thresholds certain >= {m['thresholds']['certain']}, possible >= {m['thresholds']['possible']}", "",
             f"{'links':32} {'precision':>10} {'recall':>10} {'F1':>8} {'pairs':>8} {'false':>7} {'missed':>7}"]
    for name, s in m["overall"].items():
        lines.append(f"{name:32} {_pct(s['precision']):>10} {_pct(s['recall']):>10} {s['f1']:8.4f} {s['pairs']:8,} "
                     f"{s['false']:7,} {s['missed']:7,}")
    lines += ["", f"{'by corruption (either record)':32} {'true pairs':>10} {'certain P':>10} {'certain R':>10} "
                  f"{'+possible P':>12} {'+possible R':>12}"]
    for kind, k in m["by_kind"].items():
        lines.append(f"{kind:32} {k['truth']:10,} {_pct(k['certain']['precision']):>10} {_pct(k['certain']['recall']):>10} "
                     f"{_pct(k['either']['precision']):>12} {_pct(k['either']['recall']):>12}")
    f = m["false_links"]
    s = m["seconds"]
    lines += ["", f"false certain links: {f['same_household']} within a household (twins, siblings, parent and child), "
                  f"{f['other_households']} across households; false possible links: {f['possible_same_household']} "
                  f"within, {f['possible_other_households']} across",
              f"time: generate {s['generate']:.1f}s, train {s['train']:.1f}s, predict {s['predict_pairs']:.1f}s, "
              f"cluster {s['cluster']:.1f}s, one record against 50 candidates {s['links_per_record_50_candidates_ms']:.1f} ms"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mash analysis linkage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="write docs/linkage.md with these figures")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--retrain", action="store_true",
                        help="retrain the committed model (mash_analysis/linkage_model.json) first, deterministically")
    args = parser.parse_args(argv)
    if args.retrain:
        from mash_analysis.linkage import train

        train()
    m = measure(args.people, args.seed)
    print(json.dumps(m, indent=1) if args.json else "\n".join(render(m)))
    if args.write:
        from .linkage_doc import document

        DOCS.write_text(document(m, render(m)))
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
