"""File-level safety scan (omplan.input.package): every bad file is built here, no fixtures."""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omplan.core.findings import FileProblem
from omplan.input import package, screen
from omplan.input.package import SpecialCell, WorkbookScan, scan_workbook

MiB = 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol3;</workbook>
"""


# --------------------------------------------------------------------------- factories


def openpyxl_book(path: Path, sheets: dict[str, dict[str, object]] | None = None) -> Path:
    """A real workbook written by openpyxl; ``sheets`` maps names to {ref: value}."""
    sheets = sheets or {"Settings": {"A1": "Setting", "B1": "Value"}, "Roles": {"A1": "Role"}}
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, cells in sheets.items():
        ws = wb.create_sheet(title)
        for ref, value in cells.items():
            ws[ref] = value
    wb.save(path)
    return path


def xlsxwriter_book(path: Path, formulas: bool = True) -> Path:
    """A real workbook written by XlsxWriter, with cached formula values."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Staffing")
    ws.write_row(0, 0, ["System", "Role", "Q1"])
    ws.write_row(1, 0, ["ERP", "Dev", 2])
    if formulas:
        ws.write_formula("D2", "=C2*2", None, 4)
        ws.write_formula("E2", '="x"&"y"', None, "xy")
    wb.add_worksheet("Costs")
    wb.close()
    return path


def members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def rezip(src: Path, dst: Path, replace: dict[str, bytes] | None = None,
          drop: set[str] | None = None, method: int = zipfile.ZIP_DEFLATED) -> Path:  # fmt: skip
    """Copy the package ``src`` to ``dst`` with some parts replaced, added or dropped."""
    replace = dict(replace or {})
    drop = drop or set()
    with zipfile.ZipFile(dst, "w", method) as out:
        for name, data in members(src):
            if name in drop:
                continue
            out.writestr(name, replace.pop(name, data))
        for name, data in replace.items():
            out.writestr(name, data)
    return dst


@dataclass
class Entry:
    """One member for the hand-written zip: lets a test lie about sizes, CRC and flags."""

    name: str
    data: bytes
    method: int = zipfile.ZIP_DEFLATED
    declared: int | None = None  # uncompressed size written in the headers
    crc: int | None = None
    flags: int = 0


def raw_zip(path: Path, entries: list[Entry], aliases: dict[str, str] | None = None) -> Path:
    """Write a zip by hand; ``aliases`` adds extra central-directory names for a member."""
    body = bytearray()
    central: list[bytes] = []
    records: dict[str, tuple[int, int, int, int, int, int]] = {}
    for e in entries:
        if e.method == zipfile.ZIP_DEFLATED:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = comp.compress(e.data) + comp.flush()
        else:
            payload = e.data
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        size = len(e.data) if e.declared is None else e.declared
        offset = len(body)
        name = e.name.encode()
        body += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, e.flags, e.method, 0, 0,
                            crc, len(payload), size, len(name), 0)  # fmt: skip
        body += name + payload
        records[e.name] = (e.flags, e.method, crc, len(payload), size, offset)
    for alias, target in [(e.name, e.name) for e in entries] + list((aliases or {}).items()):
        flags, method, crc, csize, size, offset = records[target]
        name = alias.encode()
        central.append(
            struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0,
                        crc, csize, size, len(name), 0, 0, 0, 0, 0, offset) + name
        )  # fmt: skip
    cd = b"".join(central)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central),
                       len(cd), len(body), 0)  # fmt: skip
    path.write_bytes(bytes(body) + cd + eocd)
    return path


def sheet_xml(sheet_data: str, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns:{prefix}" if prefix else "xmlns"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {ns}="{MAIN_NS}">'
        f"<{p}sheetData>{sheet_data}</{p}sheetData></{p}worksheet>"
    ).encode()


def expect_problem(path: Path, code: str) -> FileProblem:
    """scan_workbook must raise FileProblem(code) with one sentence naming the file."""
    with pytest.raises(FileProblem) as info:
        scan_workbook(path)
    problem = info.value
    message = str(problem)
    assert problem.code == code, message
    assert path.name in message
    assert message.endswith(".") and ". " not in message, message
    assert problem.as_finding().code == code
    return problem


# --------------------------------------------------------------------------- good workbooks


def test_openpyxl_workbook_passes(tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx")
    scan = scan_workbook(path)
    assert isinstance(scan, WorkbookScan)
    assert scan.sheet_names == ["Settings", "Roles"]
    assert scan.special_cells == []
    assert scan.has_vba is False


def test_xlsxwriter_workbook_with_cached_formulas_is_not_special(tmp_path: Path) -> None:
    scan = scan_workbook(xlsxwriter_book(tmp_path / "plan.xlsx"))
    assert scan.sheet_names == ["Staffing", "Costs"]
    assert scan.special_cells == []


def test_scan_accepts_str_path(tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx")
    assert scan_workbook(str(path)).sheet_names == ["Settings", "Roles"]


def test_openpyxl_formula_has_no_cached_value(tmp_path: Path) -> None:
    path = openpyxl_book(
        tmp_path / "plan.xlsx",
        {"Settings": {"A1": "Setting"}, "Rates": {"A1": "Cost", "C7": "=SUM(1,2)"}},
    )
    scan = scan_workbook(path)
    assert scan.special_cells == [SpecialCell("Rates", "C7", "no-cached-value", "SUM(1,2)")]


def test_xlsxwriter_cached_error_cell(tmp_path: Path) -> None:
    path = tmp_path / "errors.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Rates")
    ws.write_formula("E7", "=#REF!*2", None, "#REF!")
    ws.write_formula("E8", "=1+1", None, 2)
    wb.close()
    scan = scan_workbook(path)
    assert scan.special_cells == [SpecialCell("Rates", "E7", "error", "#REF!")]


def test_special_cells_from_edited_xml(tmp_path: Path) -> None:
    """Shared formulas with a cached value, t="str" empty results and r-less cells."""
    base = openpyxl_book(tmp_path / "base.xlsx", {"Roles": {"A1": 1}, "Costs": {"A1": 1}})
    roles = sheet_xml(
        '<row r="3"><c r="B3"><f t="shared" ref="B3:B4" si="0">A3*2</f><v>2</v></c></row>'
        '<row r="4"><c r="B4"><f t="shared" si="0"/><v>4</v></c>'
        '<c r="C4" t="str"><f>""</f><v></v></c><c r="D4"><f t="shared" si="0"/></c></row>'
        '<row r="5"><c r="A5" t="e"><v>#N/A</v></c></row>'
    )
    # prefixed namespace, no r attributes: refs come from positions
    costs = sheet_xml(
        "<x:row><x:c><x:v>1</x:v></x:c><x:c><x:f>A1+1</x:f></x:c></x:row>"
        '<x:row><x:c t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c></x:row>',
        prefix="x",
    )
    path = rezip(
        base,
        tmp_path / "edited.xlsx",
        {"xl/worksheets/sheet1.xml": roles, "xl/worksheets/sheet2.xml": costs},
    )
    scan = scan_workbook(path)
    assert scan.special_cells == [
        SpecialCell("Roles", "D4", "no-cached-value", ""),
        SpecialCell("Roles", "A5", "error", "#N/A"),
        SpecialCell("Costs", "B1", "no-cached-value", "A1+1"),
        SpecialCell("Costs", "A2", "error", "#DIV/0!"),
    ]


def test_workbook_with_prefixed_namespaces_and_relative_targets(tmp_path: Path) -> None:
    base = xlsxwriter_book(tmp_path / "base.xlsx", formulas=False)
    workbook = (
        f'<?xml version="1.0"?><x:workbook xmlns:x="{MAIN_NS}" xmlns:rel="{REL_NS}"><x:sheets>'
        '<x:sheet name="Costs" sheetId="2" rel:id="rId2"/>'
        '<x:sheet name="Staffing" sheetId="1" rel:id="rId1"/>'
        "</x:sheets></x:workbook>"
    ).encode()
    rels = (
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships">'
        b'<Relationship Id="rId1" Type="ws" Target="/xl/worksheets/sheet1.xml"/>'
        b'<Relationship Id="rId2" Type="ws" Target="./worksheets/../worksheets/sheet2.xml"/>'
        b"</Relationships>"
    )
    sheet1 = sheet_xml('<row r="9"><c r="Z9"><f>NOW()</f></c></row>')
    path = rezip(
        base,
        tmp_path / "prefixed.xlsx",
        {
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": rels,
            "xl/worksheets/sheet1.xml": sheet1,
        },
    )
    scan = scan_workbook(path)
    assert scan.sheet_names == ["Costs", "Staffing"]
    assert scan.special_cells == [SpecialCell("Staffing", "Z9", "no-cached-value", "NOW()")]


def test_has_vba(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    rels = dict(members(base))["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Target="vbaProject.bin" Type="http://schemas.microsoft.com/'
        b'office/2006/relationships/vbaProject"/></Relationships>',
    )
    path = rezip(
        base,
        tmp_path / "macro.xlsm",
        {"xl/vbaProject.bin": OLE_MAGIC + b"\x00\x01VBA", "xl/_rels/workbook.xml.rels": rels},
    )
    scan = scan_workbook(path)
    assert scan.has_vba is True
    assert scan.sheet_names == ["Settings", "Roles"]


def test_sheet_part_with_odd_name_is_still_screened(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    files = dict(members(base))
    rels = files["xl/_rels/workbook.xml.rels"].replace(b"sheet1.xml", b"sheet1.bin")
    path = rezip(
        base,
        tmp_path / "odd.xlsx",
        {"xl/_rels/workbook.xml.rels": rels, "xl/worksheets/sheet1.bin": BILLION_LAUGHS},
        drop={"xl/worksheets/sheet1.xml"},
    )
    expect_problem(path, "xml-entities")


def test_utf16_sheet_is_scanned(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx", {"Roles": {"A1": 1}})
    xml = (
        f'<?xml version="1.0" encoding="UTF-16"?><worksheet xmlns="{MAIN_NS}"><sheetData>'
        '<row r="2"><c r="B2" t="e"><v>#VALUE!</v></c></row></sheetData></worksheet>'
    ).encode("utf-16")
    path = rezip(base, tmp_path / "utf16.xlsx", {"xl/worksheets/sheet1.xml": xml})
    assert scan_workbook(path).special_cells == [SpecialCell("Roles", "B2", "error", "#VALUE!")]


def test_large_sheet_without_formulas_skips_the_row_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Staffing")
    ws.append(["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"])
    for i in range(10_000):
        ws.append([f"SYS{i % 50}", f"Role{i % 7}", "In-house", None, 1.0, 1.5, 2.0, 0.5])
    wb.save(path)

    def no_row_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rows must not be parsed for a sheet without formulas")

    monkeypatch.setattr(package, "special_cells", no_row_parse)
    scan = scan_workbook(path)
    assert scan.sheet_names == ["Staffing"]
    assert scan.special_cells == []


def test_special_cell_listing_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = {f"A{i}": "=1+1" for i in range(1, 11)}
    path = openpyxl_book(tmp_path / "many.xlsx", {"Roles": cells})
    monkeypatch.setattr(package, "MAX_SPECIAL_CELLS", 4)
    scan = scan_workbook(path)
    assert len(scan.special_cells) == 4
    assert scan.special_cells_truncated is True


# --------------------------------------------------------------------------- not a workbook


def test_missing_file(tmp_path: Path) -> None:
    expect_problem(tmp_path / "nope.xlsx", "file-not-found")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "plan.xlsx"
    folder.mkdir()
    expect_problem(folder, "file-not-found")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "plan.xlsx"
    os.mkfifo(pipe)
    expect_problem(pipe, "file-unreadable")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    expect_problem(path, "empty-file")


def test_random_bytes_are_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "random.xlsx"
    path.write_bytes(bytes(range(256)) * 8 + os.urandom(512))
    expect_problem(path, "not-a-spreadsheet")


def test_truncated_workbook(tmp_path: Path) -> None:
    good = openpyxl_book(tmp_path / "good.xlsx").read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(good[: len(good) // 2])
    expect_problem(path, "truncated")


def test_member_with_bad_crc_is_damaged(tmp_path: Path) -> None:
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    for e in entries:
        if e.name == "xl/worksheets/sheet1.xml":
            e.crc = (zlib.crc32(e.data) + 1) & 0xFFFFFFFF
    expect_problem(raw_zip(tmp_path / "crc.xlsx", entries), "truncated")


def test_corrupt_deflate_stream_is_damaged(tmp_path: Path) -> None:
    good = openpyxl_book(tmp_path / "good.xlsx")
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("xl/styles.xml")
    data = bytearray(good.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    data[start : start + 8] = b"\xff" * 8
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(bytes(data))
    expect_problem(path, "truncated")


def test_ole_encrypted_workbook(tmp_path: Path) -> None:
    path = tmp_path / "secret.xlsx"
    path.write_bytes(
        OLE_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(50)
        + "EncryptedPackage".encode("utf-16-le") + os.urandom(2048)
    )  # fmt: skip
    problem = expect_problem(path, "encrypted")
    assert "password" in str(problem)


def test_ole_encrypted_name_across_chunk_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package, "CHUNK", 16)
    path = tmp_path / "secret.xlsx"
    path.write_bytes(OLE_MAGIC + bytes(5) + "EncryptedPackage".encode("utf-16-le") + bytes(9))
    expect_problem(path, "encrypted")


def test_legacy_xls(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(OLE_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1000))
    problem = expect_problem(path, "legacy-xls")
    assert ".xlsx" in str(problem)


def test_other_ole_file(tmp_path: Path) -> None:
    path = tmp_path / "memo.doc"
    path.write_bytes(OLE_MAGIC + bytes(504) + "WordDocument".encode("utf-16-le") + bytes(100))
    expect_problem(path, "legacy-xls")


def test_xls_name_with_junk_content(tmp_path: Path) -> None:
    path = tmp_path / "odd.xls"
    path.write_bytes(b"\x01\x02\x03\x00" * 100)
    expect_problem(path, "legacy-xls")


def test_html_saved_as_xls(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    expect_problem(path, "legacy-xls")


def test_xml_spreadsheet_2003(tmp_path: Path) -> None:
    path = tmp_path / "plan.xml"
    path.write_text(
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>'
    )
    expect_problem(path, "legacy-xls")


@pytest.mark.parametrize("file_name", ["plan.csv", "plan.txt", "plan.xlsx"])
def test_csv(tmp_path: Path, file_name: str) -> None:
    path = tmp_path / file_name
    path.write_text("Role,Level\nDev,L2\nOps é,L1\n", encoding="utf-8")
    problem = expect_problem(path, "csv")
    assert "save it as .xlsx" in str(problem)


def test_utf16_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes("Role\tLevel\r\nDev\tL2\r\n".encode("utf-16"))
    expect_problem(path, "csv")


def test_excel_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "~$plan.xlsx"
    path.write_bytes(b"\x05alice" + bytes(48) + "alice".encode("utf-16-le") + bytes(50))
    expect_problem(path, "not-a-workbook")


def test_docx_like_zip(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    problem = expect_problem(path, "not-a-workbook")
    assert "Word" in str(problem)


def test_plain_zip(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    expect_problem(path, "not-a-workbook")


def test_missing_content_types(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    path = rezip(base, tmp_path / "no-types.xlsx", drop={"[Content_Types].xml"})
    expect_problem(path, "not-a-workbook")


def test_missing_sheet_part(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    path = rezip(base, tmp_path / "lost.xlsx", drop={"xl/worksheets/sheet2.xml"})
    expect_problem(path, "truncated")


def test_encrypted_zip_entries(tmp_path: Path) -> None:
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    entries[-1].flags = 0x1
    expect_problem(raw_zip(tmp_path / "zipcrypto.xlsx", entries), "encrypted")


# --------------------------------------------------------------------------- zip bombs


def _inflated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The members the scan inflates, in order."""
    seen: list[str] = []
    real = screen.raw_chunks

    def spy(raw, info, name):  # type: ignore[no-untyped-def]
        seen.append(info.filename)
        yield from real(raw, info, name)

    monkeypatch.setattr(screen, "raw_chunks", spy)
    return seen


def _high_ratio_xml() -> bytes:
    return b"<worksheet>" + b" " * (8 * MiB) + b"</worksheet>"


def test_real_high_ratio_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    path = rezip(base, tmp_path / "bomb.xlsx", {"xl/worksheets/sheet2.xml": _high_ratio_xml()})
    seen = _inflated(monkeypatch)
    problem = expect_problem(path, "zip-bomb")
    assert "ratio" in str(problem)
    assert "xl/worksheets/sheet2.xml" not in seen  # refused on its declared sizes


def test_parts_omplan_does_not_read_are_never_inflated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a sheet omplan does not read (its own Ledger after a writeback), a stray part and a
    # picture declaring 300 MB: none is inflated, so none can refuse the plan
    sheets = {"Settings": {"A1": "Setting"}, "Ledger": {"A1": "Scenario"}}
    base = openpyxl_book(tmp_path / "base.xlsx", sheets)
    path = rezip(base, tmp_path / "plan.xlsx", {"xl/worksheets/sheet2.xml": _high_ratio_xml(),
                                                "xl/worksheets/sheet3.xml": BILLION_LAUGHS,
                                                "docProps/app.xml": BILLION_LAUGHS})
    entries = [Entry(n, d) for n, d in members(path)]
    entries.append(Entry("xl/media/image1.png", b"\x89PNG" * 1000, declared=300 * 1000 * 1000))
    path = raw_zip(tmp_path / "declared.xlsx", entries)
    seen = _inflated(monkeypatch)
    scan = scan_workbook(path)
    assert scan.sheet_names == ["Settings", "Ledger"]
    assert list(scan.sheet_parts) == ["Settings"]
    assert set(seen) == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                         "xl/styles.xml", "xl/worksheets/sheet1.xml"}
    # every sheet, as before, when asked
    with pytest.raises(FileProblem) as info:
        scan_workbook(path, sheets=None)
    assert info.value.code == "zip-bomb"


def test_huge_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    for e in entries:
        if e.name == "xl/worksheets/sheet1.xml":
            e.declared = 300 * 1000 * 1000
    path = raw_zip(tmp_path / "declared.xlsx", entries)
    seen = _inflated(monkeypatch)
    expect_problem(path, "zip-bomb")
    assert "xl/worksheets/sheet1.xml" not in seen


def test_sheet_extents_and_sheet_names_in_any_case(tmp_path: Path) -> None:
    sheets = {"  staffing ": {"A1": "System", "C5": 1}, "PROFILE": {"ZZ100": 1, "B2": "x"},
              "Notes": {"XFD1048576": 1}}
    scan = scan_workbook(openpyxl_book(tmp_path / "plan.xlsx", sheets))
    assert scan.extents == {"  staffing ": (5, 3), "PROFILE": (100, 702)}


def test_total_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = openpyxl_book(tmp_path / "total.xlsx")
    monkeypatch.setattr(package, "MAX_TOTAL_INFLATED", 2000)
    monkeypatch.setattr(screen, "raw_chunks", _never_inflate)
    expect_problem(path, "zip-bomb")


def test_lying_declared_size_is_caught_while_inflating(tmp_path: Path) -> None:
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    for e in entries:
        if e.name == "xl/worksheets/sheet1.xml":
            e.data = b"<worksheet><sheetData>" + b"<row/>" * (3 * MiB // 6) + b"</sheetData>"
            e.declared = 1000
    problem = expect_problem(raw_zip(tmp_path / "liar.xlsx", entries), "zip-bomb")
    assert "declared size" in str(problem)


def test_actual_total_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx")
    with zipfile.ZipFile(path) as zf:
        declared = sum(i.file_size for i in zf.infolist())
    # declared sizes pass, but the streamed count trips the limit (as if headers had lied)
    monkeypatch.setattr(screen, "MAX_TOTAL_INFLATED", declared)
    monkeypatch.setattr(screen, "CHUNK", 64)
    real = screen.raw_chunks

    def doubled(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for chunk in real(*args, **kwargs):  # type: ignore[arg-type]
            yield chunk[: len(chunk) // 2]
            yield chunk[len(chunk) // 2 :]
            yield b" "

    monkeypatch.setattr(screen, "raw_chunks", doubled)
    expect_problem(path, "zip-bomb")


def test_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = openpyxl_book(tmp_path / "many.xlsx")
    monkeypatch.setattr(package, "MAX_MEMBERS", 5)
    expect_problem(path, "zip-bomb")


def test_overlapping_members(tmp_path: Path) -> None:
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    path = raw_zip(
        tmp_path / "overlap.xlsx", entries, aliases={"xl/worksheets/sheet9.xml": "xl/styles.xml"}
    )
    expect_problem(path, "zip-bomb")


def test_duplicate_member_names(tmp_path: Path) -> None:
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    entries.append(Entry("xl/workbook.xml", b"<workbook/>"))
    expect_problem(raw_zip(tmp_path / "dupe.xlsx", entries), "truncated")


def _never_inflate(*args: object, **kwargs: object) -> None:
    raise AssertionError("declared-size checks must refuse before inflating anything")


# --------------------------------------------------------------------------- XML entities


def test_billion_laughs_in_workbook_xml(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    path = rezip(base, tmp_path / "laughs.xlsx", {"xl/workbook.xml": BILLION_LAUGHS})
    problem = expect_problem(path, "xml-entities")
    assert "xl/workbook.xml" in str(problem)


def test_external_dtd_in_sheet_across_chunk_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    xml = (
        b'<?xml version="1.0"?>'
        b'<!DOCTYPE worksheet SYSTEM "http://attacker.invalid/x.dtd">'
        b'<worksheet xmlns="' + MAIN_NS.encode() + b'"><sheetData/></worksheet>'
    )
    path = rezip(
        base, tmp_path / "xxe.xlsx", {"xl/worksheets/sheet2.xml": xml}, method=zipfile.ZIP_STORED
    )
    assert xml.index(b"<!DOCTYPE") == 21
    monkeypatch.setattr(screen, "CHUNK", 25)  # stored: "<!DOCTYPE" straddles chunks 1 and 2
    expect_problem(path, "xml-entities")


def test_doctype_in_utf16_part(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    xml = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]><a/>').encode(
        "utf-16"
    )
    path = rezip(base, tmp_path / "utf16.xlsx", {"xl/worksheets/sheet1.xml": xml})
    expect_problem(path, "xml-entities")


@pytest.mark.parametrize("chunk", [screen.CHUNK, 8])
def test_utf7_declared_part_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    xml = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-+ACE-DOCTYPE a+AD4-<a/>'
    path = rezip(base, tmp_path / "utf7.xlsx", {"xl/styles.xml": xml}, method=zipfile.ZIP_STORED)
    monkeypatch.setattr(screen, "CHUNK", chunk)  # the declaration may arrive in pieces
    expect_problem(path, "xml-encoding")


def test_utf16_part_declaring_utf7_is_refused(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    xml = '<?xml version="1.0" encoding="UTF-7"?><a/>'.encode("utf-16")
    path = rezip(base, tmp_path / "mixed.xlsx", {"xl/styles.xml": xml})
    expect_problem(path, "xml-encoding")


def test_ebcdic_part_is_refused(tmp_path: Path) -> None:
    base = openpyxl_book(tmp_path / "base.xlsx")
    xml = '<?xml version="1.0" encoding="IBM037"?><a/>'.encode("cp037")
    path = rezip(base, tmp_path / "ebcdic.xlsx", {"xl/styles.xml": xml})
    expect_problem(path, "xml-encoding")


# --------------------------------------------------------------------------- robustness


_GOOD_BYTES: bytes | None = None


def _good_bytes() -> bytes:
    global _GOOD_BYTES
    if _GOOD_BYTES is None:
        with tempfile.TemporaryDirectory() as tmp:
            path = xlsxwriter_book(Path(tmp) / "good.xlsx")
            _GOOD_BYTES = path.read_bytes()
    return _GOOD_BYTES


def _scan_bytes(data: bytes, suffix: str = ".xlsx") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            scan_workbook(path)
        except FileProblem as problem:
            assert path.name in str(problem)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from([".xlsx", ".xls", ".csv", ""]))
def test_arbitrary_bytes_only_raise_file_problem(data: bytes, suffix: str) -> None:
    _scan_bytes(data, suffix)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_workbook_only_raises_file_problem(data: st.DataObject) -> None:
    good = bytearray(_good_bytes())
    cut = data.draw(st.integers(min_value=1, max_value=len(good)))
    flips = data.draw(st.lists(st.integers(min_value=0, max_value=len(good) - 1), max_size=4))
    for i in flips:
        good[i] ^= 0xFF
    _scan_bytes(bytes(good[:cut]))
