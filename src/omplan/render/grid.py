"""The one walk over a sheet layout's cells, shared by the file and the live renderer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omplan.report import styles as st
from omplan.report.layout import SheetLayout


def cells(sheet: SheetLayout) -> Iterator[tuple[int, int, Any, str | None]]:
    """Every non-bulk cell as (row, col, value, style): texts, block titles, headers and data,
    with the blank cells a merged (``span`` > 1) last column covers. A later cell at the same
    position wins, as it would when written."""
    for text in sheet.texts:
        yield text.row, text.col, text.value, text.style
    for b in sheet.blocks:
        if b.title_row is not None:
            yield b.title_row, b.col, b.title, st.SECTION_STYLE
        if b.header is not None and b.header_row is not None:
            for j, head in enumerate(b.header):
                yield b.header_row, b.col + j, head, b.header_style(j)
            for extra in range(1, b.span):
                yield b.header_row, b.last_col - b.span + 1 + extra, None, st.HEADER_STYLE
        if b.bulk:
            continue
        for i, row in enumerate(b.rows):
            r = b.first_row + i
            for j, value in enumerate(row):
                yield r, b.col + j, value, b.style_at(i, j)
            for extra in range(1, b.span):
                yield r, b.last_col - b.span + 1 + extra, None, b.style_at(i, b.width - 1)
