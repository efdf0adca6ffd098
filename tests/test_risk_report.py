"""The Risk sheet: its figures are the risk figures' (as the JSON has them), tornado bars are
sorted by swing, the file is valid OOXML, and LibreOffice prints it on one page."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from risk_reference import sample_with_risks

from omplan.core.engine import evaluate
from omplan.core.risk import RiskFigures, run_risk
from omplan.core.summary import plan_figures
from omplan.render.xlsx import render_workbook
from omplan.report import styles as st
from omplan.report.layout import ReportLayout, SheetLayout
from omplan.report.risk import CURVE_STEP, SHEET, TABLE_HEADER, driver_label, risk_sheet

CHECK_OOXML = Path("/work/shared/tools/ooxml/check_ooxml.py")


@pytest.fixture(scope="module")
def figures() -> RiskFigures:
    plan = sample_with_risks(risk_draws=2_000)
    result = run_risk(plan)
    assert result is not None
    return result


@pytest.fixture(scope="module")
def sheet(figures) -> SheetLayout:
    plan = sample_with_risks()
    recommended = plan_figures(plan, [], evaluate(plan)).recommended
    return risk_sheet(figures, "USD", 0.08, recommended).finish("USD")


def test_the_table_shows_the_json_figures(figures, sheet):
    block = sheet.block("scenarios")
    assert tuple(block.header or ()) == TABLE_HEADER
    by_name = {s["name"]: s for s in figures.to_json()["scenarios"]}
    assert block.column("Scenario") == list(by_name)
    for row in block.rows:
        s = by_name[row[0]]
        assert row[TABLE_HEADER.index("NPV of cost P50")] == s["npv_cost"]["p50"]
        assert row[TABLE_HEADER.index("Within the band every year")] == s["p_within_band"]
        assert row[TABLE_HEADER.index("Recommended")] == s["p_recommended"]
        if s["npv_savings"] is None:  # Baseline: no savings, no payback
            assert row[TABLE_HEADER.index("NPV of savings P90")] == "–"
            continue
        assert row[TABLE_HEADER.index("NPV of savings P10")] == s["npv_savings"]["p10"]
        assert row[TABLE_HEADER.index("NPV of savings P90")] == s["npv_savings"]["p90"]
        assert row[TABLE_HEADER.index("Chance of saving")] == s["p_savings"]
        months = [row[TABLE_HEADER.index(f"Payback {p} (months)")] for p in ("P10", "P50",
                                                                             "P90")]
        assert months == [("never" if m is None else m) for m in s["payback_months"].values()]
    assert sum(block.column("Recommended")) <= 1.0


def test_each_tornado_is_sorted_by_swing_and_centred_on_the_plan(figures, sheet):
    others = [s for s in figures.scenarios if s.npv_savings is not None]
    tornados = [c for c in sheet.charts if c.key.startswith("tornado_")]
    assert len(tornados) == len(others) and all(c.horizontal for c in tornados)
    for i, s in enumerate(others):
        block = sheet.block(f"tornado_{i}")
        entries = {driver_label(t.driver, t.applies_to): t for t in figures.tornado
                   if t.scenario == s.name}
        assert set(block.column("Driver")) == set(entries)
        swings = [abs(high - low) for _, _, _, low, high in block.rows]
        assert swings == sorted(swings)  # bottom-up: the widest swing is the top bar
        for label, low, high, change_low, change_high in block.rows:
            t = entries[label]
            assert (low, high) == (t.npv_savings_low, t.npv_savings_high)
            assert change_low == pytest.approx(low - s.base_npv_savings, abs=1e-6)
            assert change_high == pytest.approx(high - s.base_npv_savings, abs=1e-6)
        series = {x.title: x.values for x in tornados[i].series}
        assert series["Driver at Low"].first_col == block.col + 3
        assert series["Driver at High"].first_col == block.col + 4


def test_the_distribution_marks_p10_p50_p90(figures, sheet):
    block = sheet.block("distribution")
    others = [s for s in figures.scenarios if s.npv_savings is not None]
    assert len(block.rows) == 100 // CURVE_STEP + 1
    marks = {row[0]: row for row in block.rows if row[0]}
    assert list(marks) == ["P0", "P10", "P50", "P90", "P100"]
    for i, s in enumerate(others):
        assert s.npv_savings is not None
        assert marks["P10"][2 + i] == s.npv_savings.p10
        assert marks["P50"][2 + i] == s.npv_savings.p50
        assert marks["P90"][2 + i] == s.npv_savings.p90
    chart = sheet.chart("distribution")
    assert [x.title for x in chart.series][-1] == "Break-even"
    assert all(x.line for x in chart.series)


def test_one_printed_page_holds_the_table_charts_and_drivers(sheet):
    area = sheet.print_setup.area
    assert area is not None and sheet.print_setup.pages_tall == 1 and sheet.row_breaks == []
    assert sheet.block("drivers").last_row == area.last_row
    for chart in sheet.charts:
        assert chart.end is not None and chart.end[0] <= area.last_row
        assert chart.end[1] <= area.last_col + 1
    assert all(b.first_row > area.last_row for b in sheet.blocks
               if b.key.startswith(("tornado_", "distribution")))


def _write(sheet: SheetLayout, path: Path) -> Path:
    layout = ReportLayout([sheet], st.report_styles("USD"), dict(st.HIGHLIGHTS), "Risk",
                          dt.datetime(2027, 1, 1))
    render_workbook(layout, path)
    return path


def test_the_file_is_valid_ooxml_with_bar_charts(sheet, tmp_path):
    path = _write(sheet, tmp_path / "risk.xlsx")
    if CHECK_OOXML.is_file():
        result = subprocess.run([sys.executable, str(CHECK_OOXML), "--quiet", str(path)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    ws = openpyxl.load_workbook(path)[SHEET]
    directions = sorted(c.barDir for c in ws._charts)
    assert directions == ["bar"] * (len(ws._charts) - 1) + ["col"]


def test_libreoffice_prints_it_on_one_page(soffice, sheet, tmp_path):
    path = _write(sheet, tmp_path / "risk.xlsx")
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--norestore", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   capture_output=True, text=True, timeout=300, check=True)
    pdf = (tmp_path / "risk.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
