"""Small-number suppression for published counts: pure, no I/O.

A count of 1 to 4 could identify a child or a family, so it is published as "c" (the DfE and ONS marker). That
alone is not enough: a published total minus the other published cells gives the hidden one back, so a second cell
in the same row or column is hidden too (secondary suppression), and so on until no hidden count can be worked out.

Decisions, and why:
- **Zero is shown.** A zero describes no one, and the DfE's statistical releases publish it; hiding zeros would
  hide where a service is simply not used. Secondary suppression therefore never picks a zero: hiding a cell known
  to be empty protects nothing.
- **Counts, not tables.** Tables published together share totals (the contacts by month and source are the row
  totals of the contacts table in the SSD shape), so suppression works on every count in a report at once, keyed
  by name, with every published relation "total = sum of parts" between them. A count hidden in one table is then
  hidden wherever it, or anything it can be worked out from, appears.
- **Subtraction and beyond.** First, any relation with exactly one hidden member gets a second (the smallest
  non-zero count in it, so as little as possible is lost). Then the whole system of relations is checked: a hidden
  count that is a linear combination of published ones (two tables sharing a margin, a bridge between two blocks of
  hidden cells) is found by linear algebra and protected the same way. Repeat until stable.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

SUPPRESSED = "c"
THRESHOLD = 5  # counts from 1 to THRESHOLD - 1 are suppressed

Key = Hashable
Published = int | str


@dataclass(frozen=True)
class Sum:
    """A relation the published figures make visible: `total` is the sum of `parts`."""

    total: Key
    parts: tuple[Key, ...]

    @property
    def members(self) -> tuple[Key, ...]:
        return (*self.parts, self.total)


def grid(rows: Iterable[Key], columns: Iterable[Key], cell, row_total=None, column_total=None, grand_total=None) -> list[Sum]:
    """The relations of a table of counts: each row's cells sum to its total, each column's to its, and the totals to
    the grand total. `cell(r, c)`, `row_total(r)`, `column_total(c)` name the keys; a margin left None is not published."""
    rows, columns = list(rows), list(columns)
    sums = []
    if row_total:
        sums += [Sum(row_total(r), tuple(cell(r, c) for c in columns)) for r in rows]
    if column_total:
        sums += [Sum(column_total(c), tuple(cell(r, c) for r in rows)) for c in columns]
    if grand_total is not None:
        if row_total:
            sums.append(Sum(grand_total, tuple(row_total(r) for r in rows)))
        if column_total:
            sums.append(Sum(grand_total, tuple(column_total(c) for c in columns)))
    return sums


def suppress(
    counts: Mapping[Key, int], sums: Iterable[Sum], unpublished: Iterable[Key] = (), keep: Callable[[Key], int] | None = None
) -> dict[Key, Published]:
    """Every count as it may be published: the number, or "c".

    `unpublished`: counts that take part in the relations but are never shown (the reader does not know them).
    `keep`: a count's priority for staying visible when a second count must be hidden (higher stays longer; by default
    all equal), so that, say, the referrals behind a conversion rate are kept and the other outcomes hidden instead."""
    sums = [s for s in sums if s.parts]
    keep = keep or (lambda _k: 0)
    for s in sums:
        missing = [k for k in s.members if k not in counts]
        if missing:
            raise KeyError(f"relation names counts that are not given: {missing[:3]}")
    sensitive = {k for k, v in counts.items() if 0 < v < THRESHOLD}
    unseen = set(unpublished) - sensitive  # never shown and not small: nothing to protect in them
    hidden = sensitive | set(unpublished)
    while True:
        _by_subtraction(counts, sums, hidden, unseen, keep)
        # Every count hidden in the tables stays hidden; the never-shown ones that are not small need no protection.
        exposed = recoverable(counts, sums, hidden) - unseen
        if not exposed:
            break
        grew = False
        for k in sorted(exposed, key=repr):
            pick = _smallest_visible([s for s in sums if k in s.members], counts, hidden, keep)
            if pick is None:  # its own relations are all hidden or zero: widen to any relation touching a hidden count
                pick = _smallest_visible([s for s in sums if hidden & set(s.members)], counts, hidden, keep)
            if pick is not None:
                hidden.add(pick)
                grew = True
        if not grew:  # nothing non-zero left to hide; cannot happen for consistent counts, but never loop forever
            break
    return {k: (SUPPRESSED if k in hidden else v) for k, v in counts.items()}


def _by_subtraction(counts: Mapping[Key, int], sums: list[Sum], hidden: set[Key], unseen: set[Key], keep) -> None:
    changed = True
    while changed:
        changed = False
        for s in sums:
            alone = [k for k in s.members if k in hidden]
            if len(alone) == 1 and alone[0] not in unseen:
                pick = _smallest_visible([s], counts, hidden, keep)
                if pick is not None:
                    hidden.add(pick)
                    changed = True


def _smallest_visible(sums: list[Sum], counts: Mapping[Key, int], hidden: set[Key], keep) -> Key | None:
    # The smallest non-zero count still shown, among those with the lowest priority to keep; a cell before a total of
    # the same size (totals are what readers use).
    best, best_rank = None, None
    for s in sums:
        for is_total, k in [(False, p) for p in s.parts] + [(True, s.total)]:
            if k in hidden or counts[k] == 0:
                continue
            rank = (keep(k), counts[k], is_total, repr(k))
            if best_rank is None or rank < best_rank:
                best, best_rank = k, rank
    return best


def recoverable(counts: Mapping[Key, int], sums: Iterable[Sum], hidden: set[Key]) -> set[Key]:
    """The hidden counts a reader could work out exactly from the published ones and the relations between them.

    Each relation is an equation; moving the published counts to one side leaves a linear system in the hidden ones.
    A hidden count is determined exactly when its unit vector lies in the row space of that system, which the SVD's
    orthonormal basis of the row space tells directly."""
    hidden_list = sorted(hidden, key=repr)
    index = {k: i for i, k in enumerate(hidden_list)}
    rows = []
    for s in sums:
        if not any(k in index for k in s.members):
            continue
        row = np.zeros(len(hidden_list))
        if s.total in index:
            row[index[s.total]] += 1
        for p in s.parts:
            if p in index:
                row[index[p]] -= 1
        rows.append(row)
    if not rows:
        return set()
    _, singular, vt = np.linalg.svd(np.array(rows), full_matrices=False)
    rank = int((singular > 1e-9 * max(1.0, singular[0])).sum())
    in_row_space = (vt[:rank] ** 2).sum(axis=0)
    return {hidden_list[i] for i in np.flatnonzero(in_row_space > 1 - 1e-7)}


def rate(numerator: Published, denominator: Published, digits: int = 1) -> float | str | None:
    """A percentage from published counts: suppressed when either count is; None when there is nothing to divide by."""
    if isinstance(numerator, str) or isinstance(denominator, str):  # SUPPRESSED: the only text a published count holds
        return SUPPRESSED
    if not denominator:
        return None
    return round(100 * numerator / denominator, digits)
