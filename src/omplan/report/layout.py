"""Reports as data: sheets of cell blocks, charts, tables and print settings.

The layout knows no spreadsheet library: ``render.xlsx`` writes it to a file, ``render.live``
into a live xlwings book. Builders: :mod:`omplan.report.plan_report` (the report workbook),
:mod:`omplan.report.budget` (quarterly budgets), :mod:`omplan.report.rollup` (rollups), on
:mod:`omplan.report.builder` and the sheets they share in :mod:`omplan.report.common`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omplan.core.findings import column_letter, quote_sheet
from omplan.core.ledger import Evaluation
from omplan.report import styles as st
from omplan.report.errors import ReportTooLarge

#: Excel's grid limits (rows include the header row).
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
SHEET_NAME_MAX = 31
#: Sheet names the report uses itself (and Excel's reserved "History"), compared ignoring case.
RESERVED_SHEETS = ("Summary", "Business case", "Plan vs actual", "Ledger", "Checks", "About",
                   "History")
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


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
    hidden: bool = False  # no fill, no line: the invisible base of a waterfall
    #: number format of data labels on the series' columns (None: no labels); a format with
    #: an empty zero section (``#,##0;-#,##0;;``) leaves zero values unlabelled
    labels: str | None = None
    #: listed in the chart's legend (the invisible base of a waterfall is not)
    legend: bool = True


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
    #: category labels at the bottom of the plot, not at zero (values below zero)
    labels_low: bool = False
    #: bars across, categories down the side (a tornado); the first category at the bottom
    horizontal: bool = False


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
class Validation:
    """A rule on input cells: a drop-down of ``choices``, or (``date``) a date only."""

    ref: Ref
    choices: tuple[str, ...] = ()
    date: bool = False
    prompt: str = ""


@dataclass(frozen=True, slots=True)
class PrintSetup:
    """How a sheet prints: orientation, scaled to ``pages_wide`` pages across (when
    ``fit_width``), rows and columns repeated on every page, the printed area."""

    landscape: bool = True
    fit_width: bool = True
    title_rows: tuple[int, int] | None = None
    area: Ref | None = None
    #: pages across the printed width (a table over many quarters needs more than one)
    pages_wide: int = 1
    #: columns repeated on every page (the row labels of a wide table)
    title_cols: tuple[int, int] | None = None
    #: pages down the printed height when fitting (0: as many as it takes; 1: one page)
    pages_tall: int = 0


@dataclass
class SheetLayout:
    """One sheet: texts, blocks, charts, and how it looks on screen and on paper."""

    name: str
    blocks: list[Block] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    tables: list[TableSpec] = field(default_factory=list)
    conditional_formats: list[ConditionalFormat] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    freeze: tuple[int, int] | None = None  # top-left cell of the scrolling pane
    column_widths: dict[int, float] = field(default_factory=dict)
    row_heights: dict[int, float] = field(default_factory=dict)
    print_setup: PrintSetup = field(default_factory=PrintSetup)
    show_gridlines: bool = False
    tab_colour: str | None = None
    #: manual page breaks: a new printed page starts after each of these rows
    row_breaks: list[int] = field(default_factory=list)

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


def check_ledger_size(evaluation: Evaluation) -> None:
    """Raise :class:`ReportTooLarge` if the Ledger sheet would not fit Excel's grid."""
    rows = len(evaluation.ledger) + 1
    if rows > EXCEL_MAX_ROWS:
        raise ReportTooLarge(
            f"the ledger has {rows - 1:,} rows but an Excel sheet holds at most "
            f"{EXCEL_MAX_ROWS - 1:,} rows under its header, so no report was written; report "
            "fewer scenarios at a time (e.g. split the Scenarios sheet) or use --json for the "
            "figures")


def check_limits(sheets: Sequence[SheetLayout]) -> None:
    """Every sheet fits Excel's grid (rows and columns)."""
    for sheet in sheets:
        if sheet.max_row > EXCEL_MAX_ROWS or sheet.max_col > EXCEL_MAX_COLS:
            raise ReportTooLarge(
                f"sheet {sheet.name!r} needs {sheet.max_row:,} rows and {sheet.max_col:,} "
                f"columns but Excel allows {EXCEL_MAX_ROWS:,} × {EXCEL_MAX_COLS:,}; no report "
                "was written; report fewer scenarios at a time or use --json for the figures")


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

    def keep(r: Ref) -> Ref:
        return ref(r) or r

    def keep_area(r: Ref | None) -> Ref | None:
        return None if r is None else keep(r)

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
            validations=[replace(v, ref=keep(v.ref)) for v in sheet.validations],
            print_setup=replace(sheet.print_setup, area=keep_area(sheet.print_setup.area))))
    scenario_sheets = {k: sheets.get(v, v) for k, v in layout.scenario_sheets.items()}
    return replace(layout, sheets=out, scenario_sheets=scenario_sheets)
