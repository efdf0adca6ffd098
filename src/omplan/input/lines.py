"""The Staffing and Costs sheets -> :class:`StaffingLine` and :class:`CostLine` rows.

Both have a value per quarter: the Q1-Q4 cells repeat every fiscal year of the horizon and a
``FY<year> Q<n>`` column overrides one quarter. A plan may have tens of thousands of lines, so
the cells are read a column at a time (:mod:`omplan.input.columns`): the rows that read cleanly
and pass the checks against the other sheets become lines at once, and only the others are
read cell by cell, which gives every message and its place in the order of findings exactly
as a row-by-row read would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.findings import has_errors
from omplan.core.model import QUARTERS, CostLine, StaffingLine
from omplan.core.periods import Horizon
from omplan.input.columns import Block, read_block
from omplan.input.reading import Names, Reading, check_role, horizon_text
from omplan.input.schema import SheetSpec, sheet_spec
from omplan.input.sheets import read_currency
from omplan.input.tables import Collector, Row, Table, currency_code, period_header

__all__ = ["read_costs", "read_staffing"]


def period_columns(table: Table, spec: SheetSpec, horizon: Horizon | None,
                   out: Collector) -> list[tuple[int, str]]:
    """The ``FY<year> Q<n>`` columns of a Staffing or Costs table, added to the table under
    their label ('FY2028 Q3'): (period index k, label) of each. A header naming no quarter, a
    quarter twice or a quarter outside the horizon is an error at the header cell (and its
    column is not read). k is -1 when the horizon is unknown (Settings are wrong)."""
    grid = table.grid
    if table.header_r >= len(grid.rows):
        return []
    found: list[tuple[int, str]] = []
    used = set(table.cols.values())
    for c, value in enumerate(grid.rows[table.header_r]):
        parsed = period_header(value)
        if c in used or parsed is None:
            continue
        year, quarter = parsed
        ref = grid.ref(table.header_r, c)
        label = f"FY{year} Q{quarter}"
        text = " ".join(str(value).split())
        if not 1 <= quarter <= 4 or not 1000 <= year <= 9999:
            out.error("bad-period", f"column '{text}' names no quarter: write FY, the fiscal "
                      "year in full and Q1 to Q4, e.g. FY2028 Q3", ref)
            continue
        if label in table.cols:
            out.error("duplicate", f"column '{text}' repeats {label} (first at "
                      f"{grid.ref(table.header_r, table.cols[label])}): keep one of them", ref)
            continue
        k = -1
        if horizon is not None:
            period = horizon.period_of(year, quarter)
            if period is None:
                out.error("outside-horizon", f"column '{text}' names {label}, outside the plan, "
                          f"which covers {horizon_text(horizon)}: correct the year, or raise "
                          "horizon_years on the Settings sheet", ref)
                continue
            k = period.index
        table.cols[label] = c
        table.columns[label] = spec.period_column(label, override=True)
        found.append((k, label))
    return found


def read_periods(row: Row, periods: int, overrides: list[tuple[int, str]]
                 ) -> tuple[float, ...] | None:
    """A row's value per period of the horizon: the Q1-Q4 cells repeated every fiscal year,
    then each non-blank ``FY<year> Q<n>`` cell in its own period. None when a cell is wrong."""
    quarters = [row.get(q) for q in QUARTERS]
    values = [quarters[k % 4] for k in range(periods)]
    ok = all(v is not None for v in quarters)
    for k, label in overrides:
        value = row.get(label)
        if value is None:
            ok = False
        elif not math.isnan(value) and 0 <= k < periods:
            values[k] = value
    return tuple(values) if ok else None  # type: ignore[arg-type]


def _period_values(block: Block, periods: int, overrides: list[tuple[int, str]]) -> np.ndarray:
    """Data rows x periods: :func:`read_periods` for every (clean) row at once."""
    quarters = np.column_stack([block.values[q] for q in QUARTERS]).astype(float)
    values = quarters[:, [k % 4 for k in range(periods)]]
    for k, label in overrides:
        if 0 <= k < periods:
            column = block.values[label]
            given = ~np.isnan(column)
            values[given, k] = column[given]
    return values


def _per_distinct(values: np.ndarray, test: Callable[[Any], bool]) -> np.ndarray:
    """``test`` of each value, computed once per distinct value (None: False)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.array([bool(test(u)) for u in uniques] + [False], dtype=bool)
    return results[codes]


def _per_pair(first: np.ndarray, second: np.ndarray,
              test: Callable[[Any, Any], bool]) -> np.ndarray:
    """``test(a, b)`` of each row's pair, computed once per distinct pair (None: False)."""
    a_codes, a_values = pd.factorize(first, use_na_sentinel=True)
    b_codes, b_values = pd.factorize(second, use_na_sentinel=True)
    width = len(b_values) + 1
    pairs, group = np.unique((a_codes + 1) * width + (b_codes + 1), return_inverse=True)
    a_of, b_of = [None, *a_values], [None, *b_values]
    results = np.array([a_of[k // width] is not None and b_of[k % width] is not None
                        and bool(test(a_of[k // width], b_of[k % width]))
                        for k in pairs.tolist()], dtype=bool)
    return results[np.asarray(group).ravel()]


def _group_firsts(columns: list[np.ndarray]) -> np.ndarray:
    """For each row, the index of the first row with the same values in every column."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column)
        key = pd.factorize(key * len(uniques) + codes)[0]  # kept small: no overflow
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return np.asarray(first[np.asarray(group).ravel()])


def _known(values: np.ndarray, known: Collection[str] | None) -> np.ndarray:
    """True where the value is in ``known`` (everywhere when ``known`` is None)."""
    if known is None:
        return np.ones(len(values), dtype=bool)
    return _per_distinct(values, lambda v: v in known)


def _record_systems(block: Block, names: Names) -> np.ndarray:
    """Record the system of every row that names one the plan accepts, each with the cell of
    its first use, in row order (as reading row by row would); True for those rows."""
    systems = block.values["System"]
    recorded = block.ok["System"] & _known(systems, names.known)
    _first_uses(systems, recorded, block.locations("System"), names.systems)
    return recorded


def _first_uses(values: np.ndarray, where: np.ndarray, locations: list[str],
                into: dict[str, str]) -> None:
    """``into.setdefault(value, its location)`` for the rows ``where``, in row order."""
    at = np.flatnonzero(where)
    if not len(at):
        return
    codes, uniques = pd.factorize(values[at])
    _, first = np.unique(codes, return_index=True)
    for value, i in zip(uniques.tolist(), at[first].tolist(), strict=True):
        into.setdefault(value, locations[i])


def read_staffing(table: Table, reading: Reading) -> list[StaffingLine]:
    out, grid, horizon = reading.out, table.grid, reading.horizon
    overrides = period_columns(table, sheet_spec("Staffing"), horizon, out)
    periods = len(horizon) if horizon is not None else len(QUARTERS)
    known, allocation, rates = reading.known_roles, reading.allocation, reading.rates
    names = reading.names
    block = read_block(table, ("System", "Role", "Sourcing", "Vendor", *QUARTERS,
                               *(label for _, label in overrides)))
    system, role, sourcing = (block.values[c] for c in ("System", "Role", "Sourcing"))
    vendor = block.values["Vendor"]
    fte = _period_values(block, periods, overrides)
    # names as typed, each at its first use: every row counts, whatever else is wrong in it
    system_ok = _record_systems(block, names)
    vendor_named = block.ok["Vendor"] & (vendor != "")
    if "Vendor" in table.cols:
        _first_uses(vendor, vendor_named, block.locations("Vendor"), names.vendors)
    # the rows that give no finding but a duplicate-line warning
    fast = block.clean & system_ok & _known(role, known)
    if allocation is not None:
        fast &= _known(role, allocation)
    if rates is not None:  # a line with FTE needs a rate (or its row is reported already)
        has_rate = _per_pair(role, sourcing,
                             lambda r, s: (r, s) in rates or (r, s) in reading.bad_rates)
        fast &= has_rate | ~np.any(fte != 0, axis=1)
    # the others, cell by cell: their findings kept apart, to be merged in row order
    slow_out = Collector()
    spans: dict[int, tuple[int, int]] = {}
    valid = fast.copy()
    keys = [system, role, sourcing, vendor]
    for i in np.flatnonzero(~fast).tolist():
        start = len(slow_out.findings)
        line = _staffing_row(block.row(i, slow_out), reading, known, periods, overrides)
        spans[i] = (start, len(slow_out.findings))
        if line is not None:
            valid[i] = True
            for column, value in zip(keys, line[:4], strict=True):
                column[i] = value
            fte[i] = line[4]
    # two rows with one key: both count, a warning at the second (and any later) one
    at = np.flatnonzero(valid)
    where = block.locations("System")
    duplicate_of: dict[int, int] = {}
    if len(at):
        firsts = at[_group_firsts([column[at] for column in keys])]
        again = firsts != at
        duplicate_of = dict(zip(at[again].tolist(), firsts[again].tolist(), strict=True))
    message: dict[int, str] = {}  # the first row of a line -> the message of its copies
    for i in sorted({*(i for i, (a, b) in spans.items() if b > a), *duplicate_of}):
        a, b = spans.get(i, (0, 0))
        out.findings.extend(slow_out.findings[a:b])
        first = duplicate_of.get(i)
        if first is not None:
            if first not in message:
                what = ", ".join(k for k in (system[i], role[i], sourcing[i], vendor[i]) if k)
                message[first] = (f"Staffing line ({what}) is also at {where[first]}: both rows "
                                  "are counted, so its cost counts twice; delete the copy, or "
                                  "put the FTE of both in one row")
            out.warning("duplicate-line", message[first], where[i])
    lines = list(map(StaffingLine, system[at].tolist(), role[at].tolist(),
                     sourcing[at].tolist(), [v or "" for v in vendor[at].tolist()],
                     map(tuple, fte[at].tolist()), block.rows[at].tolist(),
                     [where[i] for i in at.tolist()]))
    if not lines and not has_errors(out.findings):
        out.error("no-staffing", "the plan has no staffing yet: add one row per system, role "
                  "and sourcing with the FTE of each quarter", grid.name)
    return lines


def _staffing_row(row: Row, reading: Reading, known: set[str] | None, periods: int,
                  overrides: list[tuple[int, str]]
                  ) -> tuple[str, str, str, str, tuple[float, ...]] | None:
    """One Staffing row read cell by cell (names are recorded for all rows at once): its
    (system, role, sourcing, vendor, FTE per period), or None when it is not a line."""
    out, allocation, rates = row.out, reading.allocation, reading.rates
    system = row.get("System")
    if system and not reading.names.check_system(system, row.ref("System"), out):
        system = None
    role = row.get("Role")
    sourcing = row.get("Sourcing")
    vendor = row.get("Vendor")
    fte = read_periods(row, periods, overrides)
    role_ok = check_role(row, role, known, out)
    if role_ok and allocation is not None and role not in allocation:
        out.error("no-allocation", f"role '{role}' has no row on the Allocation sheet",
                  row.ref("Role"))
    if (role_ok and sourcing and fte is not None and rates is not None
            and any(fte) and (role, sourcing) not in rates
            and (role, sourcing) not in reading.bad_rates):  # that row is reported already
        out.error("missing-rate", f"no {sourcing} rate for role '{role}': add a row "
                  f"({role}, {sourcing}, monthly cost) to the Rates sheet",
                  row.ref("Sourcing"))
    if system is None or not role_ok or sourcing is None or fte is None:
        return None
    assert role is not None
    return system, role, sourcing, vendor or "", fte


def read_costs(table: Table, reading: Reading) -> list[CostLine]:
    out, horizon, currency = reading.out, reading.horizon, reading.currency
    overrides = period_columns(table, sheet_spec("Costs"), horizon, out)
    periods = len(horizon) if horizon is not None else len(QUARTERS)
    block = read_block(table, ("System", "Item", "Activity", "Currency", *QUARTERS,
                               *(label for _, label in overrides)))
    system, item, activity = (block.values[c] for c in ("System", "Item", "Activity"))
    amounts = _period_values(block, periods, overrides)
    fast = block.clean & _record_systems(block, reading.names)
    n = len(block.rows)
    codes: list[str] = [""] * n  # the ISO code of each row's amounts ('' = the plan's)
    code_at = [""] * n
    if "Currency" in table.cols:
        given = block.values["Currency"]
        fast &= _per_distinct(given, lambda t: not t or currency_code(t) is not None)
        of = {t: "" if not t or currency_code(t) == currency else currency_code(t) or ""
              for t in set(given[fast].tolist())}
        codes = [of.get(t, "") for t in given.tolist()]
        code_at = block.locations("Currency")
    valid = fast.copy()
    for i in np.flatnonzero(~fast).tolist():  # in row order: the others give no findings
        line = _costs_row(block.row(i, out), reading, periods, overrides)
        if line is not None:
            valid[i] = True
            system[i], item[i], activity[i], amounts[i], (codes[i], code_at[i]) = line
    where = block.locations("System")
    return [CostLine(system[i], item[i] or "", activity[i], tuple(amounts[i].tolist()),
                     where[i], codes[i], code_at[i]) for i in np.flatnonzero(valid).tolist()]


def _costs_row(row: Row, reading: Reading, periods: int, overrides: list[tuple[int, str]]
               ) -> tuple[str, str, str, tuple[float, ...], tuple[str, str]] | None:
    """One Costs row read cell by cell: (system, item, activity, amounts, (currency, its
    cell)), or None when it is not a line."""
    out = row.out
    system = row.get("System")
    if system and not reading.names.check_system(system, row.ref("System"), out):
        system = None
    item = row.get("Item")
    activity = row.get("Activity")
    amounts = read_periods(row, periods, overrides)
    currency = read_currency(row, reading.currency)
    if system is None or activity is None or amounts is None or currency is None:
        return None
    return system, item or "", activity, amounts, currency
