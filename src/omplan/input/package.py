"""File-level safety scan of a plan workbook, run before any parser touches it.

``scan_workbook`` classifies the file by its bytes (not its name), refuses anything that is
not a plain .xlsx/.xlsm package (legacy .xls, encrypted, CSV, truncated, zip bombs, XML with
entity declarations), and lists sheet names and the cells a value-only reader would get
wrong: cached Excel errors and formulas that were never calculated (no cached value).

Every problem is raised as ``FileProblem(message, code)`` with one sentence for the user.
Codes: ``file-not-found``, ``file-unreadable``, ``empty-file``, ``legacy-xls``, ``encrypted``,
``csv``, ``not-a-spreadsheet``, ``not-a-workbook``, ``truncated``, ``zip-bomb``,
``xml-entities``, ``xml-encoding``.

Each part is inflated and screened by :mod:`omplan.input.screen` before it is parsed; the
package's relationships are resolved by the model the writeback shares
(:mod:`omplan.input.opc`); sheets are read row by row by :mod:`omplan.input.sparse`.
"""

from __future__ import annotations

import codecs
import os
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from omplan.core.findings import FileProblem
from omplan.input import schema
from omplan.input.opc import Package, SheetRef, local, sheet_ref
from omplan.input.screen import (
    CHUNK,
    MAX_MEMBER_INFLATED,
    MAX_RATIO,
    MAX_TOTAL_INFLATED,
    RATIO_MIN_SIZE,
    Budget,
    PartHits,
    bomb,
    damaged,
    mb,
    stream_part,
    why,
)
from omplan.input.sparse import SparseSheet, SpecialCell, read_part_sparse, special_cells

MAX_MEMBERS = 10_000
MAX_SPECIAL_CELLS = 100_000  # listing stops here; WorkbookScan.special_cells_truncated is set

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
TEXT_EXTENSIONS = {".csv", ".txt", ".tsv", ".prn"}

CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
VBA_PART = "xl/vbaProject.bin"

#: The sheets omplan reads (matched like the reader does: case and spaces ignored), the
#: reader's required and optional sheets. Only these, the shared strings, the styles and the
#: package's workbook parts are ever inflated: anything else in the file (omplan's own Ledger
#: after a writeback, pictures) is left alone.
INPUT_SHEETS = schema.INPUT_SHEETS  # a live view: it follows the input schema
_READ_REL_TYPES = ("/sharedStrings", "/styles")


@dataclass(frozen=True)
class WorkbookScan:
    """What the safety scan learned about a workbook that passed it."""

    sheet_names: list[str]  # in workbook order
    special_cells: list[SpecialCell]
    has_vba: bool  # xl/vbaProject.bin present
    special_cells_truncated: bool = False  # more than MAX_SPECIAL_CELLS were found
    #: sheet name -> zip member, for the sheets that were read (screened)
    sheet_parts: dict[str, str] = field(default_factory=dict)
    #: sheet name -> (last row, last column) of its cell references, for the sheets read
    extents: dict[str, tuple[int, int]] = field(default_factory=dict)
    shared_strings_part: str | None = None


def norm_sheet(name: str) -> str:
    """Sheet names match case-insensitively, surrounding and repeated spaces ignored."""
    return " ".join(name.split()).casefold()


def _wanted_sheet(name: str, wanted: frozenset[str] | None) -> bool:
    return wanted is None or norm_sheet(name) in wanted


def scan_workbook(path: str | os.PathLike[str],
                  sheets: Collection[str] | None = INPUT_SHEETS) -> WorkbookScan:
    """Check ``path`` is a safe, readable .xlsx/.xlsm package; raise ``FileProblem`` if not.

    Only the parts a reader of ``sheets`` touches are inflated and screened (size, ratio,
    DTD, encoding, special cells): those sheets, the shared strings, the styles, the content
    types and the workbook with its relationships. ``sheets=None`` reads every sheet.
    """
    p = Path(os.fspath(path))
    name = p.name or str(p)
    wanted = None if sheets is None else frozenset(norm_sheet(s) for s in sheets)
    try:
        return _scan(p, name, wanted)
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - a file scan must never leak a raw traceback
        raise FileProblem(
            f"'{name}' could not be read ({type(exc).__name__}: {why(exc)}); open it in Excel, "
            "save a fresh copy as .xlsx and try again.",
            "file-unreadable",
        ) from exc



# --------------------------------------------------------------------------- classification


def _scan(p: Path, name: str, wanted: frozenset[str] | None) -> WorkbookScan:
    if not p.exists():
        raise FileProblem(
            f"'{name}' was not found; check the path and file name and try again.",
            "file-not-found",
        )
    if p.is_dir():
        raise FileProblem(
            f"'{name}' is a folder, not a file; give the path of the .xlsx workbook itself.",
            "file-not-found",
        )
    if not p.is_file():
        raise FileProblem(
            f"'{name}' is not a regular file (a device, pipe or socket); give the path of the "
            ".xlsx workbook itself.",
            "file-unreadable",
        )
    try:
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(64 * 1024)
            if head.startswith(OLE_MAGIC):
                _raise_ole(fh, name)
    except PermissionError as exc:
        raise FileProblem(
            f"'{name}' could not be opened (permission denied); close it in Excel or check "
            "the file permissions and try again.",
            "file-unreadable",
        ) from exc
    except OSError as exc:
        raise FileProblem(
            f"'{name}' could not be read ({why(exc)}); check the file and try again.",
            "file-unreadable",
        ) from exc

    if size == 0 or not head:
        raise FileProblem(
            f"'{name}' is empty (0 bytes); save the plan workbook from Excel again.",
            "empty-file",
        )
    if head.startswith(ZIP_MAGICS):
        return _scan_zip(p, name, size, wanted)
    _raise_not_zip(p, name, head)
    raise AssertionError("unreachable")  # pragma: no cover


def _raise_ole(fh: BinaryIO, name: str) -> None:
    """An OLE2 compound file: an encrypted OOXML workbook, a legacy .xls, or another OLE file."""
    wanted = {
        key: key.encode("utf-16-le")
        for key in ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book")
    }
    found: set[str] = set()
    fh.seek(0)
    tail = b""
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            break
        buf = tail + chunk
        for key, needle in wanted.items():
            if key not in found and needle in buf:
                found.add(key)
        if {"EncryptedPackage", "EncryptionInfo"} & found:
            raise FileProblem(
                f"'{name}' is a password-protected workbook; remove the password in Excel "
                "(File > Info > Protect Workbook > Encrypt with Password, clear it, save) "
                "and try again.",
                "encrypted",
            )
        tail = buf[-64:]
    if found & {"Workbook", "Book"}:
        raise FileProblem(
            f"'{name}' is a legacy Excel 97-2003 (.xls) workbook; open it in Excel and save it "
            "as .xlsx (Excel Workbook) before using omplan.",
            "legacy-xls",
        )
    raise FileProblem(
        f"'{name}' is an old-style Office binary (OLE) file, not an .xlsx workbook; if it is "
        "a spreadsheet, open it in Excel and save it as .xlsx.",
        "legacy-xls",
    )


def _raise_not_zip(p: Path, name: str, head: bytes) -> None:
    """Not a zip and not OLE: CSV/text, HTML or XML 2003 spreadsheet, lock file, or junk."""
    suffix = p.suffix.lower()
    if name.startswith("~$"):
        raise FileProblem(
            f"'{name}' is an Excel lock file (Excel creates it while the workbook is open); "
            f"choose the workbook itself, named without the leading '~$'.",
            "not-a-workbook",
        )
    text = _as_text(head)
    if text is not None and suffix not in TEXT_EXTENSIONS:
        lowered = text.lstrip("\ufeff \t\r\n").lower()
        if lowered.startswith("<"):
            if "urn:schemas-microsoft-com:office:spreadsheet" in lowered:
                raise FileProblem(
                    f"'{name}' is an Excel 2003 XML spreadsheet, not an .xlsx workbook; open it "
                    "in Excel and save it as .xlsx (Excel Workbook).",
                    "legacy-xls",
                )
            if "<html" in lowered or "<table" in lowered:
                raise FileProblem(
                    f"'{name}' is a web page (HTML) rather than an .xlsx workbook; open it in "
                    "Excel and save it as .xlsx (Excel Workbook).",
                    "legacy-xls",
                )
            raise FileProblem(
                f"'{name}' is an XML or HTML text file, not an .xlsx workbook; omplan reads "
                ".xlsx/.xlsm workbooks saved from Excel.",
                "not-a-spreadsheet",
            )
    if suffix in TEXT_EXTENSIONS or text is not None:
        raise FileProblem(
            f"'{name}' is a CSV/text file; omplan reads .xlsx/.xlsm workbooks, so open the CSV "
            "in Excel and save it as .xlsx.",
            "csv",
        )
    if suffix in {".xls", ".xlt", ".xla"}:
        raise FileProblem(
            f"'{name}' has a legacy .xls name but is not a file Excel format omplan can "
            "recognise; open it in Excel and save it as .xlsx (Excel Workbook).",
            "legacy-xls",
        )
    raise FileProblem(
        f"'{name}' is not an Excel workbook (its content is neither .xlsx nor text); choose "
        "the .xlsx or .xlsm plan workbook.",
        "not-a-spreadsheet",
    )


def _as_text(sample: bytes) -> str | None:
    """Decode ``sample`` if it looks like plain text (UTF-8/16 or a Windows code page)."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = sample[: len(sample) // 2 * 2].decode("utf-16")
        except UnicodeDecodeError:
            return None
    else:
        if b"\x00" in sample:
            return None
        try:
            text = sample.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 3:  # a multi-byte character cut by the sample
                text = sample[: exc.start].decode("utf-8-sig")
            else:
                try:
                    text = sample.decode("cp1252")
                except UnicodeDecodeError:
                    return None
    if not text:
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f\v")
    return text if controls <= len(text) // 100 else None


# --------------------------------------------------------------------------- zip package


def _scan_zip(p: Path, name: str, size: int, wanted: frozenset[str] | None) -> WorkbookScan:
    try:
        zf = zipfile.ZipFile(p)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        ValueError,
        OSError,
        NotImplementedError,
    ) as exc:
        raise damaged(name, f"the zip archive cannot be opened: {why(exc)}") from exc
    with zf, p.open("rb") as raw:
        infos = zf.infolist()
        _check_identity(name, infos)
        _check_layout(name, infos, size)
        first = [i for i in infos if i.filename in (CONTENT_TYPES, WORKBOOK_PART, WORKBOOK_RELS)]
        _check_declared(name, first)
        return _scan_parts(zf, raw, name, infos, wanted)


def _check_identity(name: str, infos: list[zipfile.ZipInfo]) -> None:
    """Names only (nothing inflated): is this an Excel package at all?"""
    if len(infos) > MAX_MEMBERS:
        raise bomb(name, f"{len(infos):,} parts, more than the limit of {MAX_MEMBERS:,}")
    names = [i.filename for i in infos]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise damaged(name, f"the part {n} appears twice")
        seen.add(n)
    if CONTENT_TYPES in seen and WORKBOOK_PART in seen:
        return
    if "xl/workbook.bin" in seen:
        what = "a binary .xlsb workbook; open it in Excel and save it as .xlsx (Excel Workbook)"
    elif "word/document.xml" in seen:
        what = "a Word document, not an Excel workbook; choose the .xlsx plan workbook"
    elif "ppt/presentation.xml" in seen:
        what = "a PowerPoint file, not an Excel workbook; choose the .xlsx plan workbook"
    elif "mimetype" in seen and "content.xml" in seen:
        what = (
            "an OpenDocument file (such as .ods), not an .xlsx workbook; save it as .xlsx "
            "from Excel or LibreOffice"
        )
    else:
        what = (
            "a zip archive but not an Excel workbook (it has no xl/workbook.xml or "
            "[Content_Types].xml); choose the .xlsx or .xlsm plan workbook"
        )
    raise FileProblem(f"'{name}' is {what}.", "not-a-workbook")


def _check_layout(name: str, infos: list[zipfile.ZipInfo], archive_size: int) -> None:
    """Encryption flags, bounds and overlaps of every member, before inflating anything."""
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileProblem(
                f"'{name}' contains encrypted zip entries, which Excel never writes; open it "
                "in Excel and save an unprotected copy as .xlsx.",
                "encrypted",
            )
        if info.header_offset < 0 or info.header_offset + info.compress_size > archive_size:
            raise damaged(name, f"part {info.filename} extends past the end of the file")
    # Overlapping entries (several names sharing one compressed stream) only occur in bombs.
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for cur, nxt in zip(ordered, ordered[1:], strict=False):
        if cur.header_offset + 30 + cur.compress_size > nxt.header_offset:
            raise bomb(name, f"parts {cur.filename} and {nxt.filename} overlap", or_damaged=True)


def _check_declared(name: str, infos: list[zipfile.ZipInfo]) -> None:
    """Declared sizes and ratios of the parts about to be read, before inflating them."""
    total = 0
    for info in infos:
        if info.file_size > MAX_MEMBER_INFLATED:
            raise bomb(
                name,
                f"part {info.filename} declares {mb(info.file_size)} inflated, more than the "
                f"limit of {mb(MAX_MEMBER_INFLATED)}",
            )
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise bomb(
                name,
                f"part {info.filename} has a compression ratio of {ratio:,}:1, more than "
                f"{MAX_RATIO}:1",
            )
        total += info.file_size
    if total > MAX_TOTAL_INFLATED:
        raise bomb(
            name,
            f"the parts it needs declare {mb(total)} inflated, more than the limit of "
            f"{mb(MAX_TOTAL_INFLATED)}",
        )


def _scan_parts(
    zf: zipfile.ZipFile, raw: BinaryIO, name: str, infos: list[zipfile.ZipInfo],
    wanted: frozenset[str] | None,
) -> WorkbookScan:
    by_name = {i.filename: i for i in infos}
    budget = Budget()
    first = [n for n in (CONTENT_TYPES, WORKBOOK_PART, WORKBOOK_RELS) if n in by_name]
    for member in first:
        stream_part(raw, by_name[member], name, budget)
    if WORKBOOK_RELS not in by_name:
        raise damaged(name, f"the part {WORKBOOK_RELS} is missing")

    sheets = _read_sheets(zf, by_name[WORKBOOK_PART], name)
    package = _ScanPackage(by_name, zf, name)
    rels = {rel.rid: rel for rel in package.rels(WORKBOOK_PART)}
    sheet_parts: list[tuple[str, str | None]] = []
    for sheet in sheets:
        if not _wanted_sheet(sheet.name, wanted):
            continue  # never inflated: omplan does not read this sheet
        rel = rels.get(sheet.rid)
        if rel is None:
            raise damaged(name, f"sheet '{sheet.name}' has no matching relationship")
        if rel.external:
            sheet_parts.append((sheet.name, None))
            continue
        part = package.find(rel.target)
        if part is None:
            raise damaged(name, f"the part for sheet '{sheet.name}' ({rel.target}) is missing")
        sheet_parts.append((sheet.name, part))

    wanted_cells = {part for _, part in sheet_parts if part is not None}
    # Parts the reader parses besides its sheets: shared strings and styles.
    parsed = set(wanted_cells)
    shared_strings = None
    for rel in rels.values():
        if not rel.external and rel.type.endswith(_READ_REL_TYPES):
            part = package.find(rel.target)
            if part is not None:
                parsed.add(part)
                if rel.type.endswith("/sharedStrings"):
                    shared_strings = part
    to_read = [i for i in infos if i.filename in parsed and i.filename not in first
               and not i.is_dir()]
    _check_declared(name, [by_name[n] for n in first] + to_read)
    hits: dict[str, PartHits] = {}
    for info in to_read:
        hits[info.filename] = stream_part(
            raw, info, name, budget, want_cells=info.filename in wanted_cells
        )

    special: list[SpecialCell] = []
    truncated = False
    for sheet_name, part in sheet_parts:
        if part is None or truncated:
            continue
        hit = hits.get(part)
        if hit is None or not (hit.formula or hit.error):
            continue  # fast path: no formula and no error cell in this sheet
        for cell in special_cells(zf, by_name[part], sheet_name, name):
            if len(special) >= MAX_SPECIAL_CELLS:
                truncated = True
                break
            special.append(cell)

    return WorkbookScan(
        sheet_names=[s.name for s in sheets],
        special_cells=special,
        has_vba=package.has(VBA_PART),
        special_cells_truncated=truncated,
        sheet_parts={s: p for s, p in sheet_parts if p is not None},
        extents={s: (hits[p].last_row, hits[p].last_col) for s, p in sheet_parts
                 if p is not None and p in hits},
        shared_strings_part=shared_strings,
    )


class _ScanPackage(Package):
    """The zip being scanned, its relationships read by the shared model; a part that is
    missing or does not parse makes the file damaged."""

    def __init__(self, by_name: dict[str, zipfile.ZipInfo], zf: zipfile.ZipFile,
                 name: str) -> None:
        super().__init__(by_name, lambda member: zf.read(by_name[member]))
        self.name = name

    def missing(self, part: str) -> Exception:
        return damaged(self.name, f"the part {part} is missing")

    def unparsable(self, part: str, exc: Exception) -> Exception:
        return damaged(self.name, f"part {part} is not well-formed XML: {why(exc)}")


def _read_sheets(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> list[SheetRef]:
    """The workbook's sheets in order, whatever the namespace prefixes; every element but the
    sheet list is freed as the parse goes."""
    sheets: list[SheetRef] = []
    try:
        with zf.open(info) as fh:
            for _event, elem in etree.iterparse(fh, events=("end",), resolve_entities=False,
                                                no_network=True, load_dtd=False,
                                                huge_tree=True):
                tag = local(elem.tag)
                if tag == "sheet":
                    sheets.append(sheet_ref(elem))
                if tag != "sheets":
                    elem.clear()
    except Exception as exc:  # XMLSyntaxError, zip errors
        raise damaged(name, f"part {info.filename} is not well-formed XML: {why(exc)}") from exc
    return sheets


# --------------------------------------------------------------------------- bounded reading


def read_sheet_sparse(path: str | os.PathLike[str], scan: WorkbookScan, sheet: str,
                      max_col: int, max_row: int) -> SparseSheet:
    """Values of ``sheet`` (screened by ``scan``) up to column ``max_col`` and row
    ``max_row``, streamed row by row: memory follows the cells kept, never the sheet's extent
    (:func:`omplan.input.sparse.read_part_sparse`)."""
    return read_part_sparse(path, scan.sheet_parts[sheet], scan.shared_strings_part, sheet,
                            max_col, max_row)
