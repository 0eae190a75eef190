"""The benchmark's desk part runs (tiny sizes): a refactor must not leave `mash bench` broken."""

import pytest

from mash_tools.bench import bench_desk

pytestmark = pytest.mark.process


def test_desk_bench_runs_and_prints_figures(capsys):
    bench_desk(families=20, referrals=5, seed=3)
    out = capsys.readouterr().out
    assert "desk research (police, SQLite)" in out and "referrals/s" in out
