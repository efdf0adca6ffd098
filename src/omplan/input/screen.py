"""Inflating one member of a workbook's zip with bounded memory, screening its text on the way.

The safety scan (:mod:`omplan.input.package`) hands each part it needs here: the member is
inflated chunk by chunk, trusting none of its declared sizes (the real output is counted
against the limits and its CRC verified), its text encoding is judged from its first bytes,
DTDs and entity declarations are refused, and a sheet's formulas, cached errors and extent are
noted by patterns, so that no XML parser sees a part that failed.
"""

from __future__ import annotations

import codecs
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from omplan.core.findings import FileProblem

MiB = 1024 * 1024

MAX_TOTAL_INFLATED = 256 * MiB  # declared: all members; actual: all inflated (XML) parts
MAX_MEMBER_INFLATED = 128 * MiB  # any single zip member
MAX_RATIO = 200  # inflated / compressed, checked for members inflating to more than 1 MiB
RATIO_MIN_SIZE = 1 * MiB

CHUNK = 1 * MiB  # bounded read size when inflating
OVERLAP = 1024  # tail kept between chunks so patterns split across a boundary are found
HEAD_SIZE = 4096  # bytes gathered before judging a part's encoding and XML declaration

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




# --------------------------------------------------------------------------- problems


def why(exc: BaseException) -> str:
    """An exception's text squeezed into a clause of the one-sentence messages."""
    text = " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__
    text = text.replace(". ", "; ").rstrip(".")
    return text if len(text) <= 160 else text[:157] + "..."


def damaged(name: str, detail: str) -> FileProblem:
    return FileProblem(
        f"'{name}' is damaged or incomplete ({detail}); copy or download it again, or open it "
        "in Excel and save a fresh .xlsx.",
        "truncated",
    )


def bomb(name: str, detail: str, *, or_damaged: bool = False) -> FileProblem:
    what = "looks like a zip bomb or is damaged" if or_damaged else "looks like a zip bomb"
    return FileProblem(
        f"'{name}' {what} ({detail}), so omplan refused to open it; if it is a genuine plan, "
        "open it in Excel and save a fresh copy as .xlsx.",
        "zip-bomb",
    )


def mb(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"



class Budget:
    """Actual inflated bytes over the whole scan."""

    def __init__(self) -> None:
        self.total = 0


@dataclass
class PartHits:
    formula: bool = False
    error: bool = False
    last_row: int = 0
    last_col: int = 0



def raw_chunks(raw: BinaryIO, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """Inflate one member ourselves, in bounded chunks, trusting none of its declared sizes.

    zipfile silently stops at the declared size, which hides a lying header; here the real
    output is produced so the caller can count it, and the CRC is verified at the end.
    """
    part = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise damaged(name, f"part {part} uses zip compression method {info.compress_type}")
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise damaged(name, f"the local header of part {part} is missing")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    raw.seek(name_len + extra_len, os.SEEK_CUR)
    left = info.compress_size
    crc = 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    while left > 0:
        data = raw.read(min(CHUNK, left))
        if not data:
            raise damaged(name, f"part {part} is cut short")
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
            raise damaged(name, f"part {part} cannot be decompressed: {why(exc)}") from exc
        if inflater.eof:
            break
    if inflater is not None:
        try:
            out = inflater.flush()
        except zlib.error as exc:
            raise damaged(name, f"part {part} cannot be decompressed: {why(exc)}") from exc
        if out:
            crc = zlib.crc32(out, crc)
            yield out
        if not inflater.eof:
            raise damaged(name, f"part {part} is cut short")
    if crc != info.CRC:
        raise damaged(name, f"part {part} fails its CRC check")


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
            raise damaged(self.name, f"part {self.part} is not valid text") from exc

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


def stream_part(
    raw: BinaryIO,
    info: zipfile.ZipInfo,
    name: str,
    budget: Budget,
    *,
    want_cells: bool = False,
) -> PartHits:
    """Inflate one XML part with bounded memory, enforcing limits and the no-DTD rule."""
    hits = PartHits()
    limit = min(info.file_size, MAX_MEMBER_INFLATED)
    count = 0
    tail = b""
    norm = _Normaliser(name, info.filename)
    for chunk in raw_chunks(raw, info, name):
        count += len(chunk)
        budget.total += len(chunk)
        if count > limit:
            raise bomb(
                name,
                f"part {info.filename} inflates beyond its declared size of {mb(info.file_size)}",
                or_damaged=True,
            )
        if budget.total > MAX_TOTAL_INFLATED:
            raise bomb(name, f"the parts inflate to more than {mb(MAX_TOTAL_INFLATED)}")
        if count > RATIO_MIN_SIZE and count > MAX_RATIO * max(info.compress_size, 1):
            raise bomb(name, f"part {info.filename} inflates more than {MAX_RATIO}:1")
        tail = _inspect(tail, norm.feed(chunk), hits, want_cells, name, info.filename)
    _inspect(tail, norm.feed(b"", final=True), hits, want_cells, name, info.filename)
    return hits


def _inspect(
    tail: bytes, data: bytes, hits: PartHits, want_cells: bool, name: str, part: str
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


def _extent(buf: bytes, hits: PartHits) -> None:
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


