"""A sheet part read row by row with bounded memory: the values of the cells within bounds
(the sparse reader, for sheets too large for a whole-sheet reader) and the cells a
cached-value reader cannot trust (the safety scan's special cells).

Only ``<row>`` end events reach Python, and every row is freed once looked at, so memory
follows the cells kept, never the sheet's extent. Parts come here only after the safety scan
screened them (:mod:`omplan.input.screen`).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from omplan.core.findings import FileProblem, column_letter
from omplan.input.opc import local
from omplan.input.screen import damaged, why


@dataclass(frozen=True)
class SpecialCell:
    """A cell whose value a cached-value reader cannot trust."""

    sheet: str  # sheet name as in workbook.xml
    ref: str  # e.g. "E7"
    kind: str  # "error" (t="e", cached error) or "no-cached-value" (formula without <v>)
    value: str  # error text such as "#REF!", or the formula text for no-cached-value


def _cell_col(ref: str) -> int:
    col = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            col = col * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            col = col * 26 + ord(ch) - 96
        else:
            break
    return col


# Cells of one <row> that are special, whatever the namespace prefix: a cached error, or a
# formula with no (or an empty) cached value, except t="str" whose empty <v> is a cached "".
_SPECIAL_IN_ROW = etree.XPath(
    "*[local-name()='c'][@t='e' or (*[local-name()='f']"
    " and not(*[local-name()='v'][string-length() > 0])"
    " and not(@t='str' and *[local-name()='v']))]"
)
# Repeating worksheet elements besides rows that are freed as the parse goes.
_FREED_TAGS = ("{*}row", "{*}col", "{*}mergeCell", "{*}hyperlink", "{*}cfRule",
               "{*}dataValidation", "{*}brk", "{*}ignoredError", "{*}protectedRange")  # fmt: skip


def _sheet_rows(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str, name: str
                ) -> Iterator[tuple[int, Any]]:
    """(row number, ``<row>`` element) of a sheet part, parsed with bounded memory: only row
    end events reach Python, and every row (and the other repeating elements) is freed once
    the caller has looked at it. A part that does not parse is a damaged file."""
    last_row = 0
    try:
        with zf.open(info) as fh:
            parser = etree.iterparse(
                fh, events=("end",), tag=_FREED_TAGS, resolve_entities=False,
                no_network=True, huge_tree=False, load_dtd=False, remove_comments=True,
                remove_pis=True)
            for _event, elem in parser:
                if local(elem.tag) == "row":
                    r_attr = elem.get("r")
                    row = int(r_attr) if r_attr and r_attr.isdigit() else last_row + 1
                    last_row = row
                    yield row, elem
                elem.clear()
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]
    except FileProblem:
        raise
    except Exception as exc:  # XMLSyntaxError, zip errors
        raise damaged(
            name, f"sheet '{sheet}' ({info.filename}) cannot be parsed: {why(exc)}"
        ) from exc


def special_cells(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str, name: str
) -> Iterator[SpecialCell]:
    """Error cells and formulas without a cached value, parsed with bounded memory.

    One compiled XPath per row picks the special cells, so ordinary cells cost no Python work.
    """
    for row, elem in _sheet_rows(zf, info, sheet, name):
        found = _SPECIAL_IN_ROW(elem)
        if found:
            yield from _row_cells(elem, found, sheet, row)


def _row_cells(
    row_elem: etree._Element, found: list[etree._Element], sheet: str, row: int
) -> Iterator[SpecialCell]:
    """SpecialCells for the special ``found`` cells of one row, in column order."""
    if all(c.get("r") for c in found):
        refs = {id(c): c.get("r") or "" for c in found}
    else:  # some cell has no r attribute: its column follows the previous cell's
        refs, col = {}, 0
        wanted = {id(c) for c in found}
        for c in row_elem:
            if local(c.tag) != "c":
                continue
            ref = c.get("r")
            col = _cell_col(ref) if ref else col + 1
            if id(c) in wanted:
                refs[id(c)] = ref or f"{column_letter(col)}{row}"
    for c in found:
        f = v = None
        for child in c:
            tag = local(child.tag)
            if tag == "f":
                f = child
            elif tag == "v":
                v = child
        value = v.text if v is not None else None
        if c.get("t") == "e" and (f is None or value):
            yield SpecialCell(sheet, refs[id(c)], "error", value or "")
        else:
            yield SpecialCell(
                sheet, refs[id(c)], "no-cached-value", (f.text if f is not None else "") or ""
            )


# --------------------------------------------------------------------------- bounded reading


_NO_CELLS: list[object] = []  # shared by every empty row of a sparse sheet; never filled


@dataclass
class SparseSheet:
    """The values of one sheet read cell by cell, keeping only cells within the bounds."""

    rows: list[list[object]]  # row i, column j (0-based from A1); '' for an empty cell
    ignored: int = 0  # non-empty cells outside the bounds
    first_ignored: str = ""  # reference of the first of them, e.g. "XFD1048576"


def read_part_sparse(path: str | os.PathLike[str], part: str, strings_part: str | None,
                     sheet: str, max_col: int, max_row: int) -> SparseSheet:
    """Values of the sheet ``sheet`` (its part ``part``, with the shared strings
    ``strings_part``) up to column ``max_col`` and row ``max_row``.

    Texts, numbers (float) and booleans as python-calamine gives them; empty cells are ''.
    """
    name = Path(os.fspath(path)).name
    with zipfile.ZipFile(path) as zf:
        strings = _shared_strings(zf, strings_part, name)
        info = zf.getinfo(part)
        out = SparseSheet([])
        for row, elem in _sheet_rows(zf, info, sheet, name):
            _keep_cells(elem, row, strings, max_col, max_row, out)
    return out


def _keep_cells(row_elem: etree._Element, row: int, strings: list[str], max_col: int,
                max_row: int, out: SparseSheet) -> None:
    col = 0
    kept: dict[int, object] = {}
    for c in row_elem:
        if local(c.tag) != "c":
            continue
        ref = c.get("r")
        col = _cell_col(ref) if ref else col + 1
        value = _cell_value(c, strings)
        if value is None or value == "":
            continue
        if col > max_col or row > max_row:
            if not out.ignored:
                out.first_ignored = ref or f"{column_letter(col)}{row}"
            out.ignored += 1
            continue
        kept[col] = value
    if not kept:
        return
    if len(out.rows) < row:
        out.rows.extend([_NO_CELLS] * (row - len(out.rows)))
    cells = out.rows[row - 1]
    if cells is _NO_CELLS:
        cells = out.rows[row - 1] = []
    width = max(kept)
    if len(cells) < width:
        cells.extend([""] * (width - len(cells)))
    for c, value in kept.items():
        cells[c - 1] = value


def _cell_value(c: etree._Element, strings: list[str]) -> object:
    kind = c.get("t") or "n"
    v = is_ = None
    for child in c:
        tag = local(child.tag)
        if tag == "v":
            v = child.text
        elif tag == "is":
            is_ = child
    if kind == "inlineStr":
        return _text_of(is_) if is_ is not None else ""
    if v is None:
        return None
    if kind == "s":
        try:
            return strings[int(v)]
        except (ValueError, IndexError):
            return ""
    if kind in ("str", "e"):
        return v
    if kind == "b":
        return v.strip() in ("1", "true")
    try:
        return float(v)
    except ValueError:
        return v


def _text_of(elem: etree._Element) -> str:
    """A shared or inline string: its ``t`` texts, phonetic runs (``rPh``) left out."""
    parts = []
    for child in elem.iter():
        if local(child.tag) == "t" and local(child.getparent().tag) != "rPh":
            parts.append(child.text or "")
    return "".join(parts)


def _shared_strings(zf: zipfile.ZipFile, part: str | None, name: str) -> list[str]:
    if part is None:
        return []
    out: list[str] = []
    try:
        with zf.open(part) as fh:
            for _event, elem in etree.iterparse(
                    fh, events=("end",), tag="{*}si", resolve_entities=False, no_network=True,
                    huge_tree=False, load_dtd=False):
                out.append(_text_of(elem))
                elem.clear()
    except Exception as exc:  # XMLSyntaxError, zip errors
        raise damaged(name, f"part {part} cannot be parsed: {why(exc)}") from exc
    return out
