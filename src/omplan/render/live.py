"""Report layout -> sheets of a live workbook through xlwings (desktop Excel, xlwings Lite,
xlwings Server's remote book).

It mirrors :mod:`omplan.render_xlsx`: the same cells with the same values and number formats,
column widths and row heights, then — where the engine supports them — fonts, fills,
alignment, merged message cells, frozen panes, Excel Tables and charts. Every optional
feature is tried once per run; an engine that cannot do it (the remote engine has no
synchronous chart series, alignment needs an Office.js client, ...) skips it, and the skip
is reported in :attr:`LiveRenderer.skipped`. Conditional formats become static highlights:
the sheet is rewritten on every run, so the effect is the same.

Writes are grouped: one value write per sheet (bulk blocks in chunks of rows), one format
write per rectangle of equal format, so the remote engine sends few actions.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import partial
from typing import Any

from omplan.input.reader import EXCEL_ERRORS
from omplan.render import grid as layout_grid
from omplan.report import styles as st
from omplan.report.layout import (
    Block,
    ChartSpec,
    ConditionalFormat,
    Ref,
    ReportLayout,
    SheetLayout,
    TableSpec,
)

MAX_TEXT = 32_767
#: Rows per value write of a bulk block (the Ledger): keeps each remote action small.
BULK_CHUNK_ROWS = 2_000
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NUMBER_OR_DATE = re.compile(r"[\s\d.,:/\-+%$€£¥()eE]*\d[\s\d.,:/\-+%$€£¥()eE]*")
_MONTH_DATE = re.compile(
    r"[\s\d.,:/\-]*\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"[\s\d.,:/\-]*", re.IGNORECASE)


# --------------------------------------------------------------------------- values


def needs_quote(text: str) -> bool:
    """True where Excel would not keep ``text`` as typed: a formula, a number, a date or
    time, a logical or an error value; such text is written with Excel's ``'`` prefix."""
    stripped = text.strip()
    if not stripped:
        return False
    if text[0] in "=+-@'" or stripped.upper() in ("TRUE", "FALSE") or \
            stripped.upper() in EXCEL_ERRORS:
        return True
    if _NUMBER_OR_DATE.fullmatch(stripped):
        return True
    return bool(re.search(r"\d", stripped) and _MONTH_DATE.fullmatch(stripped))


def cell_value(value: Any, _cache: dict[str, str] | None = None) -> Any:
    """A layout value as it is written: text kept as text, non-finite numbers empty."""
    if value is None or isinstance(value, bool | int | datetime | date):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        if _cache is not None:
            hit = _cache.get(value)
            if hit is not None:
                return hit
        text = _ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", value)[:MAX_TEXT]
        out = "'" + text if needs_quote(text) else text
        if _cache is not None:
            _cache[value] = out
        return out
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return cell_value(item(), _cache)
    return str(value)


def rectangles(cells: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cover a set of (row, col) cells with few rectangles (r0, c0, r1, c1): runs of rows per
    column, then neighbouring columns with the same runs joined."""
    by_col: dict[int, list[int]] = defaultdict(list)
    for r, c in set(cells):
        by_col[c].append(r)
    runs: dict[int, list[tuple[int, int]]] = {}
    for c, rows in by_col.items():
        rows.sort()
        col_runs, start, prev = [], rows[0], rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                col_runs.append((start, prev))
                start = r
            prev = r
        col_runs.append((start, prev))
        runs[c] = col_runs
    out: list[tuple[int, int, int, int]] = []
    open_: dict[tuple[int, int], list[int]] = {}  # run -> [first col, last col]
    for c in sorted(runs):
        current = set(runs[c])
        for run in list(open_):
            if run not in current or open_[run][1] != c - 1:
                first, last = open_.pop(run)
                out.append((run[0], first, run[1], last))
        for run in runs[c]:
            if run in open_:
                open_[run][1] = c
            else:
                open_[run] = [c, c]
    for run, (first, last) in open_.items():
        out.append((run[0], first, run[1], last))
    return sorted(out)


def _grid(sheet: SheetLayout) -> dict[tuple[int, int], tuple[Any, str | None]]:
    """Every non-bulk cell: (row, col) -> (value, style), as the file renderer lays them out."""
    return {(r, c): (value, style) for r, c, value, style in layout_grid.cells(sheet)}


def _highlighted(cf: ConditionalFormat, grid: dict[tuple[int, int], tuple[Any, Any]]
                 ) -> list[tuple[int, int]]:
    """The cells of ``cf.ref`` its rule marks, evaluated on the values written."""
    out = []
    ref = cf.ref
    for r in range(ref.first_row, ref.last_row + 1):
        for c in range(ref.first_col, ref.last_col + 1):
            value = grid.get((r, c), (None, None))[0]
            if cf.outside is not None:
                low, high = cf.outside
                if isinstance(value, int | float) and not isinstance(value, bool) and (
                        value < low or value > high):
                    out.append((r, c))
            elif isinstance(value, str) and value in cf.equals:
                out.append((r, c))
    return out


def _hex(colour: str) -> str:
    return "#" + colour[-6:]


def column_points(chars: float) -> float:
    """Excel's column width in characters as points (7 px a character plus 5 px padding)."""
    return round((chars * 7 + 5) * 0.75, 2)


# --------------------------------------------------------------------------- renderer


class LiveRenderer:
    """Writes :class:`SheetLayout` s into xlwings sheets of one book."""

    def __init__(self, book: Any, layout: ReportLayout) -> None:
        self.book = book
        self.layout = layout
        self.engine = _engine_name(book)
        #: feature -> why it was skipped (first failure)
        self.skipped: dict[str, str] = {}
        self._quote_cache: dict[str, str] = {}
        self._chart_data_col: dict[str, int] = {}

    # -- helpers

    def _try(self, feature: str, action: Callable[[], Any]) -> bool:
        """Run an optional formatting step; an engine that cannot do it skips the feature."""
        if feature in self.skipped:
            return False
        try:
            action()
        except Exception as exc:  # engines raise NotImplementedError, COM errors, ...
            self.skipped[feature] = f"{type(exc).__name__}: {exc}"[:300]
            return False
        return True

    @staticmethod
    def _range(sheet: Any, rect: tuple[int, int, int, int]) -> Any:
        r0, c0, r1, c1 = rect
        if (r0, c0) == (r1, c1):
            return sheet.range((r0, c0))
        return sheet.range((r0, c0), (r1, c1))

    def _style(self, name: str | None) -> st.CellStyle | None:
        return self.layout.styles.get(name) if name else None

    # -- a sheet

    def render_sheet(self, sheet: Any, spec: SheetLayout) -> None:
        """Write ``spec`` into the (empty) xlwings ``sheet``."""
        grid = _grid(spec)
        self._write_values(sheet, grid)
        bulk = [b for b in spec.blocks if b.bulk]
        for block in bulk:
            self._write_bulk(sheet, block)
        self._write_formats(sheet, spec, grid, bulk)
        self._write_layout(sheet, spec)
        for table in spec.tables:
            self._try("tables", partial(self._table, sheet, table))
        for chart in spec.charts:
            self._try("charts", partial(self._chart, sheet, spec, chart, grid))

    def _table(self, sheet: Any, table: TableSpec) -> None:
        ref = table.ref
        sheet.tables.add(
            source=self._range(sheet, (ref.first_row, ref.first_col, ref.last_row, ref.last_col)),
            name=table.name, table_style_name=table.style)

    def _write_values(self, sheet: Any, grid: dict[tuple[int, int], tuple[Any, Any]]) -> None:
        if not grid:
            return
        last_row = max(r for r, _ in grid)
        last_col = max(c for _, c in grid)
        rows = [[None] * last_col for _ in range(last_row)]
        for (r, c), (value, _) in grid.items():
            rows[r - 1][c - 1] = cell_value(value, self._quote_cache)
        sheet.range((1, 1), (last_row, last_col)).value = rows

    def _write_bulk(self, sheet: Any, block: Block) -> None:
        n = len(block.rows)
        cache = self._quote_cache
        for start in range(0, n, BULK_CHUNK_ROWS):
            rows = block.rows[start:start + BULK_CHUNK_ROWS]
            values = [[cell_value(v, cache) for v in row] for row in rows]
            if values:
                sheet.range((block.first_row + start, block.col)).value = values

    def _write_formats(self, sheet: Any, spec: SheetLayout, grid: dict, bulk: list[Block]
                       ) -> None:
        # every cell's style, then one write per rectangle of equal attribute value
        style_of: dict[tuple[int, int], str] = {
            cell: style for cell, (_, style) in grid.items() if style}
        bulk_columns: list[tuple[tuple[int, int, int, int], str]] = []
        for b in bulk:
            if not b.rows:
                continue
            for j, style in enumerate(b.styles):
                bulk_columns.append(((b.first_row, b.col + j, b.last_row, b.col + j), style))
        attributes: dict[str, dict[Any, list[tuple[int, int]]]] = defaultdict(
            lambda: defaultdict(list))
        for cell, name in style_of.items():
            look = self._style(name)
            if look is None:
                continue
            for attr, value in _look(look).items():
                attributes[attr][value].append(cell)
        for attr, groups in attributes.items():
            for value, cells in groups.items():
                for rect in rectangles(cells):
                    self._apply(sheet, attr, value, rect)
        for rect, name in bulk_columns:
            look = self._style(name)
            if look is not None:
                for attr, value in _look(look).items():
                    self._apply(sheet, attr, value, rect)
        for cf in spec.conditional_formats:  # static highlights (see module docstring)
            highlight = self.layout.highlights.get(cf.highlight)
            cells = _highlighted(cf, grid)
            if highlight is None or not cells:
                continue
            for rect in rectangles(cells):
                self._apply(sheet, "colour", highlight.colour, rect)
                self._apply(sheet, "fill", highlight.fill, rect)
                if highlight.bold:
                    self._apply(sheet, "bold", True, rect)
        for b in spec.blocks:  # wrapped messages span several columns, as in the file
            if b.span > 1:
                first = b.header_row if b.header_row is not None else b.first_row
                rect = (first, b.last_col - b.span + 1, max(b.last_row, first), b.last_col)
                self._try("merge", partial(self._merge, sheet, rect))

    def _merge(self, sheet: Any, rect: tuple[int, int, int, int]) -> None:
        self._range(sheet, rect).merge(across=True)

    def _apply(self, sheet: Any, attr: str, value: Any, rect: tuple[int, int, int, int]
               ) -> None:
        rng = self._range(sheet, rect)
        if attr == "number_format":  # figures must read right: not optional
            rng.number_format = value
            return

        def do() -> None:
            if attr == "bold":
                rng.font.bold = value
            elif attr == "italic":
                rng.font.italic = value
            elif attr == "size":
                rng.font.size = value
            elif attr == "colour":
                rng.font.color = _hex(value)
            elif attr == "fill":
                rng.color = _hex(value)
            elif attr == "wrap":
                rng.wrap_text = value
            elif attr == "align":
                rng.horizontal_alignment = value
            elif attr == "vertical":
                rng.vertical_alignment = value

        self._try(attr if attr in ("align", "vertical") else "fonts and fills", do)

    def _write_layout(self, sheet: Any, spec: SheetLayout) -> None:
        points = self.engine == "remote"  # the remote engine sizes columns in points
        for (c0, c1), width in _runs(spec.column_widths):
            w = column_points(width) if points else round(width, 2)
            rng = sheet.range((1, c0), (1, c1)) if c1 > c0 else sheet.range((1, c0))
            self._try("column widths", partial(setattr, rng, "column_width", w))
        for (r0, r1), height in _runs(spec.row_heights):
            rng = sheet.range((r0, 1), (r1, 1)) if r1 > r0 else sheet.range((r0, 1))
            self._try("row heights", partial(setattr, rng, "row_height", round(height, 2)))
        if spec.freeze is not None:
            row, col = spec.freeze
            address = sheet.range((row, col)).address.replace("$", "")
            self._try("frozen panes", lambda: sheet.freeze_panes.freeze_at(address))
        self._try("gridlines", lambda: setattr(sheet, "show_gridlines", spec.show_gridlines))

    # -- charts

    def _chart(self, sheet: Any, spec: SheetLayout, chart: ChartSpec, grid: dict) -> None:
        source, categories, plot_by = self._chart_source(sheet, spec, chart, grid)
        any_line = any(s.line for s in chart.series)
        kind = (("bar" if chart.horizontal else "column")
                + ("_stacked" if chart.stacked else "_clustered"))
        width = chart.width_cm / 2.54 * 72
        height = chart.height_cm / 2.54 * 72
        obj = sheet.charts.add(chart_type=kind, source=source, plot_by=plot_by,
                               anchor=sheet.range(chart.anchor), width=width, height=height,
                               name=f"omplan {chart.key}")
        if categories is not None:
            obj.set_x_axis_values(categories)
        obj.title = chart.title
        self._try("chart legends", lambda: setattr(obj.legend, "position", "bottom"))
        axis = obj.value_axis
        self._try("chart axes", lambda: setattr(axis, "number_format", chart.y_format))
        if chart.y_title:
            self._try("chart axes", lambda: setattr(axis, "title", chart.y_title))
        if chart.y_min is not None:
            self._try("chart axes", lambda: setattr(axis, "minimum_scale", chart.y_min))
        if chart.y_max is not None:
            self._try("chart axes", lambda: setattr(axis, "maximum_scale", chart.y_max))

        def series_look() -> None:
            for i, s in enumerate(chart.series):
                item = obj.series[i]
                if s.line:
                    item.chart_type = "line"
                    item.line_color = _hex(s.colour)
                else:
                    item.fill_color = _hex(s.colour)

        if not self._try("chart series formats", series_look) and any_line:
            # no per-series types on this engine: draw every series as a line instead of
            # band limits as columns
            self._try("chart series formats (line fallback)",
                      lambda: setattr(obj, "chart_type", "line_markers"))

    def _chart_source(self, sheet: Any, spec: SheetLayout, chart: ChartSpec, grid: dict
                      ) -> tuple[Any, Any, str]:
        """(source range with series names, categories range or None, plot_by).

        A chart's series are used in place when they sit side by side under header cells
        holding their titles (as on the Summary sheet); otherwise a small "Chart data" block
        of values is written to the right of the sheet's content (the remote engine can only
        chart one rectangle and cannot name series one by one)."""
        refs = [s.values for s in chart.series]
        cats = chart.categories
        columns = all(r.first_col == r.last_col for r in refs)
        if columns and refs and all(
                r.first_row == refs[0].first_row and r.last_row == refs[0].last_row
                and r.first_col == refs[0].first_col + k for k, r in enumerate(refs)) and all(
                grid.get((r.first_row - 1, r.first_col), (None,))[0] == s.title
                for r, s in zip(refs, chart.series, strict=True)) and (
                cats.first_col == cats.last_col and cats.first_row == refs[0].first_row
                and cats.last_row == refs[0].last_row):
            source = sheet.range((refs[0].first_row - 1, refs[0].first_col),
                                 (refs[-1].last_row, refs[-1].last_col))
            return source, sheet.range((cats.first_row, cats.first_col),
                                       (cats.last_row, cats.last_col)), "columns"
        # a compact block: top-left blank, categories across, one row per series
        categories = [grid.get(cell, (None,))[0] for cell in _cells(cats)]
        rows: list[list[Any]] = [[None, *categories]]
        for s in chart.series:
            rows.append([s.title, *(grid.get(cell, (None,))[0] for cell in _cells(s.values))])
        col = self._chart_data_col.get(spec.name)
        if col is None:
            right = max(spec.max_col, *(c.end[1] if c.end else c.anchor[1] + 8
                                        for c in spec.charts))
            col = right + 2
        row = chart.anchor[0]
        sheet.range((row, col)).value = f"Chart data: {chart.title}"
        self._try("fonts and fills", lambda: setattr(sheet.range((row, col)).font, "italic", True))
        sheet.range((row + 1, col)).value = [[cell_value(v, self._quote_cache) for v in r]
                                             for r in rows]
        fmt = "0%" if "%" in chart.y_format else "#,##0"
        sheet.range((row + 2, col + 1), (row + len(rows), col + len(categories))
                    ).number_format = fmt
        self._chart_data_col[spec.name] = col
        source = sheet.range((row + 1, col), (row + len(rows), col + len(categories)))
        return source, None, "rows"


def _cells(ref: Ref) -> list[tuple[int, int]]:
    return [(r, c) for r in range(ref.first_row, ref.last_row + 1)
            for c in range(ref.first_col, ref.last_col + 1)]


def _look(style: st.CellStyle) -> dict[str, Any]:
    """The attributes of a style that differ from a blank cell's."""
    look: dict[str, Any] = {}
    if style.number_format and style.number_format != "General":
        look["number_format"] = style.number_format
    if style.bold:
        look["bold"] = True
    if style.italic:
        look["italic"] = True
    if style.size != st.FONT_SIZE:
        look["size"] = style.size
    if style.colour:
        look["colour"] = style.colour
    if style.fill:
        look["fill"] = style.fill
    if style.wrap:
        look["wrap"] = True
    if style.align in ("left", "center", "right"):
        look["align"] = style.align
    if style.vertical in ("top", "center"):
        look["vertical"] = style.vertical
    return look


def _runs(sizes: dict[int, float]) -> list[tuple[tuple[int, int], float]]:
    """Consecutive indexes with the same size: ((first, last), size)."""
    out: list[tuple[tuple[int, int], float]] = []
    for index in sorted(sizes):
        size = sizes[index]
        if out and out[-1][1] == size and out[-1][0][1] == index - 1:
            out[-1] = ((out[-1][0][0], index), size)
        else:
            out.append(((index, index), size))
    return out


def _engine_name(book: Any) -> str:
    try:
        return str(book.app.engine.name)
    except Exception:  # pragma: no cover - an engine without the attribute
        return "unknown"
