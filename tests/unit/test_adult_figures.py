"""Adults at risk in the commissioning figures (issue 19, part 5): the NHS Safeguarding Adults Collection's
breakdowns (type, source and location of risk) and how each concern was taken forward, with small numbers
suppressed as everywhere else in the report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mash_analysis.figures import ContactRow, counts_and_relations, figures, unpublished_keys
from mash_analysis.suppression import SUPPRESSED, recoverable, suppress

pytestmark = pytest.mark.unit
START, END = date(2026, 1, 1), date(2026, 3, 31)
T = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def adult(
    i, categories=("financial_abuse",), *, source="known_to_individual", location="own_home", route="mash", outcome="s42_enquiry"
):
    return ContactRow(
        f"REF-{i:012X}",
        T + timedelta(hours=i),
        "professional",
        "health",
        tuple(categories),
        "green",
        4 if outcome == "s42_enquiry" else 2,
        outcome,
        T + timedelta(hours=i, minutes=30) if outcome else None,
        T + timedelta(days=1),
        (),
        (),
        (),
        adult=True,
        location_of_risk=location,
        source_of_risk=source,
        route=route if outcome else None,
    )


def child(i):
    return ContactRow(
        f"REF-{i:012X}", T, "professional", "police", ("neglect",), "amber", 3, "cin_assessment", T, T, (), ("kid",), ()
    )


def cell(f, name, row, column):
    t = f.table(name)
    return t.cells[t.rows.index(row)][t.columns.index(column)]


def test_the_adults_tables_count_type_source_location_and_route():
    rows = (
        [adult(i) for i in range(12)]
        + [adult(100 + i, ("self_neglect",), source="self", outcome="care_needs_assessment") for i in range(8)]
        + [
            adult(
                200 + i,
                ("neglect", "organisational_abuse"),
                source="service_provider",
                location="care_home_residential",
                route="allocated_team",
            )
            for i in range(6)
        ]
        + [child(300 + i) for i in range(20)]
    )
    f = figures(rows, START, END)
    assert cell(f, "adults_by_type_of_risk", "financial or material abuse", "concerns") == 12
    assert cell(f, "adults_by_type_of_risk", "self-neglect", "concerns") == 8, "self-neglect is its own category"
    assert cell(f, "adults_by_type_of_risk", "neglect and acts of omission", "concerns") == 6
    assert cell(f, "adults_by_type_of_risk", "organisational abuse", "concerns") == 6
    source = f.table("adults_by_source_of_risk")
    assert source.column_totals == [26], "the adults only: the children's contacts are not in it"
    assert cell(f, "adults_by_source_of_risk", "self", "concerns") == 8
    assert cell(f, "adults_by_location_of_risk", "care home residential", "concerns") == 6
    route = f.table("adults_by_route_and_outcome")
    assert route.rows == ["through the MASH", "the allocated worker's team"]
    assert cell(f, "adults_by_route_and_outcome", "through the MASH", "s42 enquiry") == 12
    assert cell(f, "adults_by_route_and_outcome", "the allocated worker's team", "s42 enquiry") == 6
    assert cell(f, "adults_by_route_and_outcome", "through the MASH", "care needs assessment") == 8
    assert route.total == 26


def test_small_adult_counts_are_hidden_and_cannot_be_worked_out():
    rows = [adult(i) for i in range(9)] + [
        adult(50 + i, ("discriminatory_abuse",), source="unknown_to_individual") for i in range(2)
    ]
    counts, sums = counts_and_relations(rows, START, END)
    out = suppress(counts, sums, unpublished_keys(counts))
    hidden = {k for k, v in out.items() if v == SUPPRESSED}
    assert out[("sac", "source", "unknown_to_individual")] == SUPPRESSED
    assert out[("sac", "type", "discriminatory abuse")] == SUPPRESSED
    small = {k for k, v in counts.items() if 0 < v < 5 and k[0] == "sac"}
    assert small <= hidden
    assert not recoverable(counts, sums, hidden) & small, "no hidden adult count can be worked out from the totals"
    for t in figures(rows, START, END).tables:
        for v in [v for r in t.cells for v in r] + (t.row_totals or []) + (t.column_totals or []) + [t.total]:
            assert not (isinstance(v, int) and 0 < v < 5), (t.name, v)


def test_no_adults_no_adult_tables():
    f = figures([child(i) for i in range(10)], START, END)
    assert not [t for t in f.tables if t.name.startswith("adults_")]
