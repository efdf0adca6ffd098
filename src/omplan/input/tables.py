"""Table sheets as grids of cell values: header finding, typed cells, located findings.

Generic helpers shared by the plan reader and the Excel binding: a :class:`SheetGrid` holds a
sheet's values, :func:`find_table` finds its header row, :func:`rows` yields its data rows, and
each :class:`Row` reads a cell as text, a number or a choice, recording a located finding in a
:class:`Collector` instead of raising.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omplan.core.findings import Finding, cell_ref

# --------------------------------------------------------------------------- grids


@dataclass
class SheetGrid:
    """The cell values of one sheet; ``rows[0][0]`` is the cell at (origin_row, origin_col).

    ``special`` maps 0-based (row, col) within ``rows`` to ``(code, fragment)`` for cells whose
    value cannot be trusted (an error value, a formula without a cached value). The fragment
    completes a sentence about the cell, e.g. ``"FTE Q1 " + fragment``; a plain string is taken
    as the fragment with the code ``bad-cell``.
    """

    name: str
    rows: Sequence[Sequence[Any]]
    origin_row: int = 1
    origin_col: int = 1
    special: dict[tuple[int, int], tuple[str, str] | str] = field(default_factory=dict)

    def ref(self, r: int, c: int) -> str:
        return cell_ref(self.name, r + self.origin_row, c + self.origin_col)

    def value(self, r: int, c: int) -> Any:
        row = self.rows[r]
        return row[c] if c < len(row) else None


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def norm_header(text: Any) -> str:
    """Header/setting/factor matching: case-insensitive, surrounding and repeated spaces ignored."""
    return " ".join(str(text).split()).casefold()


def norm_enum(text: Any) -> str:
    """Enumerated values: ignore case, spaces, hyphens and underscores (spec §2)."""
    return re.sub(r"[\s\-_]+", "", str(text)).casefold()


#: Excel error values, as a grid source without cell types (a live book, a paste) hands them over.
EXCEL_ERRORS = {
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
}  # fmt: skip


def error_value_fragment(error: str) -> str:
    """The message fragment for a cell holding an Excel error value such as ``#REF!``."""
    what = f"the error value {error}" if error else "an error value"
    return (f"holds {what}: fix the formula (or the cell it refers to) so it gives a value, "
            "then save")


# --------------------------------------------------------------------------- cells


class Collector:
    """Collects findings; the cell readers below return None and record an error on bad input."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, code: str, message: str, location: str = "") -> None:
        self.findings.append(Finding("error", code, message, location))

    def warning(self, code: str, message: str, location: str = "") -> None:
        self.findings.append(Finding("warning", code, message, location))


def describe(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return f"the logical value {str(value).upper()}"
    if isinstance(value, _dt.datetime | _dt.date | _dt.time | _dt.timedelta):
        return f"a date/time ({value})"
    return repr(value)


def as_float(value: Any) -> float | None:
    """A real number (not a bool, not text, not a date), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass
class Row:
    """One data row of a table sheet: knows where each column is and reports located errors."""

    grid: SheetGrid
    r: int
    cols: dict[str, int]
    out: Collector

    def ref(self, column: str) -> str:
        return self.grid.ref(self.r, self.cols[column])

    def raw(self, column: str) -> Any:
        c = self.cols.get(column)
        return None if c is None else self.grid.value(self.r, c)

    def special(self, column: str, what: str) -> bool:
        """Record an error for a cell whose value cannot be trusted (error value, stale formula)."""
        c = self.cols.get(column)
        if c is None:
            return False
        problem = self.grid.special.get((self.r, c))
        if problem is None:
            value = self.grid.value(self.r, c)
            if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
                problem = ("error-value", error_value_fragment(value.strip().upper()))
        if not problem:
            return False
        code, fragment = ("bad-cell", problem) if isinstance(problem, str) else problem
        self.out.error(code, f"{what} {fragment}", self.ref(column))
        return True

    def text(self, column: str, what: str, required: bool = True) -> str | None:
        if self.special(column, what):
            return None
        value = self.raw(column)
        if is_blank(value):
            if required:
                self.out.error("missing-value", f"{what} is required", self.ref(column))
                return None
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return " ".join(str(value).split())

    def number(
        self,
        column: str,
        what: str,
        *,
        minimum: float = 0.0,
        strict: bool = False,
        blank: float | None = 0.0,
        fraction: bool = False,
    ) -> float | None:
        """A number ≥ minimum (> minimum when strict); blank gives ``blank`` (None = required)."""
        if self.special(column, what):
            return None
        value = self.raw(column)
        if is_blank(value):
            if blank is None:
                self.out.error("missing-value", f"{what} is required", self.ref(column))
            return blank
        number = as_float(value)
        bound = f"{'>' if strict else '≥'} {minimum:g}"
        if number is None:
            hint = ""
            if isinstance(value, str) and looks_numeric(value):
                hint = " (a number stored as text: retype it or use Data > Text to Columns)"
            self.out.error(
                "not-a-number", f"{what} must be a number {bound}, got {describe(value)}{hint}",
                self.ref(column),
            )
            return None
        if number < minimum or (strict and number == minimum):
            self.out.error(
                "out-of-range", f"{what} must be a number {bound}, got {number:g}", self.ref(column)
            )
            return None
        if fraction and number > 1:
            self.out.error("percent-number", percent_message(what, number), self.ref(column))
            return None
        return number

    def choice(self, column: str, what: str, aliases: Mapping[str, str], allowed: Iterable[str],
               required: bool = True) -> str | None:
        text = self.text(column, what, required=required)
        if not text:
            return text
        found = aliases.get(norm_enum(text))
        if found is None:
            options = ", ".join(allowed)
            self.out.error("unknown-value", f"{what} must be one of {options}, got '{text}'",
                           self.ref(column))
        return found


def looks_numeric(text: str) -> bool:
    try:
        float(text.replace(",", "").replace("%", "").strip())
    except ValueError:
        return False
    return True


def percent_message(what: str, number: float) -> str:
    return (
        f"{what} must be a fraction between 0 and 1, got {number:g}: it looks like a percent "
        f"number; enter {number / 100:g} or format the cell as a percentage and type {number:g} %"
    )


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    grid: SheetGrid
    header_r: int
    cols: dict[str, int]  # canonical column name -> 0-based column index


#: How many non-empty rows may sit above the header row (a title, a note) before it is found.
HEADER_SEARCH_ROWS = 20


def header_columns(row: Sequence[Any], wanted: Mapping[str, str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    for c, value in enumerate(row):
        if is_blank(value):
            continue
        name = wanted.get(norm_header(value))
        if name is not None and name not in cols:
            cols[name] = c
    return cols


def find_table(
    grid: SheetGrid, required: Sequence[str], optional: Sequence[str], out: Collector
) -> Table | None:
    """Find the header row; columns matched like headers; reports missing columns.

    The header is the first non-empty row (spec §2), except that title or note rows above it
    are passed over: the first of the top non-empty rows that holds every required column
    wins. When none does, the row with the most required columns is the header, and the
    missing ones are reported there.
    """
    wanted = {norm_header(name): name for name in (*required, *optional)}
    best: tuple[int, int, dict[str, int]] | None = None  # (columns found, row, cols)
    seen = 0
    for i, row in enumerate(grid.rows):
        if not any(not is_blank(v) for v in row):
            continue
        found = header_columns(row, wanted)
        count = sum(1 for name in required if name in found)
        if best is None or count > best[0]:
            best = (count, i, found)
        seen += 1
        if count == len(required) or seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        # an empty sheet is an empty table (no rows); its columns are nominal
        return Table(grid, len(grid.rows), {name: i for i, name in enumerate(required)})
    _, r, cols = best
    missing = [name for name in required if name not in cols]
    if missing:
        found = ", ".join(str(v).strip() for v in grid.rows[r] if not is_blank(v))
        out.error(
            "missing-column",
            f"column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"missing from the header row (found: {found})",
            grid.ref(r, 0),
        )
        return None
    return Table(grid, r, cols)


def rows(table: Table, out: Collector) -> Iterable[Row]:
    """Data rows below the header, skipping rows whose known columns are all empty."""
    grid = table.grid
    indexes = list(table.cols.values())
    for r in range(table.header_r + 1, len(grid.rows)):
        if all(is_blank(grid.value(r, c)) and (r, c) not in grid.special for c in indexes):
            continue
        yield Row(grid, r, table.cols, out)



# --------------------------------------------------------------------------- values

YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}


def parse_yes_no(value: Any) -> bool | None:
    """yes/no, true/false, 1/0, x, blank (= no); None when it is none of these."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {1: True, 0: False}.get(value)  # type: ignore[call-overload]
    text = "" if value is None else norm_enum(value)
    if text in YES:
        return True
    if text in NO:
        return False
    return None


def split_ref(ref: str) -> tuple[int, int]:
    """'B7' (or '$B$7') -> (7, 2): the 1-based row and column of a cell reference."""
    match = re.fullmatch(r"\$?([A-Za-z]+)\$?(\d+)", ref)
    if not match:
        raise ValueError(ref)
    col = 0
    for ch in match.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(match.group(2)), col
