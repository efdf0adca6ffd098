"""``omplan run PLAN --writeback``: the report sheets go into the user's own workbook, and
nothing of the user's is lost, duplicated or half-written.

Every workbook is built here by a small factory with the producer under test (openpyxl,
XlsxWriter, xlwings' quickstart.xlsm for a real VBA project, LibreOffice); writeback grafts the
report's parts into the package, so every part of the user's must come back as the same raw zip
record, but the few shared parts that only gain entries. The kill tests SIGKILL real
``python -m omplan`` processes (see writeback_kill_helper.py).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from factories import tiny_plan, with_rows
from openpyxl.workbook.defined_name import DefinedName
from test_report_xlsx import write_text_plan

from omplan.apps.cli import cli, sample_plan_path
from omplan.files import writeback
from omplan.files.book import read_book
from omplan.files.graft import owned_parts
from omplan.files.ownership import OWNER_NAME, owner_mark
from omplan.files.run import run_plan
from omplan.files.writeback import WritebackRefused, check_writable, write_into
from omplan.files.zip_records import new_member, read_zip, write_zip
from omplan.input.opc import rels_name

TINY_REPORT = ["Summary", "Business case", "Baseline", "Ledger", "Checks", "About"]
INPUTS = list(tiny_plan())
HELPER = Path(__file__).with_name("writeback_kill_helper.py")


# --------------------------------------------------------------------------- helpers


def run_cli(*args: Any) -> Any:
    return CliRunner().invoke(cli, ["run", *map(str, args)], catch_exceptions=False)


def write_back(path: Path) -> Any:
    result = run_cli(path, "--writeback")
    assert result.exit_code == 0, result.output
    return result


def sheetnames(path: Path) -> list[str]:
    return openpyxl.load_workbook(path, read_only=True, keep_vba=True).sheetnames


def records(data: bytes) -> dict[str, tuple[bytes, bytes]]:
    """Part -> its raw zip record (local header and compressed bytes; central record without
    its offset)."""
    members, _, _ = read_zip(data)
    return {m.name: (m.local, m.central[:42] + m.central[46:]) for m in members}


def shared_parts(data: bytes) -> set[str]:
    """The parts a writeback may change (by additions): workbook, its rels, content types,
    styles."""
    book = read_book(data)
    styles = {t for _, kind, t, ext in book.rels(book.workbook) if kind.endswith("/styles")}
    return {book.workbook, rels_name(book.workbook), "[Content_Types].xml", *styles}


def omplan_parts(data: bytes) -> set[str]:
    """The parts of the sheets omplan wrote (and what they alone refer to)."""
    book = read_book(data)
    return set(owned_parts(book, list(writeback.package_owned(book).values())))


def assert_parts_kept(before: bytes, after: bytes) -> None:
    """Every part of ``before`` but the shared ones and omplan's own is in ``after`` as the
    same raw zip record, in the same order."""
    skip = shared_parts(before) | omplan_parts(before)
    old, new = records(before), records(after)
    changed = [n for n in old if n not in skip and old[n] != new.get(n)]
    assert changed == [], changed
    assert [n for n in new if n in old and n not in skip] == [n for n in old if n not in skip]
    with zipfile.ZipFile(io.BytesIO(after)) as package:  # what was written reads back
        for name in new:
            if new[name] != old.get(name):
                package.read(name)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_xml(path: Path) -> dict[str, bytes]:
    """Sheet title -> its worksheet XML."""
    book = read_book(path.read_bytes())
    return {s.title: book.read(s.part) for s in book.sheets if s.part}


def png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (24, 16), (200, 40, 40)).save(path)
    return path


def assert_in_place(path: Path, original: bytes, report: list[str] = TINY_REPORT) -> None:
    """Written into ``path``: report sheets added, the user's parts kept, .bak = original."""
    names = sheetnames(path)
    assert all(s in names for s in report), names
    assert path.with_name(path.name + ".bak").read_bytes() == original
    assert_parts_kept(original, path.read_bytes())


# --------------------------------------------------------------------------- producers


def xlsxwriter_plan(path: Path, feature=None, sheets=None, vba: bytes | None = None) -> Path:
    """The tiny plan written by XlsxWriter, a user sheet 'Notes' with numbers in A1:C5, and
    ``feature(workbook, notes)`` added."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    if vba is not None:
        bin_path = path.with_name("vbaProject.bin")
        bin_path.write_bytes(vba)
        wb.add_vba_project(str(bin_path))
    for name, rows in (sheets or tiny_plan()).items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    notes = wb.add_worksheet("Notes")
    for r in range(5):
        notes.write_row(r, 0, [r + 1, (r + 1) * 2, (r + 1) * 3])
    if feature is not None:
        feature(wb, notes)
    wb.close()
    return path


def openpyxl_plan(path: Path, feature=None, sheets=None) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in (sheets or tiny_plan()).items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    notes = wb.create_sheet("Notes")
    for r in range(5):
        notes.append([r + 1, (r + 1) * 2, (r + 1) * 3])
    if feature is not None:
        feature(wb, notes)
    wb.save(path)
    return path


def quickstart_vba() -> bytes:
    import xlwings

    with zipfile.ZipFile(Path(xlwings.__file__).parent / "quickstart.xlsm") as z:
        return z.read("xl/vbaProject.bin")


def quickstart_plan(path: Path) -> Path:
    """xlwings' quickstart.xlsm (a real VBA project, code names) with the plan's sheets added
    by openpyxl (keep_vba), saved as .xlsm."""
    import xlwings

    wb = openpyxl.load_workbook(Path(xlwings.__file__).parent / "quickstart.xlsm",
                                keep_vba=True)
    for name, rows in tiny_plan().items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def add_parts(path: Path, extra: dict[str, bytes | str], root_rels: str = "",
              content_types: str = "", edits: dict[str, tuple[bytes, bytes]] | None = None,
              ) -> Path:
    """Add parts (and package relationships / content types) to a workbook, or edit parts
    (``part: (old, new)``), as another producer would have written them."""
    tmp = path.with_name("parts.tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>", root_rels.encode() + b"</Relationships>")
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", content_types.encode() + b"</Types>")
            if info.filename in (edits or {}):
                data = data.replace(*edits[info.filename])
            zout.writestr(info, data)
        for name, data in extra.items():
            zout.writestr(name, data)
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- ownership


def test_writeback_adds_the_report_and_keeps_the_plan(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    plan.chmod(0o640)
    original = plan.read_bytes()
    result = write_back(plan)

    assert "Report sheets written into" in result.output
    assert sheetnames(plan) == [*INPUTS, "Notes", *TINY_REPORT]
    assert_in_place(plan, original)
    assert stat.S_IMODE(plan.stat().st_mode) == 0o640, "the plan keeps its permissions"
    assert stat.S_IMODE(plan.with_name("plan.xlsx.bak").stat().st_mode) == 0o640
    wb = openpyxl.load_workbook(plan)
    marks = {t: owner_mark(wb[t]) for t in wb.sheetnames}
    assert marks == {**{t: None for t in [*INPUTS, "Notes"]},
                     **{t: (t, t) for t in TINY_REPORT}}
    assert wb["Summary"].defined_names[OWNER_NAME].hidden
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_rerun_replaces_and_never_duplicates(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    lists = []
    for _ in range(3):
        before = plan.read_bytes()
        write_back(plan)
        lists.append(sheetnames(plan))
        assert_parts_kept(before, plan.read_bytes())  # a rerun changes only omplan's parts
    assert lists[0] == lists[1] == lists[2] == [*INPUTS, "Notes", *TINY_REPORT]
    first, last = records(plan.with_name("plan.xlsx.bak").read_bytes()), records(
        plan.read_bytes())
    assert sorted(first) == sorted(last), "old report parts removed, none left behind"


def test_user_sheets_and_tables_named_like_ours_are_never_touched(tmp_path):
    def look_alikes(wb, notes):
        wb.create_sheet("Summary")["A1"] = "my own summary"
        ledger = wb.create_sheet("Ledger")
        for row in (["Item", "Amount"], ["Licences", 1200], ["Travel", 300]):
            ledger.append(row)
        from openpyxl.worksheet.table import Table

        notes.add_table(Table(displayName="Ledger", ref="A1:C5"))  # a user table "Ledger"
        for c, head in enumerate(["One", "Two", "Three"], start=1):
            notes.cell(1, c, head)

    plan = openpyxl_plan(tmp_path / "plan.xlsx", look_alikes)
    original = plan.read_bytes()
    result = write_back(plan)

    out = " ".join(result.output.split())
    assert "its own sheet 'Summary', so the report's 'Summary' sheet is named " \
           "'Summary (omplan)'" in out
    assert "its own sheet 'Ledger', so the report's 'Ledger' sheet is named " \
           "'Ledger (omplan)'" in out
    names = sheetnames(plan)
    assert names == [*INPUTS, "Notes", "Summary", "Ledger", "Summary (omplan)",
                     "Business case", "Baseline", "Ledger (omplan)", "Checks", "About"]
    assert_in_place(plan, original, ["Summary (omplan)", "Ledger (omplan)"])
    wb = openpyxl.load_workbook(plan)
    assert wb["Summary"]["A1"].value == "my own summary"
    assert list(wb["Notes"].tables) == ["Ledger"]
    assert list(wb["Ledger (omplan)"].tables) == ["omplan_Ledger"]
    every = [t.casefold() for ws in wb.worksheets for t in ws.tables]
    assert len(every) == len(set(every)), every
    for _ in range(2):  # stable on rerun, and still says why
        assert "named 'Summary (omplan)'" in " ".join(write_back(plan).output.split())
        assert sheetnames(plan) == names
    assert_parts_kept(original, plan.read_bytes())
    ids = [re.search(rb'\bid="(\d+)"', d).group(1) for n, d in parts(plan).items()
           if n.startswith("xl/tables/")]
    assert len(ids) == len(set(ids)) >= 2, ids  # table ids unique in the workbook


def test_a_report_sheet_renamed_by_the_user_is_still_ours(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    write_back(plan)
    wb = openpyxl.load_workbook(plan)
    wb["Summary"].title = "My summary"  # the user renames it and moves it to the front
    wb.move_sheet("My summary", -wb.sheetnames.index("My summary"))
    wb["My summary"]["A1"] = "stale"
    # ...and keeps a copy of the Baseline sheet (Excel copies the hidden name with it)
    copy = wb.copy_worksheet(wb["Baseline"])
    copy.title = "Baseline (2)"
    mark = wb["Baseline"].defined_names[OWNER_NAME]
    copy.defined_names.add(DefinedName(OWNER_NAME, attr_text=mark.attr_text, hidden=True))
    copy["A1"] = "my annotated copy"
    wb.save(plan)
    before = plan.read_bytes()

    result = write_back(plan)
    names = sheetnames(plan)
    assert names == ["My summary", *INPUTS, "Notes", "Business case", "Baseline", "Ledger",
                     "Checks", "About", "Baseline (2)"], names
    assert "sheet is named" not in result.output  # the user's own title is kept quietly
    wb = openpyxl.load_workbook(plan)
    assert wb["My summary"]["A1"].value != "stale"  # replaced by a fresh report sheet
    assert owner_mark(wb["My summary"]) == ("Summary", "My summary")
    assert wb["Baseline (2)"]["A1"].value == "my annotated copy"
    assert_parts_kept(before, plan.read_bytes())
    write_back(plan)
    assert sheetnames(plan) == names


def test_a_report_sheet_never_takes_an_input_sheet_name(tmp_path):
    """A scenario called 'Costs' must not become a sheet the reader takes for the optional
    Costs input next time."""
    sheets = with_rows(tiny_plan(), "Scenarios", ["Costs", "Ops", "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan = openpyxl_plan(tmp_path / "plan.xlsx", sheets=sheets)
    summary = run_plan(plan).summary()
    write_back(plan)
    assert "Costs (omplan)" in sheetnames(plan) and "Costs" not in sheetnames(plan)
    assert run_plan(plan).summary() == summary


def test_the_sheet_the_user_was_on_stays_active(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    write_back(plan)
    for title in ("Staffing", "Summary"):  # a user sheet; a report sheet (replaced)
        wb = openpyxl.load_workbook(plan)
        wb.active = wb.sheetnames.index(title)
        for ws in wb.worksheets:
            ws.sheet_view.tabSelected = ws.title == title
        wb.save(plan)
        write_back(plan)
        wb = openpyxl.load_workbook(plan)
        assert wb.active.title == title
        assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [title]


# --------------------------------------------------------------------------- refusals


def test_refuses_when_open_in_excel_or_libreoffice(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    original = plan.read_bytes()
    for lock, app in (("~$plan.xlsx", "Excel"), (".~lock.plan.xlsx#", "LibreOffice")):
        (tmp_path / lock).write_bytes(b"owner")
        result = run_cli(plan, "--writeback")
        assert result.exit_code == 2
        assert f"open in {app}" in result.output and "nothing was written" in result.output
        assert plan.read_bytes() == original
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["plan.xlsx", lock])
        (tmp_path / lock).unlink()


def test_lock_files_are_found_beside_the_real_file_of_a_symlinked_plan(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    plan = openpyxl_plan(real_dir / "PLAN.xlsx")
    link = link_dir / "plan-link.xlsx"
    link.symlink_to(plan)
    original = plan.read_bytes()
    for lock, app in (("~$PLAN.xlsx", "Excel"), (".~lock.PLAN.xlsx#", "LibreOffice")):
        (real_dir / lock).write_bytes(b"owner")  # the real file is open, not the link
        with pytest.raises(WritebackRefused, match=f"open in {app}"):
            check_writable(link)
        result = run_cli(link, "--writeback")
        assert result.exit_code == 2 and f"open in {app}" in result.output
        assert plan.read_bytes() == original and link.is_symlink()
        (real_dir / lock).unlink()
    write_back(link)  # closed again: the real file is written, the link stays a link
    assert link.is_symlink() and "Summary" in sheetnames(plan)


def test_refuses_a_read_only_workbook_even_as_root(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    original = plan.read_bytes()
    plan.chmod(0o444)
    try:
        if os.geteuid() == 0:
            assert os.access(plan, os.W_OK), "root may write anything: mode bits must decide"
        with pytest.raises(WritebackRefused, match="read-only"):
            check_writable(plan)
        result = run_cli(plan, "--writeback")
        assert result.exit_code == 2 and "read-only" in result.output
        assert plan.read_bytes() == original
        assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]
    finally:
        plan.chmod(0o644)


def test_a_difference_found_by_the_check_writes_nothing(tmp_path, monkeypatch):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    original = plan.read_bytes()
    real = writeback.graft
    staffing = read_book(original).sheets[INPUTS.index("Staffing")].part

    def corrupting(book, job):  # a bug that changes a user part while grafting
        result = real(book, job)
        members, prefix, comment = read_zip(result.data)
        members = [new_member(m.name, m.content().replace(b"<v>1</v>", b"<v>99</v>"),
                              like=m) if m.name == staffing else m for m in members]
        result.data = write_zip(members, prefix, comment)
        return result

    monkeypatch.setattr(writeback, "graft", corrupting)
    result = run_cli(plan, "--writeback")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"the part {staffing} changed" in message and "left as it was" in message, message
    assert plan.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


def test_a_file_that_does_not_read_back_is_restored(tmp_path, monkeypatch):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    original = plan.read_bytes()
    real = writeback.atomic_write_bytes

    def failing_disk(path, data, like):  # the new workbook comes back truncated
        real(path, data if data == original or path.suffix == ".bak" else data[:-100], like)

    monkeypatch.setattr(writeback, "atomic_write_bytes", failing_disk)
    with pytest.raises(WritebackRefused, match="original was restored"):
        write_into(run_plan(plan), plan)
    assert plan.read_bytes() == original


def test_empty_template_refuses_and_sample_template_writes_back(tmp_path):
    runner = CliRunner()
    empty, sample = tmp_path / "empty.xlsx", tmp_path / "sample.xlsx"
    assert runner.invoke(cli, ["new", str(empty)]).exit_code == 0
    assert runner.invoke(cli, ["new", str(sample), "--sample"]).exit_code == 0
    original = empty.read_bytes()
    assert run_cli(empty, "--writeback").exit_code == 2  # the plan has errors: no figures
    assert empty.read_bytes() == original
    assert not empty.with_name("empty.xlsx.bak").exists()

    original = sample.read_bytes()
    wb = openpyxl.load_workbook(sample)
    # an Excel Table per input sheet: the 11 of a one-year plan, Escalation, FX and Actuals
    assert sum(len(ws.tables) for ws in wb.worksheets) == 14
    assert sum(len(ws.data_validations.dataValidation) for ws in wb.worksheets) > 10
    write_back(sample)
    # every part of the template (tables, drop-downs, ...) is kept byte for byte
    assert_in_place(sample, original, ["Summary", "Business case", "Ledger", "About"])


# --------------------------------------------------------------------------- reading back


def test_formulas_keep_their_saved_values_so_the_plan_still_reads(tmp_path):
    def formulas(wb, notes):  # with saved values, as Excel saves them
        notes.write_formula("D1", "=SUM(A1:C1)", None, 6)
        notes.write_formula("E1", '="a"&"b"', None, "ab")
        staffing = wb.get_worksheet_by_name("Staffing")  # Q2, Q3 of the Ops line
        staffing.write_formula("F2", "=E2", None, 1)
        staffing.write_formula("G2", "=F2*1", None, 1)

    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", formulas)

    summary = run_plan(plan).summary()
    write_back(plan)
    again = run_plan(plan)
    assert again.ok, again.errors
    assert again.summary() == summary
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(plan))
    assert book.get_sheet_by_name("Notes").to_python()[0][3:5] == [6, "ab"]
    assert openpyxl.load_workbook(plan)["Staffing"]["F2"].value == "=E2"


def test_same_json_before_and_after_writeback(tmp_path):
    plan = tmp_path / "sample.xlsx"
    shutil.copyfile(sample_plan_path(), plan)
    assert run_cli(plan, "--json", tmp_path / "before.json").exit_code == 0
    write_back(plan)
    assert run_cli(plan, "--json", tmp_path / "after.json").exit_code == 0
    before = json.loads((tmp_path / "before.json").read_text())
    assert json.loads((tmp_path / "after.json").read_text()) == before


def test_injection_looking_names_stay_text(tmp_path):
    system, scenario, vendor = '=HYPERLINK("http://x")', "+1-1", "@SUM(A1)"
    quoted = 'Billing s="1" s="2" r="A1"'  # looks like the attributes the graft renumbers
    sheets = tiny_plan()
    sheets["Staffing"][1][0] = system
    sheets = with_rows(sheets, "Staffing", ["CRM", "Ops", "Outsource", vendor, 1, 1, 1, 1])
    sheets = with_rows(sheets, "Staffing", [quoted, "Ops", "In-house", "", 1, 1, 1, 1])
    sheets = with_rows(sheets, "Scenarios", [scenario, "Ops", "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan = write_text_plan(sheets, tmp_path / "inject.xlsx")
    wb = openpyxl.load_workbook(plan)  # styles of the user's: the report's are renumbered
    for i, cell in enumerate(wb["Staffing"][1], start=1):
        cell.font = openpyxl.styles.Font(bold=True, size=10 + i)
    wb.save(plan)
    assert run_plan(plan).ok
    write_back(plan)

    wb = openpyxl.load_workbook(plan)
    report = [ws for ws in wb.worksheets if owner_mark(ws) is not None]
    assert scenario in [ws.title for ws in report]
    found = {system: 0, scenario: 0, vendor: 0, quoted: 0}
    for ws in report:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in found:
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    found[cell.value] += 1
    assert all(found.values()), found
    xml = sheet_xml(plan)
    for ws in report:
        assert not re.search(rb"<(\w+:)?f[ >]", xml[ws.title]), ws.title


# --------------------------------------------------------------------------- the corpus


def _sparkline(wb, ws):
    ws.add_sparkline("E1", {"range": "Notes!A1:C1"})


def _textbox(wb, ws):
    ws.insert_textbox("E2", "Read me")


def _button(wb, ws):
    ws.insert_button("E2", {"caption": "Press", "macro": "say_hello"})


def _data_bar_2010(wb, ws):
    ws.conditional_format("A1:A5", {"type": "data_bar", "data_bar_2010": True})


def _shown_comment(wb, ws):
    ws.write_comment("B2", "shown to everybody", {"visible": True})
    ws.write_comment("C3", "hidden until hovered")


def _chart_with_data_table(wb, ws):
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Notes!$B$1:$B$5", "data_labels": {"value": True}})
    chart.set_table({"show_keys": True})
    chart.set_title({"name": "With a data table"})
    ws.insert_chart("F2", chart)


def _properties(wb, ws):
    wb.set_properties({"title": "Budget 2027", "author": "Finance", "company": "Acme",
                       "manager": "CFO", "comments": "kept as written"})
    wb.set_custom_property("Checked by", "Controller")
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def _formulas_and_odd_values(wb, ws):
    ws.write_formula("D1", "=SUM(A1:C1)", None, 6)
    ws.write_formula("E1", '="a"&"b"', None, "ab")
    ws.write_number("A7", 0.1 + 0.2)  # 17 significant digits
    ws.write_string("B7", "")
    ws.write_string("C7", "literal _x000a_ text")
    ws.write_rich_string("D7", " ", wb.add_format({"bold": True}), "bold", " plain")


#: Features the old writeback (which re-saved the package with openpyxl) refused or lost.
FEATURES = {
    "sparklines": _sparkline,
    "text box": _textbox,
    "button": _button,
    "Excel 2010 data bar": _data_bar_2010,
    "shown comments": _shown_comment,
    "chart with a data table": _chart_with_data_table,
    "document properties and page set-up": _properties,
    "formulas with saved values, odd values": _formulas_and_odd_values,
}


@pytest.mark.parametrize("kind", list(FEATURES))
def test_xlsxwriter_features_are_written_into_byte_for_byte(tmp_path, kind):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", FEATURES[kind])
    original = plan.read_bytes()
    result = write_back(plan)
    assert "Report sheets written into" in result.output
    assert_in_place(plan, original)
    first = plan.read_bytes()
    write_back(plan)  # a rerun changes only omplan's parts
    assert_parts_kept(first, plan.read_bytes())
    assert_parts_kept(original, plan.read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx", "plan.xlsx.bak"]


def test_workbook_settings_and_document_properties_stay_the_users(tmp_path):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", _properties)
    add_parts(plan, {}, edits={"xl/workbook.xml": (
        b"<workbookPr", b'<workbookPr filterPrivacy="1" checkCompatibility="1"')})
    original = plan.read_bytes()
    write_back(plan)
    assert_in_place(plan, original)
    after = parts(plan)
    assert after["docProps/app.xml"] == parts(tmp_path / "plan.xlsx.bak")["docProps/app.xml"]
    assert b'filterPrivacy="1" checkCompatibility="1"' in after["xl/workbook.xml"]
    calc = re.compile(rb"<calcPr[^>]*>")
    assert calc.findall(after["xl/workbook.xml"]) == calc.findall(
        parts(tmp_path / "plan.xlsx.bak")["xl/workbook.xml"]), "the calculation settings stay"


def test_printer_settings_parts_are_kept(tmp_path):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx")
    notes = read_book(plan.read_bytes()).sheets[-1].part
    driver = bytes(range(256)) * 4  # a printer driver's DEVMODE, opaque to everybody else
    add_parts(plan, {
        "xl/printerSettings/printerSettings1.bin": driver,
        rels_name(notes): '<Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxml'
        'formats.org/officeDocument/2006/relationships/printerSettings" '
        'Target="../printerSettings/printerSettings1.bin"/></Relationships>'},
        content_types='<Default Extension="bin" ContentType="application/vnd.openxml'
                      'formats-officedocument.spreadsheetml.printerSettings"/>')
    original = plan.read_bytes()
    write_back(plan)
    assert_in_place(plan, original)
    assert parts(plan)["xl/printerSettings/printerSettings1.bin"] == driver


def test_styles_are_appended_and_a_redefined_builtin_format_is_not_used(tmp_path):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx")
    add_parts(plan, {}, edits={"xl/styles.xml": (
        b"<fonts", b'<numFmts count="1"><numFmt numFmtId="0" formatCode="0.000"/></numFmts>'
                   b"<fonts")})
    original = plan.read_bytes()
    old_xfs = _cell_xfs(parts(plan)["xl/styles.xml"])
    write_back(plan)
    assert_in_place(plan, original)
    styles = parts(plan)["xl/styles.xml"]
    assert b'<numFmt numFmtId="0" formatCode="0.000"/>' in styles  # the user's, untouched
    xfs = _cell_xfs(styles)
    assert xfs[:len(old_xfs)] == old_xfs, "the user's cell formats keep their index"
    used = {int(i) for i in re.findall(rb' s="(\d+)"', sheet_xml(plan)["Summary"])}
    assert used and all(i >= len(old_xfs) or xfs[i] == old_xfs[i] for i in used)
    assert "0" not in {xfs[i]["numFmtId"] for i in used}, "never the redefined format 0"
    ids = [int(i) for i in re.findall(rb'numFmtId="(\d+)" formatCode', styles)]
    assert len(ids) == len(set(ids)) and all(i >= 164 for i in ids[1:])


def _cell_xfs(styles: bytes) -> list[dict[str, str]]:
    from lxml import etree

    root = etree.fromstring(styles)
    return [dict(xf.attrib) for xf in root.find("{*}cellXfs")]


def without_styles(data: bytes, keep_relationship: bool = False) -> bytes:
    """``data`` without its styles part, as some producers write packages: the part and its
    content type gone, and the workbook's relationship to it too unless
    ``keep_relationship`` (a package naming a styles part it lacks)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            content = zin.read(info)
            if info.filename == "xl/styles.xml":
                continue
            if info.filename == "[Content_Types].xml":
                content = re.sub(rb'<Override[^>]*PartName="/xl/styles.xml"[^>]*/>', b"", content)
            elif info.filename == "xl/_rels/workbook.xml.rels" and not keep_relationship:
                content = re.sub(rb'<Relationship[^>]*/styles"[^>]*/>', b"", content)
            zout.writestr(info, content)
    return out.getvalue()


def _summary_cells(path: Path) -> list[tuple[Any, ...]]:
    """Every cell of the Summary sheet with its value, number format and boldness, read by
    openpyxl in its default mode (which reads the styles part ``xl/styles.xml`` only)."""
    ws = openpyxl.load_workbook(path)["Summary"]
    return [(c.coordinate, c.value, c.number_format, c.font.b) for row in ws.iter_rows()
            for c in row if c.value is not None]


@pytest.mark.parametrize("dangling", [False, True], ids=["no-styles", "dangling-relationship"])
def test_a_package_without_styles_gets_the_reports_as_xl_styles_xml(tmp_path, dangling):
    """openpyxl reads styles only from xl/styles.xml: a package that has no styles part gets
    the report's under that name (or the name its dangling relationship gives), and every
    report cell reads back with the format it has in a plan that had styles."""
    (tmp_path / "styled").mkdir()
    styled = openpyxl_plan(tmp_path / "styled" / "plan.xlsx")  # the same name: same Summary
    plan = tmp_path / "plan.xlsx"
    plan.write_bytes(without_styles(styled.read_bytes(), keep_relationship=dangling))
    original = plan.read_bytes()
    assert "xl/styles.xml" not in parts(plan)
    write_back(styled)
    write_back(plan)
    assert_in_place(plan, original)
    book = read_book(plan.read_bytes())
    styles = [r.target for r in book.rels(book.workbook) if r.type.endswith("/styles")]
    assert styles == ["xl/styles.xml"]
    assert parts(plan)["xl/styles.xml"]
    cells = _summary_cells(plan)
    assert any(fmt != "General" for _, _, fmt, _ in cells) and any(b for *_, b in cells)
    assert cells == _summary_cells(styled)
    first = plan.read_bytes()
    write_back(plan)  # the rerun merges into the styles part it added
    assert_parts_kept(first, plan.read_bytes())
    assert _summary_cells(plan) == cells


def test_literal_escapes_in_report_text_stay_literal(tmp_path):
    sheets = tiny_plan()
    sheets["Staffing"][1][0] = "ERP_x005F_x000a_core"  # the text ERP_x000a_core, escaped
    plan = openpyxl_plan(tmp_path / "plan.xlsx", sheets=sheets)
    write_back(plan)
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(plan))
    texts = {v for name in ("Baseline", "Ledger") for row in
             book.get_sheet_by_name(name).to_python() for v in row if isinstance(v, str)}
    assert "ERP_x000a_core" in texts
    assert not any("ERP\ncore" in t for t in texts)


def test_a_sheet_whose_used_range_is_the_whole_grid_is_not_walked(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    notes = read_book(plan.read_bytes()).sheets[-1].part
    add_parts(plan, {}, edits={notes: (b'<dimension ref="A1:C5"/>',
                                       b'<dimension ref="A1:XFD1048576"/>')})
    assert b"XFD1048576" in parts(plan)[notes]
    original = plan.read_bytes()
    write_into(run_plan(plan), plan)  # the part is copied, never parsed
    assert_in_place(plan, original)


def _plain(wb, ws):
    ws.write_formula("D1", "=SUM(A1:C1)", None, 6)
    ws.merge_range("A8:C8", "merged note")
    ws.data_validation("A10", {"validate": "list", "source": ["yes", "no"]})
    ws.write_comment("B2", "checked by finance")
    wb.define_name("Amounts", "=Notes!$B$1:$B$5")
    wb.define_name("Notes!LocalTotal", "=Notes!$D$1")


def _xw_chart(wb, ws):
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "Twice", "categories": "=Notes!$A$1:$A$5",
                      "values": "=Notes!$B$1:$B$5"})
    ws.insert_chart("F2", chart)


def _media(path: Path) -> list[bytes]:
    return sorted(d for n, d in parts(path).items() if n.startswith("xl/media/"))


def test_xlsxwriter_plain_workbook_round_trips(tmp_path):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", _plain)
    original = plan.read_bytes()
    write_back(plan)
    assert_in_place(plan, original)
    wb = openpyxl.load_workbook(plan)
    assert wb["Notes"]["D1"].value == "=SUM(A1:C1)"
    assert wb["Notes"].defined_names["LocalTotal"].attr_text == "Notes!$D$1"
    assert wb.defined_names["Amounts"].attr_text == "Notes!$B$1:$B$5"
    assert wb["Notes"]["B2"].comment.text == "checked by finance"


def test_chart_image_and_table_parts_of_the_user_keep_their_names(tmp_path):
    image = png(tmp_path / "dot.png")

    def chart_image_table(wb, ws):
        _xw_chart(wb, ws)
        ws.insert_image("F20", str(image))
        ws.add_table("A10:B12", {"name": "Ledger", "columns": [{"header": "Item"},
                                                             {"header": "Amount"}]})

    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", chart_image_table)
    original = plan.read_bytes()
    media = _media(plan)
    write_back(plan)
    assert_in_place(plan, original)
    assert _media(plan) == media
    every = parts(plan)
    for name in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/tables/table1.xml"):
        assert every[name] == parts(tmp_path / "plan.xlsx.bak")[name]
    wb = openpyxl.load_workbook(plan)
    assert list(wb["Notes"].tables) == ["Ledger"]
    assert list(wb["Ledger"].tables) == ["omplan_Ledger"]


def test_xlsm_keeps_its_vba_project_byte_for_byte(tmp_path):
    plan = quickstart_plan(tmp_path / "plan.xlsm")
    original = plan.read_bytes()
    vba = parts(plan)["xl/vbaProject.bin"]
    assert vba == quickstart_vba()
    for _ in range(2):
        write_back(plan)
    assert_parts_kept(original, plan.read_bytes())
    assert parts(plan)["xl/vbaProject.bin"] == vba
    assert "macroEnabled.main" in parts(plan)["[Content_Types].xml"].decode()
    assert sheetnames(plan)[:2] == ["Sheet1", "_xlwings.conf"]
    wb = openpyxl.load_workbook(plan, keep_vba=True)
    assert wb.code_name == "ThisWorkbook"
    assert [wb[t].sheet_properties.codeName for t in ("Sheet1", "_xlwings.conf")] == [
        "Sheet1", "Sheet2"]
    assert parts(plan.with_name("plan.xlsm.bak"))["xl/vbaProject.bin"] == vba


def test_xlsm_buttons_signed_projects_and_ribbons_are_written_into(tmp_path):
    def button(wb, ws):
        ws.insert_button("E2", {"caption": "Run omplan", "macro": "say_hello"})
        ws.write_comment("A1", "a note beside the button")

    plan = xlsxwriter_plan(tmp_path / "button.xlsm", button, vba=quickstart_vba())
    original = plan.read_bytes()
    write_back(plan)
    assert_in_place(plan, original)
    assert parts(plan)["xl/vbaProject.bin"] == quickstart_vba()

    rels = ('<Relationship Id="rIdUI" Type="http://schemas.microsoft.com/office/2007/'
            'relationships/ui/extensibility" Target="customUI/customUI14.xml"/>')
    ribbon = add_parts(quickstart_plan(tmp_path / "ribbon.xlsm"), {
        "customUI/customUI14.xml": '<customUI xmlns="http://schemas.microsoft.com/office/'
                                   '2009/07/customui"/>'}, root_rels=rels)
    signed = add_parts(quickstart_plan(tmp_path / "signed.xlsm"), {
        "xl/vbaProjectSignature.bin": b"signature",
        "xl/_rels/vbaProject.bin.rels": '<Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'microsoft.com/office/2006/relationships/vbaProjectSignature" '
        'Target="vbaProjectSignature.bin"/></Relationships>'})
    for path in (ribbon, signed):
        original = path.read_bytes()
        assert "Report sheets written into" in write_back(path).output
        assert_in_place(path, original)
        assert not path.with_name(path.stem + ".omplan.xlsx").exists()


def test_parts_of_any_kind_are_carried_over(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    notes = read_book(plan.read_bytes()).sheets[-1].part
    add_parts(plan, {"xl/slicers/slicer1.xml": "<slicers/>", "xl/metadata.xml": "<m/>",
                     "xl/unknown/thing.bin": b"?", "customXml/item1.xml": "<x/>"}, edits={
        notes: (b"</worksheet>", b'<ignoredErrors><ignoredError sqref="A1" '
                b'numberStoredAsText="1"/></ignoredErrors></worksheet>'),
        "xl/workbook.xml": (b"<workbookPr", b'<fileSharing readOnlyRecommended="1"/>'
                                            b"<workbookPr")})
    original = plan.read_bytes()
    write_back(plan)
    assert_in_place(plan, original)
    assert b"<fileSharing" in parts(plan)["xl/workbook.xml"]


def _encrypted(path: Path) -> Path:  # what Excel saves with a password: an OLE2 container
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 2000)
    return path


def _strict(path: Path) -> Path:
    openpyxl_plan(path)
    return add_parts(path, {}, edits={"xl/workbook.xml": (
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        b"http://purl.oclc.org/ooxml/spreadsheetml/main")})


def _unparsable(path: Path) -> Path:
    openpyxl_plan(path)
    return add_parts(path, {}, edits={"xl/_rels/workbook.xml.rels": (b"<Relationships",
                                                                      b"<Relationships <")})


@pytest.mark.parametrize("make", [_encrypted, _strict, _unparsable])
def test_a_package_that_cannot_be_grafted_gets_the_companion_file(tmp_path, make):
    source = openpyxl_plan(tmp_path / "source.xlsx")
    run = run_plan(source)
    plan = make(tmp_path / "plan.xlsx")
    original = plan.read_bytes()
    result = write_into(run, plan)
    assert not result.in_place and result.reason
    assert result.target == tmp_path / "plan.omplan.xlsx"
    assert plan.read_bytes() == original
    assert sheetnames(result.target) == TINY_REPORT

    plan.with_name("plan.omplan.xlsx").unlink()
    command = [sys.executable, "-m", "omplan", "run", str(plan), "--writeback"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # the plan itself cannot be read: a clear input error
        assert done.returncode == 2 and "internal error" not in done.stderr, done.stderr
    assert "openpyxl" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert plan.read_bytes() == original


def test_a_plan_saved_meanwhile_by_another_program_is_not_overwritten(tmp_path, monkeypatch):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    real = writeback.graft

    def excel_saves_meanwhile(book, job):
        plan.write_bytes(b"the user's newer save")
        return real(book, job)

    monkeypatch.setattr(writeback, "graft", excel_saves_meanwhile)
    result = run_cli(plan, "--writeback")
    assert result.exit_code == 2 and "saved by another program" in result.output
    assert plan.read_bytes() == b"the user's newer save"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


# --------------------------------------------------------------------------- crashes


def _classify(plan: Path, original: bytes) -> str:
    """'old' (byte-identical) or 'new' (a complete written-back workbook); fails otherwise."""
    data = plan.read_bytes()
    if data == original:
        outcome = "old"
    else:
        assert sheetnames(plan) == [*INPUTS, "Notes", *TINY_REPORT]
        assert_parts_kept(original, data)
        outcome = "new"
    backup = plan.with_name(plan.name + ".bak")
    if backup.exists():
        assert backup.read_bytes() == original, "a backup is complete or absent"
    others = [p.name for p in plan.parent.iterdir() if p.name not in (plan.name, backup.name)]
    stray = re.escape(f".{plan.name}") + r"(\.bak)?\.\w+\.tmp"  # a temp file being written
    assert all(re.fullmatch(stray, name) for name in others), others
    return outcome


def _fresh_copy(folder: Path, source: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return Path(shutil.copy(source, folder / "plan.xlsx"))


def save_trace(plan: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, str]]:
    """Every ``os.fsync`` and ``os.replace`` of ``omplan run PLAN --writeback``, in order:
    (operation, what it acts on, the plan before the call, after it), the plan being 'old'
    (byte-identical) or 'new' (anything else)."""
    original = plan.read_bytes()
    folder = plan.parent.resolve()
    trace = []

    def state() -> str:
        return "old" if plan.read_bytes() == original else "new"

    def what(path: str) -> str:
        name = Path(path).name
        if Path(path) == folder:
            return "folder"
        for role, kept in (("backup", plan.name + ".bak"), ("plan", plan.name)):
            if name == kept:
                return role
            if re.fullmatch(re.escape(f".{kept}.") + r"\w+\.tmp", name):
                return role + " temp"
        return name

    def traced(operation: str, acts_on: Any) -> Any:
        real = getattr(os, operation)

        def call(*args: Any, **kwargs: Any) -> Any:
            target, before = what(acts_on(*args)), state()
            result = real(*args, **kwargs)
            trace.append((operation, target, before, state()))
            return result

        return call

    monkeypatch.setattr(os, "fsync", traced("fsync", lambda fd: os.readlink(f"/proc/self/fd/{fd}")))
    monkeypatch.setattr(os, "replace", traced("replace", lambda src, dst: os.fspath(dst)))
    try:
        write_back(plan)
    finally:
        monkeypatch.undo()
    return trace


#: The save as the README promises it: the backup made durable, then the new plan, each swapped
#: in by a rename made durable by an fsync of the folder.
SAVE_ORDER = [("fsync", "backup temp"), ("replace", "backup"), ("fsync", "folder"),
              ("fsync", "plan temp"), ("replace", "plan"), ("fsync", "folder")]


def test_the_save_makes_each_file_durable_before_it_is_swapped_in(tmp_path, monkeypatch):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    trace = save_trace(plan, monkeypatch)
    assert [(operation, target) for operation, target, _, _ in trace] == SAVE_ORDER
    # the plan is the old workbook until the rename of the new one, and the new one after it
    assert [(before, after) for _, _, before, after in trace] == [
        ("old", "old")] * 4 + [("old", "new"), ("new", "new")]


def kill_points(trace: list[tuple[str, str, str, str]]) -> dict[tuple[str, int, str], str]:
    """(os function, its n-th call, before or after it) -> the plan at that moment, for every
    moment of a traced save (the points writeback_kill_helper.py kills at)."""
    points, calls = {}, {"fsync": 0, "replace": 0}
    for operation, _, before, after in trace:
        calls[operation] += 1
        points[(operation, calls[operation], "before")] = before
        points[(operation, calls[operation], "after")] = after
    return points


def test_kill_at_every_step_of_the_save_leaves_old_or_new(tmp_path, monkeypatch):
    """SIGKILL the writeback at each moment of its save (before and after each fsync and
    rename a traced save makes), deterministically: every moment is reached, the plan is then
    exactly the old workbook or exactly the new one, as at that moment of the traced save,
    and no file named like the workbook is left over (a hidden ``.plan.xlsx.<random>.tmp``
    may be)."""
    source = openpyxl_plan(tmp_path / "source.xlsx")
    original = source.read_bytes()
    points = kill_points(save_trace(_fresh_copy(tmp_path / "traced", source), monkeypatch))
    assert len(points) == 2 * len(SAVE_ORDER)
    running = {}
    for i, point in enumerate(points):
        plan = _fresh_copy(tmp_path / f"step{i}", source)
        running[point] = (plan, subprocess.Popen(
            [sys.executable, str(HELPER), str(plan), *map(str, point)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for point, (plan, process) in running.items():
        assert process.wait(timeout=300) == -signal.SIGKILL, point  # the moment was reached
        assert _classify(plan, original) == points[point], point
        leftovers = {p.name for p in plan.parent.iterdir()} - {plan.name, plan.name + ".bak"}
        assert all(name.startswith(".") and name.endswith(".tmp") for name in leftovers), (
            point, leftovers)


# --------------------------------------------------------------------------- LibreOffice


def test_libreoffice_saved_workbook_round_trips_and_written_back_ones_open(soffice, tmp_path):
    """LibreOffice as one more producer (it re-saves an XlsxWriter plan), then as the
    application that opens the written-back workbooks and renders them to PDF."""
    from test_libreoffice import convert

    profile = tmp_path / "profile"
    (tmp_path / "made").mkdir()
    made = xlsxwriter_plan(tmp_path / "made" / "libre.xlsx", _plain)
    result = convert(soffice, [made], "xlsx:Calc MS Excel 2007 XML", tmp_path, profile)
    assert result.returncode == 0, result.stdout + result.stderr
    libre = tmp_path / "libre.xlsx"
    original = libre.read_bytes()
    write_back(libre)
    assert_in_place(libre, original)
    first = libre.read_bytes()
    write_back(libre)
    assert_parts_kept(first, libre.read_bytes())

    sample = tmp_path / "sample.xlsx"
    shutil.copyfile(sample_plan_path(), sample)
    macro = quickstart_plan(tmp_path / "macro.xlsm")
    features = [xlsxwriter_plan(tmp_path / f"feature{i}.xlsx", feature)
                for i, feature in enumerate(FEATURES.values())]
    for plan in (sample, macro, *features):
        write_back(plan)
    files = [sample, macro, libre, *features]
    result = convert(soffice, files, "pdf", tmp_path / "pdf", profile)
    assert result.returncode == 0, result.stdout + result.stderr
    for plan in files:
        pdf = tmp_path / "pdf" / f"{plan.stem}.pdf"
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), plan.name


def test_sheets_marked_by_the_excel_button_are_replaced_not_duplicated(tmp_path):
    # The live binding (omplan.excel) marks its sheets with book names omplan_sheet_<n>.
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(plan)
    wb.create_sheet("Summary")["A1"] = "written by the button"
    wb.create_sheet("Mine")["A1"] = "the user's"
    wb.defined_names.add(DefinedName("omplan_sheet_1", attr_text="'Summary'!$A$1"))
    wb.save(plan)
    result = write_into(run_plan(plan), plan)
    assert result.in_place and "Summary" not in result.renamed
    after = openpyxl.load_workbook(plan)
    assert after.sheetnames.count("Summary") == 1 and "Summary (omplan)" not in after.sheetnames
    assert after["Summary"]["A1"].value != "written by the button"
    assert after["Mine"]["A1"].value == "the user's"
    assert "omplan_sheet_1" not in after.defined_names  # no name left pointing at nothing


def test_fast_ledger_rows_are_the_cells_openpyxl_would_write(tmp_path):
    """Writeback renders the rows as XML text with inline strings
    (render_workbook(inline_strings=True)): the same values, types and formats as openpyxl
    writes them cell by cell."""
    from omplan.files.report import report_layout
    from omplan.render.xlsx import render_workbook

    sheets = tiny_plan()
    sheets["Staffing"][1][0] = " R&D <core> =SUM(A1) "
    sheets = with_rows(sheets, "Staffing", ["CRM", "Ops", "Outsource", "@vendor", 1, 1, 1, 1])
    plan = write_text_plan(sheets, tmp_path / "plan.xlsx")
    run = run_plan(plan)
    layout = report_layout(run.evaluation, input_findings=run.findings)
    books = []
    for fast in (False, True):
        buffer = io.BytesIO()
        render_workbook(layout, buffer, fast=fast, inline_strings=True)
        books.append(openpyxl.load_workbook(buffer))
    slow, fast = books
    for ws in slow.worksheets:
        other = fast[ws.title]
        assert (ws.max_row, ws.max_column) == (other.max_row, other.max_column), ws.title
        for row in ws.iter_rows():
            for c in row:
                d = other[c.coordinate]
                assert (c.value, c.data_type, c.number_format, _look(c)) == (
                    d.value, d.data_type, d.number_format, _look(d)), c.coordinate
    texts = [c.value for row in fast["Ledger"].iter_rows() for c in row]
    assert any("R&D <core> =SUM(A1)" in str(t) for t in texts) and "@vendor" in texts


def _look(cell: Any) -> tuple:
    font, fill = cell.font, cell.fill
    return (font.b, font.i, font.sz, font.color.rgb if font.color else None,
            fill.fgColor.rgb if fill.fill_type else None, cell.alignment.horizontal)


def test_a_report_sheet_the_user_hid_stays_hidden(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    write_back(plan)
    wb = openpyxl.load_workbook(plan)
    wb["Checks"].sheet_state = "hidden"
    wb.save(plan)
    before = plan.read_bytes()
    write_back(plan)
    assert_parts_kept(before, plan.read_bytes())
    wb = openpyxl.load_workbook(plan)
    assert wb["Checks"].sheet_state == "hidden" and owner_mark(wb["Checks"]) is not None
    assert sheetnames(plan) == [*INPUTS, "Notes", *TINY_REPORT]


def test_the_projects_own_xlsm_with_its_button_is_written_into(tmp_path):
    source = Path(__file__).resolve().parents[1] / "workbooks" / "omplan.xlsm"
    plan = Path(shutil.copyfile(source, tmp_path / "omplan.xlsm"))
    original = plan.read_bytes()
    write_back(plan)
    first = plan.read_bytes()
    write_back(plan)
    assert_parts_kept(original, plan.read_bytes())
    assert_parts_kept(first, plan.read_bytes())
    assert parts(plan)["xl/vbaProject.bin"] == parts(source)["xl/vbaProject.bin"]
    assert "Summary" in sheetnames(plan)
