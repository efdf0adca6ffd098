"""Report layout -> .xlsx file: openpyxl (write-only mode, lxml) writes each sheet's skeleton
(views, widths, heights, merges, rules, tables, charts, print set-up) and the styles;
:mod:`omplan.render.fastxml` writes the cells, as XML text. ``fast=False`` has openpyxl write
every cell too (the reference). Text is always written as a literal string cell (never a
formula or an error value), whatever it starts with. The zip members and document properties
carry one fixed time, so equal inputs give equal bytes.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import warnings
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.legend import LegendEntry
from openpyxl.chart.reference import DummyWorksheet
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.drawing.text import (
    CharacterProperties,
    Paragraph,
    ParagraphProperties,
    RegularTextRun,
)
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.styles.named_styles import NamedStyleList
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.writer.excel import ExcelWriter

from omplan.render import grid as layout_grid
from omplan.render.fastxml import MAX_TEXT, SheetRows, clean_text
from omplan.report import styles as st
from omplan.report.layout import (
    Block,
    ChartSpec,
    ConditionalFormat,
    Ref,
    ReportLayout,
    SheetLayout,
    TableSpec,
    Validation,
    check_limits,
)

_CM = 360_000  # EMU per centimetre


# --------------------------------------------------------------------------- zip


class DeterministicZip(zipfile.ZipFile):
    """A ZipFile whose members all carry ``date_time`` (openpyxl stamps the current time)."""

    def __init__(self, file: Any, date_time: tuple[int, int, int, int, int, int],
                 sheets: SheetRows | None = None) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._date_time = date_time
        self._sheets = sheets  # sheets whose rows render/fastxml writes

    def _info(self, name: str, size: int = 0) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        info.file_size = size
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any,  # type: ignore[override]
                 compress_type: int | None = None, compresslevel: int | None = None) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        sheets, self._sheets = self._sheets, None
        try:
            if sheets is not None and sheets.handles(zinfo_or_arcname.filename):
                data = data.encode("utf-8") if isinstance(data, str) else data
                return sheets.write(self, zinfo_or_arcname, data)
            super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)
        finally:
            self._sheets = sheets

    def write(self, filename: Any, arcname: Any = None,  # type: ignore[override]
              compress_type: int | None = None, compresslevel: int | None = None) -> None:
        size = os.path.getsize(filename)
        info = self._info(arcname or os.path.basename(filename), size)
        if self._sheets is not None and self._sheets.handles(info.filename):
            with open(filename, "rb") as src:
                return self.writestr(info, src.read())
        with open(filename, "rb") as src, self.open(info, "w",
                                                     force_zip64=size > 2**31 - 1) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def zip_date_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """A zip timestamp (zip cannot hold times before 1980; seconds are stored halved)."""
    moment = max(moment, datetime(1980, 1, 1))
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute,
            moment.second // 2 * 2)


# --------------------------------------------------------------------------- styles


def _side(style: str | None) -> Side:
    return Side(style=style) if style else Side()


def named_style(style: st.CellStyle) -> NamedStyle:
    """The openpyxl NamedStyle of a layout style."""
    return NamedStyle(
        name=style.name,
        font=Font(name=st.FONT, size=style.size, bold=style.bold, italic=style.italic,
                  color=style.colour),
        fill=PatternFill("solid", fgColor=style.fill) if style.fill else PatternFill(),
        alignment=Alignment(horizontal=style.align, vertical=style.vertical,
                            wrap_text=style.wrap or None, indent=style.indent),
        border=Border(top=_side(style.border_top), bottom=_side(style.border_bottom)),
        number_format=style.number_format,
    )


#: Named styles built once per process (and thread): the style tables a fresh write-only
#: workbook gets from ``_CellFactory``, keyed by the layout's styles.
_STYLE_CACHE = threading.local()
_STYLE_TABLES = ("_fonts", "_fills", "_borders", "_alignments", "_protections",
                 "_number_formats")


class _CellFactory:
    """Cells carrying a named style; text is forced to a literal string."""

    def __init__(self, wb: Workbook, styles: dict[str, st.CellStyle]) -> None:
        self._unsafe: dict[str, bool] = {}
        self.templates: dict[str, Any] = {}
        fresh = wb.write_only and wb.named_styles == ["Normal"]
        key = tuple(styles.items()) if fresh else None
        cache = getattr(_STYLE_CACHE, "tables", None)
        if cache is None:
            cache = _STYLE_CACHE.tables = {}
        if key is not None and key in cache:
            tables, named, self.templates = cache[key]
            for attr, items in tables.items():  # new lists: this workbook may add its own
                setattr(wb, attr, IndexedList(items))
            wb._named_styles = NamedStyleList(named)
            return
        self._build(wb, styles)
        if key is not None:
            cache[key] = ({attr: list(getattr(wb, attr)) for attr in _STYLE_TABLES},
                          list(wb._named_styles), dict(self.templates))

    def _build(self, wb: Workbook, styles: dict[str, st.CellStyle]) -> None:
        self.templates = {}
        for style in styles.values():
            ns = named_style(style)
            if style.name in wb.named_styles:  # a workbook written back to before: update it
                existing = wb._named_styles[wb.named_styles.index(style.name)]
                for attr in ("font", "fill", "border", "alignment", "number_format",
                             "protection"):
                    setattr(existing, attr, getattr(ns, attr))
                ns = existing
            else:
                wb.add_named_style(ns)
            self.templates[style.name] = ns.as_tuple()

    def cell(self, ws: Any, value: Any, style: str | None) -> Cell:
        template = self.templates.get(style) if style else None
        cell = Cell(ws, 1, 1, style_array=template)
        if isinstance(value, str):
            set_text(cell, value)
        elif isinstance(value, float):
            set_number(cell, value)
        elif value is not None:
            cell.value = value
        return cell

    def raw(self, ws: Any, value: Any) -> Any:
        """``value`` as openpyxl may append it unstyled: text it would misread gets a Cell."""
        if value.__class__ is str:
            unsafe = self._unsafe.get(value)
            if unsafe is None:
                unsafe = self._unsafe[value] = needs_text_cell(value)
            if unsafe:
                return self.cell(ws, value, None)
        return value


def needs_text_cell(text: str) -> bool:
    """True where openpyxl would not store ``text`` as a plain string as it is."""
    return ((len(text) > 1 and text.startswith("=")) or text in ERROR_CODES
            or len(text) > MAX_TEXT or ILLEGAL_CHARACTERS_RE.search(text) is not None)


def set_number(cell: Cell, value: float) -> None:
    """Store a float with all its digits (openpyxl's writer keeps only 16 significant digits,
    so 0.1 + 0.2 would come back as 0.3); NaN and infinities leave the cell empty."""
    if math.isfinite(value):
        cell._value = repr(float(value))  # the shortest text that reads back as this float
        cell.data_type = "n"


def set_text(cell: Cell, text: str) -> None:
    """Store ``text`` as a literal string (never a formula or error), cleaned for XML."""
    cell._value = clean_text(text)
    cell.data_type = "s"


# --------------------------------------------------------------------------- sheets


def _cell_name(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


def _grid(sheet: SheetLayout) -> dict[int, dict[int, tuple[Any, str | None]]]:
    """Every non-bulk cell of a sheet: row -> col -> (value, style)."""
    grid: dict[int, dict[int, tuple[Any, str | None]]] = {}
    for r, c, value, style in layout_grid.cells(sheet):
        grid.setdefault(r, {})[c] = (value, style)
    return grid


def _merges(sheet: SheetLayout) -> Iterable[str]:
    for b in sheet.blocks:
        if b.span <= 1:
            continue
        first = b.last_col - b.span + 1
        rows = ([b.header_row] if b.header_row is not None else []) + list(
            range(b.first_row, b.last_row + 1))
        for r in rows:
            yield f"{_cell_name(r, first)}:{_cell_name(r, b.last_col)}"


def _add_merges(ws: Any, sheet: SheetLayout) -> None:
    """``ws.merged_cells.add`` of every merge, deciding as openpyxl does (a range inside one
    added before is left out), without its look at every range so far for each one (a Checks
    sheet's thousand merges took 0.4 s): only ranges that share a row can hold a one-row
    range."""
    ranges = ws.merged_cells.ranges
    one_row: dict[int, list[CellRange]] = {}
    several = [r for r in ranges if r.min_row != r.max_row]
    for r in ranges:
        if r.min_row == r.max_row:
            one_row.setdefault(r.min_row, []).append(r)
    for merge in _merges(sheet):
        cr = CellRange(merge)
        single = cr.min_row == cr.max_row
        candidates = [*several, *one_row.get(cr.min_row, [])] if single else several
        if any(cr <= r for r in candidates):
            continue
        ranges.add(cr)
        if single:
            one_row.setdefault(cr.min_row, []).append(cr)
        else:
            several.append(cr)


def _set_up(ws: Any, sheet: SheetLayout) -> None:
    """Everything written before the rows: view, widths, heights, print set-up."""
    ws.sheet_view.showGridLines = sheet.show_gridlines
    if sheet.freeze is not None:
        ws.freeze_panes = _cell_name(*sheet.freeze)
    if sheet.tab_colour:
        ws.sheet_properties.tabColor = sheet.tab_colour
    for col, width in sheet.column_widths.items():
        ws.column_dimensions[get_column_letter(col)].width = round(width, 2)
    for row, height in sheet.row_heights.items():
        ws.row_dimensions[row].height = round(height, 2)
    setup = sheet.print_setup
    ws.page_setup.orientation = "landscape" if setup.landscape else "portrait"
    if setup.fit_width:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = setup.pages_wide
        ws.page_setup.fitToHeight = setup.pages_tall
        if setup.pages_wide > 1:  # a wide table reads across, then down
            ws.page_setup.pageOrder = "overThenDown"
    if setup.title_rows:
        ws.print_title_rows = f"{setup.title_rows[0]}:{setup.title_rows[1]}"
    if setup.title_cols:
        ws.print_title_cols = (f"{get_column_letter(setup.title_cols[0])}:"
                               f"{get_column_letter(setup.title_cols[1])}")
    if setup.area is not None:
        ws.print_area = setup.area.a1
    ws.page_margins.left = ws.page_margins.right = 0.4  # inches; top/bottom Excel's 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"
    for row in sheet.row_breaks:  # so that no chart is cut in two on paper
        ws.row_breaks.append(Break(id=row))


def _write_rows(ws: Any, sheet: SheetLayout, cells: _CellFactory) -> None:
    grid = _grid(sheet)
    bulk = [b for b in sheet.blocks if b.bulk]
    last = max([*grid, *(b.last_row for b in bulk)], default=0)
    bulk_at = {b.first_row: b for b in bulk}
    r = 1
    while r <= last:
        block = bulk_at.get(r)
        if block is not None:
            _write_bulk(ws, block, cells)
            r = max(r, block.last_row + 1)
            continue
        row_cells = grid.get(r)
        if not row_cells:
            ws.append([])
        else:
            values: list[Any] = [None] * max(row_cells)
            for c, (value, style) in row_cells.items():
                values[c - 1] = cells.cell(ws, value, style)
            ws.append(values)
        r += 1


def _write_bulk(ws: Any, block: Block, cells: _CellFactory) -> None:
    """Stream a big block: plain columns as raw values, styled columns as styled cells."""
    lead = [None] * (block.col - 1)
    plain = [j for j, s in enumerate(block.styles) if s == st.PLAIN_STYLE]
    styled = [(j, cells.templates[s]) for j, s in enumerate(block.styles)
              if s != st.PLAIN_STYLE]
    raw = cells.raw
    for values in block.rows:
        row = list(values)
        for j in plain:
            v = row[j]
            if v.__class__ is str:
                row[j] = raw(ws, v)
            elif isinstance(v, float):  # all digits, as in the styled columns
                row[j] = cells.cell(ws, v, None)
        for j, template in styled:
            v = row[j]
            if v.__class__ is float and math.isfinite(v):
                c = Cell(ws, 1, 1, style_array=template)
                c._value = repr(v)  # all digits, as set_number
                c.data_type = "n"
                row[j] = c
            else:
                row[j] = cells.cell(ws, v, block.styles[j])
        ws.append(lead + row if lead else row)


def _reference(ref: Ref) -> Reference:
    """A chart reference; built from the bare sheet name so openpyxl quotes it once."""
    return Reference(DummyWorksheet(ref.sheet), min_col=ref.first_col, min_row=ref.first_row,
                     max_col=ref.last_col, max_row=ref.last_row)


def _title(text: str, size: float = 12.0) -> Title:
    """A chart or axis title in ``size`` points, bold."""
    props = CharacterProperties(sz=int(size * 100), b=True)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=props),
                          r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def build_chart(spec: ChartSpec) -> BarChart:
    """A native column chart (optionally stacked) with any line series drawn over it."""
    bar = BarChart()
    bar.type = "bar" if spec.horizontal else "col"
    bar.grouping = "stacked" if spec.stacked else "clustered"
    if spec.stacked:
        bar.overlap = 100
    bar.gapWidth = 60
    bar.title = _title(spec.title)
    bar.style = 10
    bar.width = spec.width_cm
    bar.height = spec.height_cm
    bar.legend.position = "b"
    bar.y_axis.title = _title(spec.y_title, 9.0) if spec.y_title else None
    bar.y_axis.number_format = spec.y_format
    bar.y_axis.majorGridlines = bar.y_axis.majorGridlines  # keep the default gridlines
    if spec.y_min is not None:
        bar.y_axis.scaling.min = spec.y_min
    if spec.y_max is not None:
        bar.y_axis.scaling.max = spec.y_max
    bar.x_axis.delete = False
    bar.y_axis.delete = False
    if spec.labels_low:  # negative values: the labels stay below the plot, not across it
        bar.x_axis.tickLblPos = "low"
    categories = _reference(spec.categories)
    line = None
    for index, s in enumerate(spec.series):
        series = Series(_reference(s.values), title=s.title)
        if s.labels is not None:
            series.dLbls = DataLabelList(numFmt=s.labels, showVal=True, showSerName=False,
                                         showCatName=False, showLegendKey=False,
                                         showPercent=False)
            series.dLbls.position = "t" if s.line else "inEnd" if spec.stacked else "outEnd"
        if not s.legend:
            bar.legend.legendEntry.append(LegendEntry(idx=index, delete=True))
        props = series.graphicalProperties
        if s.line:
            if line is None:
                line = LineChart()
            props.line.solidFill = s.colour
            props.line.width = 28_575  # 2.25 pt
            if s.dashed:
                props.line.dashStyle = "dash"
            series.marker.symbol = "none"
            series.smooth = False
            line.series.append(series)
        elif s.hidden:
            props.noFill = True
            props.line.noFill = True
            bar.series.append(series)
        else:
            props.solidFill = s.colour
            props.line.solidFill = s.colour
            bar.series.append(series)
    bar.set_categories(categories)
    if line is not None:
        line.set_categories(categories)
        bar += line
    return bar


def _anchor(spec: ChartSpec) -> Any:
    """A cell name (fixed size) or a two-cell anchor (the chart stretches over cells)."""
    if spec.end is None:
        return _cell_name(*spec.anchor)
    (r0, c0), (r1, c1) = spec.anchor, spec.end
    gap = int(0.3 * _CM) if c0 > 1 else 0  # a little air after a neighbouring chart
    return TwoCellAnchor(_from=AnchorMarker(col=c0 - 1, colOff=gap, row=r0 - 1),
                         to=AnchorMarker(col=c1 - 1, row=r1 - 1))


def _conditional(ws: Any, cf: ConditionalFormat, layout: ReportLayout) -> None:
    look = layout.highlights[cf.highlight]
    dxf = DifferentialStyle(font=Font(color=look.colour, bold=look.bold),
                            fill=PatternFill(bgColor=look.fill, fill_type="solid"))
    cell = _cell_name(cf.ref.first_row, cf.ref.first_col)  # relative to the range's top left
    if cf.outside is not None:
        low, high = cf.outside
        formula = f"AND(ISNUMBER({cell}),OR({cell}<{low!r},{cell}>{high!r}))"
    else:
        texts = ",".join(f'{cell}="{t.replace(chr(34), chr(34) * 2)}"' for t in cf.equals)
        formula = f"OR({texts})"
    ws.conditional_formatting.add(cf.ref.a1, Rule(type="expression", formula=[formula],
                                                  dxf=dxf, stopIfTrue=False))


def _validation(ws: Any, spec: Validation) -> None:
    """A drop-down list (an in-cell arrow) or a date-only rule on input cells."""
    if spec.choices:
        listed = ",".join(c.replace('"', "'") for c in spec.choices)
        dv = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True,
                            showErrorMessage=True, errorTitle="Not in the list",
                            error="Pick a value from the drop-down list.")
    else:
        dv = DataValidation(type="date", operator="greaterThan", formula1="1",
                            allow_blank=True, showErrorMessage=True, errorTitle="Not a date",
                            error="Enter a date, e.g. 2027-07-15.")
    if spec.prompt:
        dv.showInputMessage = True
        dv.prompt = spec.prompt[:255]
    dv.add(spec.ref.a1)
    ws.data_validations.append(dv)


def _table(ws: Any, spec: TableSpec) -> None:
    table = Table(displayName=spec.name, ref=spec.ref.a1)
    table.tableStyleInfo = TableStyleInfo(name=spec.style, showRowStripes=True)
    table.tableColumns = [TableColumn(id=i, name=name)
                          for i, name in enumerate(spec.columns, start=1)]
    table.autoFilter = AutoFilter(ref=spec.ref.a1)
    ws.add_table(table)


def render_sheet(wb: Workbook, sheet: SheetLayout, layout: ReportLayout,
                 cells: _CellFactory, rows: bool = True) -> Any:
    """Add ``sheet`` to ``wb``; its cells too unless not ``rows`` (render/fastxml writes
    them). Returns the worksheet."""
    ws = wb.create_sheet(sheet.name)
    _set_up(ws, sheet)
    _add_merges(ws, sheet)
    for cf in sheet.conditional_formats:
        _conditional(ws, cf, layout)
    for rule in sheet.validations:
        _validation(ws, rule)
    with warnings.catch_warnings():  # openpyxl warns in write-only mode; we add the columns
        warnings.filterwarnings("ignore", "In write-only mode you must add table columns")
        for spec in sheet.tables:
            _table(ws, spec)
    for chart in sheet.charts:
        ws.add_chart(build_chart(chart), _anchor(chart))
    if rows:
        _write_rows(ws, sheet, cells)
    return ws


def render_workbook(layout: ReportLayout, target: str | os.PathLike[str] | IO[bytes], *,
                    fast: bool = True, inline_strings: bool = False) -> None:
    """Write ``layout`` as an .xlsx to ``target`` (a path or a binary file object).

    openpyxl writes each sheet's skeleton and :mod:`omplan.render.fastxml` its cells, with
    one shared-strings table, or inline strings with ``inline_strings`` (the writeback, whose
    graft leaves the user's shared strings alone). ``fast=False`` writes every cell with
    openpyxl (the reference the fast writer is tested against; inline strings)."""
    check_limits(layout.sheets)
    wb = Workbook(write_only=True)
    cells = _CellFactory(wb, layout.styles)
    props = wb.properties
    props.creator = props.lastModifiedBy = layout.creator
    props.title = layout.title
    props.created = props.modified = layout.created
    sheets = SheetRows(wb, cells.templates, inline=inline_strings) if fast else None
    for number, sheet in enumerate(layout.sheets, start=1):
        ws = render_sheet(wb, sheet, layout, cells, rows=sheets is None)
        if sheets is not None:
            sheets.add(ws, sheet, number)
    archive = DeterministicZip(target, zip_date_time(layout.created), sheets)
    try:
        ExcelWriter(wb, archive).save()
    finally:
        archive.close()
