"""A table's cells read a column at a time, for sheets with many rows (Staffing, Costs).

:func:`read_block` types every cell of the named columns the way ``row.get(column)`` would
(text, choice or number by the input schema), once per distinct text and with array operations
for numbers, and marks each row *clean* when none of its cells would give a finding. A sheet
function builds its model objects for the clean rows at once and reads only the other rows one
by one with ``row.get``, so every message stays the per-cell one, in row order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.findings import column_letter, quote_sheet
from omplan.input.schema import ColumnSpec
from omplan.input.tables import EXCEL_ERRORS, Row, Table, as_float, is_blank, norm_enum

__all__ = ["Block", "read_block"]

_NONE = type(None)
_NUMBER_TYPES = {float, int, _NONE}
_BLANK_VALUE = {"error": np.nan, "zero": 0.0, "empty": np.nan}


@dataclass
class Block:
    """The data rows of a table (those :func:`~omplan.input.tables.rows` yields), each read
    column typed as ``row.get`` gives it; ``clean[i]`` when no cell of row i gives a finding."""

    table: Table
    #: grid row index of each data row
    rows: np.ndarray
    #: column -> typed value per data row (text and choices: object array; numbers: float)
    values: dict[str, np.ndarray]
    #: column -> the cell reads without a finding, per data row
    ok: dict[str, np.ndarray]
    clean: np.ndarray
    _locations: dict[str, list[str]] = field(default_factory=dict)

    def row(self, i: int, out: Any) -> Row:
        """Data row ``i`` as a :class:`Row`, to read it cell by cell."""
        table = self.table
        return Row(table.grid, int(self.rows[i]), table.cols, out, table.columns)

    def locations(self, column: str) -> list[str]:
        """``Sheet!A7`` of ``column``'s cell in each data row."""
        found = self._locations.get(column)
        if found is None:
            grid = self.table.grid
            prefix = (f"{quote_sheet(grid.name)}!"
                      f"{column_letter(self.table.cols[column] + grid.origin_col)}")
            found = [f"{prefix}{r}" for r in (self.rows + grid.origin_row).tolist()]
            self._locations[column] = found
        return found


def _cells(table: Table, c: int) -> list[Any]:
    """The values of column index ``c`` in every row below the header."""
    body = table.grid.rows[table.header_r + 1:]
    if body and min(map(len, body)) > c:
        return list(map(itemgetter(c), body))
    return [row[c] if len(row) > c else None for row in body]


def _per_text(values: list[Any], one: Callable[[Any], tuple[Any, bool, bool]]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``one(value)`` -> (typed, clean, blank) for each cell, computed once per distinct text.
    Texts are grouped by hashing; other values (numbers in a text column, rare) one by one,
    since 1, 1.0 and True hash alike but read differently."""
    n = len(values)
    typed = np.empty(n, dtype=object)
    clean = np.empty(n, dtype=bool)
    blank = np.empty(n, dtype=bool)
    kinds = set(map(type, values))
    if kinds <= {str, _NONE}:
        codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
        parsed = [one(u) for u in uniques] + [one(None)]  # code -1: a blank cell
        for j, out in enumerate((typed, clean, blank)):
            column = np.empty(len(parsed), dtype=out.dtype)
            column[:] = [p[j] for p in parsed]
            out[:] = column[codes]
        return typed, clean, blank
    for i, value in enumerate(values):
        typed[i], clean[i], blank[i] = one(value)
    return typed, clean, blank


def _text_reader(column: ColumnSpec) -> Callable[[Any], tuple[Any, bool, bool]]:
    """(typed, clean, blank) of one text or choice cell, as ``row.get`` reads it."""
    required = column.blank == "error"
    aliases = column.alias_map if column.kind == "choice" else None

    def one(value: Any) -> tuple[Any, bool, bool]:
        if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
            return None, False, False
        if is_blank(value):
            return (None, False, True) if required else ("", True, True)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = " ".join(str(value).split())
        if aliases is None:
            return text, True, False
        found = aliases.get(norm_enum(text))
        return found, found is not None, False

    return one


def _numbers(values: list[Any], column: ColumnSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(number, clean, blank) of each cell of a number column, as ``row.get`` reads it."""
    n = len(values)
    cells = np.empty(n, dtype=object)
    cells[:] = values
    bad = np.zeros(n, dtype=bool)  # text, a date, a logical value: never a number
    if set(map(type, values)) - _NUMBER_TYPES:
        for i in np.flatnonzero([type(v) not in _NUMBER_TYPES for v in values]).tolist():
            if is_blank(cells[i]):
                cells[i] = None
            else:
                cells[i], bad[i] = None, True
    blank = np.equal(cells, None) & ~bad  # type: ignore[call-overload]
    try:
        number = cells.astype(float)  # a blank (None) becomes NaN
    except OverflowError:  # an int beyond the float range (not a number): one by one
        number = np.array([_as_number(v) for v in cells.tolist()], dtype=float)
    finite = np.isfinite(number)
    with np.errstate(invalid="ignore"):
        ok = finite & ((number > column.minimum) if column.strict
                       else (number >= column.minimum))
        if column.maximum is not None:
            ok &= number <= column.maximum
    clean = np.where(blank, column.blank != "error", ok)
    number[blank] = _BLANK_VALUE[column.blank]
    return number, clean, blank


def _as_number(value: Any) -> float:
    """A cell as a finite float, or NaN (blank or not a number)."""
    number = None if value is None else as_float(value)
    return np.nan if number is None else number


def read_block(table: Table, columns: Sequence[str]) -> Block:
    """The data rows of ``table`` with ``columns`` read at once (see the module docstring).
    A column the table lacks reads as blank in every row."""
    grid = table.grid
    n = max(len(grid.rows) - table.header_r - 1, 0)
    typed: dict[str, np.ndarray] = {}
    ok: dict[str, np.ndarray] = {}
    blank_in: dict[str, np.ndarray] = {}
    for name in columns:
        spec = table.columns[name]
        assert isinstance(spec, ColumnSpec)
        c = table.cols.get(name)
        values = _cells(table, c) if c is not None else [None] * n
        if spec.kind == "number":
            typed[name], ok[name], blank_in[name] = _numbers(values, spec)
        else:
            typed[name], ok[name], blank_in[name] = _per_text(values, _text_reader(spec))
    # a row is skipped when every column of the table is blank (and none holds a special
    # cell): only rows blank in the columns read so far are looked at cell by cell
    maybe_empty = np.ones(n, dtype=bool)
    for name in columns:
        if name in table.cols:
            maybe_empty &= blank_in[name]
    for i in np.flatnonzero(maybe_empty):
        r = table.header_r + 1 + int(i)
        maybe_empty[i] = all(is_blank(grid.value(r, c)) and (r, c) not in grid.special
                             for c in table.cols.values())
    keep = ~maybe_empty
    # a special cell (an error value, a formula without a value) never reads cleanly
    read_at = {table.cols[name]: name for name in columns if name in table.cols}
    for r, c in grid.special:
        if c in read_at and table.header_r < r < table.header_r + 1 + n:
            ok[read_at[c]][r - table.header_r - 1] = False
    clean = np.ones(n, dtype=bool)
    for mask in ok.values():
        clean &= mask
    rows = np.flatnonzero(keep) + table.header_r + 1
    return Block(table, rows, {name: value[keep] for name, value in typed.items()},
                 {name: mask[keep] for name, mask in ok.items()}, clean[keep])
