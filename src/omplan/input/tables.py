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
from typing import Any, Protocol

from omplan.core.findings import Finding, cell_ref
from omplan.core.periods import parse_quarter

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
    """A finite real number (not a bool, not text, not a date, not NaN or infinity), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        return None
    return number if math.isfinite(number) else None


def number_hint(value: Any) -> str:
    """Why a cell that should hold a number does not, when it can be told: '' otherwise."""
    if isinstance(value, _dt.datetime | _dt.date | _dt.time | _dt.timedelta):
        return " (the cell is formatted as a date or time: format the cell as Number)"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return " (not a finite number)"
    if isinstance(value, str):
        if re.fullmatch(r"\s*[-+]?\d*,\d{1,2}\s*|\s*[-+]?\d+,\d{4,}\s*", value):
            return (f" (a decimal comma: use a decimal point, "
                    f"{value.strip().replace(',', '.')})")
        if re.fullmatch(r"\s*[-+]?\d{1,3}(?:\.\d{3})+,\d*\s*", value):  # 5.921,13
            meant = value.strip().replace(".", "").replace(",", ".")
            return f" (a decimal comma: use a decimal point, {meant})"
        if looks_numeric(value):
            return " (a number stored as text: retype it or use Data > Text to Columns)"
    return ""


class CellType(Protocol):
    """How a column's cells are read (a column of the input schema)."""

    def read(self, row: Row) -> Any: ...


@dataclass(slots=True)
class Row:
    """One data row of a table sheet: knows where each column is and reports located errors."""

    grid: SheetGrid
    r: int
    cols: dict[str, int]
    out: Collector
    #: column -> how its cells are read (:meth:`get`)
    types: Mapping[str, CellType] = field(default_factory=dict)

    def get(self, column: str) -> Any:
        """The cell of ``column`` typed by its schema; None (and a located error) if wrong."""
        return self.types[column].read(self)

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
        maximum: float | None = None,
    ) -> float | None:
        """A finite number ≥ minimum (> minimum when strict) and ≤ maximum (when given);
        blank gives ``blank`` (None = required)."""
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
            hint = number_hint(value)
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
        if maximum is not None and number > maximum:
            self.out.error("out-of-range", f"{what} must be at most {maximum:,.0f}, got "
                           f"{number:g}: check the cell for a typo", self.ref(column))
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
    """Text that reads as a finite number ('1,200', '40 %'): a number stored as text."""
    try:
        number = float(text.replace(",", "").replace("%", "").strip())
    except ValueError:
        return False
    return math.isfinite(number)


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
    #: column -> how its cells are read (the sheet's schema; empty for a plain table)
    columns: dict[str, CellType] = field(default_factory=dict)


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
        header_text = ", ".join(str(v).strip() for v in grid.rows[r] if not is_blank(v))
        out.error(
            "missing-column",
            f"column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"missing from the header row (found: {header_text})",
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
        yield Row(grid, r, table.cols, out, table.columns)



# --------------------------------------------------------------------------- periods

_PERIOD_HEADER_RE = re.compile(r"fy(\d+)q(\d+)")


def parse_period(value: Any) -> tuple[int | None, int] | None:
    """A quarter typed in a cell: 'Q3' -> (None, 3); 'FY2028 Q3', 'fy2028q3', 'FY 2028-Q3'
    -> (2028, 3). Case, spaces, hyphens and underscores are ignored; None when unreadable."""
    return parse_quarter(value)


def period_header(value: Any) -> tuple[int, int] | None:
    """A column header shaped like ``FY<year> Q<n>`` (any case and spacing): (year, n) as
    written, n not yet checked to be 1-4; None for any other header."""
    if not isinstance(value, str):
        return None
    match = _PERIOD_HEADER_RE.fullmatch(norm_enum(value))
    return None if match is None else (int(match[1]), int(match[2]))


def currency_code(text: str) -> str | None:
    """A three-letter ISO 4217 code in upper case ('eur' -> 'EUR'); None when it is not one."""
    return text.upper() if re.fullmatch(r"[A-Za-z]{3}", text) else None


# --------------------------------------------------------------------------- values

YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}


def parse_yes_no(value: Any) -> bool | None:
    """yes/no, true/false, 1/0, x, blank (= no); None when it is none of these."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
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


# --------------------------------------------------------------------------- names


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b; limit + 1 if more."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


#: Names at least this long may differ by up to NEAR_EDITS edits and still look like one name.
NEAR_MIN_LENGTH = 6
NEAR_EDITS = 2


def _squeeze(name: str) -> str:
    return re.sub(r"[\s\-_.]+", "", name).casefold()


def looks_alike(a: str, b: str) -> bool:
    """Two different names that are probably one name spelt two ways.

    The same letters apart from case, spaces, hyphens, underscores and dots; or, for names of
    at least six characters, at most two edits apart (Damerau-Levenshtein). Names that differ
    only in digits ('Billing 1', 'Billing 2') never look alike; names that differ in one word
    look alike when that word has four letters or more and a small typo (one edit, two for
    words of six letters or more): 'Order platfrom' does, 'CRM platform'/'HR platform' and
    'System A'/'System B' do not.
    """
    if a == b:
        return False
    if _squeeze(a) == _squeeze(b):
        return True
    x, y = " ".join(a.split()).casefold(), " ".join(b.split()).casefold()
    if min(len(x), len(y)) < NEAR_MIN_LENGTH:
        return False
    if re.sub(r"\d+", "#", x) == re.sub(r"\d+", "#", y):
        return False
    wx, wy = x.split(), y.split()
    if len(wx) == len(wy):
        differ = [(p, q) for p, q in zip(wx, wy, strict=True) if p != q]
        if len(differ) == 1:  # one word differs: judge the typo against that word
            p, q = differ[0]
            if min(len(p), len(q)) < 4:  # 'CRM platform', 'HR platform': different systems
                return False
            edits = 1 if min(len(p), len(q)) < NEAR_MIN_LENGTH else NEAR_EDITS
            return damerau_levenshtein(p, q, edits) <= edits
    return damerau_levenshtein(x, y, NEAR_EDITS) <= NEAR_EDITS


def _deletions(key: str) -> set[str]:
    """``key`` and, when it is long enough to be a typo of a longer name, every string left
    by deleting up to NEAR_EDITS of its characters (each set of positions once)."""
    found = {key}
    if len(key) >= NEAR_MIN_LENGTH - NEAR_EDITS:
        level = [(key, 0)]
        for _ in range(NEAR_EDITS):
            level = [(v[:k] + v[k + 1:], k) for v, start in level for k in range(start, len(v))]
            found.update([v for v, _ in level])
    return found


def near_duplicates(names: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (earlier, later) of distinct ``names`` that :func:`looks_alike`, in order.

    Candidates are the names that share a string left by deleting up to two characters of
    each squeezed name (the symmetric-delete method): every deletion of every name is hashed
    at once, and only the names of a shared one are compared, so a plan with thousands of
    systems is not compared pair by pair.
    """
    import numpy as np
    import pandas as pd

    variants: list[str] = []
    owners: list[int] = []
    for i, name in enumerate(names):
        found = _deletions(_squeeze(name))
        variants.extend(found)
        owners.extend([i] * len(found))
    codes, uniques = pd.factorize(np.array(variants, dtype=object))
    shared = np.bincount(codes, minlength=len(uniques))[codes] > 1
    groups: dict[int, list[int]] = {}
    for code, i in zip(codes[shared].tolist(), np.array(owners)[shared].tolist(), strict=True):
        groups.setdefault(code, []).append(i)
    pairs = {(j, i) for group in groups.values() for a, i in enumerate(group)
             for j in group[:a]}
    return [(names[j], names[i]) for j, i in sorted(pairs)
            if names[j] != names[i] and looks_alike(names[j], names[i])]
