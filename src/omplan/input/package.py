"""File-level safety scan of a plan workbook, run before any parser touches it.

``scan_workbook`` classifies the file by its bytes (not its name), refuses anything that is
not a plain .xlsx/.xlsm package (legacy .xls, encrypted, CSV, truncated, zip bombs, XML with
entity declarations), and lists sheet names and the cells a value-only reader would get
wrong: cached Excel errors and formulas that were never calculated (no cached value).

Every problem is raised as ``FileProblem(message, code)`` with one sentence for the user.
Codes: ``file-not-found``, ``file-unreadable``, ``empty-file``, ``legacy-xls``, ``encrypted``,
``csv``, ``not-a-spreadsheet``, ``not-a-workbook``, ``truncated``, ``zip-bomb``,
``xml-entities``, ``xml-encoding``.
"""

from __future__ import annotations

import codecs
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

from defusedxml import ElementTree as SafeET
from lxml import etree

from omplan.core.findings import FileProblem, column_letter
from omplan.input import schema

MiB = 1024 * 1024

MAX_TOTAL_INFLATED = 256 * MiB  # declared: all members; actual: all inflated (XML) parts
MAX_MEMBER_INFLATED = 128 * MiB  # any single zip member
MAX_RATIO = 200  # inflated / compressed, checked for members inflating to more than 1 MiB
RATIO_MIN_SIZE = 1 * MiB
MAX_MEMBERS = 10_000
MAX_SPECIAL_CELLS = 100_000  # listing stops here; WorkbookScan.special_cells_truncated is set

CHUNK = 1 * MiB  # bounded read size when inflating
OVERLAP = 1024  # tail kept between chunks so patterns split across a boundary are found
HEAD_SIZE = 4096  # bytes gathered before judging a part's encoding and XML declaration

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
TEXT_EXTENSIONS = {".csv", ".txt", ".tsv", ".prn"}

CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
VBA_PART = "xl/vbaProject.bin"
_PARSED_REL_TYPES = ("/sharedStrings", "/styles", "/theme", "/worksheet", "/chartsheet",
                     "/dialogsheet", "/xlMacrosheet", "/xlIntlMacrosheet")  # fmt: skip

#: The sheets omplan reads (matched like the reader does: case and spaces ignored), the
#: reader's required and optional sheets. Only these, the shared strings, the styles and the
#: package's workbook parts are ever inflated: anything else in the file (omplan's own Ledger
#: after a writeback, pictures) is left alone.
INPUT_SHEETS = schema.INPUT_SHEETS  # a live view: it follows the input schema
_READ_REL_TYPES = ("/sharedStrings", "/styles")

_DTD_RE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Cell references (r="B7"): their letters and their row numbers, for a sheet's extent.
_REF_COL_RE = re.compile(rb'r="([A-Za-z]{1,3})[0-9]')
_REF_ROW_RE = re.compile(rb'r="[A-Za-z]{0,3}([0-9]{1,7})"')
_FORMULA_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?f[\s/>]")
_ERROR_RE = re.compile(rb"\st\s*=\s*[\"']e[\"']")
_XML_DECL_ENCODING_RE = re.compile(
    rb"^<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE
)
# Codecs in which every ASCII character is its own single byte, so scanning the raw bytes for
# "<!DOCTYPE" is reliable.  Anything else (UTF-7, EBCDIC, ...) is refused.
_ASCII_SAFE_CODECS = {
    "utf-8", "ascii", "latin-1", "shift_jis", "cp932", "euc_jp", "gbk", "gb2312", "gb18030",
    "big5", "cp950", "euc_kr", "cp949", "cp936",
}  # fmt: skip


@dataclass(frozen=True)
class SpecialCell:
    """A cell whose value a cached-value reader cannot trust."""

    sheet: str  # sheet name as in workbook.xml
    ref: str  # e.g. "E7"
    kind: str  # "error" (t="e", cached error) or "no-cached-value" (formula without <v>)
    value: str  # error text such as "#REF!", or the formula text for no-cached-value


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
            f"'{name}' could not be read ({type(exc).__name__}: {_why(exc)}); open it in Excel, "
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
            f"'{name}' could not be read ({_why(exc)}); check the file and try again.",
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


def _why(exc: BaseException) -> str:
    """An exception's text squeezed into a clause of the one-sentence messages."""
    text = " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__
    text = text.replace(". ", "; ").rstrip(".")
    return text if len(text) <= 160 else text[:157] + "..."


def _damaged(name: str, detail: str) -> FileProblem:
    return FileProblem(
        f"'{name}' is damaged or incomplete ({detail}); copy or download it again, or open it "
        "in Excel and save a fresh .xlsx.",
        "truncated",
    )


def _bomb(name: str, detail: str, *, or_damaged: bool = False) -> FileProblem:
    what = "looks like a zip bomb or is damaged" if or_damaged else "looks like a zip bomb"
    return FileProblem(
        f"'{name}' {what} ({detail}), so omplan refused to open it; if it is a genuine plan, "
        "open it in Excel and save a fresh copy as .xlsx.",
        "zip-bomb",
    )


def _mb(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


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
        raise _damaged(name, f"the zip archive cannot be opened: {_why(exc)}") from exc
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
        raise _bomb(name, f"{len(infos):,} parts, more than the limit of {MAX_MEMBERS:,}")
    names = [i.filename for i in infos]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise _damaged(name, f"the part {n} appears twice")
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
            raise _damaged(name, f"part {info.filename} extends past the end of the file")
    # Overlapping entries (several names sharing one compressed stream) only occur in bombs.
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for cur, nxt in zip(ordered, ordered[1:], strict=False):
        if cur.header_offset + 30 + cur.compress_size > nxt.header_offset:
            raise _bomb(name, f"parts {cur.filename} and {nxt.filename} overlap", or_damaged=True)


def _check_declared(name: str, infos: list[zipfile.ZipInfo]) -> None:
    """Declared sizes and ratios of the parts about to be read, before inflating them."""
    total = 0
    for info in infos:
        if info.file_size > MAX_MEMBER_INFLATED:
            raise _bomb(
                name,
                f"part {info.filename} declares {_mb(info.file_size)} inflated, more than the "
                f"limit of {_mb(MAX_MEMBER_INFLATED)}",
            )
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _bomb(
                name,
                f"part {info.filename} has a compression ratio of {ratio:,}:1, more than "
                f"{MAX_RATIO}:1",
            )
        total += info.file_size
    if total > MAX_TOTAL_INFLATED:
        raise _bomb(
            name,
            f"the parts it needs declare {_mb(total)} inflated, more than the limit of "
            f"{_mb(MAX_TOTAL_INFLATED)}",
        )


def _is_xml_part(member: str) -> bool:
    low = member.lower()
    return low.endswith((".xml", ".rels"))


class _Budget:
    """Actual inflated bytes over the whole scan."""

    def __init__(self) -> None:
        self.total = 0


@dataclass
class _PartHits:
    formula: bool = False
    error: bool = False
    last_row: int = 0
    last_col: int = 0


def _scan_parts(
    zf: zipfile.ZipFile, raw: BinaryIO, name: str, infos: list[zipfile.ZipInfo],
    wanted: frozenset[str] | None,
) -> WorkbookScan:
    by_name = {i.filename: i for i in infos}
    budget = _Budget()
    first = [n for n in (CONTENT_TYPES, WORKBOOK_PART, WORKBOOK_RELS) if n in by_name]
    for member in first:
        _stream_part(raw, by_name[member], name, budget)
    if WORKBOOK_RELS not in by_name:
        raise _damaged(name, f"the part {WORKBOOK_RELS} is missing")

    sheets = _read_sheets(zf, by_name[WORKBOOK_PART], name)
    rels = _read_rels(zf, by_name[WORKBOOK_RELS], name)
    lower_names = {n.lower(): n for n in by_name}
    sheet_parts: list[tuple[str, str | None]] = []
    for sheet_name, rid in sheets:
        if not _wanted_sheet(sheet_name, wanted):
            continue  # never inflated: omplan does not read this sheet
        rel = rels.get(rid or "")
        if rel is None:
            raise _damaged(name, f"sheet '{sheet_name}' has no matching relationship")
        target, mode, _type = rel
        if mode.lower() == "external":
            sheet_parts.append((sheet_name, None))
            continue
        part = _resolve_part(target, by_name, lower_names)
        if part is None:
            raise _damaged(name, f"the part for sheet '{sheet_name}' ({target}) is missing")
        sheet_parts.append((sheet_name, part))

    wanted_cells = {part for _, part in sheet_parts if part is not None}
    # Parts the reader parses besides its sheets: shared strings and styles.
    parsed = set(wanted_cells)
    shared_strings = None
    for target, mode, rel_type in rels.values():
        if mode.lower() != "external" and rel_type.endswith(_READ_REL_TYPES):
            part = _resolve_part(target, by_name, lower_names)
            if part is not None:
                parsed.add(part)
                if rel_type.endswith("/sharedStrings"):
                    shared_strings = part
    to_read = [i for i in infos if i.filename in parsed and i.filename not in first
               and not i.is_dir()]
    _check_declared(name, [by_name[n] for n in first] + to_read)
    hits: dict[str, _PartHits] = {}
    for info in to_read:
        hits[info.filename] = _stream_part(
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
        for cell in _special_cells(zf, by_name[part], sheet_name, name):
            if len(special) >= MAX_SPECIAL_CELLS:
                truncated = True
                break
            special.append(cell)

    has_vba = VBA_PART in by_name or VBA_PART.lower() in lower_names
    return WorkbookScan(
        sheet_names=[s for s, _ in sheets],
        special_cells=special,
        has_vba=has_vba,
        special_cells_truncated=truncated,
        sheet_parts={s: p for s, p in sheet_parts if p is not None},
        extents={s: (hits[p].last_row, hits[p].last_col) for s, p in sheet_parts
                 if p is not None and p in hits},
        shared_strings_part=shared_strings,
    )


def _resolve_part(
    target: str, by_name: Mapping[str, object], lower: Mapping[str, str]
) -> str | None:
    """Map a relationship target from xl/workbook.xml to a zip member name."""
    candidates = []
    for t in (target, unquote(target)):
        t = t.replace("\\", "/")
        path = t.lstrip("/") if t.startswith("/") else posixpath.join("xl", t)
        candidates.append(posixpath.normpath(path).lstrip("/"))
    for c in candidates:
        if c in by_name:
            return c
    for c in candidates:
        if c.lower() in lower:
            return lower[c.lower()]
    return None


# --------------------------------------------------------------------------- streaming


def _raw_chunks(raw: BinaryIO, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """Inflate one member ourselves, in bounded chunks, trusting none of its declared sizes.

    zipfile silently stops at the declared size, which hides a lying header; here the real
    output is produced so the caller can count it, and the CRC is verified at the end.
    """
    part = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged(name, f"part {part} uses zip compression method {info.compress_type}")
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise _damaged(name, f"the local header of part {part} is missing")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    raw.seek(name_len + extra_len, os.SEEK_CUR)
    left = info.compress_size
    crc = 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    while left > 0:
        data = raw.read(min(CHUNK, left))
        if not data:
            raise _damaged(name, f"part {part} is cut short")
        left -= len(data)
        if inflater is None:
            crc = zlib.crc32(data, crc)
            yield data
            continue
        try:
            out = inflater.decompress(data, CHUNK)
            while True:
                if out:
                    crc = zlib.crc32(out, crc)
                    yield out
                if not inflater.unconsumed_tail:
                    break
                out = inflater.decompress(inflater.unconsumed_tail, CHUNK)
        except zlib.error as exc:
            raise _damaged(name, f"part {part} cannot be decompressed: {_why(exc)}") from exc
        if inflater.eof:
            break
    if inflater is not None:
        try:
            out = inflater.flush()
        except zlib.error as exc:
            raise _damaged(name, f"part {part} cannot be decompressed: {_why(exc)}") from exc
        if out:
            crc = zlib.crc32(out, crc)
            yield out
        if not inflater.eof:
            raise _damaged(name, f"part {part} is cut short")
    if crc != info.CRC:
        raise _damaged(name, f"part {part} fails its CRC check")


class _Normaliser:
    """Turns an XML part's bytes into an ASCII-compatible byte stream for pattern checks."""

    def __init__(self, name: str, part: str) -> None:
        self.name = name
        self.part = part
        self.decoder: Callable[[bytes, bool], str] | None = None
        self.started = False
        self.head = b""  # the first bytes are held back until the encoding can be judged

    def _refuse(self, what: str) -> FileProblem:
        return FileProblem(
            f"'{self.name}' has the part {self.part} in {what}, which Excel never writes; "
            "open it in Excel and save a fresh copy as .xlsx.",
            "xml-encoding",
        )

    def feed(self, chunk: bytes, final: bool = False) -> bytes:
        """Return the normalised bytes of ``chunk`` (possibly delayed); ``final`` flushes."""
        if not self.started:
            self.head += chunk
            if len(self.head) < HEAD_SIZE and not final:
                return b""
            self.started = True
            chunk, self.head = self.head, b""
            codec = _wide_codec(chunk)
            if codec is None:
                self._check_ascii_start(chunk)
                return chunk
            self.decoder = codecs.getincrementaldecoder(codec)("strict").decode
            text = self._decode(chunk, final)
            self._check_wide_declaration(text)
            return text
        if self.decoder is None:
            return chunk
        return self._decode(chunk, final)

    def _decode(self, chunk: bytes, final: bool) -> bytes:
        assert self.decoder is not None
        try:
            return self.decoder(chunk, final).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise _damaged(self.name, f"part {self.part} is not valid text") from exc

    def _check_wide_declaration(self, text: bytes) -> None:
        m = _XML_DECL_ENCODING_RE.match(text.removeprefix(codecs.BOM_UTF8))
        if m is None:
            return
        declared = m.group(1).decode("utf-8", "replace")
        if not declared.lower().replace("_", "-").startswith(("utf-16", "utf-32", "utf16")):
            raise self._refuse(f"UTF-16/32 text declaring the encoding '{declared}'")

    def _check_ascii_start(self, chunk: bytes) -> None:
        body = chunk[3:] if chunk.startswith(codecs.BOM_UTF8) else chunk
        stripped = body.lstrip(b" \t\r\n")
        if stripped and not stripped.startswith(b"<"):
            raise self._refuse("an unrecognised text encoding (it does not start with '<')")
        m = _XML_DECL_ENCODING_RE.match(body)
        if m is None:
            return
        declared = m.group(1).decode("ascii", "replace")
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            codec = ""
        ok = (
            codec in _ASCII_SAFE_CODECS
            or codec.startswith(("iso8859-", "cp125"))
            or (codec == "utf-8-sig")
        )
        if not ok:
            raise self._refuse(f"the text encoding '{declared}'")


def _wide_codec(first: bytes) -> str | None:
    """UTF-16/32 detection from the BOM or the first '<' (as libxml2 does)."""
    if first.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if first.startswith(b"<\x00\x00\x00"):
        return "utf-32-le"
    if first.startswith(b"\x00\x00\x00<"):
        return "utf-32-be"
    if first.startswith(b"<\x00"):
        return "utf-16-le"
    if first.startswith(b"\x00<"):
        return "utf-16-be"
    return None


def _stream_part(
    raw: BinaryIO,
    info: zipfile.ZipInfo,
    name: str,
    budget: _Budget,
    *,
    want_cells: bool = False,
) -> _PartHits:
    """Inflate one XML part with bounded memory, enforcing limits and the no-DTD rule."""
    hits = _PartHits()
    limit = min(info.file_size, MAX_MEMBER_INFLATED)
    count = 0
    tail = b""
    norm = _Normaliser(name, info.filename)
    for chunk in _raw_chunks(raw, info, name):
        count += len(chunk)
        budget.total += len(chunk)
        if count > limit:
            raise _bomb(
                name,
                f"part {info.filename} inflates beyond its declared size of {_mb(info.file_size)}",
                or_damaged=True,
            )
        if budget.total > MAX_TOTAL_INFLATED:
            raise _bomb(name, f"the parts inflate to more than {_mb(MAX_TOTAL_INFLATED)}")
        if count > RATIO_MIN_SIZE and count > MAX_RATIO * max(info.compress_size, 1):
            raise _bomb(name, f"part {info.filename} inflates more than {MAX_RATIO}:1")
        tail = _inspect(tail, norm.feed(chunk), hits, want_cells, name, info.filename)
    _inspect(tail, norm.feed(b"", final=True), hits, want_cells, name, info.filename)
    return hits


def _inspect(
    tail: bytes, data: bytes, hits: _PartHits, want_cells: bool, name: str, part: str
) -> bytes:
    """Pattern checks on ``tail + data``; returns the new overlap tail."""
    if not data:
        return tail
    buf = tail + data
    if b"<!" in buf:  # cheap pre-check before the regex
        _check_dtd(buf, name, part)
    if want_cells:
        if not hits.formula and (b"<f" in buf or b":f" in buf) and _FORMULA_RE.search(buf):
            hits.formula = True
        if not hits.error and (b'"e"' in buf or b"'e'" in buf) and _ERROR_RE.search(buf):
            hits.error = True
        _extent(buf, hits)
    return buf[-OVERLAP:]


def _extent(buf: bytes, hits: _PartHits) -> None:
    """Raise ``hits``' last row / column to the cell references found in ``buf``."""
    letters = _REF_COL_RE.findall(buf)
    if letters:
        longest = max(map(len, letters))
        top = max(c.upper() for c in letters if len(c) == longest)
        col = 0
        for ch in top:
            col = col * 26 + ch - 64
        hits.last_col = max(hits.last_col, col)
    rows = _REF_ROW_RE.findall(buf)
    if rows:
        longest = max(map(len, rows))
        hits.last_row = max(hits.last_row, int(max(r for r in rows if len(r) == longest)))


def _check_dtd(buf: bytes, name: str, part: str) -> None:
    if _DTD_RE.search(buf):
        raise FileProblem(
            f"'{name}' contains XML entity declarations (<!DOCTYPE/<!ENTITY) in {part}, which "
            "Excel never writes, so omplan refused to read it; open it in Excel and save a "
            "fresh copy as .xlsx.",
            "xml-entities",
        )


# --------------------------------------------------------------------------- small XML parts


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _safe_iter(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Iterator[object]:
    """defusedxml iterparse of an already-screened small part, yielding ended elements."""
    try:
        with zf.open(info) as fh:
            for _event, elem in SafeET.iterparse(fh, events=("end",), forbid_dtd=True):
                yield elem
    except FileProblem:
        raise
    except Exception as exc:  # ParseError, DTDForbidden, zip errors
        raise _damaged(name, f"part {info.filename} is not well-formed XML: {_why(exc)}") from exc


def _read_sheets(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
) -> list[tuple[str, str | None]]:
    """(sheet name, relationship id) in workbook order, whatever the namespace prefixes."""
    sheets: list[tuple[str, str | None]] = []
    for elem in _safe_iter(zf, info, name):
        tag = _local(elem.tag)  # type: ignore[attr-defined]
        if tag == "sheet":
            rid = None
            sheet_name = ""
            for key, value in elem.attrib.items():  # type: ignore[attr-defined]
                if key == "name":
                    sheet_name = value
                elif key.startswith("{") and _local(key) == "id":
                    rid = value
            sheets.append((sheet_name, rid))
        if tag != "sheets":
            elem.clear()  # type: ignore[attr-defined]
    return sheets


def _read_rels(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
) -> dict[str, tuple[str, str, str]]:
    """Relationship Id -> (Target, TargetMode, Type)."""
    rels: dict[str, tuple[str, str, str]] = {}
    for elem in _safe_iter(zf, info, name):
        if _local(elem.tag) == "Relationship":  # type: ignore[attr-defined]
            get = elem.get  # type: ignore[attr-defined]
            rels[get("Id", "")] = (get("Target", ""), get("TargetMode", "") or "", get("Type", ""))
            elem.clear()  # type: ignore[attr-defined]
    return rels


# --------------------------------------------------------------------------- special cells


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
                if _local(elem.tag) == "row":
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
        raise _damaged(
            name, f"sheet '{sheet}' ({info.filename}) cannot be parsed: {_why(exc)}"
        ) from exc


def _special_cells(
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
            if _local(c.tag) != "c":
                continue
            ref = c.get("r")
            col = _cell_col(ref) if ref else col + 1
            if id(c) in wanted:
                refs[id(c)] = ref or f"{column_letter(col)}{row}"
    for c in found:
        f = v = None
        for child in c:
            tag = _local(child.tag)
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


def read_sheet_sparse(path: str | os.PathLike[str], scan: WorkbookScan, sheet: str,
                      max_col: int, max_row: int) -> SparseSheet:
    """Values of ``sheet`` (screened by ``scan``) up to column ``max_col`` and row
    ``max_row``, streamed row by row: memory follows the cells kept, never the sheet's extent.

    Texts, numbers (float) and booleans as python-calamine gives them; empty cells are ''.
    """
    name = Path(os.fspath(path)).name
    with zipfile.ZipFile(path) as zf:
        strings = _shared_strings(zf, scan.shared_strings_part, name)
        info = zf.getinfo(scan.sheet_parts[sheet])
        out = SparseSheet([])
        for row, elem in _sheet_rows(zf, info, sheet, name):
            _keep_cells(elem, row, strings, max_col, max_row, out)
    return out


def _keep_cells(row_elem: etree._Element, row: int, strings: list[str], max_col: int,
                max_row: int, out: SparseSheet) -> None:
    col = 0
    kept: dict[int, object] = {}
    for c in row_elem:
        if _local(c.tag) != "c":
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
        tag = _local(child.tag)
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
        if _local(child.tag) == "t" and _local(child.getparent().tag) != "rPh":
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
        raise _damaged(name, f"part {part} cannot be parsed: {_why(exc)}") from exc
    return out
