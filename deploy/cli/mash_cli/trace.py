"""`mash trace <referral-id>`: a referral's journey as a waterfall, from the spans every service wrote.

Each hop shows its service, what it did, when it started relative to the first span, how long it took,
and any error. Spans are found by the referral id in their Kafka message key; the whole trace they belong
to is printed (the intake hop is keyed by the referrer's submission id, and is in the same trace)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

KEY = "messaging.kafka.message.key"


def load(traces_dir: Path) -> list[dict]:
    spans = []
    for path in sorted(traces_dir.glob("*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            if line.strip():
                spans.append(json.loads(line))
    return spans


def of_referral(spans: list[dict], referral_id: str) -> list[dict]:
    traces = {s["trace_id"] for s in spans if str(s["attributes"].get(KEY, "")) == referral_id}
    return [s for s in spans if s["trace_id"] in traces]


def waterfall(spans: list[dict]) -> list[str]:
    if not spans:
        return []
    by_id = {s["span_id"]: s for s in spans}
    children = defaultdict(list)
    roots = []
    for s in sorted(spans, key=lambda s: s["start_ns"]):
        (children[s["parent_id"]] if s["parent_id"] in by_id else roots).append(s)
    t0 = min(s["start_ns"] for s in spans)
    lines = [
        f"trace {', '.join(sorted({s['trace_id'] for s in spans}))}: {len(spans)} spans, "
        f"{len({s['service'] for s in spans})} services, {(max(s['end_ns'] for s in spans) - t0) / 1e6:.1f} ms end to end"
    ]

    def walk(span: dict, depth: int) -> None:
        start = (span["start_ns"] - t0) / 1e6
        took = (span["end_ns"] - span["start_ns"]) / 1e6
        error = f"  ERROR {span['error'] or ''}".rstrip() if span["status"] == "ERROR" else ""
        lines.append(f"{start:9.1f} ms {took:8.1f} ms  {'  ' * depth}{span['service']:<15} {span['name']}{error}")
        for child in children[span["span_id"]]:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return lines


def edges(spans: list[dict]) -> set[tuple[str, str]]:
    """(from service, to service) for every parent/child pair that crosses a service boundary."""
    by_id = {s["span_id"]: s for s in spans}
    out = set()
    for s in spans:
        parent = by_id.get(s["parent_id"])
        if parent and parent["service"] != s["service"]:
            out.add((parent["service"], s["service"]))
    return out
