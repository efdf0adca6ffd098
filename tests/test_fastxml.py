"""The fast cell writer (render/fastxml: every sheet's rows as XML, shared or inline strings)
against openpyxl's per-cell writer: the same cells, values, number formats, styles, row heights,
rules, validations, charts and Excel Tables; every digit of every amount; the same bytes on
every run; LibreOffice opens it."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from factories import parse, tiny_plan
from plan_generator import make_plan
from python_calamine import CalamineWorkbook

from omplan.apps.cli import sample_plan_path
from omplan.core.engine import evaluate
from omplan.files.report import report_layout
from omplan.files.run import run_plan
from omplan.render.xlsx import render_workbook
from omplan.report import styles as st
from omplan.report.layout import Block, Ref, SheetLayout, Text, Validation
from omplan.report.plan_report import build_report_layout

ROOT = Path(__file__).resolve().parents[1]

WHEN = datetime(2027, 1, 15, 8, 0, 0)


def _layout(evaluation):
    return build_report_layout(evaluation, generated=WHEN, version="test")


def _render(layout, fast: bool, inline: bool = False) -> bytes:
    buffer = io.BytesIO()
    render_workbook(layout, buffer, fast=fast, inline_strings=inline)
    return buffer.getvalue()


def _generated_evaluation(lines: int = 120, scenarios: int = 3):
    plan, findings = parse(make_plan(lines, scenarios, seed=3))
    assert plan is not None, findings
    evaluation = evaluate(plan)
    assert evaluation.ok
    return evaluation


def _style(cell) -> tuple:
    f, fill, b, a = cell.font, cell.fill, cell.border, cell.alignment
    return (cell.number_format, cell.style,
            (f.name, f.sz, f.b, f.i, f.color.rgb if f.color is not None else None),
            (fill.fill_type, fill.fgColor.rgb if fill.fgColor is not None else None),
            tuple(getattr(getattr(b, side), "style", None)
                  for side in ("top", "bottom", "left", "right")),
            (a.horizontal, a.vertical, a.wrap_text, a.indent))


def _rules(ws) -> list:
    return sorted((str(cf.sqref), r.type, tuple(r.formula), r.dxfId, r.stopIfTrue)
                  for cf in ws.conditional_formatting for r in cf.rules)


def _validations(ws) -> list:
    return sorted((str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.allow_blank, dv.prompt,
                   dv.error, dv.errorTitle, dv.showErrorMessage, dv.showInputMessage)
                  for dv in ws.data_validations.dataValidation)


def _dimensions(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: m.group(1) for n in z.namelist() if n.startswith("xl/worksheets/sheet")
                if (m := re.search(rb'<dimension ref="([^"]+)"', z.read(n)))}


def _assert_same_workbook(fast: bytes, slow: bytes) -> int:
    """Every sheet: cells (value, type, style), merges, widths, row heights, freeze, rules,
    validations, charts, tables; the fast sheets' dimension. Returns the number of cells
    compared."""
    wf = openpyxl.load_workbook(io.BytesIO(fast))
    ws_ = openpyxl.load_workbook(io.BytesIO(slow))
    assert wf.sheetnames == ws_.sheetnames
    dimensions = _dimensions(fast)
    assert len(dimensions) == len(wf.sheetnames)
    compared = 0
    for number, name in enumerate(wf.sheetnames, start=1):
        a, b = wf[name], ws_[name]
        assert (a.max_row, a.max_column) == (b.max_row, b.max_column), name
        assert dimensions[f"xl/worksheets/sheet{number}.xml"].decode() == b.calculate_dimension()
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=True):
            for ca, cb in zip(row_a, row_b, strict=True):
                assert (ca.coordinate, ca.value, ca.data_type) == (
                    cb.coordinate, cb.value, cb.data_type), name
                assert _style(ca) == _style(cb), (name, ca.coordinate)
                compared += 1
        assert sorted(map(str, a.merged_cells.ranges)) == sorted(map(str, b.merged_cells.ranges))
        assert a.freeze_panes == b.freeze_panes
        heights_a = {r: d.height for r, d in a.row_dimensions.items() if d.height}
        assert heights_a == {r: d.height for r, d in b.row_dimensions.items() if d.height}, name
        assert _rules(a) == _rules(b) and _validations(a) == _validations(b), name
        assert len(a._charts) == len(b._charts), name
        assert {k: v.width for k, v in a.column_dimensions.items()} == {
            k: v.width for k, v in b.column_dimensions.items()}
        tables_a = {t.name: (t.ref, t.tableStyleInfo.name, [c.name for c in t.tableColumns])
                    for t in a.tables.values()}
        tables_b = {t.name: (t.ref, t.tableStyleInfo.name, [c.name for c in t.tableColumns])
                    for t in b.tables.values()}
        assert tables_a == tables_b
    return compared


def test_sample_report_is_cell_for_cell_the_per_cell_writers():
    run = run_plan(sample_plan_path())
    layout = report_layout(run.evaluation, input_findings=run.findings)
    fast, slow = _render(layout, True), _render(layout, False)
    with zipfile.ZipFile(io.BytesIO(fast)) as z:
        assert "xl/sharedStrings.xml" in z.namelist()  # the fast path did run
    ledger_rows = len(run.evaluation.ledger)
    assert _assert_same_workbook(fast, slow) > ledger_rows * 11
    # what the comparison covers is there: heights, rules, charts (validations: below)
    wb = openpyxl.load_workbook(io.BytesIO(slow))
    for check in (lambda w: any(d.height for d in w.row_dimensions.values()), _rules,
                  lambda w: w._charts):
        assert any(check(w) for w in wb.worksheets)


def test_writeback_mode_writes_the_same_cells_as_inline_strings():
    run = run_plan(sample_plan_path())
    layout = report_layout(run.evaluation, input_findings=run.findings)
    inline = _render(layout, True, inline=True)
    with zipfile.ZipFile(io.BytesIO(inline)) as z:
        assert "xl/sharedStrings.xml" not in z.namelist()
        ledger = z.read("xl/worksheets/sheet" + str(
            [s.name for s in layout.sheets].index("Ledger") + 1) + ".xml")
        assert b't="inlineStr"' in ledger and b't="s"' not in ledger
    _assert_same_workbook(inline, _render(layout, False))


_AWKWARD = ["=1+1", "#N/A", "@SUM(A1)", " padded ", "\tlead", "a\x01b", "R&D <core> \"q\"",
            "line\r\nbreak", "trail\n", "_x0041_", "", "é ü 中", "x" * 40_000]
_VALUES = [*_AWKWARD, None, 0.1 + 0.2, -0.0, 1e-300, float("nan"), float("inf"),
           12345678901234567, 7, True, False, datetime(2027, 3, 4, 5, 6, 7), date(2027, 1, 2),
           np.float64(2.5), np.int64(3)]


def _awkward_layout():
    """The sample layout plus an extra sheet of awkward values: free texts, a small block and
    a bulk block of mixed types, styled and not, a row height inside the bulk rows."""
    run = run_plan(sample_plan_path())
    layout = report_layout(run.evaluation, input_findings=run.findings)
    styles = [st.PLAIN_STYLE, st.MONEY, st.SECTION_STYLE]
    texts = [Text(2 + i, 1 + i % 3, v, styles[i % 3]) for i, v in enumerate(_VALUES)]
    texts.append(Text(31, 2, None, st.PLAIN_STYLE))
    rows = [[v, v, v] for v in _VALUES]
    small = Block("small", 2, 6, rows, [st.PLAIN_STYLE, st.MONEY, st.SECTION_STYLE],
                  header=["a", "b", "c"])
    bulk = Block("bulk", 32, 2, rows * 3, [st.PLAIN_STYLE, st.MONEY, st.SECTION_STYLE],
                 header=["a", "b", "c"], title="Bulk", bulk=True)
    rules = [Validation(Ref("Awkward", 2, 6, 9, 6), choices=("a", "b"), prompt="Pick"),
             Validation(Ref("Awkward", 2, 7, 9, 7), date=True)]
    sheet = SheetLayout("Awkward", blocks=[small, bulk], texts=texts, validations=rules,
                        row_heights={1: 30.0, 5: 22.5, 60: 18.0})
    return replace(layout, sheets=[*layout.sheets, sheet])


@pytest.mark.parametrize("inline", [False, True])
def test_awkward_values_in_every_kind_of_cell_match_the_per_cell_writer(inline):
    layout = _awkward_layout()
    fast = _render(layout, True, inline)
    _assert_same_workbook(fast, _render(layout, False))
    with zipfile.ZipFile(io.BytesIO(fast)) as z:
        head = z.read(f"xl/worksheets/sheet{len(layout.sheets)}.xml")[:1000]
    assert head.index(b"</sheetPr><dimension ") < head.index(b"<sheetViews>")
    ws = openpyxl.load_workbook(io.BytesIO(fast))["Awkward"]
    assert [ws.cell(2 + i, 1 + i % 3).value for i in range(3)] == ["=1+1", "#N/A", "@SUM(A1)"]
    assert ws.row_dimensions[60].height == 18.0 and _validations(ws)


def test_generated_plan_and_awkward_text_match_the_per_cell_writer():
    evaluation = _generated_evaluation()
    layout = _layout(evaluation)
    _assert_same_workbook(_render(layout, True), _render(layout, False))

    # text a spreadsheet could misread: formulas, error codes, control characters, spaces
    sheets = tiny_plan()
    names = ["=1+1", "@SUM(A1)", " padded ", "a\x01b", "R&D <core>", "line\nbreak"]
    sheets["Staffing"] += [[n, "Ops", "In-house", None, 1, 0, 2, 0.5] for n in names]
    plan, findings = parse(sheets)
    assert plan is not None, findings
    layout = _layout(evaluate(plan))
    fast = _render(layout, True)
    _assert_same_workbook(fast, _render(layout, False))
    systems = {c.value for c in openpyxl.load_workbook(io.BytesIO(fast))["Ledger"]["B"][1:]}
    assert {"=1+1", "@SUM(A1)", "a\N{REPLACEMENT CHARACTER}b", "R&D <core>"} <= systems


def test_every_digit_of_every_amount_survives():
    evaluation = _generated_evaluation(200, 4)
    fast = _render(_layout(evaluation), True)
    expected = evaluation.ledger["amount"].tolist()
    assert any(len(repr(x)) > 15 for x in expected)  # full-precision amounts are present
    wb = openpyxl.load_workbook(io.BytesIO(fast), read_only=True)
    got = [row[0] for row in wb["Ledger"].iter_rows(min_row=2, min_col=11, max_col=11,
                                                    values_only=True)]
    assert got == expected  # exact float equality, every row
    book = CalamineWorkbook.from_filelike(io.BytesIO(fast))
    rows = book.get_sheet_by_name("Ledger").to_python()
    assert [r[10] for r in rows[1:]] == expected
    assert rows[1][0] == evaluation.ledger["scenario"].iloc[0]


def test_same_bytes_on_every_run_and_in_another_process(tmp_path):
    evaluation = _generated_evaluation(60, 2)
    layout = _layout(evaluation)
    first = _render(layout, True)
    assert _render(layout, True) == first
    script = (
        "import sys, io, hashlib\n"
        f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from datetime import datetime\n"
        "from factories import parse\nfrom plan_generator import make_plan\n"
        "from omplan.core.engine import evaluate\n"
        "from omplan.report.plan_report import build_report_layout\n"
        "from omplan.render.xlsx import render_workbook\n"
        "plan, _ = parse(make_plan(60, 2, seed=3))\n"
        "layout = build_report_layout(evaluate(plan), generated=datetime(2027, 1, 15, 8), "
        "version='test')\n"
        "b = io.BytesIO(); render_workbook(layout, b)\n"
        "print(hashlib.sha256(b.getvalue()).hexdigest())\n")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True).stdout.strip()
    assert out == hashlib.sha256(first).hexdigest()


def test_libreoffice_opens_the_fast_ledger(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed ('soffice' is not on PATH)")
    evaluation = _generated_evaluation(80, 2)
    report = tmp_path / "report.xlsx"
    report.write_bytes(_render(_layout(evaluation), True))
    profile = tmp_path / "profile"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo"),
         str(report)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    wb = openpyxl.load_workbook(tmp_path / "lo" / "report.xlsx", read_only=True)
    rows = list(wb["Ledger"].iter_rows(values_only=True))
    ledger = evaluation.ledger
    assert len(rows) == len(ledger) + 1
    # LibreOffice saves 15 significant digits: equal to that precision
    assert [r[10] for r in rows[1:]] == pytest.approx(ledger["amount"].tolist(), rel=1e-14)
    assert [r[1] for r in rows[1:]] == ledger["system"].astype(str).tolist()
