"""Explanations a manager can read: every factor in full, naming the contribution and disclosure record behind it."""

from __future__ import annotations

import pytest
from tests.unit.test_practice_table import CASES, run

from mash_contracts import Decision, Factor, shorten
from mash_contracts.threshold import MODELS, ThresholdModel, load_model

pytestmark = pytest.mark.unit
CASE = next(c for c in CASES if c.name == "repeat DA, bail in force, baby")


def test_a_finding_names_its_contribution_and_disclosure_record():
    n, rec = run(CASE, load_model("default"))
    [bail] = [f for f in rec.factors if f.name == "bail conditions in force"]
    assert bail.source == "police" and len(bail.disclosure_ids) == 1
    assert f"disclosure record {bail.disclosure_ids[0]}" in bail.detail and "police contribution" in bail.detail
    assert "'bail_conditions_in_force'" in bail.detail and "weight +15" in bail.detail
    assert all(f.detail for f in rec.factors), "every factor carries its full explanation"


def test_a_long_level_name_is_explained_in_full_and_never_cut_mid_word(tmp_path):
    long = "Child protection: reasonable cause to suspect significant harm (Children Act 1989 s47) and a strategy discussion"
    text = (MODELS / "default.toml").read_text().replace('name = "Child protection (s47)"', f'name = "{long}"')
    (tmp_path / "long.toml").write_text(text)
    _, rec = run(CASE, ThresholdModel.load(tmp_path / "long.toml"))
    [why] = [f for f in rec.factors if f.source == "model" and f.name.startswith("score")]
    assert long in why.detail, "the detail holds the whole sentence"
    assert len(why.name) <= 120 and why.name.endswith("…")
    assert why.name[:-1].rstrip() in why.detail and why.detail[len(why.name[:-1].rstrip())] in " ,;:.", "cut at a word boundary"
    # A decision carrying it round-trips: optional fields, old readers ignore them.
    assert Factor.model_validate_json(why.model_dump_json()) == why


def test_a_factor_name_too_long_for_the_contract_stops_loading(tmp_path):
    text = (MODELS / "default.toml").read_text().replace('name = "neglect reported"', f'name = "neglect reported {"x" * 120}"')
    (tmp_path / "long.toml").write_text(text)
    with pytest.raises(ValueError, match="must be 1-120 characters"):
        ThresholdModel.load(tmp_path / "long.toml")


@pytest.mark.parametrize(
    "text,limit,expected",
    [
        ("short enough", 120, "short enough"),
        ("alpha beta gamma delta", 15, "alpha beta…"),
        ("alpha, beta gamma", 12, "alpha, beta…"),
        ("alpha, beta gamma", 11, "alpha…"),
        ("x" * 30, 10, "x" * 9 + "…"),
    ],
)
def test_shorten_cuts_at_a_word(text, limit, expected):
    assert shorten(text, limit) == expected and len(shorten(text, limit)) <= limit


def test_older_factors_without_detail_still_read():
    assert Factor.model_validate({"name": "neglect reported", "source": "notification", "weight": 25}).disclosure_ids == []
    assert "detail" in Decision.model_fields["explanation"].annotation.__args__[0].model_fields
