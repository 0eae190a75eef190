"""`mash bench` end to end at a tiny size: it must keep running as the code changes, and every figure it promises
must be there (its speed is printed, never asserted)."""

import json

import pytest

from mash_tools.bench import bench_mesh

pytestmark = pytest.mark.integration


def test_the_mesh_bench_measures_the_mesh_and_the_relay_and_writes_its_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    figures = bench_mesh(families=30, referrals=12, seed=3, state=tmp_path / "state", json_path=out, backlog=24, seconds=2)
    assert json.loads(out.read_text()) == json.loads(json.dumps(figures))
    assert out.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    assert figures["sustained"]["routed"] == 12 and figures["sustained"]["referrals_per_s"] > 0
    assert set(figures["offered_loads"]) == {"0.25", "0.5", "0.9"}
    assert all(v["routed"] == v["referrals"] for v in figures["offered_loads"].values())
    assert figures["urgent_behind_backlog"]["routed"] == 5 and figures["urgent_behind_backlog"]["backlog"] == 24
    assert figures["relay_referrals_per_s"] > 0 and 0 < figures["mesh_over_relay"]
    assert {"intake", "decision", "broker"} <= set(figures["cpu_ms_per_referral"]) and figures["peak_rss_mib"]["decision"] > 0
    printed = capsys.readouterr().out
    assert "urgent lane" in printed and "the mesh carries" in printed
