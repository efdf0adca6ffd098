"""SheetBuilder: a sheet under construction, blocks stacked downwards, sized to their content."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from omplan.report import styles as st
from omplan.report.layout import Block, SheetLayout, Text


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
        if "points" in style:
            return len(f"{abs(value):.1f} pp") + sign
        if "fte" in style:
            return len(f"{abs(value):,.2f}") + sign
        if "datetime" in style:
            return 19
        if "integer" in style or "amount" in style:  # whole units, float noise unseen
            return len(f"{abs(value):,.0f}") + sign
        return len(f"{value:,.0f}") if abs(value) >= 1000 else len(str(value))
    if isinstance(value, datetime):
        return 19
    return max((len(line) for line in str(value).splitlines()), default=0)


def _column_need(values: Sequence[Any], style: str, currency: str) -> int:
    """``max(_display_len(v, style, currency) for v in values)``, formatting few values: for
    these formats the width only grows with ``abs(value)``, so only the largest non-negative
    and the largest negative number are formatted; one-line text is its length."""
    numeric = any(k in style for k in ("money", "percent", "points", "fte", "integer",
                                       "amount"))
    need = 0
    top_pos = top_neg = None
    for v in values:
        kind = v.__class__
        if kind is str and "\n" not in v and "\r" not in v:
            if len(v) > need:
                need = len(v)
        elif numeric and (kind is float or kind is int) and math.isfinite(v):
            if v < 0:
                if top_neg is None or v < top_neg:
                    top_neg = v
            elif top_pos is None or v > top_pos:
                top_pos = v
        elif v is not None:
            need = max(need, _display_len(v, style, currency))
    for top in (top_pos, top_neg):
        if top is not None:
            need = max(need, _display_len(top, style, currency))
    return need


def fit_widths(sheet: SheetLayout, currency: str, minimum: float = 8.0,
               maximum: float = 60.0) -> dict[int, float]:
    """Column widths (in characters) that show every block cell and header word."""
    widths: dict[int, float] = {}
    for b in sheet.blocks:
        rows = b.rows if not b.bulk else b.rows[: min(len(b.rows), 2000)]
        special = sorted({*b.row_kinds, *(i for i, _ in b.cell_styles)})
        plain = rows if not special else [row for i, row in enumerate(rows)
                                          if i not in b.row_kinds
                                          and not any((i, j) in b.cell_styles
                                                      for j in range(b.width))]
        for j in range(b.width):
            if (b.span > 1 or b.overflow) and j == b.width - 1:
                continue  # merged and wrapped, or running over empty cells
            need = 0.0
            if b.header is not None:
                head = str(b.header[j])
                words = max((len(w) for w in head.split()), default=0)
                need = max(words + 2, min(len(head), 12) + 2)
            style = b.styles[j]  # the rows in their column's own style, then the others
            bold = 1 if style == st.KEY_STYLE else 0
            need = max(need, _column_need([row[j] for row in plain], style, currency)
                       + 1.5 + bold)
            for i in special:
                if i < len(rows):
                    style = b.style_at(i, j)
                    bold = 1 if (i in b.row_kinds or style == st.KEY_STYLE) else 0
                    need = max(need, _display_len(rows[i][j], style, currency) + 1.5 + bold)
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


#: Printed page, landscape, in points: the smaller of Letter and A4 less the report's margins
#: (0.4 in left and right, 0.75 in top and bottom): 10.2 in wide, 6.77 in high.
PAGE_WIDTH_PT = 10.2 * 72
PAGE_HEIGHT_PT = 6.77 * 72
#: Excel's default row height, and a margin for the difference between programs' metrics
DEFAULT_ROW_PT = 15.0
PAGE_SAFETY = 0.9


def chart_page_breaks(sheet: SheetLayout) -> list[int]:
    """Rows after which a new page starts so that no chart is cut by a page break, for a
    sheet printed one page wide (the scale is estimated from the column widths, on the
    smaller of Letter and A4, with a margin: a break may come a little early, never late)."""
    setup = sheet.print_setup
    charts = sorted((c.anchor[0], c.end[0], c.end[1]) for c in sheet.charts
                     if c.end is not None)
    if not charts or not setup.fit_width or setup.pages_wide != 1 or setup.pages_tall == 1:
        return []
    last_col = max([b.last_col for b in sheet.blocks] + [col for _, _, col in charts])
    width_pt = sum(column_cm(sheet.column_widths.get(c, 8.43)) / 2.54 * 72
                   for c in range(1, last_col + 1))
    capacity = PAGE_HEIGHT_PT / min(1.0, PAGE_WIDTH_PT / width_pt) * PAGE_SAFETY

    def height(row: int) -> float:
        return sheet.row_heights.get(row, DEFAULT_ROW_PT)

    titles = 0.0  # rows printed again at the top of every page
    if setup.title_rows is not None:
        titles = sum(height(r) for r in range(setup.title_rows[0], setup.title_rows[1] + 1))
    chart_end = {first: last for first, last, _ in charts}
    breaks: list[int] = []
    used, empty = 0.0, True  # points used on this page; nothing of the body on it yet
    for row in range(1, max(sheet.max_row, *chart_end.values()) + 1):
        if row in chart_end and not empty:
            tall = sum(height(r) for r in range(row, chart_end[row] + 1))
            if used + tall > capacity and titles + tall <= capacity:
                breaks.append(row - 1)
                used = titles
        if used + height(row) > capacity:  # the printer's own break
            used = titles
        used += height(row)
        empty = False
    return breaks


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

    def finish(self, currency: str,
               minimum_widths: Mapping[int, float] | None = None) -> SheetLayout:
        """Column widths from the content (explicit and ``minimum_widths`` are floors), then
        row heights and chart sizes."""
        sheet = self.layout
        sheet.column_widths = {**dict(minimum_widths or {}), **sheet.column_widths}
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
        sheet.row_breaks = chart_page_breaks(sheet)
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
