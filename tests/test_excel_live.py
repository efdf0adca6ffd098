"""The Run button on xlwings' own remote engine: ``run_in_book`` on ``xw.Book(json=payload)``.

The remote engine (xlwings Server / Lite) is xlwings PRO code, free for noncommercial use: the
fixture below sets ``XLWINGS_LICENSE_KEY=noncommercial`` for these tests only. omplan itself
never imports it (see test_import_omplan_does_not_load_xlwings).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from xlwings_payload import (
    OFFICE_SCRIPTS,
    READ_ONLY_ACTIONS,
    apply_actions,
    cell,
    open_book,
    owner_name,
    payload,
    payload_from_workbook,
    sheet_values,
    shift,
    use_remote_engine,
    workbook_rows,
)

import omplan
from omplan.apps.cli import sample_plan_path
from omplan.files.report import report_layout
from omplan.input.reader import OPTIONAL_SHEETS, REQUIRED_SHEETS
from omplan.pipeline import run_plan
from omplan.render.live import _grid, needs_quote, rectangles
from omplan.report.common import LedgerRows

INPUTS = {*REQUIRED_SHEETS, *OPTIONAL_SHEETS}
#: the shipped sample's report: it has actuals, so Plan vs actual follows the Business case
REPORT = ["Summary", "Business case", "Plan vs actual", "Baseline", "Outsource L1-L2",
          "Offshore L3", "Integrated vendor", "Lean 2027", "Ledger", "Checks", "About"]


@pytest.fixture(autouse=True)
def remote_engine(monkeypatch):
    # xlwings' remote engine is PRO code, free for noncommercial use (PolyForm Noncommercial):
    # the key is set for these tests only; nothing omplan runs depends on it
    use_remote_engine(monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


@pytest.fixture(scope="module")
def sample_rows():
    return workbook_rows(sample_plan_path())


@pytest.fixture(scope="module")
def sample_payload():
    return payload_from_workbook(sample_plan_path())


@pytest.fixture(scope="module")
def sample_run():
    return run_plan(sample_plan_path())


def live(book_payload, **kw):
    """Run the binding on a remote book: (result, actions, book after, action targets)."""
    from omplan.excel import run_in_book

    book = open_book(book_payload)
    result = run_in_book(book, **kw)
    actions = book.json()["actions"]
    after, targets = apply_actions(book_payload, actions)
    return result, actions, after, targets


def written(targets):
    return {target for func, target in targets if func not in READ_ONLY_ACTIONS and target}


def names(book):
    return [s["name"] for s in book["sheets"]]


def test_report_sheets_hold_the_engine_figures(sample_payload, sample_run):
    result, actions, after, targets = live(sample_payload)
    assert result.ok, result.message
    assert names(after) == [*sample_payload_names(sample_payload), *REPORT]
    assert result.written == REPORT
    want = sample_run.summary()
    assert result.summary == want  # the same JSON as `omplan run --json`
    # the one warning the sample is meant to give: actual spend on a system it does not plan
    assert [(f.code, f.location) for f in result.findings] == [
        ("actuals-unplanned", "Actuals!B195")]
    assert "'Legacy CRM'" in result.findings[0].message
    by_name = first_rows(after, "Summary")
    for sc in want["scenarios"]:
        r = by_name[sc["name"]]
        assert [cell(after, "Summary", f"{col}{r}") for col in "BCDEF"] == [
            sc["total"], sc["operation"], sc["maintenance"], sc["operation_share"],
            sc["band_status"]]
    base = want["scenarios"][0]
    base_rows = first_rows(after, "Baseline")
    # FY2027-FY2029: twelve quarters (B-M), three fiscal years (N-P), the total (Q)
    assert [cell(after, "Baseline", f"{c}{base_rows['Activity']}") for c in "BMNPQ"] == [
        "FY2027 Q1", "FY2029 Q4", "FY2027", "FY2029", "Total"]
    for activity, amount in base["by_activity"].items():
        assert cell(after, "Baseline", f"Q{base_rows[activity]}") == pytest.approx(amount,
                                                                                  rel=1e-12)
    assert [cell(after, "Baseline", f"{c}{base_rows['Total']}") for c in "BCDEFGHIJKLM"] == [
        q["total"] for q in base["quarters"]]
    assert [cell(after, "Baseline", f"{c}{base_rows['Total']}") for c in "NOP"] == [
        pytest.approx(y["total"], rel=1e-12) for y in base["years"]]


def first_rows(book, sheet):
    """Label in column A -> the first row holding it."""
    out = {}
    for (r, c), v in sorted(sheet_values(book, sheet).items()):
        if c == 1:
            out.setdefault(v, r)
    return out


def sample_payload_names(book):
    return [s["name"] for s in book["sheets"]]


def test_every_cell_of_the_file_report_is_in_the_live_book(sample_payload, sample_run):
    _, _, after, _ = live(sample_payload)
    layout = report_layout(sample_run.evaluation, input_findings=sample_run.findings)
    for sheet in layout.sheets:
        got = sheet_values(after, sheet.name)
        for (r, c), (value, _) in _grid(sheet).items():
            if value is None or value == "":
                continue
            if hasattr(value, "isoformat"):  # the engine sends dates as ISO text
                assert str(got.get((r, c), "")).startswith(value.date().isoformat())
                continue
            assert got.get((r, c)) == value, (sheet.name, r, c)
    ledger = layout.sheet("Ledger").block("ledger")
    values = next(s for s in after["sheets"] if s["name"] == "Ledger")["values"]
    assert isinstance(ledger.rows, LedgerRows)
    assert len(values) == len(ledger.rows) + 1
    for i in (0, 1, len(ledger.rows) // 2, len(ledger.rows) - 1):
        assert [None if v == "" else v for v in values[ledger.first_row - 1 + i]] == list(
            ledger.rows[i])


def test_no_action_writes_to_an_input_sheet(sample_payload):
    _, actions, after, targets = live(sample_payload)
    assert not written(targets) & INPUTS
    for sheet in sample_payload["sheets"]:
        assert next(s for s in after["sheets"] if s["name"] == sheet["name"]) == sheet
    funcs = {a["func"] for a in actions}
    assert {"addSheet", "setValues", "setNumberFormat", "namesAdd"} <= funcs
    assert "sheetDelete" not in funcs  # nothing of omplan's to replace yet


def test_number_formats_and_looks_follow_the_styles(sample_payload):
    _, actions, after, targets = live(sample_payload)
    position = names(after).index("Summary")
    money = [a for a in actions if a["func"] == "setNumberFormat"
             and a["sheet_position"] == position and a["args"] == ['#,##0 "USD"']]
    # the Total column of the scenario rows (B19:B23: a plan of several years lists its
    # discount rate among the plan's facts above, and a plan with actuals has its forecast
    # line under the recommendation: two rows more than a one-year plan) is money
    assert any(a["start_column"] == 1 and a["start_row"] <= 18 and
               a["start_row"] + a["row_count"] >= 23 for a in money)
    bold = [a for a in actions if a["func"] == "setFontProperty" and a["args"][0] == "bold"]
    assert bold
    assert any(a["func"] == "rangeMerge" for a in actions)  # wrapped messages (Checks, ...)
    assert any(a["func"] == "addChart" for a in actions)
    assert any(a["func"] == "freezePaneAtRange" for a in actions)


def test_a_second_run_refreshes_the_same_sheets(sample_payload):
    _, _, first, _ = live(sample_payload)
    result, actions, second, targets = live(first)
    assert result.ok and result.deleted == REPORT
    assert names(second) == names(first)
    marks = [n for n in second["names"] if n["name"].startswith("omplan_sheet_")]
    assert sorted(n["refers_to"] for n in marks) == sorted(f"='{s}'!$A$1" for s in REPORT)
    for sheet in REPORT:
        assert sheet_values(second, sheet) == sheet_values(first, sheet), sheet
    assert not written(targets) & INPUTS


def test_a_user_sheet_with_a_report_name_is_never_written(sample_rows):
    rows = dict(sample_rows)
    rows["Summary"] = [["my own notes"], ["keep me", 42]]
    book = payload(rows, book_name="sample_plan.xlsx")
    result, _, after, targets = live(book)
    assert result.ok
    assert result.renamed == {"Summary": "Summary (omplan)"}
    assert "Summary" not in written(targets)
    assert sheet_values(after, "Summary") == {(1, 1): "my own notes", (2, 1): "keep me",
                                               (2, 2): 42}
    assert cell(after, "Summary (omplan)", "A1").startswith("IT operation vs maintenance")
    # and again: ours is replaced, the user's stays
    result, _, again, targets = live(after)
    assert result.deleted[0] == "Summary (omplan)" and "Summary" not in written(targets)
    assert names(again) == names(after)


def test_a_copy_of_a_report_sheet_stays_the_users(sample_payload):
    _, _, first, _ = live(sample_payload)
    copied = copy.deepcopy(next(s for s in first["sheets"] if s["name"] == "Baseline"))
    copied["name"] = "Baseline (2)"
    first["sheets"].append(copied)
    # Excel gives a copied sheet a sheet-level copy of the book-level names referring to it
    mark = next(n for n in first["names"] if n["refers_to"] == "='Baseline'!$A$1")
    index = len(first["sheets"]) - 1
    first["names"].append(owner_name("Baseline (2)", index, "='Baseline (2)'!$A$1") | {
        "name": mark["name"]})
    result, _, second, targets = live(first)
    assert result.ok and "Baseline (2)" not in result.deleted
    assert "Baseline (2)" not in written(targets)
    assert names(second)[-1] == "Baseline (2)"
    assert sheet_values(second, "Baseline (2)") == sheet_values(first, "Baseline (2)")


def test_writeback_marker_is_recognised(sample_rows):
    rows = dict(sample_rows)
    rows["Summary"] = [["an old report written by omplan run --writeback"]]
    index = list(rows).index("Summary")
    mark = owner_name("Summary", index, '="omplan:Summary:Summary"')
    result, _, after, _ = live(payload(rows, book_name="sample_plan.xlsx", names=[mark]))
    assert result.deleted == ["Summary"] and not result.renamed
    assert cell(after, "Summary", "A1").startswith("IT operation vs maintenance")


def test_an_invalid_plan_only_touches_checks(sample_rows, sample_payload):
    rows = copy.deepcopy(sample_rows)
    rows["Staffing"][2][4] = "x"  # E3: FTE Q1
    bad = payload(rows, book_name="sample_plan.xlsx")
    result, actions, after, targets = live(bad)
    assert not result.ok
    assert names(after) == [*names(bad), "Checks"]
    assert written(targets) == {"Checks"}
    assert result.selected == "Staffing!E3"
    select = [a for a in actions if a["func"] == "rangeSelect"]
    assert len(select) == 1 and (select[0]["start_row"], select[0]["start_column"]) == (2, 4)
    assert names(after)[select[0]["sheet_position"]] == "Staffing"
    checks = sheet_values(after, "Checks")
    assert checks[(2, 2)] == "error" and checks[(2, 4)] == "Staffing!E3"
    assert checks[(2, 5)] == "FTE Q1 must be a number ≥ 0, got 'x'"
    assert any("last good run" in str(v) for v in checks.values())

    # after a good run, an error rewrites Checks only: the figures stay as they were
    _, _, good, _ = live(sample_payload)
    for name in INPUTS & {s["name"] for s in bad["sheets"]}:  # the inputs the plan has
        next(s for s in good["sheets"] if s["name"] == name)["values"] = next(
            s for s in bad["sheets"] if s["name"] == name)["values"]
    result, _, after, targets = live(good)
    assert written(targets) == {"Checks"} and result.deleted == ["Checks"]
    assert names(after) == names(good)
    for sheet in REPORT:
        if sheet != "Checks":
            assert sheet_values(after, sheet) == sheet_values(good, sheet)


def test_a_missing_sheet_shows_checks(sample_rows):
    rows = {k: v for k, v in sample_rows.items() if k != "Rates"}
    result, _, after, targets = live(payload(rows))
    assert not result.ok and result.selected == "Checks"
    assert after["book"]["active_sheet_index"] == names(after).index("Checks")
    assert any("required sheet 'Rates' is missing" in str(v)
               for v in sheet_values(after, "Checks").values())


def test_used_range_away_from_a1(sample_rows, sample_run):
    rows = copy.deepcopy(sample_rows)
    rows["Staffing"] = shift(rows["Staffing"], 2, 1)  # the table starts at B3
    good = payload(rows, book_name="sample_plan.xlsx", used_from={"Staffing": (3, 2)})
    result, _, _, _ = live(good)
    want = sample_run.summary()
    assert result.ok
    for got, exp in zip(result.summary["scenarios"], want["scenarios"], strict=True):
        assert {k: v for k, v in got.items() if k != "findings"} == {
            k: v for k, v in exp.items() if k != "findings"}
    moved = {f["location"] for sc in result.summary["scenarios"] for f in sc["findings"]}
    assert "Staffing!B15" in moved and "Staffing!A13" not in moved  # was A13, now two down
    rows["Staffing"][4][5] = "x"  # was E3, now F5
    result, actions, _, _ = live(payload(rows, used_from={"Staffing": (3, 2)}))
    assert [f.location for f in result.findings if f.severity == "error"] == ["Staffing!F5"]
    assert result.selected == "Staffing!F5"


def test_grids_keep_the_used_ranges_origin_on_a_real_file(tmp_path):
    """xlwings' calamine engine reads a saved file and reports the real used range (C5:…),
    as desktop Excel does: the grid's origin keeps findings on the right cells."""
    import openpyxl
    import xlwings as xw

    from omplan.excel import grids_from_book
    from omplan.input.reader import parse_plan

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staffing"
    for r, row in enumerate([["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"],
                             ["ERP", "Ops", "In-house", None, "x", 1, 1, 1]], start=5):
        for c, value in enumerate(row, start=3):
            ws.cell(r, c, value)
    path = tmp_path / "shifted.xlsx"
    wb.save(path)
    with xw.Book(path, mode="r") as book:
        grids = grids_from_book(book)
    assert (grids["Staffing"].origin_row, grids["Staffing"].origin_col) == (5, 3)
    _, findings = parse_plan(grids)
    assert "Staffing!G6" in {f.location for f in findings if f.code == "not-a-number"}


def test_ledger_is_bounded_in_live_books(sample_payload, sample_run):
    result, _, after, _ = live(sample_payload, ledger_rows=100)
    assert result.ok
    rows = len(sample_run.evaluation.ledger)
    text = " ".join(str(v) for v in sheet_values(after, "Ledger").values())
    assert f"{rows:,} rows" in text and "omplan run" in text
    assert len(next(s for s in after["sheets"] if s["name"] == "Ledger")["values"]) < 10


def test_office_scripts_client_skips_what_it_cannot_do(sample_rows, sample_run):
    result, _, after, targets = live(payload(sample_rows, book_name="sample_plan.xlsx",
                                             client=OFFICE_SCRIPTS))
    assert result.ok and result.summary == sample_run.summary()
    assert {"align", "gridlines"} <= set(result.skipped)
    assert not written(targets) & INPUTS


def test_text_that_excel_would_misread_is_written_as_text(sample_rows):
    rows = copy.deepcopy(sample_rows)
    for row in rows["Staffing"][1:]:
        if row[0] == rows["Staffing"][1][0]:
            row[0] = "=2024"
    result, actions, after, _ = live(payload(rows))
    assert result.ok
    values = [v for a in actions if a["func"] == "setValues" for row in a["values"]
              for v in row]
    assert "'=2024" in values and "=2024" not in values
    assert needs_quote("2024") and needs_quote("1/2") and needs_quote("Mar 3")
    assert needs_quote("TRUE") and needs_quote("#N/A") and needs_quote("'quoted")
    assert not needs_quote("Q1 (Jan–Mar)") and not needs_quote("Offshore L3")


def test_rectangles_cover_cells_exactly():
    cells = {(1, 1), (2, 1), (1, 2), (2, 2), (4, 1), (5, 3)}
    rects = rectangles(cells)
    covered = {(r, c) for r0, c0, r1, c1 in rects for r in range(r0, r1 + 1)
               for c in range(c0, c1 + 1)}
    assert covered == cells and len(rects) == 3


def test_import_omplan_does_not_load_xlwings():
    code = ("import omplan, sys; omplan.run_plan; "
            "assert 'xlwings' not in sys.modules, 'xlwings imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    # without a licence key xlwings loads no PRO code, and omplan.excel asks for none
    code = ("import sys, xlwings; before = set(sys.modules); import omplan.excel; "
            "new = [m for m in set(sys.modules) - before if m.startswith('xlwings.pro')]; "
            "assert not new, new")
    env = {k: v for k, v in os.environ.items()
           if k not in ("XLWINGS_LICENSE_KEY", "XLWINGS_ON_SERVER")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    for module in ("apps/excel/button.py", "apps/excel/functions.py", "render/live.py"):
        source = (Path(omplan.__file__).parent / module).read_text()
        assert not re.search(r"(from|import)\s+xlwings(\.pro|\s+import\s+pro)", source)
