"""Small-number suppression: counts of 1-4 hidden, and nothing hidden can be worked back from what is published:
not by subtracting from one total, and not by combining several (checked by exact rational elimination,
independently of the SVD the module itself uses)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mash_analysis.suppression import SUPPRESSED, Sum, grid, rate, recoverable, suppress

pytestmark = pytest.mark.unit


def table(cells: list[list[int]]):
    """A table with its margins: counts by key and the relations a reader sees."""
    rows, cols = range(len(cells)), range(len(cells[0]))
    counts = {("c", r, c): cells[r][c] for r in rows for c in cols}
    counts |= {("r", r): sum(cells[r]) for r in rows}
    counts |= {("k", c): sum(cells[r][c] for r in rows) for c in cols}
    counts[("t",)] = sum(map(sum, cells))
    return counts, grid(rows, cols, lambda r, c: ("c", r, c), lambda r: ("r", r), lambda c: ("k", c), ("t",))


def determined_exactly(counts: dict, sums: list[Sum], hidden: set) -> set:
    """The hidden counts a reader can solve for: Gauss-Jordan over the rationals on the hidden unknowns; an unknown
    is determined when its pivot row has no free unknown left in it."""
    unknowns = sorted(hidden, key=repr)
    ix = {k: i for i, k in enumerate(unknowns)}
    rows = []
    for s in sums:
        row = [Fraction(0)] * len(unknowns)
        for k, coeff in [(s.total, 1)] + [(p, -1) for p in s.parts]:
            if k in ix:
                row[ix[k]] += coeff
        if any(row):
            rows.append(row)
    pivots, r = [], 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        rows[r] = [v / rows[r][col] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r])]
        pivots.append((r, col))
        r += 1
    return {unknowns[col] for row, col in pivots if sum(1 for v in rows[row] if v != 0) == 1}


def hidden_of(published: dict) -> set:
    return {k for k, v in published.items() if v == SUPPRESSED}


def test_primary_hides_one_to_four_and_shows_zero_and_five():
    counts = {"a": 0, "b": 1, "c": 4, "d": 5, "e": 120}
    assert suppress(counts, []) == {"a": 0, "b": SUPPRESSED, "c": SUPPRESSED, "d": 5, "e": 120}


def test_a_row_total_cannot_give_back_its_one_hidden_cell():
    counts, sums = table([[3, 10, 20], [8, 9, 30]])
    out = suppress(counts, sums)
    assert out[("c", 0, 0)] == SUPPRESSED
    # the smallest other cell of the row goes too, and the column's other cell, and so on until stable
    assert out[("c", 0, 1)] == SUPPRESSED
    assert out[("c", 1, 0)] == SUPPRESSED and out[("c", 1, 1)] == SUPPRESSED
    assert out[("c", 0, 2)] == 20 and out[("r", 0)] == 33 and out[("t",)] == 80
    assert not determined_exactly(counts, sums, hidden_of(out))


def test_secondary_never_hides_a_zero():
    counts, sums = table([[2, 0, 7], [6, 0, 9]])
    out = suppress(counts, sums)
    assert out[("c", 0, 1)] == 0 and out[("c", 1, 1)] == 0
    assert out[("c", 0, 2)] == SUPPRESSED  # the next smallest non-zero cell instead
    assert not determined_exactly(counts, sums, hidden_of(out))


def test_two_tables_sharing_totals_are_suppressed_together():
    """Table B's row totals are table A's cells: a count B hides must not be published by A."""
    a_counts, a_sums = table([[40, 2], [30, 50]])
    b_cells = {("b", 0, f): v for f, v in enumerate([37, 3])} | {("b", 1, f): v for f, v in enumerate([20, 20])}
    b_sums = [Sum(("c", 0, 0), (("b", 0, 0), ("b", 0, 1))), Sum(("c", 1, 0), (("b", 1, 0), ("b", 1, 1)))]
    counts, sums = a_counts | b_cells, a_sums + b_sums
    out = suppress(counts, sums)
    assert out[("b", 0, 1)] == SUPPRESSED
    # hiding (b, 0, 1) forces (b, 0, 0) or A's cell (0, 0) to go as well; whichever, nothing can be solved for
    assert out[("b", 0, 0)] == SUPPRESSED or out[("c", 0, 0)] == SUPPRESSED
    assert not determined_exactly(counts, sums, hidden_of(out))


def test_a_bridge_between_two_hidden_blocks_is_found_by_the_algebra():
    """Every row and column holds two or more hidden cells, so no single subtraction works; but the cell joining the
    two blocks is still fixed by the equations, and both checks say so."""
    cells = [[9, 9, 9, 9, 9] for _ in range(5)]
    counts, sums = table(cells)
    hidden = {("c", 0, 0), ("c", 0, 1), ("c", 1, 0), ("c", 1, 1), ("c", 2, 2), ("c", 2, 3), ("c", 3, 2), ("c", 3, 3), ("c", 0, 2)}
    assert recoverable(counts, sums, hidden) == {("c", 0, 2)} == determined_exactly(counts, sums, hidden)


def test_rates_from_hidden_counts_are_hidden():
    assert rate(SUPPRESSED, 40) == SUPPRESSED and rate(7, SUPPRESSED) == SUPPRESSED
    assert rate(7, 28) == 25.0 and rate(0, 0) is None


small = st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 30, 200])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 6).flatmap(lambda w: st.lists(st.lists(small, min_size=w, max_size=w), min_size=2, max_size=6)))
def test_no_hidden_count_can_be_recovered_from_any_published_total(cells):
    counts, sums = table(cells)
    out = suppress(counts, sums)
    hidden = hidden_of(out)
    assert all(out[k] == SUPPRESSED for k, v in counts.items() if 0 < v < 5)
    assert all(out[k] == 0 for k, v in counts.items() if v == 0)
    assert all(out[k] == v for k, v in counts.items() if k not in hidden)
    for s in sums:  # one subtraction: never exactly one hidden member in a relation
        assert sum(k in hidden for k in s.members) != 1
    assert not determined_exactly(counts, sums, hidden)  # nor any combination of them


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(small, min_size=3, max_size=3), min_size=3, max_size=5), st.data())
def test_linked_tables_never_reveal_each_other(cells, data):
    """A second table refines the first's cells (each split in two), as the SSD contacts table refines contacts by
    month and source: nothing hidden in either can be solved from both together."""
    counts, sums = table(cells)
    for r, row in enumerate(cells):
        for c, v in enumerate(row):
            left = data.draw(st.integers(0, v))
            counts[("s", r, c, 0)], counts[("s", r, c, 1)] = left, v - left
            sums.append(Sum(("c", r, c), (("s", r, c, 0), ("s", r, c, 1))))
    out = suppress(counts, sums)
    assert all(out[k] == SUPPRESSED for k, v in counts.items() if 0 < v < 5)
    assert not determined_exactly(counts, sums, hidden_of(out))
