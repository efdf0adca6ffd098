"""The report's Plan vs actual sheet: only with actual spend; by month with a chart, by quarter
with the band check on actual spend, by activity, by system and each fiscal year's forecast,
all equal to the JSON's ``actuals`` figures.

The sheet's figures are checked on the plan and spend of test_budget_quarter (see its
docstring), the report around it on a one-year plan. That plan: FY2027–FY2028 from April;
22,000 a month spent in FY2027 (Monitoring 10,000, Incident response 6,000, Corrective 6,000),
23,000 a month in FY2028 Q1 (Monitoring 11,000), 33,000 in Jul and Aug 2028 (Monitoring
21,000) and 500 of Adaptive on CRM (not a planned system) in Aug 2028.
"""

from __future__ import annotations

import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from factories import parse, tiny_plan
from test_budget_quarter import actual_rows, two_year_plan

from omplan.core.actuals import ActualsFigures
from omplan.core.engine import evaluate
from omplan.core.model import ActualLine, Plan
from omplan.core.summary import plan_figures
from omplan.render.xlsx import render_workbook
from omplan.report.actuals import SHEET, actuals_sheet
from omplan.report.layout import SheetLayout, sheet_names
from omplan.report.plan_report import build_report_layout


def sheet_of(plan: Plan) -> tuple[SheetLayout, ActualsFigures]:
    evaluation = evaluate(plan)
    builder = actuals_sheet(evaluation)
    assert builder is not None
    figures = plan_figures(evaluation.plan, [], evaluation).actuals
    assert figures is not None
    return builder.finish(plan.settings.currency), figures


@pytest.fixture(scope="module")
def report() -> tuple[SheetLayout, ActualsFigures]:
    return sheet_of(two_year_plan(actual_rows()))


def one_year_plan(actuals: bool = True) -> Plan:
    """tiny_plan (FY2027, calendar months): 66,000 a quarter, 22,000 a month planned; spent
    21,000 in Jan–Mar and 25,000 in April."""
    plan, _ = parse(tiny_plan())
    rows = [ActualLine(i, "ERP", "Monitoring", 21_000 if i < 3 else 25_000) for i in range(4)]
    return replace(plan, actuals=rows if actuals else [])


def test_the_report_has_the_sheet_after_the_business_case_only_with_actuals():
    layout = build_report_layout(evaluate(one_year_plan()))
    names = [s.name for s in layout.sheets]
    assert names[:3] == ["Summary", "Business case", "Plan vs actual"]
    q2 = layout.sheet(SHEET).block("quarters").row_of("FY2027 Q2")
    assert q2[1:5] == ["1 of 3", 22_000, 25_000, 3_000]  # April against a third of 66,000
    without = build_report_layout(evaluate(one_year_plan(actuals=False)))
    assert SHEET not in [s.name for s in without.sheets]
    assert actuals_sheet(evaluate(one_year_plan(actuals=False))) is None
    # a scenario named like the sheet gets a sheet name of its own
    assert sheet_names(["Baseline", "Plan vs actual"])["Plan vs actual"] == "Plan vs actual (2)"


def test_months_are_the_json_months_with_a_clustered_chart(report):
    sheet, figures = report
    months = sheet.block("months")
    assert len(months.rows) == 17 + 1  # Apr 2027 .. Aug 2028, then the total
    first, last = months.rows[0], months.rows[16]
    # FY2027 Q2 plans 84,000: 28,000 a month against 22,000 spent
    assert months.rows[3][:6] == ["Jul 2027", "FY2027 Q2", 28_000, 22_000, -6_000,
                                  pytest.approx(-6_000 / 28_000)]
    assert first[:5] == ["Apr 2027", "FY2027 Q1", 22_000, 22_000, 0]
    assert last[:5] == ["Aug 2028", "FY2028 Q2", 32_000, 33_500, 1_500]
    for row, m in zip(months.rows, figures.months, strict=False):
        assert row[2:5] == [m.plan, m.actual, m.variance]
    total = months.rows[-1]
    assert total[3] == 12 * 22_000 + 3 * 23_000 + 33_000 + 33_500  # 399,500
    chart = sheet.chart("months")
    assert not chart.stacked and [s.title for s in chart.series] == ["Plan", "Actual"]
    assert chart.categories.first_row == months.first_row
    assert chart.categories.last_row == months.first_row + 16


def test_quarters_carry_the_band_check_on_actual_spend(report):
    sheet, figures = report
    quarters = sheet.block("quarters")
    q = quarters.row_of("FY2028 Q2")
    # two months reported: 64,000 of plan; operation = Monitoring 42,000 + Incident 12,000
    assert q[1:6] == ["2 of 3", 64_000, 66_500, 2_500, pytest.approx(2_500 / 64_000)]
    assert q[6] == pytest.approx(54_000 / 66_500) and q[7] == "operation-heavy"
    assert q[8] == ""  # 3.9 % over: within the 5 % threshold
    q2 = quarters.row_of("FY2027 Q2")
    assert q2[2:5] == [84_000, 66_000, -18_000]
    total = quarters.row_of("Total")
    # operation spent: 16,000 a month in FY2027, 17,000 in FY2028 Q1, 54,000 since
    operation = 12 * 16_000 + 3 * 17_000 + 54_000
    assert total[3] == 399_500 and total[6] == pytest.approx(operation / 399_500)
    assert total[7] == "operation-heavy"
    for row, fq in zip(quarters.rows, figures.quarters, strict=False):
        assert row[2:6] == [fq.plan, fq.actual, fq.variance, fq.variance_pct]
    glance = sheet.block("glance")
    assert glance.rows[6][0] == "Operation share of actual spend"
    assert glance.rows[6][1] == pytest.approx(operation / 399_500)
    assert glance.rows[8][1] == "operation-heavy"


def test_an_over_budget_quarter_is_marked():
    rows = [*actual_rows(), *(ActualLine(i, "ERP", "Perfective", 4_000) for i in (12, 13, 14))]
    quarters = sheet_of(two_year_plan(rows))[0].block("quarters")
    # FY2028 Q1: 69,000 + 12,000 spent against 66,000: 15,000 over, 22.7 % > 5 %
    q = quarters.row_of("FY2028 Q1")
    assert q[4] == 15_000 and q[8] == "over budget"
    assert quarters.row_of("FY2027 Q1")[8] == ""


def test_activities_systems_and_years_equal_the_json(report):
    sheet, figures = report
    activities = sheet.block("by_activity")
    for activity, v in figures.by_activity.items():
        assert activities.row_of(activity)[2:5] == [v.plan, v.actual, v.variance]
    # Monitoring: 10,000 × 12 + 11,000 × 3 + 21,000 × 2 spent
    assert activities.row_of("Monitoring")[3] == 120_000 + 33_000 + 42_000
    assert activities.row_of("Operation")[3] == 12 * 16_000 + 3 * 17_000 + 54_000
    systems = sheet.block("by_system")
    assert systems.row_of("CRM")[1:4] == [0, 500, 500]
    assert systems.row_of("CRM")[5] == "not in the plan" and systems.row_of("ERP")[5] == ""
    years = sheet.block("years")
    fy28 = years.row_of("FY2028")
    # 294,000 budget; 135,500 spent; Sep 2028 (32,000), Q3 and Q4 (66,000 each) to come
    assert fy28[1:6] == [294_000, 135_500, 164_000, 299_500, 5_500]
    fy27 = years.row_of("FY2027")
    assert fy27[1:6] == [282_000, 264_000, 0, 264_000, -18_000]
    assert years.row_of("Horizon")[1] == 282_000 + 294_000
    for row, y in zip(years.rows, figures.years, strict=False):
        assert row[4] == y.forecast and row[5] == y.variance_at_completion


def test_libreoffice_renders_the_sheet(tmp_path, soffice):
    layout = build_report_layout(evaluate(one_year_plan()))
    path = tmp_path / "report.xlsx"
    render_workbook(layout, path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/")]
    assert any("'Plan vs actual'!$C$" in c and '<grouping val="clustered"/>' in c
               for c in charts)
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--norestore", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    pdf = Path(tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
