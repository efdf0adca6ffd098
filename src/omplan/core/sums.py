"""Group sums of the ledger's amounts, bit for bit what pandas' group-by gives, in one pass.

Every figure is a group-by of the ledger, and the figures must not change by a bit when the way
of computing them does (golden files, byte-identical reports). pandas adds a group's amounts in
row order with Kahan's compensated summation, except when the group ids never decrease, where it
adds each group's run with ``np.add.reduceat``. A scenario's figures were group-bys of that
scenario's rows alone (``ledger[ledger["scenario"] == s].groupby(keys)``); one pass over the
whole ledger with the scenario in the group id adds each group's rows in the same order, so its
Kahan sums are the same numbers, for every scenario whose own rows would have taken the Kahan
path. The few scenarios whose ids never decrease (the Baseline's components, when it has no
transition) are summed again on their own rows, the way pandas does.

The compensated sum is pandas' own kernel (``pandas._libs.groupby.group_sum``), called directly:
the public ``groupby(...).sum()`` around it costs four times the sum on a ledger of millions of
rows. Should the kernel not answer as the public path does (checked once on data made to tell
them apart), every sum goes through the public path instead: slower, never different.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from omplan.core.model import IN_HOUSE

__all__ = ["LedgerSums", "Sums", "group_sums"]

#: a scenario's rows in ledger order: slices of the ledger, or row indexes
Piece = slice | np.ndarray


def group_sums(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """``pd.Series(values).groupby(ids).sum()`` over groups 0 … n_groups − 1 (0 where none),
    as pandas computes it."""
    if _never_decreases_in(ids, slice(0, len(ids)))[0]:  # pandas' reduceat path: its own call
        return _public(values, ids, n_groups)
    return _kahan(values, ids, n_groups)


def _public(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    groups = pd.Categorical.from_codes(ids, categories=pd.RangeIndex(n_groups), validate=False)
    sums = pd.Series(values, copy=False).groupby(groups, observed=False).sum()
    return sums.to_numpy(dtype=float)


def _kahan(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """Kahan sums of ``values`` by ``ids`` in row order, pandas' way (its kernel)."""
    if _kernel_agrees():
        from pandas._libs import groupby as libgroupby

        out = np.zeros((n_groups, 1))
        libgroupby.group_sum(out=out, counts=np.zeros(n_groups, dtype=np.int64),
                             values=values[:, None], labels=ids.astype(np.intp, copy=False),
                             mask=None, result_mask=None, min_count=0, is_datetimelike=False)
        return out[:, 0]
    return _public_kahan(values, ids, n_groups)


def _public_kahan(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """The public group-by forced onto its Kahan path: a leading row of another group keeps
    the ids from never decreasing (that row's own group is dropped)."""
    ids = np.r_[n_groups, ids]
    return _public(np.r_[0.0, values], ids, n_groups + 1)[:n_groups]


@cache
def _kernel_agrees() -> bool:
    """Whether pandas' kernel, called directly, gives what ``groupby().sum()`` gives, on
    amounts where plain and compensated sums differ."""
    try:
        from pandas._libs import groupby as libgroupby

        rng = np.random.default_rng(0)
        n = 4096
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-9, 9, n)
        ids = rng.integers(0, 5, n).astype(np.intp)
        out = np.zeros((5, 1))
        libgroupby.group_sum(out=out, counts=np.zeros(5, dtype=np.int64),
                             values=values[:, None], labels=ids, mask=None, result_mask=None,
                             min_count=0, is_datetimelike=False)
        want = _public_kahan(values, ids, 5)
        return bool((out[:, 0] == want).all() and (want != np.bincount(ids, values, 5)).any())
    except Exception:  # another pandas: the public path
        return False


@dataclass(frozen=True, slots=True)
class Sums:
    """Sums by scenario and ``keys``, shape (scenarios, *categories of each key).

    ``scenario``: as each scenario's own rows group-by'd give them (``ledger[ledger.scenario
    == s].groupby(keys)``); ``whole``: as the whole ledger group-by'd gives them
    (``ledger.groupby(["scenario", *keys])``). They differ, in the last bits, only where a
    scenario's rows alone take pandas' other way of adding."""

    scenario: np.ndarray
    whole: np.ndarray


#: The row selections :meth:`LedgerSums.by` knows, by name: (column, value, rows equal?) all
#: of which a row must meet.
SELECTIONS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "labour": (("component", "labour", True),),
    "external labour": (("component", "labour", True), ("sourcing", IN_HOUSE, False)),
    "transition": (("component", "transition", True),),
}


class LedgerSums:
    """Group sums of a ledger's amounts by scenario and other columns (see the module): each
    grouping is one pass over the ledger (or over the selected rows), computed once."""

    #: more runs of one scenario than this per scenario: not the engine's order; the rows of
    #: each scenario are then found by a comparison per scenario
    MAX_RUNS_PER_SCENARIO = 64

    def __init__(self, ledger: pd.DataFrame) -> None:
        self.ledger = ledger
        self.amount = ledger["amount"].to_numpy(dtype=float)
        self.n_scenarios = len(ledger["scenario"].cat.categories)
        self._codes: dict[str, np.ndarray] = {}
        self._sums: dict[tuple[tuple[str, ...], str | None], Sums] = {}
        #: the group ids of the current grouping, as intp and in 16 bits (buffers for all)
        self._ids: np.ndarray | None = None
        self._narrow: np.ndarray | None = None
        self.pieces = self._scenario_pieces(self.codes("scenario"))

    def codes(self, column: str) -> np.ndarray:
        """The category codes of ``column`` (read once)."""
        found = self._codes.get(column)
        if found is None:
            found = self._codes[column] = np.asarray(self.ledger[column].array.codes)
        return found

    def size(self, column: str) -> int:
        return len(self.ledger[column].cat.categories)

    def is_(self, column: str, value: str) -> np.ndarray:
        """Rows whose ``column`` is ``value`` (none when it is not a category)."""
        categories = list(self.ledger[column].cat.categories)
        if value not in categories:
            return np.zeros(len(self.amount), dtype=bool)
        return np.asarray(self.codes(column) == categories.index(value))

    def by(self, keys: Sequence[str], where: str | None = None) -> Sums:
        """Sums of the rows of selection ``where`` (:data:`SELECTIONS`; all rows if None) by
        scenario and ``keys``."""
        cache_key = (tuple(keys), where)
        found = self._sums.get(cache_key)
        if found is None:
            found = self._sums[cache_key] = self._by(keys, where)
        return found

    def _by(self, keys: Sequence[str], where: str | None) -> Sums:
        shape = (self.n_scenarios, *(self.size(k) for k in keys))
        n_groups = int(np.prod(shape))
        rows = slice(0, len(self.amount)) if where is None else self._rows(where)
        values = self.amount[rows]
        ids = self._group_ids(("scenario", *keys), rows, len(values))
        pieces = [[_within(rows, p) for p in own] for own in self.pieces]
        whole = group_sums(values, ids, n_groups).reshape(shape)
        scenario = whole.copy()
        for k in range(self.n_scenarios):
            own = _rows_if_never_decreasing(ids, pieces[k])
            if own is not None:  # the scenario's ids never decrease: pandas' other way
                scenario[k] = _public(values[own], ids[own], n_groups).reshape(shape)[k]
        return Sums(scenario, whole)

    def _group_ids(self, keys: Sequence[str], rows: Piece, n: int) -> np.ndarray:
        """The (*keys) group id of each of ``rows``, row-major over the keys' categories, as
        the kernel's intp: computed in 16 bits where they fit (a quarter of the memory
        traffic), in buffers every grouping reuses (the caller is done with them before the
        next grouping)."""
        n_groups = int(np.prod([self.size(k) for k in keys]))
        if self._ids is None:
            self._ids = np.empty(len(self.amount), dtype=np.intp)
        ids = self._ids[:n]
        if n_groups > np.iinfo(np.int16).max:
            narrow = ids
        else:
            if self._narrow is None:
                self._narrow = np.empty(len(self.amount), dtype=np.int16)
            narrow = self._narrow[:n]
        np.copyto(narrow, self.codes(keys[0])[rows])
        for key in keys[1:]:
            narrow *= self.size(key)
            narrow += self.codes(key)[rows]
        if narrow is not ids:
            np.copyto(ids, narrow)
        return ids

    def _rows(self, name: str) -> Piece:
        """The rows of selection ``name``: a slice when they are one stretch (in the engine's
        ledger a component's rows are), else their indexes."""
        selected = None
        for column, value, equal in SELECTIONS[name]:
            rows = self.is_(column, value)
            if not equal:
                rows = ~rows
            selected = rows if selected is None else selected & rows
        assert selected is not None
        count = int(np.count_nonzero(selected))
        if count == 0:
            return slice(0, 0)
        first = int(np.argmax(selected))
        if selected[first:first + count].all():
            return slice(first, first + count)
        return np.flatnonzero(selected)

    def _scenario_pieces(self, scenario: np.ndarray) -> list[list[Piece]]:
        """Each scenario's rows in ledger order: the runs of rows of one scenario (the engine
        writes each component's rows scenario after scenario: a few runs per scenario)."""
        n_s = self.n_scenarios
        starts = np.flatnonzero(scenario[1:] != scenario[:-1]) + 1
        if len(starts) > self.MAX_RUNS_PER_SCENARIO * max(n_s, 1):
            return [[np.flatnonzero(scenario == k)] for k in range(n_s)]
        bounds = [0, *starts.tolist(), len(scenario)]
        pieces: list[list[Piece]] = [[] for _ in range(n_s)]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            if stop > start:
                pieces[int(scenario[start])].append(slice(start, stop))
        return pieces


def _within(rows: Piece, piece: Piece) -> Piece:
    """``piece`` (of the ledger's rows) as positions in ``rows`` (a slice, or sorted row
    indexes)."""
    if isinstance(rows, slice):
        if isinstance(piece, slice):
            return slice(min(max(piece.start - rows.start, 0), rows.stop - rows.start),
                         min(max(piece.stop - rows.start, 0), rows.stop - rows.start))
        inside = piece[(piece >= rows.start) & (piece < rows.stop)]
        return inside - rows.start
    if isinstance(piece, slice):
        return slice(int(np.searchsorted(rows, piece.start)),
                     int(np.searchsorted(rows, piece.stop)))
    return np.searchsorted(rows, piece[np.isin(piece, rows)])


def _rows_if_never_decreasing(ids: np.ndarray, pieces: list[Piece]) -> np.ndarray | None:
    """The rows of ``pieces`` when their ``ids`` never decrease (in order), else None."""
    last = -1
    for piece in pieces:
        ok, last = _never_decreases_in(ids, piece, last)
        if not ok:
            return None
    return np.concatenate([np.arange(p.start, p.stop) if isinstance(p, slice) else p
                           for p in pieces] or [np.zeros(0, dtype=np.intp)])


def _never_decreases_in(ids: np.ndarray, piece: Piece, last: int = -1) -> tuple[bool, int]:
    """(whether the ``ids`` of the rows of ``piece`` never decrease, starting from ``last``;
    the last id seen). Looks at a short stretch first, then longer ones: ids that decrease
    mostly do so at once."""
    n = piece.stop - piece.start if isinstance(piece, slice) else len(piece)
    at, step = 0, 4096
    while at < n:
        part = (slice(piece.start + at, piece.start + min(n, at + step))
                if isinstance(piece, slice) else piece[at:at + step])
        chunk = ids[part]
        if len(chunk):
            if chunk[0] < last or (chunk[1:] < chunk[:-1]).any():
                return False, last
            last = int(chunk[-1])
        at += step
        step *= 8
    return True, last
