"""Every worksheet's ``<sheetData>`` built as XML text, near the speed of zlib.

openpyxl (write-only) still renders each sheet's skeleton - views, widths, row heights, merges,
conditional formats, validations, tables, charts, print set-up - but gets no rows. When its
zip member is written, the rows are put in here: every cell of ``render.grid.cells`` and of the
bulk blocks (the Ledger), as openpyxl's per-cell writer would write them (``render.xlsx``'s
``_CellFactory``): text always a literal string, cleaned and cut to Excel's limit; floats with
``repr`` so every digit survives; NaN and infinities empty; a style-only cell where the layout
gives a style but no value. Style indexes are the ones openpyxl gives the same styles
(``wb._cell_styles``, in first-use order, before it writes the stylesheet).

Each distinct (text, style) is rendered once. Text goes to one shared-strings table for the
workbook (a part added here), or, for the writeback, inline (``t="inlineStr"``) as openpyxl
writes it, so the user's shared strings are never touched. A bulk block is built per column
from string fragments and streamed in chunks, compressed at zlib level 1.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.compat import safe_string
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from omplan.render import grid as layout_grid
from omplan.report import styles as st
from omplan.report.common import LedgerRows
from omplan.report.layout import Block, SheetLayout

MAX_TEXT = 32_767  # Excel's limit of characters in a cell
CHUNK_ROWS = 20_000
COMPRESS_LEVEL = 1
BIG_ROWS = 5_000  # sheets with more rows are streamed at COMPRESS_LEVEL

SST_PART = "xl/sharedStrings.xml"
CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>.*?</sheetData>", re.S)
_SHEET_PR = re.compile(rb"<sheetPr\b[^>]*/>|<sheetPr\b.*?</sheetPr>", re.S)
_WORKSHEET = re.compile(rb"<worksheet\b[^>]*>")
_ESCAPES = {"\r": "&#13;"}
#: Inline text (writeback) escapes quotes too: then ' s="' in a sheet's cells can only be a
#: style attribute, which lets the graft renumber styles with a plain pattern.
_INLINE_ESCAPES = {"\r": "&#13;", '"': "&quot;"}


def escape(text: str, entities: dict[str, str] | None = None) -> str:
    """``xml.sax.saxutils.escape`` (&, <, > and ``entities``), without importing xml.sax and
    urllib, 30 ms of every command's start."""
    text = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for char, entity in (entities or {}).items():
        text = text.replace(char, entity)
    return text


def clean_text(text: str) -> str:
    """Text as every cell stores it (here and ``render.xlsx.set_text``): illegal XML
    characters replaced, cut to Excel's limit."""
    return ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", text)[:MAX_TEXT]


def _unsafe(text: str) -> bool:
    return len(text) > MAX_TEXT or ILLEGAL_CHARACTERS_RE.search(text) is not None


class SharedStrings:
    """The workbook's shared-strings table: text -> index, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def xml(self) -> bytes:
        parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 f'<sst xmlns="{_MAIN_NS}" uniqueCount="{len(self.index)}">']
        for text in self.index:
            body = escape(text, _ESCAPES)
            space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
            parts.append(f"<si><t{space}>{body}</t></si>")
        parts.append("</sst>")
        return "".join(parts).encode("utf-8")


def inline_text(text: str) -> str:
    """A cleaned text as openpyxl writes an inline string (after ``t="inlineStr"``)."""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"><is><t{space}>{escape(text, _INLINE_ESCAPES)}</t></is></c>"


@dataclass
class _Column:
    """One column of a bulk block as XML fragments: what follows ``<c r="A`` and the row
    number, up to and including the next cell's ``<c r="B`` (or ``</row>``)."""

    codes: np.ndarray | None  # per-row index into ``fragments``; None: one fragment per row
    fragments: np.ndarray  # object array of str


@dataclass
class _Sheet:
    ws: Any  # openpyxl's write-only worksheet (row heights, parent workbook)
    layout: SheetLayout


class SheetRows:
    """The rows of every sheet of one workbook being rendered, by zip member; the shared
    strings (unless ``inline``)."""

    def __init__(self, wb: Any, templates: dict[str, Any], inline: bool = False) -> None:
        self.wb = wb
        self.templates = templates  # layout style name -> openpyxl style array (a tuple)
        self.inline = inline
        self.sheets: dict[str, _Sheet] = {}
        self.strings = SharedStrings()
        self._styles: dict[str | None, str] = {}
        self._texts: dict[tuple[str, str], str] = {}

    def add(self, ws: Any, sheet: SheetLayout, number: int) -> None:
        """Write the rows of ``sheet`` into the member of worksheet ``number`` (from 1)."""
        self.sheets[f"xl/worksheets/sheet{number}.xml"] = _Sheet(ws, sheet)

    def handles(self, arcname: str) -> bool:
        return arcname in self.sheets or (not self.inline and bool(self.sheets) and arcname in (
            CONTENT_TYPES, WORKBOOK_RELS))

    def write(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        """Write member ``info`` (openpyxl's ``data``) to ``archive``, completed: a sheet gets
        its rows, the package the shared-strings part."""
        name = info.filename
        if name in self.sheets:
            self._write_sheet(archive, info, self.sheets[name], data)
        elif name == WORKBOOK_RELS:
            rel = (f'<Relationship Id="rIdOmplanSst" Type="{_SST_REL}" '
                   'Target="sharedStrings.xml"/>').encode()
            archive.writestr(info, _insert_before(data, b"</Relationships>", rel))
            sst = zipfile.ZipInfo(SST_PART, date_time=info.date_time)
            sst.compress_type = zipfile.ZIP_DEFLATED
            sst.external_attr = info.external_attr
            archive.writestr(sst, self.strings.xml())
        else:  # content types
            override = (f'<Override PartName="/{SST_PART}" ContentType="{_SST_TYPE}"/>').encode()
            archive.writestr(info, _insert_before(data, b"</Types>", override))

    # ------------------------------------------------------------------ cells

    def style(self, name: str | None) -> str:
        """`` s="N"`` of layout style ``name`` as openpyxl would number it ('' unstyled)."""
        found = self._styles.get(name)
        if found is None:
            template = self.templates.get(name) if name else None
            array = StyleArray(template) if template is not None else None
            found = self._styles[name] = (f' s="{self.wb._cell_styles.add(array)}"'
                                          if array is not None and any(array) else "")
        return found

    def text(self, text: str, style: str) -> str:
        """The fragment of a text cell after ``<c r="A1"``, with style attribute ``style``."""
        key = (text, style)
        found = self._texts.get(key)
        if found is None:
            clean = clean_text(text) if _unsafe(text) else text
            if not clean:  # as openpyxl: an empty inline string
                found = f'{style} t="inlineStr"/>'
            elif self.inline:
                found = f'{style} t="inlineStr"' + inline_text(clean)
            else:
                found = f'{style} t="s"><v>{self.strings.add(clean)}</v></c>'
            self._texts[key] = found
        return found

    def fragment(self, ws: Any, value: Any, name: str | None, style: str) -> str | None:
        """A cell after ``<c r="A1"`` as the per-cell writer writes ``value`` in layout
        style ``name`` (``style`` its attribute); None where it writes no cell."""
        if isinstance(value, str):
            return self.text(value, style)
        if isinstance(value, float):
            if math.isfinite(value):
                return f"{style}><v>{float(value)!r}</v></c>"
            return f"{style}/>" if style else None
        if value is None:
            return f"{style}/>" if style else None
        if value.__class__ is bool:
            return f'{style} t="b"><v>{int(value)}</v></c>'
        if value.__class__ is int:
            return f"{style}><v>{safe_string(value)}</v></c>"
        return self._other(ws, value, name)

    def _other(self, ws: Any, value: Any, name: str | None) -> str:
        """Any other value (dates, numpy numbers) through an openpyxl cell, as it stores it:
        a date becomes an Excel serial number and may get a date format."""
        from openpyxl.cell._writer import _set_attributes

        template = self.templates.get(name) if name else None
        cell = Cell(ws, 1, 1, style_array=template)
        cell.value = value
        out, attrs = _set_attributes(cell, cell.has_style)
        style = f' s="{attrs["s"]}"' if "s" in attrs else ""
        kind = attrs.get("t", "n")
        if out is None or out == "":
            return f"{style}/>"
        if kind not in ("n", "b", "d"):
            raise TypeError(f"cannot write {value!r} as a report cell")
        return f'{style} t="{kind}"><v>{escape(safe_string(out))}</v></c>'

    # ------------------------------------------------------------------ sheets

    def _write_sheet(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: _Sheet,
                     data: bytes) -> None:
        found = _SHEET_DATA.search(data)
        if found is None:  # pragma: no cover - openpyxl always writes sheetData
            raise ValueError(f"no sheetData in {info.filename}")
        rows, bounds = self._rows(sheet)
        head = _set_dimension(data[:found.start()], bounds)
        tail = data[found.end():]
        if bounds[2] - bounds[0] < BIG_ROWS:
            archive.writestr(info, b"".join([head, b"<sheetData>", "".join(rows).encode(
                "utf-8"), b"</sheetData>", tail]))
            return
        info.compress_type = zipfile.ZIP_DEFLATED
        level = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
        setattr(info, level, COMPRESS_LEVEL)  # 3.13+ / 3.11-3.12
        big = (bounds[2] - bounds[0]) * (bounds[3] + 1) * 48 > (1 << 31) - (1 << 28)
        with archive.open(info, "w", force_zip64=big) as out:
            out.write(head + b"<sheetData>")
            for chunk in rows:
                out.write(chunk.encode("utf-8"))
            out.write(b"</sheetData>" + tail)

    def _rows(self, sheet: _Sheet) -> tuple[Iterator[str], tuple[int, int, int, int]]:
        """The ``<row>`` elements of a sheet, in pieces, and the bounds of its cells
        (first row, first column, last row, last column)."""
        layout, ws = sheet.layout, sheet.ws
        bulk = sorted((b for b in layout.blocks if b.bulk and b.rows), key=lambda b: b.first_row)
        covered = [(b.first_row, b.last_row) for b in bulk]
        grid: dict[int, dict[int, tuple[Any, str | None]]] = {}
        for r, c, value, name in layout_grid.cells(layout):
            if covered and any(a <= r <= z for a, z in covered):
                continue  # the block's rows win, as written
            row = grid.get(r)
            if row is None:
                row = grid[r] = {}
            row[c] = (value, name)
        heights = {r: "".join(f' {k}="{v}"' for k, v in dims)
                   for r, dims in ws.row_dimensions.items() if dict(dims)}
        numbers = sorted({*grid, *(r for r in heights if not any(
            a <= r <= z for a, z in covered))} | {b.first_row for b in bulk})
        boxes = [(r, min(row), r, max(row)) for r, row in grid.items()] + [
            (b.first_row, b.col, b.last_row, b.col + b.width - 1) for b in bulk]
        bulk_at = {b.first_row: b for b in bulk}

        styles, texts, letter = self._styles, self._texts, get_column_letter

        def pieces() -> Iterator[str]:
            out: list[str] = []
            for r in numbers:
                block = bulk_at.get(r)
                if block is not None:
                    if out:
                        yield "".join(out)
                        out = []
                    yield from self._block_rows(ws, block, heights)
                    continue
                cells = grid.get(r)
                out.append(f'<row r="{r}"{heights.get(r, "")}>')
                if cells:
                    for c in sorted(cells):
                        value, name = cells[c]
                        style = styles.get(name)
                        if style is None:
                            style = self.style(name)
                        frag: str | None
                        if value.__class__ is str:  # the common cases first, inline
                            frag = texts.get((value, style)) or self.text(value, style)
                        elif value.__class__ is float and value - value == 0.0:
                            frag = f"{style}><v>{value!r}</v></c>"
                        else:
                            frag = self.fragment(ws, value, name, style)
                        if frag is not None:
                            out.append(f'<c r="{letter(c)}{r}"{frag}')
                out.append("</row>")
            if out:
                yield "".join(out)

        if not boxes:
            return pieces(), (1, 1, 1, 1)
        first_rows, first_cols, last_rows, last_cols = zip(*boxes, strict=True)
        return pieces(), (min(first_rows), min(first_cols), max(last_rows), max(last_cols))

    def _block_rows(self, ws: Any, block: Block, heights: dict[int, str]) -> Iterator[str]:
        names = [None if s == st.PLAIN_STYLE else s for s in block.styles]
        columns = self._columns(ws, block, names)
        attrs = {r - block.first_row: a for r, a in heights.items()
                 if block.first_row <= r <= block.last_row}
        yield from _row_chunks(block, columns, 0, len(block.rows), attrs)

    def _columns(self, ws: Any, block: Block, names: list[str | None]) -> list[_Column]:
        """Fragments per column: each distinct value rendered once (texts, categories), or
        one number per row."""
        out = []
        values_of = _column_values(block)
        for j, (codes, values, numbers) in enumerate(values_of):
            name = names[j]
            style = self.style(name)
            after = (f'<c r="{get_column_letter(block.col + j + 1)}' if j + 1 < len(values_of)
                     else "</row>")
            if numbers:
                # each distinct number (bit for bit: -0.0 is not 0.0) written once
                floats = np.ascontiguousarray(values, dtype=float)
                codes, bits = pd.factorize(floats.view(np.int64))
                distinct = np.asarray(bits, dtype=np.int64).view(np.float64)
                texts = np.array(list(map(repr, distinct.tolist())), dtype=object)
                fragments = f'"{style}><v>' + texts + f"</v></c>{after}"
                bad = ~np.isfinite(distinct)
                if bad.any():
                    fragments[bad] = f'"{style}/>{after}'
                out.append(_Column(codes, fragments))
                continue
            table = []
            for value in values:
                frag = self.fragment(ws, value, name, style)
                table.append(f'"{frag if frag is not None else "/>"}{after}')
            out.append(_Column(codes, np.array(table, dtype=object)))
        return out


def _insert_before(data: bytes, closing: bytes, item: bytes) -> bytes:
    at = data.rindex(closing)
    return data[:at] + item + data[at:]


def _set_dimension(head: bytes, bounds: tuple[int, int, int, int]) -> bytes:
    """``head`` with a ``<dimension>`` of the cells' range (write-only openpyxl writes none)."""
    r0, c0, r1, c1 = bounds
    ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}".encode()
    element = b'<dimension ref="' + ref + b'"/>'
    if b"<dimension " in head:
        return re.sub(rb'<dimension ref="[^"]*"/>', element, head, count=1)
    found = _SHEET_PR.search(head) or _WORKSHEET.search(head)  # dimension follows sheetPr
    if found is None:  # pragma: no cover - openpyxl always writes the worksheet element
        return head
    return head[:found.end()] + element + head[found.end():]


_PLAIN = frozenset({str, float, type(None)})


def _column_values(block: Block) -> list[tuple[np.ndarray | None, Sequence[Any], bool]]:
    """Per column: integer codes and the distinct values they index (categories once), or
    None and one value per row; and whether the values are all floats."""
    rows = block.rows
    frame = getattr(rows, "_ledger", None) if isinstance(rows, LedgerRows) else None
    out: list[tuple[np.ndarray | None, Sequence[Any], bool]] = []
    if frame is not None:
        assert isinstance(rows, LedgerRows)
        for name in rows.names:  # the sheet's columns, in its order
            series = frame[name]
            if isinstance(series.dtype, pd.CategoricalDtype):
                cats = [None if c == "" else str(c) for c in series.cat.categories]
                out.append((series.cat.codes.to_numpy(), [*cats, None], False))  # -1: missing
            else:
                out.append((None, series.to_numpy(dtype=float), True))
        return out
    for j in range(block.width):
        column = [row[j] if j < len(row) else None for row in rows]
        kinds = set(map(type, column))
        if kinds == {float}:
            out.append((None, column, True))
        elif kinds <= _PLAIN:  # no 1 == 1.0 == True to be merged by factorize
            codes, uniques = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=True)
            out.append((codes, [*uniques.tolist(), None], False))
        else:
            out.append((None, column, False))
    return out


def _row_chunks(block: Block, columns: Sequence[_Column], start: int, stop: int,
                attrs: dict[int, str] | None = None, chunk: int = CHUNK_ROWS) -> Iterator[str]:
    """The ``<row>`` elements of data rows ``start``..``stop - 1`` (0-based), in chunks.

    A row is its row number joined between fragments: ``'<row r="'``, ``'"><c r="A'``, then
    one fragment per column, each ending where the next cell's row number goes. ``attrs``:
    row attributes (heights) by data row.
    """
    letter = get_column_letter(block.col)
    lead = ('<row r="', f'"><c r="{letter}')
    lead_of: Callable[[int], str] | None = None
    if attrs:
        def lead_of(i: int) -> str:
            return f'"{attrs.get(i, "")}><c r="{letter}'
    for a in range(start, stop, chunk):
        b = min(stop, a + chunk)
        parts = [col.fragments[a:b].tolist() if col.codes is None
                 else col.fragments[col.codes[a:b]].tolist() for col in columns]
        first = block.first_row + a
        numbers = map(str, range(first, first + b - a))
        second = repeat(lead[1]) if lead_of is None else map(lead_of, range(a, b))
        yield "".join([n.join(p) for n, p in zip(
            numbers, zip(repeat(lead[0]), second, *parts), strict=False)])
