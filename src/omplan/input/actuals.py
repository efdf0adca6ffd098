"""Actual spend -> :class:`ActualLine` rows plus located findings (the plan's ``Actuals`` sheet,
or a file given with ``omplan run PLAN --actuals FILE``: .xlsx/.xlsm with an Actuals sheet, or
.csv with the same header).

Columns ``Month``, ``System``, ``Activity``, ``Amount`` and optionally ``Currency`` and ``Item``.
A general-ledger export can hold a hundred thousand rows, so every column is parsed at once
(pandas; one parse per distinct month, system or activity text) and messages are written only
for the bad cells. Every bad cell is reported in one pass; a problem repeated on many rows is
reported for the first :data:`DETAILED_PER_PROBLEM` of them and then counted. Rows with the
same month, system, activity and currency add up to one line, located at the first of them.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.actuals import ACTUALS_CODES
from omplan.core.findings import FileProblem, Finding, quote_sheet
from omplan.core.model import (
    ACTIVITIES,
    ActualLine,
    CostLine,
    FxRate,
    Plan,
    Settings,
    StaffingLine,
)
from omplan.core.periods import fiscal_year_span
from omplan.input.reading import Reading
from omplan.input.schema import find_sheet_table, sheet_spec
from omplan.input.tables import (
    EXCEL_ERRORS,
    Collector,
    SheetGrid,
    Table,
    as_float,
    describe,
    error_value_fragment,
    header_columns,
    is_blank,
    norm_enum,
    norm_header,
    number_hint,
    rows,
)

__all__ = [
    "ACTUALS_CODES", "ACTUALS_SHEET", "CSV_DECIMALS", "ActualsContext", "csv_decimal",
    "parse_actuals", "read_actuals_csv",
    "read_actuals_file", "read_actuals_table", "use_actuals_file",
]

ACTUALS_SHEET = "Actuals"
#: the columns of the input schema's Actuals sheet (a CSV file has the same header)
REQUIRED = sheet_spec(ACTUALS_SHEET).required_columns
OPTIONAL = sheet_spec(ACTUALS_SHEET).optional_columns
COLUMNS = (*REQUIRED, *OPTIONAL)
#: Bound of an actual amount (as of a Costs cell): anything larger is a typo.
MAX_AMOUNT = 1e12
#: A problem (code and column) repeated on many rows is spelt out for this many of them,
#: then counted in one more finding, so that a wrongly formatted export stays readable.
DETAILED_PER_PROBLEM = 100
ACTIVITY_ALIASES = {norm_enum(a): a for a in ACTIVITIES}
_MONTH_TEXT = re.compile(
    r"(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)?")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
#: Amounts that can be read only one way (the last separator followed by other than three
#: digits, or both separators): with a decimal comma ('5.921,13', '12,5') or a decimal point
_COMMA_DECIMAL = re.compile(
    r"[-+(]?\d{1,3}(?:\.\d{3})+,\d*[)-]?|[-+(]?\d+,(?:\d{1,2}|\d{4,})[)-]?")
_POINT_DECIMAL = re.compile(
    r"[-+(]?\d{1,3}(?:,\d{3})+\.\d*[)-]?|[-+(]?\d+\.(?:\d{1,2}|\d{4,})[)-]?")
#: an amount written with a decimal comma and points between thousands, sign in front,
#: behind (SAP's '1.234,50-') or in accounting brackets
_COMMA_AMOUNT = re.compile(r"([-+]?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d*))?(-?)")
#: a day-first date with dots ('28.01.2027', '1.2.2027', '01.2027'), as European ERPs export
_DOTTED_DATE = re.compile(r"(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})")
#: How a CSV's amounts are written: found from the file ('auto'), or given.
CSV_DECIMALS = ("auto", "comma", "point")
#: A problem (code and column) on at least this share of a file's rows (and three rows or
#: more) is systematic: one message for the column instead of one per row.
SYSTEMATIC_SHARE = 0.9
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@dataclass(frozen=True)
class ActualsContext:
    """What checking actuals needs from a plan: its settings (fiscal year, first month,
    horizon, currency), its FX rates and the systems it budgets (None: not checked)."""

    settings: Settings
    fx: tuple[FxRate, ...] = ()
    systems: frozenset[str] | None = None

    @classmethod
    def of(cls, plan: Plan) -> ActualsContext:
        systems = {x.system for x in plan.staffing} | {c.system for c in plan.costs}
        return cls(plan.settings, tuple(plan.fx), frozenset(systems))

    def fx_rate(self, currency: str, fiscal_year: int) -> float | None:
        # the plan's own rule (its row for the year, else its all-years row), not a copy of it
        return Plan(self.settings, {}, {}, {}, [], fx=list(self.fx)).fx_rate(currency,
                                                                               fiscal_year)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    """Where the rows came from, to name a cell: a sheet (``Actuals!D7``) or a CSV file
    (``gl.csv line 17, column Amount``). ``row_ids`` are grid rows or file line numbers."""

    name: str
    grid: SheetGrid | None = None
    cols: Mapping[str, int] = field(default_factory=dict)

    def cell(self, row_id: int, column: str) -> str:
        if self.grid is not None:
            return self.grid.ref(row_id, self.cols[column])
        return f"{self.name} line {row_id}, column {column}"

    @property
    def where(self) -> str:
        """The source as a whole: the sheet or the file (where quarter findings point)."""
        return quote_sheet(self.grid.name) if self.grid is not None else self.name


@dataclass
class _Problems:
    """Located errors, in row then column order; a repeated problem is capped and counted."""

    source: _Source
    detailed: list[tuple[int, int, Finding]] = field(default_factory=list)
    counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    #: the number of data rows (set by the checks): a problem on nearly every row is
    #: reported once for its column
    rows: int = 0
    #: (code, column) -> advice for a problem on the whole column
    advice: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, row_id: int, column: str, code: str, message: str) -> None:
        count, first = self.counts.get((code, column), (0, row_id))
        self.counts[(code, column)] = (count + 1, first)
        if count < DETAILED_PER_PROBLEM:
            finding = Finding("error", code, message, self.source.cell(row_id, column))
            self.detailed.append((row_id, COLUMNS.index(column), finding))

    def _systematic(self, count: int) -> bool:
        return count >= 3 and count >= SYSTEMATIC_SHARE * self.rows

    def findings(self) -> list[Finding]:
        whole = {key for key, (count, _) in self.counts.items() if self._systematic(count)}
        out = [t[2] for t in sorted(self.detailed, key=lambda t: (t[0], t[1]))
               if (t[2].code, COLUMNS[t[1]]) not in whole]
        columns: list[Finding] = []  # one per systematic problem, before the others
        for (code, column), (count, first) in self.counts.items():
            if (code, column) in whole:
                example = next(f for _, c, f in self.detailed
                               if f.code == code and COLUMNS[c] == column)
                advice = self.advice.get((code, column), "fix the column (or the export "
                                         "that wrote it) and run again")
                columns.append(Finding("error", code, (
                    f"column {column}: {count:,} of {self.rows:,} rows have the same problem, "
                    f"the first at {example.location}: {example.message}; {advice}"),
                    example.location))
                continue
            if count > DETAILED_PER_PROBLEM:
                rest = count - DETAILED_PER_PROBLEM
                out.append(Finding("error", code, (
                    f"{rest:,} more rows have the same problem in column {column} as "
                    f"{self.source.cell(first, column)} ({count:,} rows in all): fix the "
                    "column (or the export that wrote it) and run again"),
                    self.source.where))
        return [*columns, *out]


# --------------------------------------------------------------------------- entry points


def parse_actuals(grid: SheetGrid, context: ActualsContext
                  ) -> tuple[list[ActualLine], list[Finding]]:
    """The rows of an Actuals sheet grid, checked against the plan's horizon, FX rates and
    systems; locations are the sheet's cells (``Actuals!D7``)."""
    out = Collector()
    table = find_sheet_table(grid, sheet_spec(ACTUALS_SHEET), out)
    if table is None:
        return [], out.findings
    lines, findings = _parse_table(table, context)
    return lines, [*out.findings, *findings]


def _parse_table(table: Table, context: ActualsContext) -> tuple[list[ActualLine], list[Finding]]:
    """The rows of an Actuals table (its header found), checked against the plan."""
    grid = table.grid
    data = list(rows(table, Collector()))  # data rows, fully empty ones skipped
    row_ids = np.array([row.r for row in data], dtype=np.int64)
    frame = pd.DataFrame({name: pd.Series([grid.value(r, c) for r in row_ids], dtype=object)
                          for name, c in table.cols.items()})
    source = _Source(grid.name, grid, table.cols)
    problems = _Problems(source)
    for (r, c), problem in grid.special.items():  # error values, formulas without a value
        column = next((n for n, i in table.cols.items() if i == c), None)
        if column is not None and r > table.header_r:
            code, fragment = ("bad-cell", problem) if isinstance(problem, str) else problem
            problems.add(r, column, code, f"{column} {fragment}")
    special = {name: np.array([(int(r), c) in grid.special for r in row_ids], dtype=bool)
               for name, c in table.cols.items()}
    lines, warnings = _check(frame, row_ids, source, context, problems, text_only=False,
                             special=special)
    return lines, [*problems.findings(), *warnings]


def read_actuals_csv(path: str | os.PathLike[str], context: ActualsContext,
                     decimal: str = "auto") -> tuple[list[ActualLine], list[Finding]]:
    """The rows of a .csv with the Actuals header (comma, semicolon or tab separated; UTF-8,
    else Windows-1252); locations name the file's line and column.

    ``decimal`` says how amounts are written: 'auto' (found from the file, see
    :func:`csv_decimal`), 'comma' (5.921,13) or 'point' (5,921.13). Months may be dates
    ``YYYY-MM-DD``, ``YYYY-MM`` or, day first, ``DD.MM.YYYY``."""
    source = _Source(Path(path).name)
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        return [], [Finding("error", "file-unreadable", f"the actuals file {source.name} "
                            f"could not be read: {exc.strerror or exc}")]
    sep = _delimiter(text)
    try:  # every value as the text it is (object arrays of str: fast to hash and convert)
        table = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=object,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False,
                            quotechar='"', engine="c")
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    except pd.errors.ParserError:
        return [], _ragged_lines(text, sep, source.name)
    # line number of each row: 1 + its index, plus the line breaks inside earlier quoted
    # values (counted only when the file has more lines than rows)
    lines = np.arange(1, len(table) + 1, dtype=np.int64)
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if len(table) and physical > len(table):
        breaks = sum(np.fromiter((v.count("\n") for v in table[c].to_numpy()), np.int64,
                                 len(table)) for c in table.columns)
        lines += np.concatenate(([0], np.cumsum(breaks)[:-1]))
    header = _csv_header(table, lines, source.name)
    if isinstance(header, Finding):
        return [], [header]
    r, cols = header
    body = table.iloc[r + 1:]
    frame = pd.DataFrame({name: body[c].to_numpy() for name, c in cols.items()})
    problems = _Problems(source)
    if decimal == "auto":
        decimal = csv_decimal(pd.unique(frame["Amount"].to_numpy()).tolist(), sep)
    other = "point" if decimal == "comma" else "comma"
    problems.advice[("not-a-number", "Amount")] = (
        f"omplan read the amounts with a decimal {decimal}: if the file uses a decimal "
        f"{other}, run with --csv-decimal {other}; else fix the column (or the export that "
        "wrote it)")
    found, warnings = _check(frame, lines[r + 1:], source, context, problems, text_only=True,
                             decimal=decimal)
    return found, [*problems.findings(), *warnings]


#: Reads the named sheets of a workbook: :func:`omplan.input.workbook.read_grids`.
SheetReader = Callable[[Path, Collection[str]], tuple[Mapping[str, SheetGrid], list[Finding]]]


def read_actuals_file(path: str | os.PathLike[str], context: ActualsContext,
                      read_sheets: SheetReader, decimal: str = "auto"
                      ) -> tuple[list[ActualLine], list[Finding]]:
    """Actuals from ``--actuals FILE``: a .csv, or the Actuals sheet of an .xlsx/.xlsm read
    with ``read_sheets`` (its cells located as ``'[gl.xlsx]Actuals'!D7``, Excel's way of
    naming a cell of another workbook)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        why = "is a folder" if p.is_dir() else "does not exist"
        return [], [Finding("error", "file-missing", f"the actuals file {p} {why}")]
    if suffix == ".csv":
        return read_actuals_csv(p, context, decimal)
    if suffix not in (".xlsx", ".xlsm"):
        return [], [Finding("error", "file-type", f"the actuals file {p.name} must be a .csv, "
                            ".xlsx or .xlsm file (an .xls or .xlsb: save it as .xlsx first)")]
    try:
        grids, findings = read_sheets(p, (ACTUALS_SHEET,))
    except FileProblem as problem:
        return [], [problem.as_finding()]
    grid = next((g for name, g in grids.items() if norm_header(name) == "actuals"), None)
    if grid is None:
        return [], [Finding("error", "missing-sheet", f"the actuals file {p.name} has no "
                            f"'{ACTUALS_SHEET}' sheet: name the sheet that holds the spend "
                            f"'{ACTUALS_SHEET}' (or save it as .csv)", p.name)]
    grid = replace(grid, name=f"[{p.name}]{grid.name}")
    lines, more = parse_actuals(grid, context)
    return lines, [*findings, *more]


def read_actuals_table(table: Table, reading: Reading) -> list[ActualLine]:
    """The plan reader's function for the Actuals sheet: its rows checked against the plan
    read so far (its settings, FX rates, and the systems of Staffing and Costs)."""
    settings = reading.settings.settings
    assert settings is not None  # the sheet is read only with valid settings
    staffing: list[StaffingLine] | None = reading.staffing
    costs: list[CostLine] = reading.get("Costs", [])
    systems = None
    if staffing is not None:
        systems = frozenset({x.system for x in staffing} | {c.system for c in costs})
    lines, findings = _parse_table(table, ActualsContext(settings, tuple(reading.get("FX", [])),
                                                        systems))
    reading.out.findings.extend(findings)
    return lines


# --------------------------------------------------------------------------- CSV helpers


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:  # Excel's "CSV" on Windows
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever the first non-empty line uses most."""
    first, start = "", 0
    while start < len(text) and not first.strip():
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        first, start = text[start:end], end + 1
    return max((",", ";", "\t"), key=first.count)


def _ragged_lines(text: str, sep: str, name: str) -> list[Finding]:
    """A CSV whose rows have more values than its first row: every such line, located."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    width: int | None = None
    out = []
    for row in reader:
        if width is None:
            if any(v.strip() for v in row):
                width = len(row)
            continue
        if len(row) > width:
            out.append(Finding("error", "bad-csv", (
                f"{len(row)} values on a line where the first line has {width}: a value that "
                f"contains the separator '{sep}' must be in double quotes"),
                f"{name} line {reader.line_num}"))
    return out or [Finding("error", "bad-csv", f"{name} is not a readable CSV file", name)]


def _csv_header(table: pd.DataFrame, lines: np.ndarray,
                name: str) -> tuple[int, dict[str, int]] | Finding:
    """The header row (the first of the top lines with every required column) and columns."""
    wanted = {norm_header(c): c for c in COLUMNS}
    best: tuple[int, int, dict[str, int]] | None = None
    seen = 0
    for r in range(len(table)):
        values = table.iloc[r].tolist()
        if all(is_blank(v) for v in values):
            continue
        cols = header_columns(values, wanted)
        count = sum(1 for c in REQUIRED if c in cols)
        if best is None or count > best[0]:
            best = (count, r, cols)
        seen += 1
        if count == len(REQUIRED) or seen >= 20:
            break
    if best is None:
        return Finding("error", "missing-column", f"{name} is empty: its first line must be "
                       f"the header {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})",
                       name)
    count, r, cols = best
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        found = ", ".join(str(v).strip() for v in table.iloc[r].tolist() if not is_blank(v))
        return Finding("error", "missing-column", (
            f"column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"missing from the header line (found: {found})"), f"{name} line {lines[r]}")
    return r, cols


# --------------------------------------------------------------------------- the checks


def _check(frame: pd.DataFrame, row_ids: np.ndarray, source: _Source, context: ActualsContext,
           problems: _Problems, text_only: bool, special: Mapping[str, np.ndarray] | None = None,
           decimal: str = "point") -> tuple[list[ActualLine], list[Finding]]:
    """Parse and check every column at once: every bad cell reported, the valid rows as
    lines, plus warnings. ``special`` marks cells per column already reported (error values,
    formulas without a value): their rows are left out and not reported twice."""
    special = dict(special or {})
    empty = _empty_rows(frame, special)
    if empty.any():  # rows with nothing in any column are skipped, like a sheet's
        keep_rows = ~empty
        frame = frame[keep_rows].reset_index(drop=True)
        row_ids = row_ids[keep_rows]
        special = {name: mask[keep_rows] for name, mask in special.items()}
    n = len(frame)
    problems.rows = n
    st = context.settings
    for name in frame.columns:  # error values as a live book hands them over: '#N/A'
        errors = frame[name].isin(EXCEL_ERRORS).to_numpy()
        for i in np.flatnonzero(errors):
            value = frame[name].iat[i]
            problems.add(int(row_ids[i]), name, "error-value",
                         f"{name} {error_value_fragment(value)}")
        special[name] = special[name] | errors if name in special else errors
    ok = np.ones(n, dtype=bool)
    for mask in special.values():
        ok &= ~mask

    def report(bad: np.ndarray, column: str, code: str,
               message: Callable[[int], str]) -> None:
        cells = bad & ~special[column] if column in special else bad
        for i in np.flatnonzero(cells):
            problems.add(int(row_ids[i]), column, code, message(int(i)))
        ok[bad] = False

    raw = {name: frame[name] if name in frame.columns else None for name in COLUMNS}

    # Month -> fiscal month index (one parse per distinct value)
    month_raw = raw["Month"]
    assert month_raw is not None
    year, month, why = _per_distinct(month_raw, _parse_month, (0, 0, "blank"))
    year = year.astype(np.int64)
    month = month.astype(np.int64)
    blank = why == "blank"
    report(blank, "Month", "missing-value", lambda i: "Month is required")
    bad = (why != "") & ~blank
    report(bad, "Month", "bad-month", lambda i: (
        f"Month must be a date or text YYYY-MM (e.g. 2027-04), got "
        f"{describe(month_raw.iat[i])}{why[i][1:]}"))
    first, years, start = st.fiscal_year, st.horizon_years, st.fy_start_month
    index = (year - first) * 12 + (month - start)
    outside = (why == "") & ((index < 0) | (index >= 12 * years))
    span = _horizon_span(first, years, start)
    report(outside, "Month", "month-outside", lambda i: (
        f"Month {year[i]}-{month[i]:02d} is outside the plan, which covers {span}: give a "
        "month of the plan's fiscal years, or change fiscal_year or horizon_years"))

    # System and Item: text; Activity: one of the eight
    system = _text(raw["System"])
    report(system == "", "System", "missing-value", lambda i: "System is required")
    activity_raw = raw["Activity"]
    assert activity_raw is not None
    activity_text = _text(activity_raw)
    report(activity_text == "", "Activity", "missing-value", lambda i: "Activity is required")
    activity, _, _ = _per_distinct(pd.Series(activity_text, dtype=object),
                                   lambda v: (ACTIVITY_ALIASES.get(norm_enum(v), ""), 0, 0),
                                   ("", 0, 0))
    unknown = (activity == "") & (activity_text != "")
    report(unknown, "Activity", "unknown-value", lambda i: (
        f"Activity must be one of {', '.join(ACTIVITIES)}, got {describe(activity_raw.iat[i])}"))

    # Amount: a finite number, credits negative
    amount_raw = raw["Amount"]
    assert amount_raw is not None
    amount, blank_amount = _amounts(amount_raw, text_only, decimal)
    report(blank_amount, "Amount", "missing-value", lambda i: (
        "Amount is required (enter 0 for a month without spend, or delete the row)"))
    bad = np.isnan(amount) & ~blank_amount
    hint = _csv_number_hint if text_only else number_hint
    report(bad, "Amount", "not-a-number", lambda i: (
        f"Amount must be a number, got {describe(amount_raw.iat[i])}"
        f"{hint(amount_raw.iat[i])}"))
    huge = np.abs(np.nan_to_num(amount)) > MAX_AMOUNT
    report(huge, "Amount", "out-of-range", lambda i: (
        f"Amount must be at most {MAX_AMOUNT:,.0f} either way, got {amount[i]:g}: check the "
        "cell for a typo"))

    # Currency: blank = the plan's; a foreign one needs an FX rate for the month's year
    currency = np.full(n, "", dtype=object)
    if raw["Currency"] is not None:
        given = _text(raw["Currency"])
        currency, well_formed, _ = _per_distinct(
            pd.Series(given, dtype=object),
            lambda v: (v.upper(), True, 0) if _CURRENCY.fullmatch(v) or not v else ("", False, 0),
            ("", True, 0))
        report(~well_formed.astype(bool), "Currency", "bad-currency", lambda i: (
            f"Currency must be a three-letter ISO 4217 code such as USD or EUR, got "
            f"'{given[i]}'"))
        currency[currency == st.currency] = ""
    month_ok = (why == "") & ~outside
    fiscal_year = first + np.floor_divide(index, 12)
    foreign = np.flatnonzero((currency != "") & month_ok)
    if len(foreign):
        codes, pairs = pd.factorize(pd.MultiIndex.from_arrays([currency[foreign],
                                                               fiscal_year[foreign]]))
        no_rate_pair = np.array([context.fx_rate(c, int(y)) is None for c, y in pairs])
        no_rate = np.zeros(n, dtype=bool)
        no_rate[foreign[no_rate_pair[codes]]] = True
        report(no_rate, "Currency", "missing-fx", lambda i: (
            f"no FX rate for {currency[i]} in fiscal year {fiscal_year[i]} "
            f"({fiscal_year_span(int(fiscal_year[i]), start)}): add a row "
            f"({currency[i]}, {fiscal_year[i]}, {st.currency} per 1 {currency[i]}) to the "
            "FX sheet, or one with a blank Fiscal year for every year"))

    # rows with the same keys add up: one line per (month, system, activity, currency), at
    # its first row, in the order of first rows (a line costs far more than an array cell)
    keep = np.flatnonzero(ok)
    key = np.zeros(len(keep), dtype=np.int64)
    for column in (index[keep], system[keep], activity[keep], currency[keep]):
        codes, uniques = pd.factorize(column)
        key = key * max(len(uniques), 1) + codes
    found = np.unique(key, return_index=True, return_inverse=True)
    first_of, group = np.asarray(found[1]), np.asarray(found[2]).ravel()
    sums = np.bincount(group, weights=amount[keep], minlength=len(first_of))
    rows_in = np.bincount(group, minlength=len(first_of))
    order = np.argsort(first_of, kind="stable")
    line_rows = keep[first_of[order]]
    item_raw = raw["Item"]
    items = np.full(len(line_rows), "", dtype=object)
    if item_raw is not None:  # for reference only: kept where a line is a single row
        single = rows_in[order] == 1
        items[single] = _text(item_raw.iloc[line_rows[single]].reset_index(drop=True))
    if source.grid is not None:
        locations = [source.cell(int(row_ids[i]), "System") for i in line_rows]
    else:
        locations = [f"{source.name} line {i}" for i in row_ids[line_rows].tolist()]
    lines = list(map(ActualLine, index[line_rows].tolist(), system[line_rows].tolist(),
                     activity[line_rows].tolist(), sums[order].tolist(),
                     currency[line_rows].tolist(), items.tolist(), locations))
    return lines, _unplanned(lines, source, context.systems)


def _empty_rows(frame: pd.DataFrame, special: Mapping[str, np.ndarray]) -> np.ndarray:
    """Rows whose every cell is blank (and none holds an error): the first column decides
    for most rows at once, the others are looked at only where it is blank."""
    n = len(frame)
    if not n:
        return np.zeros(0, dtype=bool)
    names = list(frame.columns)
    codes, uniques = pd.factorize(frame[names[0]], use_na_sentinel=True)
    blank_unique = np.array([is_blank(u) for u in uniques] + [True], dtype=bool)
    empty = blank_unique[codes]
    for name in names[1:]:
        rows_left = np.flatnonzero(empty)
        if not len(rows_left):
            break
        values = frame[name].to_numpy(dtype=object)[rows_left]
        empty[rows_left] = [is_blank(v) or (isinstance(v, float) and math.isnan(v))
                            for v in values]
    for mask in special.values():
        empty &= ~mask
    return empty


def _unplanned(lines: list[ActualLine], source: _Source,
               systems: Collection[str] | None) -> list[Finding]:
    """One ``actuals-unplanned`` warning per system the plan does not budget, at its first row."""
    if systems is None:
        return []
    first: dict[str, str] = {}
    for line in lines:
        if line.system not in systems and line.system not in first:
            first[line.system] = line.location
    out = []
    for name, location in first.items():
        close = difflib.get_close_matches(name, sorted(systems), n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if source.grid is None:
            location = f"{location}, column System"
        out.append(Finding("warning", "actuals-unplanned", (
            f"system '{name}' has actual spend but no Staffing or Costs line in the plan"
            f"{hint}: its amounts count, against a plan of 0"), location))
    return out


def _horizon_span(first: int, years: int, start: int) -> str:
    """``Apr 2027 – Mar 2028 (FY2027)`` or ``Jan 2027 – Dec 2029 (FY2027–FY2029)``."""
    begin = fiscal_year_span(first, start).split(" – ")[0]
    end = fiscal_year_span(first + years - 1, start).split(" – ")[1]
    names = f"FY{first}" if years == 1 else f"FY{first}–FY{first + years - 1}"
    return f"{begin} – {end} ({names})"


def _per_distinct(series: pd.Series, parse: Callable[[Any], tuple[Any, Any, Any]],
                  blank: tuple[Any, Any, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``parse`` once per distinct value (``blank`` for missing ones), spread back to rows."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    parsed = [parse(v) for v in uniques] + [blank]  # index -1 (missing) takes ``blank``
    out = []
    for j in range(3):
        column = np.empty(len(parsed), dtype=object)
        column[:] = [p[j] for p in parsed]
        out.append(column[codes])
    return out[0], out[1], out[2]


def _text(series: pd.Series | None) -> np.ndarray:
    """Cell text with surrounding and repeated spaces removed ('' for blanks); whole numbers
    without '.0' (a system named 2027)."""
    if series is None:
        return np.empty(0, dtype=object)

    def clean(value: Any) -> tuple[str, int, int]:
        if is_blank(value) or (isinstance(value, float) and math.isnan(value)):
            return "", 0, 0
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return " ".join(str(value).split()), 0, 0

    return _per_distinct(series, clean, ("", 0, 0))[0]


def _parse_month(value: Any) -> tuple[int, int, str]:
    """(year, month, '') for a date or YYYY-MM[-DD] text; (0, 0, why) otherwise, where ``why``
    is 'blank', or '!' and a hint to append to the message (maybe none)."""
    if isinstance(value, _dt.datetime | _dt.date):
        return value.year, value.month, ""
    if is_blank(value) or (isinstance(value, float) and math.isnan(value)):
        return 0, 0, "blank"
    if isinstance(value, str):
        text = value.strip()
        dotted = _DOTTED_DATE.fullmatch(text)
        if dotted:  # day first: 28.01.2027 (or the month alone, 01.2027)
            day, m, y = (int(g) if g else 0 for g in dotted.groups())
            if not 1 <= m <= 12:
                return 0, 0, f"! (there is no month {m}: dates with dots are read day first, " \
                    "as 28.01.2027)"
            if day:
                try:
                    _dt.date(y, m, day)
                except ValueError:
                    return 0, 0, f"! (there is no day {day} in {y}-{m:02d})"
            return y, m, ""
        match = _MONTH_TEXT.fullmatch(text)
        if match:
            y, m = int(match.group(1)), int(match.group(2))
            if not 1 <= m <= 12:
                return 0, 0, f"! (there is no month {m})"
            if match.group(3):
                try:
                    _dt.date(y, m, int(match.group(3)))
                except ValueError:
                    return 0, 0, f"! (there is no day {int(match.group(3))} in {y}-{m:02d})"
            return y, m, ""
        return 0, 0, "!"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0, 0, "! (a number: format the cell as a date)"
    return 0, 0, "!"


def _amounts(series: pd.Series, text_only: bool, decimal: str = "point"
             ) -> tuple[np.ndarray, np.ndarray]:
    """(amount, blank): finite numbers, NaN where the cell is blank or not a number. Text is
    converted at once; what that cannot read is tried again one by one, for thousands
    separators (1,234.50) and accounting negatives ((1,234.50)). With ``decimal`` 'comma'
    text is read the European way (5.921,13), once per distinct text."""
    n = len(series)
    values = series.to_numpy(dtype=object)
    amount = np.full(n, np.nan)
    blank = np.zeros(n, dtype=bool)
    if text_only:
        is_text = np.ones(n, dtype=bool)
    else:
        is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
        for i in np.flatnonzero(~is_text):
            value = values[i]
            blank[i] = value is None or (isinstance(value, float) and math.isnan(value))
            number = as_float(value)
            if number is not None:
                amount[i] = number
    texts = values[is_text]
    if decimal == "comma":
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
        parsed = np.array([_comma_amount(str(u).strip()) for u in uniques] + [math.nan])
        amount[is_text] = parsed[codes]
        blank[is_text] = np.array([not str(u).strip() for u in uniques] + [True])[codes]
        return amount, blank
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(
        dtype=float, copy=True)
    text_blank = np.zeros(len(texts), dtype=bool)
    for j in np.flatnonzero(~np.isfinite(numbers)):
        stripped = texts[j].strip()
        text_blank[j] = not stripped
        numbers[j] = _amount_text(stripped) if stripped else math.nan
    amount[is_text] = numbers
    blank[is_text] = text_blank
    return amount, blank


def _amount_text(text: str) -> float:
    """1,234.50 and (1,234.50) -> 1234.5 and -1234.5; NaN for anything else."""
    negative = text.startswith("(") and text.endswith(")")
    body = text[1:-1].strip() if negative else text
    if _THOUSANDS.fullmatch(body):
        body = body.replace(",", "")
    try:
        number = float(body)
    except ValueError:
        return math.nan
    if not math.isfinite(number):
        return math.nan
    return -number if negative else number


def _csv_number_hint(value: Any) -> str:
    """Why a CSV value is no number: its decimal separator is not the file's (a file has no
    cells to convert with Text to Columns)."""
    hint = number_hint(value)
    if hint and "Text to Columns" not in hint:
        return hint
    return " (a decimal point)" if _POINT_DECIMAL.fullmatch(str(value).strip()) else ""


def _comma_amount(text: str) -> float:
    """5.921,13, -1.234,5, 1.234,50- and (1.234,50) -> numbers; NaN for anything else."""
    negative = text.startswith("(") and text.endswith(")")
    body = text[1:-1].strip() if negative else text
    match = _COMMA_AMOUNT.fullmatch(body)
    if match is None:
        return math.nan
    sign, whole, fraction, trailing = match.groups()
    if sign and trailing:
        return math.nan
    number = float(whole.replace(".", "") + "." + (fraction or "0"))
    return -number if negative or sign == "-" or trailing else number


def csv_decimal(amounts: Collection[str], sep: str) -> str:
    """How a CSV writes its amounts, 'comma' or 'point': as most of its values that read only
    one way do ('5.921,13', '12,5'; '1,234.50', '12.5'), so that the others are errors of
    their own; when none does, by the separator (a semicolon file comes from a country with
    decimal commas: that is why its spreadsheets separate values with semicolons)."""
    comma = sum(1 for a in amounts if _COMMA_DECIMAL.fullmatch(a.strip()))
    point = sum(1 for a in amounts if _POINT_DECIMAL.fullmatch(a.strip()))
    if comma != point:
        return "comma" if comma > point else "point"
    return "comma" if sep == ";" else "point"


def use_actuals_file(plan: Plan, path: str | os.PathLike[str], read_sheets: SheetReader,
                     decimal: str = "auto") -> tuple[Plan, list[Finding]]:
    """The plan with the actual spend of ``path`` instead of its own Actuals sheet (an info
    finding says so when the sheet had rows), and the file's findings; ``decimal`` as for
    :func:`read_actuals_csv`."""
    lines, findings = read_actuals_file(path, ActualsContext.of(plan), read_sheets, decimal)
    if plan.actuals:
        source = plan.actuals[0].location.rsplit("!", 1)[0]
        findings.append(Finding("info", "actuals-replaced", (
            f"the plan's own {source} sheet ({len(plan.actuals):,} "
            f"line{'s' if len(plan.actuals) != 1 else ''}) is not used: the actual spend "
            f"comes from {Path(path).name}"), source))
    return replace(plan, actuals=lines), findings
