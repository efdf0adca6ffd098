"""Scenarios applied to the Staffing lines (spec §4, timed by ``From`` as in §7): every
scenario's lines stacked, each with its state in every period of the horizon.

A line's state in period k (sourcing, Vendor cell, FTE factor, rate factor) is the Baseline line
with the scenario's matching rows whose ``start`` ≤ k applied in sheet order; its vendor is
resolved per period. Arrays are (lines, periods), built one scenario row at a time, never one
line at a time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import chain

import numpy as np

from omplan.core.model import SOURCINGS, Plan, vendor_key

#: Vendor code 0 is the in-house "vendor" ''.
IN_HOUSE_VENDOR = 0


@dataclass
class ScenarioLines:
    """Staffing lines of every scenario stacked: index ``s * n + i`` is line i in scenario s.

    Per-line keys are (N,); the state is (N, K) over the K periods of the horizon.
    """

    scenario: np.ndarray  # int, index into plan.scenario_names
    line: np.ndarray  # int, index into plan.staffing
    system: np.ndarray  # int, index into systems
    role: np.ndarray  # int, index into roles
    sourcing: np.ndarray  # (N, K) int8, index into SOURCINGS
    vendor: np.ndarray  # (N, K) int32, resolved vendor: index into vendor_names
    vendor_names: list[str]  # the names vendor codes index; 0 is '' (in-house)
    fte: np.ndarray  # (N, K)
    rate_factor: np.ndarray  # (N, K)
    #: (N, K) index into plan.scenario_changes of the row that set the sourcing (-1: none)
    sourcing_set_at: np.ndarray
    #: (N, K) the (sourcing, vendor) differs from the previous period's (before period 0:
    #: the Baseline line's) — a transition (spec §7)
    change: np.ndarray

    @property
    def n_periods(self) -> int:
        return int(self.fte.shape[1])

    def static(self) -> np.ndarray:
        """(N,) the line keeps one sourcing and vendor over the whole horizon."""
        n_k = self.n_periods
        if n_k > 8 or n_k < 2:
            return ((self.sourcing == self.sourcing[:, :1]).all(axis=1)
                    & (self.vendor == self.vendor[:, :1]).all(axis=1))
        # a few periods: compare column by column (numpy's reduction over a short inner
        # axis is several times slower)
        src, vendor = self.sourcing, self.vendor
        same = src[:, 1] == src[:, 0]
        same &= vendor[:, 1] == vendor[:, 0]
        for k in range(2, n_k):
            same &= src[:, k] == src[:, 0]
            same &= vendor[:, k] == vendor[:, 0]
        return same


@dataclass
class Segments:
    """Stretches of the stacked lines with one (sourcing, vendor) each, in line order.

    A line whose sourcing and vendor never change is one segment; a line that a timed change
    moves is one segment per state it takes, in the order it takes them. ``active`` says in
    which periods a segment is the line's state (None: every segment is a whole line).
    """

    index: np.ndarray  # (S,) stacked line of each segment
    sourcing: np.ndarray  # (S,)
    vendor: np.ndarray  # (S,) code into ScenarioLines.vendor_names
    active: np.ndarray | None  # (S, K) bool, or None when S == N and all are whole lines

    def take(self, per_line: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
        """A (N, K) per-line array as (S, K) per segment (or per segment ``order[j]``), 0
        outside each segment's periods."""
        if self.active is None:
            return per_line if order is None else per_line[order]
        index, active = ((self.index, self.active) if order is None
                         else (self.index[order], self.active[order]))
        return np.where(active, per_line[index], 0.0)


def apply_scenarios(plan: Plan, systems: list[str], roles: list[str]) -> ScenarioLines:
    """Spec §4 and §7: each scenario's rows applied in sheet order to the matching Baseline
    lines, each row from its ``start`` period on."""
    lines = plan.staffing
    n = len(lines)
    n_periods = len(plan.horizon)
    names = plan.scenario_names
    sys_idx = {s: i for i, s in enumerate(systems)}
    role_idx = {r: i for i, r in enumerate(roles)}
    src_idx = {s: i for i, s in enumerate(SOURCINGS)}
    # one vendor whatever its capitals and surrounding spaces: the first spelling coded names
    # it (the default names first, then the Staffing cells, then the scenarios' vendor rows)
    vocab: dict[str, int] = {"": IN_HOUSE_VENDOR}
    spelling: list[str] = [""]

    def code(name: str) -> int:
        key = vendor_key(name)
        found = vocab.get(key)
        if found is None:
            found = vocab[key] = len(spelling)
            spelling.append(name)
        return found

    default_vendor = np.array([IN_HOUSE_VENDOR, *(code(f"{s} vendor") for s in SOURCINGS[1:])],
                              dtype=np.int32)
    base_sys = np.array([sys_idx[x.system] for x in lines], dtype=np.int64)
    base_role = np.array([role_idx[x.role] for x in lines], dtype=np.int64)
    base_src = np.array([src_idx[x.sourcing] for x in lines], dtype=np.int8)
    cells_text = [x.vendor for x in lines]
    # new names coded in order of first appearance
    cell_code = {name: code(name) for name in dict.fromkeys(cells_text)}
    base_cell = np.fromiter(map(cell_code.__getitem__, cells_text), dtype=np.int32, count=n)
    del cells_text
    base_fte = per_period([x.fte for x in lines], n_periods)
    base_vendor = _resolve(base_src, base_cell, default_vendor)

    by_scenario = defaultdict(list)
    for c, change in enumerate(plan.scenario_changes):
        by_scenario[change.scenario].append((c, change))
    total = len(names) * n
    src = np.empty((total, n_periods), dtype=np.int8)
    vendor = np.empty((total, n_periods), dtype=np.int32)
    fte = np.empty((total, n_periods))
    rate_factor = np.ones((total, n_periods))
    set_at = np.full((total, n_periods), -1, dtype=np.int32)
    change_mask = np.zeros((total, n_periods), dtype=bool)
    for s, name in enumerate(names):
        block = slice(s * n, (s + 1) * n)
        b_src, b_fte, b_rf, b_set = src[block], fte[block], rate_factor[block], set_at[block]
        b_src[:] = base_src[:, None]
        b_fte[:] = base_fte
        cell = None  # the Vendor cells, (n, K) once a vendor row needs them
        moved = np.zeros(n, dtype=bool)  # lines a sourcing or vendor row applies to
        for c, change in by_scenario.get(name, []):
            mask: np.ndarray
            if change.line is not None:  # the optimiser's rows: one line of its role and system
                i = change.line
                if (change.role != "*" and base_role[i] != role_idx[change.role]) or (
                        change.system != "*" and base_sys[i] != sys_idx.get(change.system, -1)):
                    continue
                mask = np.array([i])  # an index, not a mask over every line: rows stay cheap
            else:
                mask = np.ones(n, dtype=bool)
                if change.role != "*":
                    mask &= base_role == role_idx[change.role]
                if change.system != "*":
                    mask &= base_sys == sys_idx.get(change.system, -1)
            k = max(int(change.start), 0)
            if change.change == "sourcing":
                b_src[mask, k:] = src_idx[str(change.value)]
                b_set[mask, k:] = c
                moved[mask] = True
            elif change.change == "vendor":
                if cell is None:
                    cell = np.repeat(base_cell[:, None], n_periods, axis=1)
                cell[mask, k:] = code(str(change.value))
                moved[mask] = True
            elif change.change == "fte_factor":
                b_fte[mask, k:] *= float(change.value)
            else:
                b_rf[mask, k:] *= float(change.value)
        # lines no sourcing or vendor row touched keep the Baseline's vendor and never change
        # (change_mask starts all False); only the moved ones are resolved and compared
        b_vendor = vendor[block]
        b_vendor[:] = base_vendor[:, None]
        rows = np.flatnonzero(moved)
        if not len(rows):
            continue
        m_src = b_src[rows]
        m_vendor = _resolve(m_src, base_cell[rows, None] if cell is None else cell[rows],
                            default_vendor)
        b_vendor[rows] = m_vendor
        if s:  # §7: a change wherever (sourcing, vendor) differs from the period before
            chg = change_mask[block]
            chg[rows, 0] = (m_src[:, 0] != base_src[rows]) | (m_vendor[:, 0] != base_vendor[rows])
            chg[rows, 1:] = ((m_src[:, 1:] != m_src[:, :-1])
                             | (m_vendor[:, 1:] != m_vendor[:, :-1]))
    return ScenarioLines(
        scenario=np.repeat(np.arange(len(names)), n), line=np.tile(np.arange(n), len(names)),
        system=np.tile(base_sys, len(names)), role=np.tile(base_role, len(names)),
        sourcing=src, vendor=vendor, vendor_names=spelling, fte=fte,
        rate_factor=rate_factor, sourcing_set_at=set_at, change=change_mask)


def segments(sl: ScenarioLines) -> Segments:
    """Split the stacked lines into stretches of one (sourcing, vendor) each (in line order,
    then period order); lines that never move are one segment each."""
    static = sl.static()
    if static.all():
        return Segments(np.arange(len(static)), sl.sourcing[:, 0].astype(np.int64),
                        sl.vendor[:, 0].astype(np.int64), None)
    n_periods = sl.n_periods
    moving = np.flatnonzero(~static)
    n_vendor = len(sl.vendor_names)
    state = sl.sourcing[moving].astype(np.int64) * n_vendor + sl.vendor[moving]  # (D, K)
    n_states = len(SOURCINGS) * n_vendor
    pair = np.arange(len(moving))[:, None] * n_states + state  # (line, state) ids
    _, first = np.unique(pair.ravel(), return_index=True)
    first.sort()  # flat index = line * K + period: line order, then first period
    d_line, d_first = np.divmod(first, n_periods)
    d_state = state[d_line, d_first]
    active_d = state[d_line] == d_state[:, None]
    fixed = np.flatnonzero(static)
    index = np.concatenate([fixed, moving[d_line]])
    order = np.argsort(index * n_periods + np.concatenate([np.zeros(len(fixed), np.int64),
                                                           d_first]), kind="stable")
    src = np.concatenate([sl.sourcing[fixed, 0].astype(np.int64), d_state // n_vendor])
    vend = np.concatenate([sl.vendor[fixed, 0].astype(np.int64), d_state % n_vendor])
    active = np.concatenate([np.ones((len(fixed), n_periods), dtype=bool), active_d])
    return Segments(index[order], src[order], vend[order], active[order])


def any_per_row(mask: np.ndarray) -> np.ndarray:
    """``mask.any(axis=1)`` of a (N, K) bool array; for a short K an OR of its columns is
    several times faster than numpy's reduction over the short inner axis."""
    if mask.shape[1] > 8 or mask.shape[1] == 0:
        return np.asarray(mask.any(axis=1))
    out = mask[:, 0].copy()
    for k in range(1, mask.shape[1]):
        out |= mask[:, k]
    return out


def max_per_row(values: np.ndarray) -> np.ndarray:
    """``values.max(axis=1)`` of a (N, K) float array with K ≥ 1, column by column for a short
    K (the same maximum: max is exact in any order)."""
    if values.shape[1] > 8:
        return np.asarray(values.max(axis=1))
    out = values[:, 0].copy()
    for k in range(1, values.shape[1]):
        np.maximum(out, values[:, k], out=out)
    return out


def per_period(rows: list[tuple[float, ...]], n_periods: int) -> np.ndarray:
    """(rows, K) values per period: a row holds one value per period, or four quarterly
    values that repeat in every fiscal year of the horizon (spec §7)."""
    lengths = set(map(len, rows))
    if lengths <= {n_periods}:
        try:  # one pass over the flat values (np.array of a list of tuples is slower)
            return np.fromiter(chain.from_iterable(rows), dtype=float,
                               count=len(rows) * n_periods).reshape(len(rows), n_periods)
        except (TypeError, ValueError):  # e.g. None: as np.array converts it
            return np.array(rows, dtype=float).reshape(len(rows), n_periods)
    if lengths == {4}:  # quarterly values repeated in every fiscal year
        return np.tile(per_period(rows, 4), (1, n_periods // 4))
    out = np.empty((len(rows), n_periods))
    for i, r in enumerate(rows):
        if len(r) == n_periods:
            out[i] = r
        elif len(r) == 4:
            out[i] = np.tile(np.asarray(r, dtype=float), n_periods // 4)
        else:
            raise ValueError(f"expected {n_periods} (or 4) values per row, got {len(r)}")
    return out


def _resolve(src: np.ndarray, cell: np.ndarray, default_vendor: np.ndarray) -> np.ndarray:
    """Vendor code of each line (spec §2): in-house none, else the cell or '<Sourcing> vendor'."""
    return np.where(src == 0, IN_HOUSE_VENDOR,
                    np.where(cell == IN_HOUSE_VENDOR, default_vendor[src], cell)).astype(np.int32)
