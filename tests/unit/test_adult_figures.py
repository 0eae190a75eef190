"""Adults at risk in the commissioning figures (issue 19, part 5): the NHS Safeguarding Adults Collection's
breakdowns (type, source and location of risk) and how each concern was taken forward, with small numbers
suppressed as everywhere else in the report."""

from __future__ import annotations

import random
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
    types = f.table("adults_by_type_of_risk")
    assert len(types.rows) == 10, "the statutory guidance's ten categories, zero shown"
    assert cell(f, "adults_by_type_of_risk", "financial or material abuse", "concerns") == 12
    assert cell(f, "adults_by_type_of_risk", "self-neglect", "concerns") == 8, "self-neglect is its own category"
    assert cell(f, "adults_by_type_of_risk", "neglect and acts of omission", "concerns") == 6
    assert cell(f, "adults_by_type_of_risk", "organisational abuse", "concerns") == 6
    assert cell(f, "adults_by_type_of_risk", "physical abuse", "concerns") == 0
    source = f.table("adults_by_source_of_risk")
    assert source.column_totals == [26], "the adults only: the children's contacts are not in it"
    assert cell(f, "adults_by_source_of_risk", "self (self-neglect)", "concerns") == 8
    assert cell(f, "adults_by_location_of_risk", "care home residential", "concerns") == 6
    assert cell(f, "adults_by_location_of_risk", "own home", "concerns") == 20
    route = f.table("adults_by_route")
    assert route.rows == ["through the MASH", "the allocated worker's team", "not yet decided"]
    assert cell(f, "adults_by_route", "through the MASH", "concerns") == 20
    assert cell(f, "adults_by_route", "through the MASH", "enquiries started") == 12
    assert cell(f, "adults_by_route", "the allocated worker's team", "enquiries started") == 6
    assert route.column_totals == [26, 18] and route.rates == [60.0, 100.0, None]
    measures = f.table("adults_concerns_and_enquiries")
    assert dict(zip(measures.rows, (c[0] for c in measures.cells))) == {
        "safeguarding concerns raised": 26,
        "section 42 enquiries started": 18,
        "other safeguarding enquiries started": 0,
        "enquiries started, both kinds": 18,
    }
    headline = {h.label: h for h in f.headline}
    assert headline["Adult safeguarding concerns"].value == 26
    assert headline["Adult enquiries started"].value == 18
    assert cell(f, "adults_by_source_of_referral", "Health services", "concerns") == 26


def test_an_adult_decided_before_decisions_named_a_route_is_counted_as_route_not_recorded():
    rows = [adult(i, outcome="other_safeguarding_enquiry") for i in range(6)] + [
        adult(50 + i, route=None)
        for i in range(7)  # decided before decisions named a route
    ]
    f = figures(rows, START, END)
    assert f.table("adults_by_route").rows == [
        "through the MASH",
        "the allocated worker's team",
        "route not recorded",
        "not yet decided",
    ]
    assert cell(f, "adults_by_route", "route not recorded", "enquiries started") == 7
    assert cell(f, "adults_concerns_and_enquiries", "other safeguarding enquiries started", "count") == 6


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


def test_the_few_adults_undecided_at_the_periods_end_cannot_be_worked_out_from_the_decided():
    rows = [adult(i) for i in range(20)] + [adult(40 + i, route="allocated_team") for i in range(9)]
    rows += [adult(60 + i, outcome=None) for i in range(2)] + [child(100 + i) for i in range(30)]
    f = figures(rows, START, END)
    assert cell(f, "adults_by_route", "not yet decided", "concerns") == SUPPRESSED
    shown = [r[0] for r in f.table("adults_by_route").cells]
    assert shown.count(SUPPRESSED) >= 2, "another route's count hidden too, or the total gives the undecided back"


def published(f, table, row, column="concerns"):
    t = f.table(table)
    return t.cells[t.rows.index(row)][t.columns.index(column)] if row in t.rows else 0


@pytest.mark.parametrize("seed", range(40))
def test_a_count_both_the_adults_and_the_contacts_tables_show_is_hidden_in_both_or_neither(seed):
    """Only adults' contacts start enquiries, and here every contact from health is an adult's: the contacts tables
    and the adults' show the same counts under other names, so a count hidden in one must be hidden in the other."""
    rng = random.Random(seed)
    rows, i = [], 0
    for route in ("mash", "allocated_team"):
        for outcome in ("s42_enquiry", "other_safeguarding_enquiry", "care_needs_assessment", "no_further_action", None):
            for _ in range(rng.choice([0, 1, 2, 3, 5, 6, 8])):
                rows.append(adult(i, source=rng.choice(["self", "service_provider"]), route=route, outcome=outcome))
                i += 1
    rows += [child(1000 + j) for j in range(rng.choice([3, 12, 30]))]
    if not any(r.adult for r in rows):
        return
    f = figures(rows, START, END)
    assert published(f, "contacts_by_outcome", "s42 enquiry", "contacts") == published(
        f, "adults_concerns_and_enquiries", "section 42 enquiries started", "count"
    )
    assert published(f, "contacts_by_outcome", "other safeguarding enquiry", "contacts") == published(
        f, "adults_concerns_and_enquiries", "other safeguarding enquiries started", "count"
    )
    by_source = f.table("contacts_by_month_and_source")
    assert by_source.column_totals is not None
    health = by_source.column_totals[by_source.columns.index("Health services")]
    assert health == published(f, "adults_by_source_of_referral", "Health services")
