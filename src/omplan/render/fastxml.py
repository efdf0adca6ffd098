"""Sheet XML of large tables (the Ledger) built in bulk, near the speed of zlib.

openpyxl's per-cell writer spends most of a big report's time on the Ledger sheet. Here
openpyxl still renders every sheet, but a bulk block only with its first data row (the
*placeholder*: header, first row, widths, freeze, Excel Table over the full range); the zip
member of that sheet is then rewritten with every row, built per column from string
fragments: each distinct text is rendered once (as a shared-strings index), each number with
``repr`` so every digit survives. Cell styles are the ones openpyxl gave the placeholder's
first row, so the cells look exactly as the per-cell writer made them. The XML is streamed
into the (deterministic) zip in chunks, compressed at zlib level 1.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from omplan.report.common import LedgerRows
from omplan.report.layout import Block, SheetLayout

MAX_TEXT = 32_767  # Excel's limit of characters in a cell
MIN_ROWS = 2  # smaller blocks are left to openpyxl
CHUNK_ROWS = 20_000
COMPRESS_LEVEL = 1

SST_PART = "xl/sharedStrings.xml"
CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CELL_RE = re.compile(rb"<c\b[^>]*?\br=\"([A-Z]+)(\d+)\"[^>]*>")
_STYLE_RE = re.compile(rb"\bs=\"(\d+)\"")


def clean_text(text: str) -> str:
    """Text as the per-cell writer stores it: illegal XML characters replaced, cut to
    Excel's limit (see ``render.xlsx.set_text``)."""
    return ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", text)[:MAX_TEXT]


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
            body = escape(text, {"\r": "&#13;"})
            space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
            parts.append(f"<si><t{space}>{body}</t></si>")
        parts.append("</sst>")
        return "".join(parts).encode("utf-8")


@dataclass
class _Column:
    """One column of a bulk block as XML fragments: what follows ``<c r="A`` and the row
    number, up to and including the next cell's ``<c r="B`` (or ``</row>``)."""

    codes: np.ndarray | None  # per-row index into ``fragments``; None: one fragment per row
    fragments: np.ndarray  # object array of str


@dataclass
class BulkSheet:
    """A bulk block whose rows after the first are written here, not by openpyxl."""

    block: Block
    part: str = ""


@dataclass
class BulkSheets:
    """Bulk blocks of one workbook being rendered, by zip member, and the shared strings."""

    sheets: dict[str, BulkSheet] = field(default_factory=dict)
    strings: SharedStrings = field(default_factory=SharedStrings)

    def placeholder(self, sheet: SheetLayout, number: int) -> SheetLayout:
        """``sheet`` as openpyxl should render it (sheet ``number`` of the workbook, from 1):
        its one bulk block cut to its first data row, registered for :meth:`write`."""
        bulk = [b for b in sheet.blocks if b.bulk]
        if len(bulk) != 1 or len(bulk[0].rows) < MIN_ROWS or not _supported(bulk[0]):
            return sheet
        block = bulk[0]
        part = f"xl/worksheets/sheet{number}.xml"
        self.sheets[part] = BulkSheet(block, part)
        cut = replace(block, rows=block.rows[:1])
        return replace(sheet, blocks=[cut if b is block else b for b in sheet.blocks])

    def handles(self, arcname: str) -> bool:
        return arcname in self.sheets or (bool(self.sheets) and arcname in (
            CONTENT_TYPES, WORKBOOK_RELS))

    def write(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        """Write member ``info`` (openpyxl's ``data``) to ``archive``, completed: a bulk
        sheet gets all its rows, the package gets the shared-strings part."""
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

    def _write_sheet(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: BulkSheet,
                     data: bytes) -> None:
        block = sheet.block
        end = data.rindex(b"</sheetData>")
        head, tail = data[:end], data[end:]
        styles = _row_styles(head, block.first_row)
        columns = _columns(block, styles, self.strings)
        n_rows = len(block.rows)
        info.compress_type = zipfile.ZIP_DEFLATED
        level = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
        setattr(info, level, COMPRESS_LEVEL)  # 3.13+ / 3.11-3.12
        big = n_rows * (len(columns) + 1) * 48 > (1 << 31) - (1 << 28)
        last_ref = f"{get_column_letter(block.last_col)}{block.last_row}"
        head = _set_dimension(head, f"A1:{last_ref}")
        with archive.open(info, "w", force_zip64=big) as out:
            out.write(head)
            for chunk in _row_chunks(block, columns, 1, n_rows):
                out.write(chunk.encode("utf-8"))
            out.write(tail)


def _insert_before(data: bytes, closing: bytes, item: bytes) -> bytes:
    at = data.rindex(closing)
    return data[:at] + item + data[at:]


def _set_dimension(head: bytes, ref: str) -> bytes:
    return re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), head, count=1)


def _supported(block: Block) -> bool:
    """Blocks whose cells this writer renders exactly: plain text/None, or floats."""
    return isinstance(block.rows, LedgerRows) or all(
        isinstance(v, str | float) or v is None for row in block.rows[:50] for v in row)


def _row_styles(head: bytes, row: int) -> dict[str, str]:
    """Column letter -> ' s="N"' of the cells openpyxl wrote in ``row``."""
    out = {}
    for m in _CELL_RE.finditer(head):
        if int(m.group(2)) == row:
            style = _STYLE_RE.search(m.group(0))
            out[m.group(1).decode()] = f' s="{style.group(1).decode()}"' if style else ""
    return out


def _column_values(block: Block) -> list[tuple[np.ndarray | None, list[Any]]]:
    """Per column: integer codes and the distinct values they index (categories once), or
    None and one number per row."""
    rows = block.rows
    frame = getattr(rows, "_ledger", None) if isinstance(rows, LedgerRows) else None
    out = []
    if frame is not None:
        assert isinstance(rows, LedgerRows)
        for name in rows.names:  # the sheet's columns, in its order
            series = frame[name]
            if isinstance(series.dtype, pd.CategoricalDtype):
                cats = [None if c == "" else str(c) for c in series.cat.categories]
                out.append((series.cat.codes.to_numpy(), [*cats, None]))  # -1: missing
            else:
                out.append((None, series.to_numpy(dtype=float).tolist()))
        return out
    for j in range(block.width):
        column = [row[j] for row in rows]
        if all(v.__class__ is float for v in column):
            out.append((None, column))
            continue
        codes, uniques = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=True)
        out.append((codes, [*uniques.tolist(), None]))
    return out


def _columns(block: Block, styles: dict[str, str], strings: SharedStrings) -> list[_Column]:
    """Fragments per column: texts become shared-string indexes, numbers their ``repr``; a
    blank cell is an empty, unstyled cell element (as good as none) unless its column is
    styled, when it keeps the style as the per-cell writer does."""
    out = []
    values_of = _column_values(block)
    for j, (codes, values) in enumerate(values_of):
        letter = get_column_letter(block.col + j)
        style = styles.get(letter, "")
        after = (f'<c r="{get_column_letter(block.col + j + 1)}' if j + 1 < len(values_of)
                 else "</row>")
        if codes is None:  # one number per row
            numbers = np.asarray(values, dtype=float)
            texts = np.array(list(map(repr, numbers.tolist())), dtype=object)
            fragments = f'"{style}><v>' + texts + f"</v></c>{after}"
            bad = ~np.isfinite(numbers)
            if bad.any():
                fragments[bad] = f'"{style}/>{after}'
            out.append(_Column(None, fragments))
            continue
        table = []
        for value in values:
            if value is None:
                table.append(f'"{style}/>{after}')
            elif value.__class__ is str:
                text = clean_text(value) if _unsafe(value) else value
                table.append(f'"{style} t="s"><v>{strings.add(text)}</v></c>{after}')
            elif isinstance(value, float) and math.isfinite(value):
                table.append(f'"{style}><v>{value!r}</v></c>{after}')
            elif isinstance(value, float):
                table.append(f'"{style}/>{after}')
            else:  # pragma: no cover - _supported() keeps other types away
                raise TypeError(f"unsupported bulk value {value!r}")
        out.append(_Column(codes, np.array(table, dtype=object)))
    return out


def _unsafe(text: str) -> bool:
    return (len(text) > MAX_TEXT or text in ERROR_CODES
            or ILLEGAL_CHARACTERS_RE.search(text) is not None)


def _row_chunks(block: Block, columns: Sequence[_Column], start: int, stop: int,
                chunk: int = CHUNK_ROWS) -> Iterator[str]:
    """The ``<row>`` elements of data rows ``start``..``stop - 1`` (0-based), in chunks.

    A row is its row number joined between fragments: ``'<row r="'``, ``'"><c r="A'``, then
    one fragment per column, each ending where the next cell's row number goes.
    """
    lead = ('<row r="', f'"><c r="{get_column_letter(block.col)}')
    for a in range(start, stop, chunk):
        b = min(stop, a + chunk)
        parts = [col.fragments[a:b].tolist() if col.codes is None
                 else col.fragments[col.codes[a:b]].tolist() for col in columns]
        first = block.first_row + a
        numbers = map(str, range(first, first + b - a))
        yield "".join([n.join(p) for n, p in zip(
            numbers, zip(repeat(lead[0]), repeat(lead[1]), *parts), strict=False)])
