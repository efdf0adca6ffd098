"""Evaluation -> report layout: sheets of cell blocks, charts and print settings, as plain data.

The layout knows no spreadsheet library: an openpyxl renderer (``render_xlsx``) writes it to
a file, an xlwings renderer can write it into a live book. Every figure is a group-by of the
engine's ledger (via ``summary``), so the report, the JSON and the Ledger sheet agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.errors import OmplanError
from omplan.core.findings import Finding, column_letter, quote_sheet
from omplan.core.ledger import LEDGER_COLUMNS, Evaluation, band_status, kind_totals, pivot
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    COMPONENTS,
    EXTERNAL_SOURCINGS,
    FIXED_FEE,
    LEVEL_GUIDANCE,
    LEVEL_ROLE,
    LEVELS,
    MAINTENANCE_ACTIVITIES,
    MAINTENANCE_FACTORS,
    OPERATION_ACTIVITIES,
    OPERATION_FACTORS,
    QUARTERS,
    SEPARATE_ESTIMATE,
    SOURCINGS,
)
from omplan.core.periods import MONTH_NAMES, quarter_labels
from omplan.core.summary import PlanFigures, ScenarioFigures, billing_split, plan_figures
from omplan.report import styles as st

#: Excel's grid limits (rows include the header row).
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
SHEET_NAME_MAX = 31
#: Sheet names the report uses itself (and Excel's reserved "History"), compared ignoring case.
RESERVED_SHEETS = ("Summary", "Ledger", "Checks", "About", "History")
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
COMPONENT_LABELS = {"labour": "Labour", "vendor_management": "Vendor management",
                    "coordination": "Coordination", "transition": "Transition",
                    "other": "Other costs"}
NO_ROLE = NO_SOURCING = "Coordination and other costs"


class ReportTooLarge(OmplanError, ValueError):
    """The report does not fit Excel's grid; raised before anything is written."""


# --------------------------------------------------------------------------- layout data


@dataclass(frozen=True, slots=True)
class Ref:
    """A rectangle of cells on a sheet, 1-based and inclusive."""

    sheet: str
    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @property
    def a1(self) -> str:
        """``B5:E5`` (no sheet)."""
        return (f"{column_letter(self.first_col)}{self.first_row}:"
                f"{column_letter(self.last_col)}{self.last_row}")

    @property
    def absolute(self) -> str:
        """``'Sheet name'!$B$5:$E$5``, as charts refer to data."""
        return (f"{quote_sheet(self.sheet)}!${column_letter(self.first_col)}${self.first_row}:"
                f"${column_letter(self.last_col)}${self.last_row}")


@dataclass(slots=True)
class Text:
    """A single free-standing cell: a sheet title, subtitle or note."""

    row: int
    col: int
    value: Any
    style: str


@dataclass(frozen=True, slots=True)
class Styled:
    """A cell value that carries its own style (the few cells unlike their column)."""

    value: Any
    style: str


@dataclass
class Block:
    """A table of values at an anchor: optional title row, optional header row, data rows.

    ``styles`` names the body style of each column; ``row_kinds`` marks data rows (0-based) as
    ``subtotal`` or ``total``; a value given as :class:`Styled` keeps its own style (the
    block stores the plain value and the style in ``cell_styles``). With ``span`` > 1 the
    last column of the header and of every data row is merged over ``span`` columns (wrapped
    messages). A ``bulk`` block (the Ledger) is streamed row by row by renderers. With
    ``overflow`` the last column's text may run over the empty cells to its right, so it does
    not size its column.
    """

    key: str
    row: int
    col: int
    rows: Sequence[Sequence[Any]]
    styles: Sequence[str]
    header: Sequence[str] | None = None
    title: str | None = None
    row_kinds: Mapping[int, str] = field(default_factory=dict)
    span: int = 1
    bulk: bool = False
    overflow: bool = False
    cell_styles: dict[tuple[int, int], str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.bulk:
            return
        plain: list[list[Any]] = []
        for i, row in enumerate(self.rows):
            values = list(row)
            for j, value in enumerate(values):
                if isinstance(value, Styled):
                    self.cell_styles[(i, j)] = value.style
                    values[j] = value.value
            plain.append(values)
        self.rows = plain

    @property
    def title_row(self) -> int | None:
        return self.row if self.title else None

    @property
    def header_row(self) -> int | None:
        if self.header is None:
            return None
        return self.row + (1 if self.title else 0)

    @property
    def first_row(self) -> int:
        """Row of the first data row."""
        return self.row + (1 if self.title else 0) + (1 if self.header is not None else 0)

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1

    @property
    def width(self) -> int:
        return len(self.styles)

    @property
    def last_col(self) -> int:
        return self.col + self.width - 1 + (self.span - 1)

    def style_at(self, i: int, j: int) -> str:
        """The style of data cell (i, j), 0-based within the block."""
        own = self.cell_styles.get((i, j))
        if own is not None:
            return own
        return st.row_variant(self.styles[j], self.row_kinds.get(i))

    def header_style(self, j: int) -> str:
        return st.HEADER_RIGHT_STYLE if self.styles[j] in st.NUMERIC_STYLES else st.HEADER_STYLE

    def column_index(self, name: str) -> int:
        if self.header is None:
            raise KeyError(f"block {self.key!r} has no header")
        return list(self.header).index(name)

    def column(self, name: str) -> list[Any]:
        """The data values under header ``name``."""
        j = self.column_index(name)
        return [row[j] for row in self.rows]

    def row_of(self, label: Any) -> Sequence[Any]:
        """The first data row whose first cell is ``label``."""
        for row in self.rows:
            if row[0] == label:
                return row
        raise KeyError(f"block {self.key!r} has no row {label!r}")

    def value(self, label: Any, column: str) -> Any:
        """The value at row ``label`` (first column) and header ``column``."""
        return self.row_of(label)[self.column_index(column)]

    def ref(self, sheet: str, i0: int, j0: int, i1: int | None = None,
            j1: int | None = None) -> Ref:
        """Data cells (i0..i1, j0..j1), 0-based within the block, as a Ref."""
        i1 = i0 if i1 is None else i1
        j1 = j0 if j1 is None else j1
        return Ref(sheet, self.first_row + i0, self.col + j0, self.first_row + i1, self.col + j1)

    def header_ref(self, sheet: str, j0: int, j1: int) -> Ref:
        assert self.header_row is not None
        return Ref(sheet, self.header_row, self.col + j0, self.header_row, self.col + j1)


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """One chart series: values (a row or a column of cells), its colour, column or line."""

    title: str
    values: Ref
    colour: str
    line: bool = False
    dashed: bool = False


@dataclass
class ChartSpec:
    """A native chart: columns (optionally stacked) with optional line series over them."""

    key: str
    title: str
    categories: Ref
    series: list[SeriesSpec]
    anchor: tuple[int, int]  # (row, col) of the top-left cell
    stacked: bool = False
    y_title: str = ""
    y_format: str = "General"
    y_min: float | None = None
    y_max: float | None = None
    width_cm: float = 16.0
    height_cm: float = 7.5
    #: (row, col) of the cell just past the bottom-right corner: the chart then stretches
    #: over the cells from ``anchor`` to ``end`` (width_cm/height_cm are only estimates)
    end: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An Excel Table (filter buttons, banded rows) over ``ref`` including its header row."""

    name: str
    ref: Ref
    columns: tuple[str, ...]
    style: str = "TableStyleMedium2"


@dataclass(frozen=True, slots=True)
class ConditionalFormat:
    """Highlight cells of ``ref`` outside [low, high] (``outside``) or equal to a text."""

    ref: Ref
    highlight: str
    outside: tuple[float, float] | None = None
    equals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PrintSetup:
    landscape: bool = True
    fit_width: bool = True
    title_rows: tuple[int, int] | None = None
    area: Ref | None = None


@dataclass
class SheetLayout:
    """One sheet: texts, blocks, charts, and how it looks on screen and on paper."""

    name: str
    blocks: list[Block] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    tables: list[TableSpec] = field(default_factory=list)
    conditional_formats: list[ConditionalFormat] = field(default_factory=list)
    freeze: tuple[int, int] | None = None  # top-left cell of the scrolling pane
    column_widths: dict[int, float] = field(default_factory=dict)
    row_heights: dict[int, float] = field(default_factory=dict)
    print_setup: PrintSetup = field(default_factory=PrintSetup)
    show_gridlines: bool = False
    tab_colour: str | None = None

    def block(self, key: str) -> Block:
        for b in self.blocks:
            if b.key == key:
                return b
        raise KeyError(f"sheet {self.name!r} has no block {key!r}")

    def chart(self, key: str) -> ChartSpec:
        for c in self.charts:
            if c.key == key:
                return c
        raise KeyError(f"sheet {self.name!r} has no chart {key!r}")

    @property
    def max_row(self) -> int:
        rows = [t.row for t in self.texts] + [b.last_row for b in self.blocks]
        return max(rows, default=0)

    @property
    def max_col(self) -> int:
        cols = [t.col for t in self.texts] + [b.last_col for b in self.blocks]
        return max(cols, default=0)


@dataclass
class ReportLayout:
    """The whole workbook: sheets in order, styles by name, document properties."""

    sheets: list[SheetLayout]
    styles: dict[str, st.CellStyle]
    highlights: dict[str, st.HighlightStyle]
    title: str
    created: datetime
    creator: str = "omplan"
    scenario_sheets: dict[str, str] = field(default_factory=dict)

    def sheet(self, name: str) -> SheetLayout:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(f"no sheet {name!r}")


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where the figures came from, for the About sheet."""

    name: str = ""
    sha256: str = ""


# --------------------------------------------------------------------------- helpers


def free_sheet_name(wanted: str, taken: set[str]) -> str:
    """``wanted (omplan)``, ``wanted (omplan 2)``, … within 31 characters, not in ``taken``
    (casefolded): the name of a report sheet whose own name a user's sheet already has."""
    for n in range(1, 100):
        suffix = " (omplan)" if n == 1 else f" (omplan {n})"
        name = wanted[: 31 - len(suffix)] + suffix
        if name.casefold() not in taken:
            return name
    raise ValueError(f"no free sheet name for the report sheet '{wanted}'")


def sheet_names(scenarios: Sequence[str]) -> dict[str, str]:
    """A valid, unique Excel sheet name per scenario (31 chars, no ``[]:*?/\\``).

    Forbidden characters become '-', names clashing (ignoring case) with the report's own
    sheets or an earlier scenario get a ``(2)``, ``(3)`` ... suffix.
    """
    taken = {name.casefold() for name in RESERVED_SHEETS}
    out: dict[str, str] = {}
    for scenario in scenarios:
        base = _FORBIDDEN_IN_SHEET_NAME.sub("-", scenario).strip().strip("'").strip()
        base = base[:SHEET_NAME_MAX].rstrip().rstrip("'") or "Scenario"
        candidate, n = base, 2
        while candidate.casefold() in taken:
            suffix = f" ({n})"
            candidate = base[:SHEET_NAME_MAX - len(suffix)].rstrip().rstrip("'") + suffix
            n += 1
        taken.add(candidate.casefold())
        out[scenario] = candidate
    return out


def _f(value: Any) -> float:
    return float(value)


def _share(operation: float, total: float) -> float | None:
    return None if total == 0 else operation / total


class LedgerRows(Sequence[tuple[Any, ...]]):
    """The ledger as rows of plain Python values (blank keys as None), built lazily."""

    def __init__(self, ledger: pd.DataFrame) -> None:
        self._ledger = ledger

    @cached_property
    def columns(self) -> list[list[Any]]:
        out = []
        for name in LEDGER_COLUMNS:
            series = self._ledger[name]
            if name == "amount":
                out.append(series.to_numpy(dtype=float).tolist())
                continue
            cats = [None if c == "" else str(c) for c in series.cat.categories]
            lookup = np.array([*cats, None], dtype=object)  # code -1 (missing) -> None
            out.append(lookup[series.cat.codes.to_numpy()].tolist())
        return out

    def __len__(self) -> int:
        return len(self._ledger)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [tuple(c[i] for c in self.columns) for i in range(*index.indices(len(self)))]
        return tuple(c[index] for c in self.columns)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self.columns, strict=True)


def _display_len(value: Any, style: str, currency: str) -> int:
    """Approximate characters a value needs on screen in ``style``."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        sign = 1 if ("signed" in style or value < 0) else 0
        if "money" in style:
            return len(f"{abs(value):,.0f}") + len(currency) + 1 + sign
        if "percent" in style:
            return len(f"{abs(value):.1%}") + sign
        if "datetime" in style:
            return 19
        return len(f"{value:,.0f}") if abs(value) >= 1000 else len(str(value))
    if isinstance(value, datetime):
        return 19
    return max((len(line) for line in str(value).splitlines()), default=0)


def fit_widths(sheet: SheetLayout, currency: str, minimum: float = 8.0,
               maximum: float = 60.0) -> dict[int, float]:
    """Column widths (in characters) that show every block cell and header word."""
    widths: dict[int, float] = {}
    for b in sheet.blocks:
        rows = b.rows if not b.bulk else b.rows[: min(len(b.rows), 2000)]
        for j in range(b.width):
            if (b.span > 1 or b.overflow) and j == b.width - 1:
                continue  # merged and wrapped, or running over empty cells
            need = 0
            if b.header is not None:
                head = str(b.header[j])
                words = max((len(w) for w in head.split()), default=0)
                need = max(words + 2, min(len(head), 12) + 2)
            for i, row in enumerate(rows):
                style = b.style_at(i, j)
                bold = 1 if (i in b.row_kinds or style == st.KEY_STYLE) else 0
                need = max(need, _display_len(row[j], style, currency) + 1.5 + bold)
            if b.styles[j] == st.INTEGER_STYLE:
                need = max(need, 10)  # counts under a header: room for the header's padding
            c = b.col + j
            widths[c] = max(widths.get(c, minimum), min(float(need), maximum))
    return widths


def column_cm(chars: float) -> float:
    """Width in cm of columns ``chars`` characters wide (Excel: 7 px per char + 5 px pad)."""
    return (chars * 7 + 5) / 96 * 2.54


def _wrapped_height(text: str, width_chars: float, line_points: float = 15.0,
                    chars_per_width: float = 1.15) -> float:
    """Row height (points) for ``text`` wrapped in a cell ``width_chars`` wide."""
    per_line = max(width_chars * chars_per_width - 1, 4.0)
    lines = 0
    for part in str(text).split("\n"):
        # words do not break: fill lines word by word
        used, count = 0, 1
        for word in part.split():
            need = len(word) + (1 if used else 0)
            if used and used + need > per_line:
                count, used = count + 1, len(word)
            else:
                used += need
        lines += count
    return line_points * max(lines, 1) + 2.0


class SheetBuilder:
    """A sheet under construction: blocks are stacked downwards from a cursor row."""

    def __init__(self, name: str, cursor: int = 1) -> None:
        self.layout = SheetLayout(name)
        self.cursor = cursor
        # row, first col, last col, text, characters per width unit
        self.wrapped: list[tuple[int, int, int, str, float]] = []

    def wrap_rows(self, block: Block, j: int) -> None:
        """Size the rows of ``block`` so the wrapped text of column ``j`` shows in full."""
        first = block.col + j
        last = first + (block.span - 1 if j == block.width - 1 else 0)
        for i, row in enumerate(block.rows):
            self.wrapped.append((block.first_row + i, first, last, str(row[j] or ""), 1.15))

    def finish(self, currency: str, minimum_widths: Mapping[int, float] = ()) -> SheetLayout:
        """Column widths from the content (explicit and ``minimum_widths`` are floors), then
        row heights and chart sizes."""
        sheet = self.layout
        sheet.column_widths = {**dict(minimum_widths), **sheet.column_widths}
        widths = fit_widths(sheet, currency)
        for c, w in sheet.column_widths.items():
            widths[c] = max(widths.get(c, 0.0), w)
        sheet.column_widths = dict(sorted(widths.items()))
        for b in sheet.blocks:  # headers wrap too (bold: fewer characters per line)
            if b.header is not None and b.header_row is not None and not b.bulk:
                for j, head in enumerate(b.header):
                    last = b.col + j + (b.span - 1 if j == b.width - 1 else 0)
                    self.wrapped.append((b.header_row, b.col + j, last, str(head), 1.0))
        for row, first, last, text, per_width in self.wrapped:
            width = sum(widths.get(c, 8.43) for c in range(first, last + 1))
            height = _wrapped_height(text, width, chars_per_width=per_width)
            sheet.row_heights[row] = max(sheet.row_heights.get(row, 0.0), height)
        for row, height in list(sheet.row_heights.items()):
            if height <= 17.0:  # one line: leave the default height
                del sheet.row_heights[row]
        for chart in sheet.charts:
            if chart.end is not None:
                chars = sum(widths.get(c, 8.43) for c in range(chart.anchor[1], chart.end[1]))
                chart.width_cm = round(column_cm(chars), 2)
                points = sum(sheet.row_heights.get(r, 15.0)
                             for r in range(chart.anchor[0], chart.end[0]))
                chart.height_cm = round(points / 72 * 2.54, 2)
        return sheet

    def text(self, row: int, col: int, value: Any, style: str) -> None:
        self.layout.texts.append(Text(row, col, value, style))

    def add(self, block: Block, gap: int = 2) -> Block:
        if not block.bulk:  # plain Python values (numpy scalars come from pandas sums)
            block.rows = [[v.item() if isinstance(v, np.generic) else v for v in row]
                          for row in block.rows]
        self.layout.blocks.append(block)
        self.cursor = max(self.cursor, block.last_row + 1 + gap)
        return block

    def next_block(self, key: str, rows: Sequence[Sequence[Any]], styles: Sequence[str],
                   header: Sequence[str] | None = None, title: str | None = None,
                   col: int = 1, gap: int = 2, **kw: Any) -> Block:
        block = Block(key, self.cursor, col, rows, styles, header, title, **kw)
        return self.add(block, gap)


# --------------------------------------------------------------------------- the builder


def check_ledger_size(evaluation: Evaluation) -> None:
    """Raise :class:`ReportTooLarge` if the Ledger sheet would not fit Excel's grid."""
    rows = len(evaluation.ledger) + 1
    if rows > EXCEL_MAX_ROWS:
        raise ReportTooLarge(
            f"the ledger has {rows - 1:,} rows but an Excel sheet holds at most "
            f"{EXCEL_MAX_ROWS - 1:,} rows under its header, so no report was written; report "
            "fewer scenarios at a time (e.g. split the Scenarios sheet) or use --json for the "
            "figures")


def build_report_layout(evaluation: Evaluation, *, input_findings: Sequence[Finding] = (),
                        source: SourceInfo | None = None, generated: datetime | None = None,
                        version: str = "", generated_note: str = "") -> ReportLayout:
    """The report workbook of an evaluation as data: Summary, one sheet per scenario,
    Ledger, Checks and About. Raises ReportTooLarge before building anything too big."""
    if not evaluation.ok:
        raise ValueError("the plan has errors: there are no figures to report")
    check_ledger_size(evaluation)
    plan = evaluation.plan
    settings = plan.settings
    currency = settings.currency
    generated = generated or datetime(1980, 1, 1)
    source = source or SourceInfo(plan.source_name)
    summary = plan_figures(plan, list(input_findings), evaluation)
    names = sheet_names([s.name for s in summary.scenarios])
    facts = _Facts(evaluation)

    builders = [_summary_sheet(plan, summary, names, currency, source)]
    for scenario in summary.scenarios:
        builders.append(_scenario_sheet(plan, scenario, names[scenario.name], facts,
                                        summary))
    builders.append(_ledger_sheet(evaluation))
    builders.append(_checks_sheet(summary))
    builders.append(_about_sheet(plan, source, generated, version, generated_note, names))
    sheets = [b.finish(currency) for b in builders]
    check_limits(sheets)
    title = f"IT operation vs maintenance budget: {settings.plan_name}"
    return ReportLayout(sheets, st.report_styles(currency), dict(st.HIGHLIGHTS), title,
                        generated, scenario_sheets=names)


def check_limits(sheets: Sequence[SheetLayout]) -> None:
    """Every sheet fits Excel's grid (rows and columns)."""
    for sheet in sheets:
        if sheet.max_row > EXCEL_MAX_ROWS or sheet.max_col > EXCEL_MAX_COLS:
            raise ReportTooLarge(
                f"sheet {sheet.name!r} needs {sheet.max_row:,} rows and {sheet.max_col:,} "
                f"columns but Excel allows {EXCEL_MAX_ROWS:,} × {EXCEL_MAX_COLS:,}; no report "
                "was written; report fewer scenarios at a time or use --json for the figures")


class _Facts:
    """Ledger group-bys shared by every scenario sheet (computed once for all scenarios)."""

    def __init__(self, evaluation: Evaluation) -> None:
        led = evaluation.ledger
        self.activity_quarter = pivot(led, ["scenario", "activity"], "quarter")
        self.activity_year = pivot(led, ["scenario", "activity"])
        self.level = kind_totals(led, ["scenario", "level"])
        self.sourcing = kind_totals(led, ["scenario", "sourcing"])
        labour = led[led["component"] == "labour"]
        self.sourcing_labour = pivot(labour, ["scenario", "sourcing"])
        self.system = kind_totals(led, ["scenario", "system"])
        self.systems = [str(s) for s in led["system"].cat.categories]
        self.component_quarter = pivot(led, ["scenario", "component"], "quarter")
        external = labour[labour["sourcing"].isin(list(EXTERNAL_SOURCINGS))]
        self.external_quarter = pivot(external, ["scenario", "activity"], "quarter")
        self.external_year = pivot(external, ["scenario", "activity"])


# --------------------------------------------------------------------------- Summary


def _plan_facts(plan, currency: str, source: SourceInfo) -> list[list[Any]]:
    s = plan.settings
    applied = [f for f in (*OPERATION_FACTORS, *MAINTENANCE_FACTORS) if plan.profile.get(f)]
    rows: list[list[Any]] = [
        ["Plan", s.plan_name],
        ["Fiscal year", s.fiscal_year],
        ["Fiscal year starts", MONTH_NAMES[s.fy_start_month - 1]],
        ["Currency", currency],
        ["Band low", Styled(s.band_low, st.PERCENT_LEFT_STYLE)],
        ["Band high", Styled(s.band_high, st.PERCENT_LEFT_STYLE)],
        ["Target operation share", Styled(plan.target_operation_share(),
                                          st.PERCENT_LEFT_STYLE)],
        ["Situation factors", ", ".join(applied) if applied else "none"],
        ["Plan file", source.name or "–"],
    ]
    return rows


SUMMARY_HEADER = (
    "Scenario", "Total", "Operation", "Maintenance", "Operation share", "Band status",
    "Share vs target", "Δ total vs Baseline", "Δ % vs Baseline", "Fixed fee",
    "Separate estimate", "Transition", "Warnings", "Info",
)


def _summary_sheet(plan, summary: PlanFigures, names: dict[str, str], currency: str,
                   source: SourceInfo) -> SheetBuilder:
    s = plan.settings
    target = plan.target_operation_share()
    sh = SheetBuilder("Summary", cursor=4)
    sh.text(1, 1, f"IT operation vs maintenance budget: {s.plan_name}", st.TITLE_STYLE)
    sh.text(2, 1, f"Fiscal year {s.fiscal_year} · amounts in {currency} · reference band "
                  f"{s.band_low:.0%}–{s.band_high:.0%} operation share · target "
                  f"{target:.1%}", st.SUBTITLE_STYLE)
    facts = _plan_facts(plan, currency, source)
    sh.next_block("plan", facts, [st.KEY_STYLE, st.VALUE_STYLE], title="Plan", gap=1,
                  overflow=True)

    base = summary.baseline
    rows = []
    for sc in summary.scenarios:
        share = sc.operation_share
        delta = sc.total - base.total
        rows.append([
            sc.name, sc.total, sc.operation, sc.maintenance, share,
            sc.band_status, None if share is None else share - target, delta,
            delta / base.total if base.total else None,
            sc.billing["fixed_fee"], sc.billing["separate_estimate"],
            sc.components["transition"], sc.count("warning"), sc.count("info"),
        ])
    money, pct = st.MONEY, st.PERCENT_STYLE
    table = sh.next_block(
        "scenarios", rows,
        [st.TEXT_STYLE, money, money, money, pct, st.CENTER_STYLE, st.SIGNED_PERCENT_STYLE,
         st.SIGNED_MONEY, st.SIGNED_PERCENT_STYLE, money, money, money, st.INTEGER_STYLE,
         st.INTEGER_STYLE],
        header=SUMMARY_HEADER, title=f"Scenarios (amounts in {currency})", gap=1)
    n = len(rows)
    sheet = sh.layout
    sheet.conditional_formats += [
        ConditionalFormat(table.ref("Summary", 0, 4, n - 1, 4), "out of band",
                          outside=(s.band_low, s.band_high)),
        ConditionalFormat(table.ref("Summary", 0, 5, n - 1, 5), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
    ]
    sh.text(table.last_row + 1, 1,
            "Share vs target: operation share minus the situation-aware target, in percentage "
            "points. Fixed fee / separate estimate: external labour by billing basis. Details "
            "per scenario on the scenario sheets; every amount is a sum of the Ledger sheet.",
            st.NOTE_STYLE)

    chart_row = table.last_row + 3
    chart_rows = 20
    data_row = chart_row + chart_rows + 1
    data = [[sc.name, sc.operation_share, s.band_low, s.band_high, target]
            for sc in summary.scenarios]
    sh.cursor = data_row
    band = sh.next_block(
        "share_chart_data", data, [st.TEXT_STYLE, pct, pct, pct, pct],
        header=("Scenario", "Operation share", "Band low", "Band high", "Target"),
        title="Chart data: operation share against the band")
    cats = table.ref("Summary", 0, 0, n - 1, 0)
    colours = st.SERIES_COLOURS
    sheet.charts.append(ChartSpec(
        "split", "Operation vs maintenance by scenario", cats,
        [SeriesSpec("Operation", table.ref("Summary", 0, 2, n - 1, 2), colours["operation"]),
         SeriesSpec("Maintenance", table.ref("Summary", 0, 3, n - 1, 3),
                    colours["maintenance"])],
        anchor=(chart_row, 1), stacked=True, y_title=currency, y_format="#,##0",
        end=(chart_row + chart_rows, 7)))
    sheet.charts.append(ChartSpec(
        "share", "Operation share against the band", band.ref("Summary", 0, 0, n - 1, 0),
        [SeriesSpec("Operation share", band.ref("Summary", 0, 1, n - 1, 1), colours["share"]),
         SeriesSpec("Band low", band.ref("Summary", 0, 2, n - 1, 2), colours["band"],
                    line=True, dashed=True),
         SeriesSpec("Band high", band.ref("Summary", 0, 3, n - 1, 3), colours["band"],
                    line=True, dashed=True),
         SeriesSpec("Target", band.ref("Summary", 0, 4, n - 1, 4), colours["target"],
                    line=True, dashed=True)],
        anchor=(chart_row, 7), y_title="Operation share", y_format="0%", y_min=0.0,
        y_max=1.0, end=(chart_row + chart_rows, len(SUMMARY_HEADER) + 1)))
    sheet.freeze = (3, 2)
    last_col = max(table.last_col, 12)
    sheet.print_setup = PrintSetup(title_rows=(1, 2),
                                   area=Ref("Summary", 1, 1, band.last_row, last_col))
    sheet.tab_colour = st.NAVY
    return sh


# --------------------------------------------------------------------------- scenario sheets


def _scenario_sheet(plan, sc: ScenarioFigures, sheet_name: str, facts: _Facts,
                    summary: PlanFigures) -> SheetBuilder:
    s = plan.settings
    name = sc.name
    currency = s.currency
    low, high = s.band_low, s.band_high
    target = plan.target_operation_share()
    qlabels = quarter_labels(s.fy_start_month)
    sh = SheetBuilder(sheet_name, cursor=4)
    sh.text(1, 1, f"{name}: {s.plan_name}", st.TITLE_STYLE)
    share = sc.operation_share
    share_text = "–" if share is None else f"{share:.1%}"
    sh.text(2, 1, f"Fiscal year {s.fiscal_year} · amounts in {currency} · total "
                  f"{sc.total:,.0f} {currency} · operation share {share_text} "
                  f"({sc.band_status}; band {low:.0%}–{high:.0%}, target {target:.1%})",
            st.SUBTITLE_STYLE)
    money, pct = st.MONEY, st.PERCENT_STYLE
    q_money = [money] * 5

    # activity x quarter with kind subtotals, total, share and band status
    aq = facts.activity_quarter.loc[name]
    ay = facts.activity_year.loc[name]
    quarters = sc.quarters
    rows: list[list[Any]] = []
    kinds: dict[int, str] = {}
    for kind, acts in (("operation", OPERATION_ACTIVITIES),
                       ("maintenance", MAINTENANCE_ACTIVITIES)):
        for a in acts:
            rows.append([Styled(a, st.LABEL_STYLE), *(_f(aq.loc[a, q]) for q in QUARTERS),
                         _f(ay.loc[a])])
        kinds[len(rows)] = "subtotal"
        rows.append([kind.capitalize(), *(getattr(q, kind) for q in quarters),
                     getattr(sc, kind)])
    kinds[len(rows)] = "total"
    rows.append(["Total", *(q.total for q in quarters), sc.total])
    share_i = len(rows)
    rows.append([Styled("Operation share", st.KEY_STYLE),
                 *(Styled(v, pct) for v in (*(q.operation_share for q in quarters), share))])
    rows.append([Styled("Band status", st.KEY_STYLE),
                 *(Styled(v, st.CENTER_STYLE)
                   for v in (*(q.band_status for q in quarters), sc.band_status))])
    matrix = sh.next_block("activity_quarter", rows, [st.TEXT_STYLE, *q_money],
                           header=("Activity", *qlabels, "FY"),
                           title="Cost by activity and quarter", row_kinds=kinds)
    sheet = sh.layout
    sheet.conditional_formats += [
        ConditionalFormat(matrix.ref(sheet_name, share_i, 1, share_i, 5), "out of band",
                          outside=(low, high)),
        ConditionalFormat(matrix.ref(sheet_name, share_i + 1, 1, share_i + 1, 5),
                          "out of band", equals=("operation-heavy", "maintenance-heavy")),
    ]
    op_i, mt_i = len(OPERATION_ACTIVITIES), len(ACTIVITIES) + 1
    colours = st.SERIES_COLOURS
    sheet.charts.append(ChartSpec(
        "quarters", "Operation vs maintenance by quarter",
        matrix.header_ref(sheet_name, 1, 4),
        [SeriesSpec("Operation", matrix.ref(sheet_name, op_i, 1, op_i, 4),
                    colours["operation"]),
         SeriesSpec("Maintenance", matrix.ref(sheet_name, mt_i, 1, mt_i, 4),
                    colours["maintenance"])],
        anchor=(matrix.row, 9), stacked=True, y_title=currency, y_format="#,##0",
        end=(matrix.last_row + 1, 17)))

    year_cols = ("Operation", "Maintenance", "Total", "Share of total")
    total = sc.total

    def kind_rows(frame: pd.DataFrame, keys: Sequence[Any], labels: Sequence[str],
                  extra: Sequence[Any] | None = None) -> list[list[Any]]:
        out = []
        for k, (key, label) in enumerate(zip(keys, labels, strict=True)):
            row = frame.loc[(name, key)] if (name, key) in frame.index else None
            op = _f(row["operation"]) if row is not None else 0.0
            mt = _f(row["maintenance"]) if row is not None else 0.0
            tot = op + mt if row is None else _f(row["total"])
            out.append([label, op, mt, tot, _share(tot, total),
                        *([extra[k]] if extra is not None else [])])
        return out

    # by role level (plan-level money has no role: its own row so the block adds up)
    keys = [*LEVELS, ""]
    labels = [*(f"{lv} {LEVEL_ROLE[lv]}" for lv in LEVELS), NO_ROLE]
    guidance = [*(LEVEL_GUIDANCE[lv] for lv in LEVELS), ""]
    rows = kind_rows(facts.level, keys, labels, guidance)
    rows.append(["Total", sc.operation, sc.maintenance, total, 1.0, ""])
    sh.next_block("by_level", rows, [st.TEXT_STYLE, money, money, money, pct, st.LABEL_STYLE],
                  header=("Role level", *year_cols, "Sourcing guidance"),
                  title="Cost by role level", row_kinds={len(rows) - 1: "total"})

    # by sourcing; 'of which labour' is the JSON's by_sourcing
    keys = [*SOURCINGS, ""]
    labels = [*SOURCINGS, NO_SOURCING]
    labour = facts.sourcing_labour
    of_labour = [sc.by_sourcing.get(k, 0.0) if k else _f(labour.get((name, ""), 0.0))
                 for k in keys]
    rows = kind_rows(facts.sourcing, keys, labels, of_labour)
    rows.append(["Total", sc.operation, sc.maintenance, total, 1.0,
                 sc.components["labour"]])
    sh.next_block("by_sourcing", rows, [st.TEXT_STYLE, money, money, money, pct, money],
                  header=("Sourcing", *year_cols, "of which labour"),
                  title="Cost by sourcing", row_kinds={len(rows) - 1: "total"})

    # by system, with each system's own operation share against the band
    rows = []
    for system in facts.systems:
        row = kind_rows(facts.system, [system], [system])[0]
        sys_share, status = band_status(row[1], row[3], low, high)
        rows.append([system, row[1], row[2], row[3], sys_share, status])
    n_sys = len(rows)
    rows.append(["Total", sc.operation, sc.maintenance, total, share, sc.band_status])
    systems = sh.next_block(
        "by_system", rows, [st.TEXT_STYLE, money, money, money, pct, st.CENTER_STYLE],
        header=("System", "Operation", "Maintenance", "Total", "Operation share",
                "Band status"),
        title="Cost by system", row_kinds={len(rows) - 1: "total"})
    if n_sys:
        sheet.conditional_formats += [
            ConditionalFormat(systems.ref(sheet_name, 0, 4, n_sys - 1, 4), "out of band",
                              outside=(low, high)),
            ConditionalFormat(systems.ref(sheet_name, 0, 5, n_sys - 1, 5), "out of band",
                              equals=("operation-heavy", "maintenance-heavy"))]

    # cost components by quarter (the JSON's components in the FY column)
    cq = facts.component_quarter.loc[name]
    rows = [[COMPONENT_LABELS[c], *(_f(cq.loc[c, q]) for q in QUARTERS),
             sc.components[c]] for c in COMPONENTS]
    rows.append(["Total", *(q.total for q in quarters), total])
    sh.next_block("components", rows, [st.TEXT_STYLE, *q_money],
                  header=("Cost component", *qlabels, "FY"), title="Cost components",
                  row_kinds={len(rows) - 1: "total"})

    # billing boundary over external labour (spec §3.9)
    eq = facts.external_quarter.loc[name]
    ey = facts.external_year.loc[name]
    rows = []
    for a in ACTIVITIES:
        rows.append([a, *(_f(eq.loc[a, q]) for q in QUARTERS), _f(ey.loc[a]),
                     plan.billing[a]])
    sub_kinds: dict[int, str] = {}
    splits = [billing_split(plan, eq[q]) for q in QUARTERS]
    for basis, key in ((FIXED_FEE, "fixed_fee"), (SEPARATE_ESTIMATE, "separate_estimate")):
        per_q = [split[key] for split in splits]
        sub_kinds[len(rows)] = "subtotal"
        rows.append([basis, *per_q, sc.billing[key], ""])
    per_q = [_f(eq[q].sum()) for q in QUARTERS]
    sub_kinds[len(rows)] = "total"
    rows.append(["External labour", *per_q,
                 sc.billing["fixed_fee"] + sc.billing["separate_estimate"], ""])
    sh.next_block("billing", rows, [st.LABEL_STYLE, *q_money, st.LABEL_STYLE],
                  header=("Activity", *qlabels, "FY", "Billing basis"),
                  title="Billing boundary: external labour by basis", row_kinds=sub_kinds)

    # the scenario's findings, messages wrapped over four columns
    rows = [[f.code, f.severity, f.location, f.message] for f in sc.findings]
    if not rows:
        rows = [["none", "", "", "No findings for this scenario."]]
    block = sh.next_block("findings", rows, [st.TEXT_STYLE, st.TEXT_STYLE, st.TEXT_STYLE,
                                             st.WRAP_STYLE],
                          header=("Code", "Severity", "Location", "Message"),
                          title="Findings", span=4, gap=0)
    sheet.column_widths.update({1: 30.0, 2: 15.0, 3: 15.0, 4: 15.0, 5: 15.0, 6: 15.0,
                                7: 20.0, 8: 2.0})
    sh.wrap_rows(block, 3)
    sheet.freeze = (4, 2)
    sheet.print_setup = PrintSetup(title_rows=(1, 2),
                                   area=Ref(sheet_name, 1, 1, block.last_row, 17))
    sheet.tab_colour = st.BLUE
    return sh


# --------------------------------------------------------------------------- Ledger, Checks

LEDGER_HEADER = tuple(c.capitalize() for c in LEDGER_COLUMNS)


def _ledger_sheet(evaluation: Evaluation) -> SheetBuilder:
    return ledger_sheet(evaluation.ledger, evaluation.plan.settings.currency)


def ledger_sheet(ledger: pd.DataFrame, currency: str) -> SheetBuilder:
    """The Ledger sheet: ``ledger``'s rows as an Excel Table, streamed as a bulk block."""
    rows = LedgerRows(ledger)
    block = Block("ledger", 1, 1, rows, [st.PLAIN_STYLE] * (len(LEDGER_COLUMNS) - 1)
                  + [st.MONEY], header=LEDGER_HEADER, bulk=True)
    sh = SheetBuilder("Ledger")
    sheet = sh.layout
    sheet.blocks.append(block)
    sheet.show_gridlines = True
    last = max(block.last_row, block.first_row)  # a table needs one data row
    sheet.tables.append(TableSpec("Ledger", Ref("Ledger", 1, 1, last, len(LEDGER_COLUMNS)),
                                  LEDGER_HEADER))
    widths = {}
    for j, name in enumerate(LEDGER_COLUMNS, start=1):
        if name == "amount":
            top = float(ledger["amount"].abs().max()) if len(ledger) else 0.0
            widths[j] = max(14.0, _display_len(top, "money", currency) + 4)
            continue
        longest = max((len(str(c)) for c in ledger[name].cat.categories), default=0)
        widths[j] = min(max(float(longest) + 4, len(name) + 6.0), 50.0)
    sheet.column_widths = widths
    sheet.freeze = (2, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 1))
    return sh


CHECKS_HEADER = ("Scenario", "Severity", "Code", "Location", "Message")


def checks_sheet(findings: Sequence[Finding], scenarios: Sequence[str] | None = None, *,
                 wrap: bool = True) -> SheetBuilder:
    """The Checks sheet: one row per finding in an Excel Table, with the scenario each belongs
    to when ``scenarios`` (one per finding) is given; ``wrap`` sizes rows to long messages."""
    header = CHECKS_HEADER if scenarios is not None else CHECKS_HEADER[1:]
    rows = [[f.severity, f.code, f.location, f.message] for f in findings]
    if scenarios is not None:
        rows = [[name, *row] for name, row in zip(scenarios, rows, strict=True)]
    block = Block("checks", 1, 1, rows, [st.TEXT_STYLE] * (len(header) - 1) + [st.WRAP_STYLE],
                  header=header)
    sh = SheetBuilder("Checks")
    sh.add(block)
    sheet = sh.layout
    sheet.show_gridlines = True
    last = max(block.last_row, block.first_row)
    sheet.tables.append(TableSpec("Checks", Ref("Checks", 1, 1, last, len(header)),
                                  header, style="TableStyleLight9"))
    if wrap:
        sheet.column_widths = {len(header): 90.0}
        sh.wrap_rows(block, len(header) - 1)
    sheet.freeze = (2, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 1))
    return sh


def _checks_sheet(summary: PlanFigures) -> SheetBuilder:
    pairs = [(sc.name, f) for sc in summary.scenarios for f in sc.findings]
    return checks_sheet([f for _, f in pairs], [name for name, _ in pairs])


# --------------------------------------------------------------------------- About

SHEET_GUIDE = (
    ("Summary", "Plan facts; one row per scenario: totals, operation share against the band "
                "and the target, change against Baseline, billing boundary, findings; charts."),
    ("<scenario>", "One sheet per scenario: activity × quarter with operation and maintenance "
                   "subtotals, by role level, sourcing and system, cost components, billing "
                   "boundary, findings and a quarterly chart."),
    ("Ledger", "Every amount of the report, one row per scenario, system, quarter, role, "
               "sourcing, vendor, activity and component: filter it or pivot it to reproduce "
               "any figure."),
    ("Checks", "Every finding with its scenario, severity, code and location (Sheet!A1 of "
               "the plan workbook)."),
    ("About", "This sheet: version, input file and its SHA-256, settings used, generation "
              "time."),
)


def provenance_rows(version: str, source: SourceInfo, generated: datetime) -> list[list[Any]]:
    """About-sheet rows: who produced the workbook, from which file (and its SHA-256), when."""
    return [
        ["Produced by", f"omplan {version}".strip()],
        ["Plan file", source.name or "–"],
        ["Plan file SHA-256", source.sha256 or "–"],
        ["Generated (UTC)", Styled(generated, st.DATETIME_STYLE)],
    ]


def settings_rows(settings: Any, percent_style: str,
                  year_style: str | None = None) -> list[list[Any]]:
    """About-sheet rows: every setting used, as (key, value); fractions in ``percent_style``,
    the fiscal year and the start month in ``year_style`` when given."""
    s = settings

    def pct(value: float) -> Styled:
        return Styled(value, percent_style)

    def year(value: int) -> Any:
        return value if year_style is None else Styled(value, year_style)

    return [
        ["plan_name", s.plan_name], ["fiscal_year", year(s.fiscal_year)],
        ["currency", s.currency], ["fy_start_month", year(s.fy_start_month)],
        ["band_low", pct(s.band_low)], ["band_high", pct(s.band_high)],
        ["vendor_overhead", pct(s.vendor_overhead)],
        ["coordination_overhead", pct(s.coordination_overhead)],
        ["transition_months", s.transition_months],
    ]


def _about_sheet(plan, source: SourceInfo, generated: datetime, version: str,
                 generated_note: str, names: dict[str, str]) -> SheetBuilder:
    s = plan.settings
    sh = SheetBuilder("About", cursor=3)
    sh.text(1, 1, "About this report", st.TITLE_STYLE)
    rows = provenance_rows(version, source, generated)
    if generated_note:
        rows.append(["Generation time source", generated_note])
    rows.append(["Values", "Every cell holds a value (no formulas); amounts are sums of the "
                           "Ledger sheet, shares are operation / total."])
    sh.next_block("report", rows, [st.KEY_STYLE, st.VALUE_STYLE], title="Report", gap=1,
                  overflow=True)
    used = settings_rows(s, st.PERCENT_LEFT_STYLE)
    sh.next_block("settings", used, [st.KEY_STYLE, st.VALUE_STYLE],
                  header=("Setting", "Value"), title="Settings used", gap=1, overflow=True)
    profile = [[f, "operation" if f in OPERATION_FACTORS else "maintenance",
                "yes" if plan.profile.get(f) else "no"]
               for f in (*OPERATION_FACTORS, *MAINTENANCE_FACTORS)]
    profile.append(["Target operation share", "",
                    Styled(plan.target_operation_share(), st.PERCENT_LEFT_STYLE)])
    sh.next_block("profile", profile, [st.KEY_STYLE, st.TEXT_STYLE, st.TEXT_STYLE],
                  header=("Situation factor", "Side", "Applies"), title="Profile", gap=1)
    billing = [[a, ACTIVITY_KIND[a].value, plan.billing[a]] for a in ACTIVITIES]
    sh.next_block("billing", billing, [st.KEY_STYLE, st.TEXT_STYLE, st.TEXT_STYLE],
                  header=("Activity", "Kind", "Billing basis"), title="Billing basis", gap=1)
    scen = [[scenario, sheet] for scenario, sheet in names.items()]
    sh.next_block("scenario_sheets", scen, [st.KEY_STYLE, st.TEXT_STYLE],
                  header=("Scenario", "Sheet"), title="Scenario sheets", gap=1, overflow=True)
    guide = [list(g) for g in SHEET_GUIDE]
    guide_block = sh.next_block("sheets", guide, [st.KEY_STYLE, st.WRAP_STYLE],
                                header=("Sheet", "What it shows"), title="Sheets", gap=0,
                                span=3)
    sh.wrap_rows(guide_block, 1)
    sheet = sh.layout
    sheet.column_widths = {1: 30.0, 2: 21.0, 3: 20.0, 4: 56.0}  # B: a date and time
    sheet.print_setup = PrintSetup(landscape=False)
    return sh


__all__ = [
    "EXCEL_MAX_ROWS", "Block", "ChartSpec", "ConditionalFormat", "LedgerRows", "PrintSetup",
    "Ref", "ReportLayout", "ReportTooLarge", "SeriesSpec", "SheetLayout", "SourceInfo",
    "TableSpec", "Text", "build_report_layout", "check_ledger_size", "quarter_labels",
    "sheet_names",
]


def rename_sheets(layout: ReportLayout, sheets: Mapping[str, str],
                  tables: Mapping[str, str] | None = None) -> ReportLayout:
    """A copy of ``layout`` with sheets (and Excel Table names) renamed everywhere they are
    referred to: sheet names, chart data, tables, conditional formats and print areas.

    Used when the report goes into someone's workbook whose own sheets carry our names.
    """
    from dataclasses import replace

    tables = tables or {}

    def ref(r: Ref | None) -> Ref | None:
        return None if r is None or r.sheet not in sheets else replace(r, sheet=sheets[r.sheet])

    def keep(r: Ref | None) -> Ref | None:
        return ref(r) or r

    out = []
    for sheet in layout.sheets:
        charts = [replace(c, categories=keep(c.categories),
                          series=[replace(s, values=keep(s.values)) for s in c.series])
                  for c in sheet.charts]
        out.append(replace(
            sheet, name=sheets.get(sheet.name, sheet.name), charts=charts,
            tables=[replace(t, name=tables.get(t.name, t.name), ref=keep(t.ref))
                    for t in sheet.tables],
            conditional_formats=[replace(cf, ref=keep(cf.ref))
                                 for cf in sheet.conditional_formats],
            print_setup=replace(sheet.print_setup, area=keep(sheet.print_setup.area))))
    scenario_sheets = {k: sheets.get(v, v) for k, v in layout.scenario_sheets.items()}
    return replace(layout, sheets=out, scenario_sheets=scenario_sheets)
