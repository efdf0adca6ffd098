"""Group sums of the ledger's amounts, bit for bit what pandas' group-by gives, in few passes.

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
the public ``groupby(...).sum()`` around it costs several times the sum on a ledger of millions
of rows. The kernel sums several columns per row, each leaving out the rows its mask marks, so
groupings by scenario and one small key go in one pass (:meth:`LedgerSums.by_each`): a column
per category, the additions of different groupings side by side rather than one after another.
Should the kernel not answer as the public path does (checked once on data made to tell them
apart), every sum goes through the public path instead: slower, never different.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from omplan.core.model import EXTERNAL_SOURCINGS, IN_HOUSE

__all__ = ["SELECTIONS", "LedgerSums", "Sums", "group_sums"]

#: a stretch of the ledger's rows in order: a slice, or row indexes
Piece = slice | np.ndarray


def group_sums(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """``pd.Series(values).groupby(ids).sum()`` over groups 0 … n_groups − 1 (0 where none),
    as pandas computes it."""
    if _never_decreases(ids):  # pandas' reduceat path: its own call
        return _public(values, ids, n_groups)
    return _kahan(values, ids, n_groups)


def _public(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    groups = pd.Categorical.from_codes(ids, categories=pd.RangeIndex(n_groups), validate=False)
    sums = pd.Series(values, copy=False).groupby(groups, observed=False).sum()
    return sums.to_numpy(dtype=float)


def _kahan(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """Kahan sums of ``values`` by ``ids`` in row order (rows with id −1 left out), pandas'
    way (its kernel)."""
    if not _kernel_agrees():
        keep = np.flatnonzero(ids >= 0)
        return _public_kahan(values[keep], ids[keep], n_groups)
    from pandas._libs import groupby as libgroupby

    out = np.zeros((n_groups, 1))
    libgroupby.group_sum(out=out, counts=np.zeros(n_groups, dtype=np.int64),
                         values=values[:, None], labels=ids.astype(np.intp, copy=False),
                         mask=None, result_mask=None, min_count=0, is_datetimelike=False)
    return out[:, 0]


def _kahan_columns(values: np.ndarray, ids: np.ndarray, n_groups: int,
                   skip: np.ndarray) -> np.ndarray:
    """(n_groups, K) Kahan sums of ``values`` by ``ids``, column j leaving out the rows where
    ``skip[j]`` (a (K, rows) uint8 array) is set: pandas' kernel with a mask."""
    from pandas._libs import groupby as libgroupby

    k = skip.shape[0]
    out = np.zeros((n_groups, k))
    libgroupby.group_sum(out=out, counts=np.zeros(n_groups, dtype=np.int64),
                         values=np.broadcast_to(values[:, None], (len(values), k)),
                         labels=ids.astype(np.intp, copy=False), mask=skip.T,
                         result_mask=np.zeros((n_groups, k), dtype=np.uint8), min_count=0,
                         is_datetimelike=False)
    return out


def _public_kahan(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """The public group-by forced onto its Kahan path: a leading row of another group keeps
    the ids from never decreasing (that row's own group is dropped)."""
    return _public(np.r_[0.0, values], np.r_[n_groups, ids], n_groups + 1)[:n_groups]


@cache
def _kernel_agrees() -> bool:
    """Whether pandas' kernel, called directly (one column, or several with a mask), gives
    what ``groupby().sum()`` gives, on amounts where plain and compensated sums differ."""
    try:
        from pandas._libs import groupby as libgroupby  # noqa: F401

        rng = np.random.default_rng(0)
        n = 4096
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-9, 9, n)
        ids = rng.integers(0, 5, n).astype(np.intp)
        negative = values < 0
        plain = np.bincount(ids, values, 5)
        one = _kahan_columns(values, ids, 5, np.zeros((1, n), dtype=np.uint8))[:, 0]
        two = _kahan_columns(values, ids, 5, np.stack([np.zeros(n, dtype=np.uint8),
                                                       (~negative).view(np.uint8)]))
        want = _public_kahan(values, ids, 5)
        want_negative = _public_kahan(values[negative], ids[negative], 5)
        return bool((one == want).all() and (two[:, 0] == want).all()
                    and (two[:, 1] == want_negative).all() and (want != plain).any())
    except Exception:  # another pandas: the public path
        return False


def _never_decreases(ids: np.ndarray) -> bool:
    """Whether ``ids`` never decrease (pandas' test for its reduceat path); a short look at
    the start first, since ids that do decrease mostly do so at once."""
    head = ids[:4097]
    return not (head[1:] < head[:-1]).any() and bool((ids[1:] >= ids[:-1]).all())


@dataclass(frozen=True, slots=True)
class Sums:
    """Sums by scenario and ``keys``, shape (scenarios, *categories of each key).

    ``scenario``: as each scenario's own rows group-by'd give them (``ledger[ledger.scenario
    == s].groupby(keys)``); ``whole``: as the whole ledger group-by'd gives them
    (``ledger.groupby(["scenario", *keys])``). They differ, in the last bits, only where a
    scenario's rows alone take pandas' other way of adding."""

    scenario: np.ndarray
    whole: np.ndarray


#: The row selections :meth:`LedgerSums.by` knows, by name: (column, values, in them?), all
#: of which a row must meet. Labour rows always have a sourcing, so "external labour" (not
#: in-house, as the JSON's billing reads it) and "outsourced labour" (Outsource or Offshore,
#: as the report's) are the same rows in every ledger of the engine.
SELECTIONS: dict[str, tuple[tuple[str, tuple[str, ...], bool], ...]] = {
    "labour": (("component", ("labour",), True),),
    "external labour": (("component", ("labour",), True), ("sourcing", (IN_HOUSE,), False)),
    "outsourced labour": (("component", ("labour",), True),
                          ("sourcing", EXTERNAL_SOURCINGS, True)),
    "transition": (("component", ("transition",), True),),
}


class LedgerSums:
    """Group sums of a ledger's amounts (or of another number ``column``, such as ``fte``) by
    scenario and other columns (see the module); each grouping is computed once."""

    #: more runs of one scenario than this per scenario: not the engine's order; the rows of
    #: each scenario are then found by a comparison per scenario
    MAX_RUNS_PER_SCENARIO = 64

    def __init__(self, ledger: pd.DataFrame, column: str = "amount") -> None:
        self.ledger = ledger
        self.amount = ledger[column].to_numpy(dtype=float)
        self.n_scenarios = len(ledger["scenario"].cat.categories)
        self._codes: dict[str, np.ndarray] = {}
        self._selected: dict[str, np.ndarray] = {}
        self._row_sets: dict[str, Piece] = {}
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

    def categories(self, column: str) -> list[str]:
        """The categories of ``column``, in code order."""
        return [str(c) for c in self.ledger[column].cat.categories]

    def by(self, keys: Sequence[str], where: str | None = None) -> Sums:
        """Sums of the rows of selection ``where`` (:data:`SELECTIONS`; all rows if None) by
        scenario and ``keys``, in a pass of their own."""
        cache_key = (tuple(keys), where)
        found = self._sums.get(cache_key)
        if found is None:
            found = self._sums[cache_key] = self._by(tuple(keys), where)
        return found

    def by_each(self, groupings: Sequence[tuple[str | None, str | None]],
                label: Sequence[str] = ()) -> list[Sums]:
        """:meth:`by` of each (key, where) of ``groupings`` by scenario, ``label`` and the key
        (none: the label's groups alone), the ones not yet computed in one pass together: a
        column per category of each key, a row's columns added side by side (worth it for
        groupings whose groups are long runs of rows, whose additions would otherwise wait
        on each other, or that share their groups and differ in the rows they take)."""
        label = tuple(label)

        def keys_of(key: str | None) -> tuple[str, ...]:
            return label if key is None else (*label, key)

        todo = [(key, where) for key, where in dict.fromkeys(groupings)
                if (keys_of(key), where) not in self._sums]
        if len(todo) > 1 and _kernel_agrees():
            rows = len(self.amount)
            sizes = [1 if key is None else self.size(key) for key, _ in todo]
            skip = np.empty((sum(sizes), rows), dtype=np.uint8)
            j = 0
            for (key, where), size in zip(todo, sizes, strict=True):
                outside = None if where is None else ~self._selection(where)
                for value in range(size):
                    row = skip[j].view(bool)
                    if key is None:
                        row[:] = False if outside is None else outside
                    else:
                        np.not_equal(self.codes(key), value, out=row)
                        if outside is not None:
                            row |= outside
                    j += 1
            n_groups = self.n_scenarios * int(np.prod([self.size(k) for k in label]))
            ids = self._group_ids(("scenario", *label), slice(0, rows), rows)
            kahan = _kahan_columns(self.amount, ids, n_groups, skip)
            del skip
            j = 0
            for (key, where), size in zip(todo, sizes, strict=True):
                self._sums[(keys_of(key), where)] = self._finish(
                    keys_of(key), where, np.ascontiguousarray(kahan[:, j:j + size]).ravel())
                j += size
        return [self.by(keys_of(key), where) for key, where in groupings]

    # ------------------------------------------------------------------ one grouping

    def _by(self, keys: tuple[str, ...], where: str | None) -> Sums:
        n_groups = self.n_scenarios * int(np.prod([self.size(k) for k in keys]))
        rows = slice(0, len(self.amount)) if where is None else self._rows(where)
        values = self.amount[rows]
        ids = self._group_ids(("scenario", *keys), rows, len(values))
        return self._finish(keys, where, _kahan(values, ids, n_groups))

    def _finish(self, keys: tuple[str, ...], where: str | None, kahan: np.ndarray) -> Sums:
        """The sums of a grouping from its Kahan sums over the whole ledger: the whole
        ledger's group-by, and each scenario's, re-summed pandas' other way where the ids
        never decrease (on the whole ledger, or on a scenario's own rows)."""
        shape = (self.n_scenarios, *(self.size(k) for k in keys))
        n_groups = int(np.prod(shape))
        rows = None if where is None else self._rows(where)
        whole = kahan.reshape(shape)
        # the whole ledger run by run: where one scenario's run follows a later one's, the
        # ids decrease (the scenario leads them), seen at the runs' ends
        everything = [p for p in (_within(run, rows) for run in self.runs) if _length(p)]
        if self._never_decreasing(keys, everything):
            whole = self._public_of(keys, _indexes(everything), n_groups).reshape(shape)
        scenario = whole.copy()
        for k in range(self.n_scenarios):
            own = [p for p in (_within(p, rows) for p in self.pieces[k]) if _length(p)]
            if self._never_decreasing(keys, own):
                scenario[k] = self._public_of(keys, _indexes(own), n_groups).reshape(shape)[k]
        return Sums(scenario, whole)

    def _public_of(self, keys: tuple[str, ...], rows: np.ndarray, n_groups: int) -> np.ndarray:
        """The public group-by of ``rows`` (indexes) by scenario and ``keys``."""
        return _public(self.amount[rows], self._chunk_ids(keys, rows).astype(np.intp),
                       n_groups)

    def _never_decreasing(self, keys: tuple[str, ...], pieces: Sequence[Piece]) -> bool:
        """Whether the (scenario, *keys) ids of the rows of ``pieces``, in order, never
        decrease. Ids that decrease mostly do so at once, or where one piece meets the next:
        those are looked at first, then the rest of each piece in growing stretches (ids are
        computed only as far as looked at)."""
        ends = []
        for piece in pieces:
            n = _length(piece)
            head = self._chunk_ids(keys, _part(piece, 0, min(n, 4096)))
            if (head[1:] < head[:-1]).any():
                return False
            ends.append((int(head[0]), int(self._chunk_ids(keys, _part(piece, n - 1, n))[0])))
        if any(first > last for first, last in ends) or any(
                b[0] < a[1] for a, b in zip(ends, ends[1:], strict=False)):
            return False
        for piece in pieces:
            n = _length(piece)
            at, step = 4095, 4096 * 8
            while at < n - 1:
                ids = self._chunk_ids(keys, _part(piece, at, min(n, at + step + 1)))
                if (ids[1:] < ids[:-1]).any():
                    return False
                at += step
                step *= 8
        return True

    def _chunk_ids(self, keys: tuple[str, ...], part: Piece) -> np.ndarray:
        """The (scenario, *keys) ids of the rows ``part`` (int64)."""
        ids = self.codes("scenario")[part].astype(np.int64)
        for key in keys:
            ids *= self.size(key)
            ids += self.codes(key)[part]
        return ids

    def _buffer(self, n: int) -> np.ndarray:
        """The intp buffer of group ids, ``n`` long (reused by every grouping: the caller is
        done with it before the next)."""
        if self._ids is None:
            self._ids = np.empty(len(self.amount), dtype=np.intp)
        return self._ids[:n]

    def _group_ids(self, keys: Sequence[str], rows: Piece, n: int) -> np.ndarray:
        """The (*keys) group id of each of ``rows``, row-major over the keys' categories, as
        the kernel's intp: computed in 16 bits where they fit (a quarter of the memory
        traffic)."""
        n_groups = int(np.prod([self.size(k) for k in keys]))
        ids = self._buffer(n)
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

    def _selection(self, name: str) -> np.ndarray:
        """The rows of selection ``name``, as a mask (computed once)."""
        found = self._selected.get(name)
        if found is None:
            selected = None
            for column, values, inside in SELECTIONS[name]:
                rows = self.is_(column, values[0])
                for value in values[1:]:
                    rows |= self.is_(column, value)
                if not inside:
                    rows = ~rows
                selected = rows if selected is None else selected & rows
            assert selected is not None
            found = self._selected[name] = selected
        return found

    def _rows(self, name: str) -> Piece:
        """The rows of selection ``name``: a slice when they are one stretch (in the engine's
        ledger a component's rows are), else their indexes (found once)."""
        found = self._row_sets.get(name)
        if found is None:
            selected = self._selection(name)
            count = int(np.count_nonzero(selected))
            first = int(np.argmax(selected)) if count else 0
            found = (slice(first, first + count) if selected[first:first + count].all()
                     else np.flatnonzero(selected))
            self._row_sets[name] = found
        return found

    def _scenario_pieces(self, scenario: np.ndarray) -> list[list[Piece]]:
        """Each scenario's rows in ledger order: the runs of rows of one scenario (the engine
        writes each component's rows scenario after scenario: a few runs per scenario). Sets
        :attr:`runs`, every run in ledger order."""
        n_s = self.n_scenarios
        starts = np.flatnonzero(scenario[1:] != scenario[:-1]) + 1
        if len(starts) > self.MAX_RUNS_PER_SCENARIO * max(n_s, 1):
            self.runs: list[Piece] = [slice(0, len(scenario))]
            return [[np.flatnonzero(scenario == k)] for k in range(n_s)]
        bounds = [0, *starts.tolist(), len(scenario)]
        runs = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
        self.runs = list(runs)
        pieces: list[list[Piece]] = [[] for _ in range(n_s)]
        for run in runs:
            pieces[int(scenario[run.start])].append(run)
        return pieces


def _length(piece: Piece) -> int:
    return piece.stop - piece.start if isinstance(piece, slice) else len(piece)


def _part(piece: Piece, start: int, stop: int) -> Piece:
    """Rows ``start`` … ``stop`` − 1 of ``piece``."""
    if isinstance(piece, slice):
        return slice(piece.start + start, piece.start + stop)
    return piece[start:stop]


def _within(piece: Piece, rows: Piece | None) -> Piece:
    """The rows of ``piece`` that are among ``rows`` (a slice, or sorted row indexes; None:
    all), in order."""
    if rows is None:
        return piece
    if isinstance(rows, slice):
        if isinstance(piece, slice):
            return slice(max(piece.start, rows.start), max(min(piece.stop, rows.stop),
                                                           max(piece.start, rows.start)))
        return piece[(piece >= rows.start) & (piece < rows.stop)]
    if isinstance(piece, slice):
        return rows[np.searchsorted(rows, piece.start):np.searchsorted(rows, piece.stop)]
    return piece[np.isin(piece, rows)]


def _indexes(pieces: Sequence[Piece]) -> np.ndarray:
    """The rows of ``pieces`` as one array of indexes, in order."""
    return np.concatenate([np.arange(p.start, p.stop) if isinstance(p, slice) else p
                           for p in pieces] or [np.zeros(0, dtype=np.intp)])
