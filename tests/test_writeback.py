"""``omplan run PLAN --writeback``: the report sheets go into the user's own workbook, and
nothing of the user's is lost, duplicated or half-written.

Every workbook is built here by a small factory with the producer under test (openpyxl,
XlsxWriter, xlwings' quickstart.xlsm for a real VBA project); each either round-trips
losslessly or is refused with the report written beside it and the original byte-identical.
The kill tests SIGKILL real ``python -m omplan`` processes (see writeback_kill_helper.py).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
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
from omplan.files.run import run_plan
from omplan.files.writeback import (
    OWNER_NAME,
    WritebackRefused,
    check_writable,
    lossy_features,
    owner_mark,
    snapshot,
    write_into,
)

TINY_REPORT = ["Summary", "Baseline", "Ledger", "Checks", "About"]
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


def user_snapshot(path: Path, sheets: list[str] | None = None) -> dict[str, Any]:
    """The writeback's own snapshot of the user's sheets (all sheets without omplan's mark,
    or ``sheets``); report sheets are loaded without their cells, for speed."""
    data = path.read_bytes()
    light = writeback._without_cells(data, writeback._package_owned(data))
    wb = openpyxl.load_workbook(io.BytesIO(light), keep_vba=path.suffix == ".xlsm",
                                rich_text=True)
    keep = [t for t in wb.sheetnames if owner_mark(wb[t]) is None]
    return snapshot(wb, sheets if sheets is not None else keep)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_xml(path: Path) -> dict[str, bytes]:
    """Sheet title -> its worksheet XML."""
    with zipfile.ZipFile(path) as z:
        return {title: z.read(part) for title, part in writeback._sheet_parts(z).items()}


def png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (24, 16), (200, 40, 40)).save(path)
    return path


def assert_in_place(path: Path, original: bytes, before: dict[str, Any],
                    report: list[str] = TINY_REPORT) -> None:
    """Written into ``path``: report sheets added, user's sheets unchanged, .bak = original."""
    names = sheetnames(path)
    assert all(s in names for s in report), names
    assert path.with_name(path.name + ".bak").read_bytes() == original
    assert writeback.differences(before, user_snapshot(path, list(before)[2:])) == []
    assert lossy_features(path) == [], "a written-back workbook must accept the next writeback"


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
    original, before = plan.read_bytes(), user_snapshot(plan)
    result = write_back(plan)

    assert "Report sheets written into" in result.output
    assert sheetnames(plan) == [*INPUTS, "Notes", *TINY_REPORT]
    assert_in_place(plan, original, before)
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
    before = user_snapshot(plan)
    lists = []
    for _ in range(3):
        write_back(plan)
        lists.append(sheetnames(plan))
    assert lists[0] == lists[1] == lists[2] == [*INPUTS, "Notes", *TINY_REPORT]
    assert writeback.differences(before, user_snapshot(plan)) == []


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
    original, before = plan.read_bytes(), user_snapshot(plan)
    result = write_back(plan)

    out = " ".join(result.output.split())
    assert "its own sheet 'Summary', so the report's 'Summary' sheet is named " \
           "'Summary (omplan)'" in out
    assert "its own sheet 'Ledger', so the report's 'Ledger' sheet is named " \
           "'Ledger (omplan)'" in out
    names = sheetnames(plan)
    assert names == [*INPUTS, "Notes", "Summary", "Ledger", "Summary (omplan)", "Baseline",
                     "Ledger (omplan)", "Checks", "About"]
    assert_in_place(plan, original, before, ["Summary (omplan)", "Ledger (omplan)"])
    wb = openpyxl.load_workbook(plan)
    assert wb["Summary"]["A1"].value == "my own summary"
    assert list(wb["Notes"].tables) == ["Ledger"]
    assert list(wb["Ledger (omplan)"].tables) == ["omplan_Ledger"]
    every = [t.casefold() for ws in wb.worksheets for t in ws.tables]
    assert len(every) == len(set(every)), every
    for _ in range(2):  # stable on rerun, and still says why
        assert "named 'Summary (omplan)'" in " ".join(write_back(plan).output.split())
        assert sheetnames(plan) == names
    assert writeback.differences(before, user_snapshot(plan)) == []


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
    before = user_snapshot(plan, [*INPUTS, "Notes", "Baseline (2)"])

    result = write_back(plan)
    names = sheetnames(plan)
    assert names == ["My summary", *INPUTS, "Notes", "Baseline", "Ledger", "Checks", "About",
                     "Baseline (2)"], names
    assert "sheet is named" not in result.output  # the user's own title is kept quietly
    wb = openpyxl.load_workbook(plan)
    assert wb["My summary"]["A1"].value != "stale"  # replaced by a fresh report sheet
    assert owner_mark(wb["My summary"]) == ("Summary", "My summary")
    assert wb["Baseline (2)"]["A1"].value == "my annotated copy"
    assert writeback.differences(before, user_snapshot(plan, list(before)[2:])) == []
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
    real = writeback.workbook_bytes

    def corrupting(wb, *args):  # a bug that changes a user cell while saving
        wb["Staffing"]["E2"] = 99
        return real(wb, *args)

    monkeypatch.setattr(writeback, "workbook_bytes", corrupting)
    result = run_cli(plan, "--writeback")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "Staffing!E2" in message and "left as it was" in message, message
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

    original, before = sample.read_bytes(), user_snapshot(sample)
    sheets = [title for title in before if title not in ("names", "code name")]
    assert sum(len(before[t]["tables"]) for t in sheets) == 11  # an Excel Table per input
    assert sum(len(before[t]["validations"]) for t in sheets) > 10  # drop-downs
    assert lossy_features(sample) == []
    write_back(sample)
    # the snapshot compares every table (name, range) and data validation of the template
    assert_in_place(sample, original, before, ["Summary", "Ledger", "About"])


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
    sheets = tiny_plan()
    sheets["Staffing"][1][0] = system
    sheets = with_rows(sheets, "Staffing", ["CRM", "Ops", "Outsource", vendor, 1, 1, 1, 1])
    sheets = with_rows(sheets, "Scenarios", [scenario, "Ops", "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan = write_text_plan(sheets, tmp_path / "inject.xlsx")
    assert run_plan(plan).ok
    write_back(plan)

    wb = openpyxl.load_workbook(plan)
    report = [ws for ws in wb.worksheets if owner_mark(ws) is not None]
    assert scenario in [ws.title for ws in report]
    found = {system: 0, scenario: 0, vendor: 0}
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


REFUSED = {
    "sparklines": (_sparkline, "sparklines"),
    "text box": (_textbox, "shapes or text boxes"),
    "button": (_button, "form controls"),
    "Excel 2010 data bar": (_data_bar_2010, "Excel 2010 conditional formats"),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_xlsxwriter_features_openpyxl_would_drop_are_refused(tmp_path, kind):
    feature, loss = REFUSED[kind]
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", feature)
    original = plan.read_bytes()
    result = write_back(plan)
    message = " ".join(result.output.split())
    assert "plan.xlsx was not changed: saving it with omplan would lose" in message
    assert loss in message, message
    assert "The report is in" in message and "plan.omplan.xlsx instead" in message
    assert plan.read_bytes() == original
    companion = tmp_path / "plan.omplan.xlsx"
    assert sheetnames(companion) == TINY_REPORT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.omplan.xlsx", "plan.xlsx"]


def _plain(wb, ws):
    ws.write_formula("D1", "=SUM(A1:C1)", None, 6)
    ws.merge_range("A8:C8", "merged note")
    ws.data_validation("A10", {"validate": "list", "source": ["yes", "no"]})
    ws.write_comment("B2", "checked by finance")
    wb.define_name("Amounts", "=Notes!$B$1:$B$5")
    wb.define_name("Notes!LocalTotal", "=Notes!$D$1")


def _data_bar(wb, ws):
    ws.conditional_format("A1:A5", {"type": "data_bar"})


def _xw_chart(wb, ws):
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "Twice", "categories": "=Notes!$A$1:$A$5",
                      "values": "=Notes!$B$1:$B$5"})
    ws.insert_chart("F2", chart)


def _chart_refs(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return sorted(ref.numRef.f for ch in wb["Notes"]._charts for s in ch.series
                  for ref in (s.val, s.cat) if ref is not None and ref.numRef is not None)


def _media(path: Path) -> list[bytes]:
    return sorted(d for n, d in parts(path).items() if n.startswith("xl/media/"))


def test_xlsxwriter_plain_workbook_round_trips(tmp_path):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", _plain)
    original, before = plan.read_bytes(), user_snapshot(plan)
    assert before["names"] == {"Amounts": "Notes!$B$1:$B$5"}
    assert before["Notes"]["merged"] == ["A8:C8"] and before["Notes"]["validations"]
    write_back(plan)
    assert_in_place(plan, original, before)
    wb = openpyxl.load_workbook(plan)
    assert wb["Notes"]["D1"].value == "=SUM(A1:C1)"
    assert wb["Notes"].defined_names["LocalTotal"].attr_text == "Notes!$D$1"
    assert wb["Notes"]["B2"].comment.text == "checked by finance"


def test_xlsxwriter_data_bar_round_trips(tmp_path):
    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", _data_bar)
    original, before = plan.read_bytes(), user_snapshot(plan)
    write_back(plan)
    assert_in_place(plan, original, before)
    assert b"<dataBar>" in sheet_xml(plan)["Notes"].replace(b" ", b"")


def test_xlsxwriter_chart_and_image_round_trip(tmp_path):
    image = png(tmp_path / "dot.png")

    def chart_and_image(wb, ws):
        _xw_chart(wb, ws)
        ws.insert_image("F20", str(image))

    plan = xlsxwriter_plan(tmp_path / "plan.xlsx", chart_and_image)
    original, before = plan.read_bytes(), user_snapshot(plan)
    refs, media = _chart_refs(plan), _media(plan)
    assert refs == ["Notes!$A$1:$A$5", "Notes!$B$1:$B$5"] and len(media) == 1
    write_back(plan)
    assert_in_place(plan, original, before)
    assert _chart_refs(plan) == refs
    assert _media(plan) == media  # the picture byte for byte
    wb = openpyxl.load_workbook(plan)
    assert (len(wb["Notes"]._charts), len(wb["Notes"]._images)) == (1, 1)
    chart_xml = b"".join(d for n, d in parts(plan).items() if n.startswith("xl/charts/chart"))
    assert b"<f>Notes!$B$1:$B$5</f>" in chart_xml.replace(b"c:", b"")


def test_openpyxl_chart_and_image_round_trip(tmp_path):
    from openpyxl.chart import BarChart, Reference
    from openpyxl.drawing.image import Image

    image = png(tmp_path / "dot.png")

    def feature(wb, ws):
        chart = BarChart()
        chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=5))
        chart.set_categories(Reference(ws, min_col=1, min_row=1, max_row=5))
        ws.add_chart(chart, "F2")
        ws.add_image(Image(str(image)), "F20")

    plan = openpyxl_plan(tmp_path / "plan.xlsx", feature)
    original, before = plan.read_bytes(), user_snapshot(plan)
    refs, media = _chart_refs(plan), _media(plan)
    assert len(refs) == 2 and len(media) == 1
    write_back(plan)
    assert_in_place(plan, original, before)
    assert _chart_refs(plan) == refs and _media(plan) == media
    wb = openpyxl.load_workbook(plan)
    assert (len(wb["Notes"]._charts), len(wb["Notes"]._images)) == (1, 1)


def test_xlsm_keeps_its_vba_project_byte_for_byte(tmp_path):
    plan = quickstart_plan(tmp_path / "plan.xlsm")
    before = user_snapshot(plan)
    vba = parts(plan)["xl/vbaProject.bin"]
    assert vba == quickstart_vba() and lossy_features(plan) == []
    for _ in range(2):
        write_back(plan)
    assert parts(plan)["xl/vbaProject.bin"] == vba
    assert "macroEnabled.main" in parts(plan)["[Content_Types].xml"].decode()
    assert sheetnames(plan)[:2] == ["Sheet1", "_xlwings.conf"]
    wb = openpyxl.load_workbook(plan, keep_vba=True)
    assert wb.code_name == "ThisWorkbook"
    assert [wb[t].sheet_properties.codeName for t in ("Sheet1", "_xlwings.conf")] == [
        "Sheet1", "Sheet2"]
    assert writeback.differences(before, user_snapshot(plan, list(before)[2:])) == []
    assert parts(plan.with_name("plan.xlsm.bak"))["xl/vbaProject.bin"] == vba


def test_xlsm_button_survives_and_signed_or_ribbon_projects_are_refused(tmp_path):
    def button(wb, ws):
        ws.insert_button("E2", {"caption": "Run omplan", "macro": "say_hello"})
        ws.write_comment("A1", "a note beside the button")

    plan = xlsxwriter_plan(tmp_path / "button.xlsm", button, vba=quickstart_vba())
    controls = writeback._all_vml_controls(zipfile.ZipFile(plan))
    assert controls == {(b"Button", b"[0]!say_hello"): 1}
    original, before = plan.read_bytes(), user_snapshot(plan)
    assert lossy_features(plan) == []  # openpyxl (keep_vba) keeps VML buttons of an .xlsm
    write_back(plan)
    assert_in_place(plan, original, before)
    assert writeback._all_vml_controls(zipfile.ZipFile(plan)) == controls
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
    for path, loss in ((ribbon, "ribbon customisation"), (signed, "digital signature")):
        original = path.read_bytes()
        message = " ".join(write_back(path).output.split())
        assert "was not changed" in message and loss in message, message
        assert path.read_bytes() == original
        assert sheetnames(path.with_name(path.stem + ".omplan.xlsx")) == TINY_REPORT


def test_parts_openpyxl_would_drop_are_named(tmp_path):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    add_parts(plan, {"xl/slicers/slicer1.xml": "<slicers/>", "xl/metadata.xml": "<m/>",
                     "xl/unknown/thing.bin": b"?"})
    losses = lossy_features(plan)
    assert "slicers" in losses and "the part xl/unknown/thing.bin" in losses
    assert any("dynamic array" in loss for loss in losses)

    other = add_parts(openpyxl_plan(tmp_path / "other.xlsx"), {}, edits={
        "xl/worksheets/sheet6.xml": (b"</worksheet>", b'<ignoredErrors><ignoredError sqref="A1"'
                                     b' numberStoredAsText="1"/></ignoredErrors></worksheet>'),
        "xl/workbook.xml": (b"<workbookPr", b'<fileSharing readOnlyRecommended="1"/>'
                                            b"<workbookPr")})
    assert lossy_features(other) == [
        "dismissed error indicators (the green triangles would come back)",
        "the 'read-only recommended' or password-to-modify setting"]


def test_a_plan_saved_meanwhile_by_another_program_is_not_overwritten(tmp_path, monkeypatch):
    plan = openpyxl_plan(tmp_path / "plan.xlsx")
    real = writeback.workbook_bytes

    def excel_saves_meanwhile(wb, *args):
        plan.write_bytes(b"the user's newer save")
        return real(wb, *args)

    monkeypatch.setattr(writeback, "workbook_bytes", excel_saves_meanwhile)
    result = run_cli(plan, "--writeback")
    assert result.exit_code == 2 and "saved by another program" in result.output
    assert plan.read_bytes() == b"the user's newer save"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


# --------------------------------------------------------------------------- crashes


def _classify(plan: Path, original: bytes, before: dict[str, Any]) -> str:
    """'old' (byte-identical) or 'new' (a complete written-back workbook); fails otherwise."""
    data = plan.read_bytes()
    if data == original:
        outcome = "old"
    else:
        assert sheetnames(plan) == [*INPUTS, "Notes", *TINY_REPORT]
        assert writeback.differences(before, user_snapshot(plan, list(before)[2:])) == []
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


def test_kill_at_every_step_of_the_save_leaves_old_or_new(tmp_path):
    source = openpyxl_plan(tmp_path / "source.xlsx")
    original, before = source.read_bytes(), user_snapshot(source)
    # (operation, n-th call, when) -> expected outcome; see writeback_kill_helper.py
    points = {("fsync", 1, "before"): "old", ("replace", 1, "before"): "old",
              ("replace", 1, "after"): "old", ("fsync", 3, "before"): "old",
              ("replace", 2, "before"): "old", ("replace", 2, "after"): "new",
              ("fsync", 4, "after"): "new"}
    running = {}
    for i, point in enumerate(points):
        plan = _fresh_copy(tmp_path / f"step{i}", source)
        running[point] = (plan, subprocess.Popen(
            [sys.executable, str(HELPER), str(plan), *map(str, point)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for point, (plan, process) in running.items():
        assert process.wait(timeout=120) == -signal.SIGKILL, point
        assert _classify(plan, original, before) == points[point], point


def test_kill_at_random_moments_leaves_old_or_new(tmp_path):
    """SIGKILL ``python -m omplan run COPY --writeback`` after a random delay within a typical
    run, 25 times. A kill may leave a stray ``.plan.xlsx.<random>.tmp`` (the temp file being
    written); never anything named like the workbook."""
    source = openpyxl_plan(tmp_path / "source.xlsx")
    original, before = source.read_bytes(), user_snapshot(source)
    command = [sys.executable, "-m", "omplan", "run"]
    plan = _fresh_copy(tmp_path / "timing", source)
    start = time.perf_counter()
    subprocess.run([*command, str(plan), "--writeback"], check=True, capture_output=True)
    typical = time.perf_counter() - start
    assert _classify(plan, original, before) == "new"

    rng = random.Random(20270401)
    iterations, outcomes, strays = 25, {"old": 0, "new": 0}, 0
    for i in range(iterations):
        plan = _fresh_copy(tmp_path / "kill", source)
        process = subprocess.Popen([*command, str(plan), "--writeback"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(typical * (i + rng.random()) / iterations)  # spread over the whole run
        process.send_signal(signal.SIGKILL)
        process.wait()
        outcomes[_classify(plan, original, before)] += 1
        strays += sum(p.name.endswith(".tmp") for p in plan.parent.iterdir())
    print(f"\nkill test: {iterations} kills over {typical:.2f} s runs: {outcomes}, "
          f"{strays} stray temp files")
    assert sum(outcomes.values()) == iterations


# --------------------------------------------------------------------------- LibreOffice


@pytest.fixture(scope="module")
def soffice() -> str:
    if os.environ.get("OMPLAN_SKIP_LIBREOFFICE"):
        pytest.skip("OMPLAN_SKIP_LIBREOFFICE is set")
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice is not installed ('soffice' is not on PATH)")
    return found


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
    original, before = libre.read_bytes(), user_snapshot(libre)
    assert before["Notes"]["merged"] == ["A8:C8"] and before["Notes"]["validations"]
    assert lossy_features(libre) == []
    write_back(libre)
    assert_in_place(libre, original, before)

    sample = tmp_path / "sample.xlsx"
    shutil.copyfile(sample_plan_path(), sample)
    macro = quickstart_plan(tmp_path / "macro.xlsm")
    for plan in (sample, macro):
        write_back(plan)
    files = [sample, macro, libre]
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
