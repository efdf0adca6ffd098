"""The quarterly budget a CFO signs: plan, actual, variance and forecast, comparisons, FTE,
year to date, notes and sign-off; and the 12-plan batch with actuals beside the plans.

The unit tests use a two-year plan built by hand (FY2027–FY2028, fiscal year from April):

* Ops (L2, in-house, 10,000 a month, all Monitoring): FTE 1 every quarter but FY2028 Q2 (2).
* Dev (L3, in-house, 12,000 a month, half Incident response, half Corrective): FTE 1 every
  quarter but FY2027 Q2 (1.5).

So a quarter costs Ops 3 × 10,000 × FTE and Dev 3 × 12,000 × FTE:
FY2027 Q1 66,000 · Q2 30,000 + 54,000 = 84,000 · Q3 66,000 · Q4 66,000;
FY2028 Q1 66,000 · Q2 60,000 + 36,000 = 96,000 · Q3 66,000 · Q4 66,000.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from factories import parse, tiny_plan, with_rows, write_openpyxl
from plan_generator import make_plan

from omplan.apps.batch import execute_batch, expand_paths
from omplan.apps.cli import cli
from omplan.core.engine import evaluate
from omplan.core.model import ActualLine, Plan
from omplan.files.run import run_plan
from omplan.render.xlsx import render_workbook
from omplan.report.budget import build_quarter_layout
from omplan.report.budget_quarter import SIGN_OFF
from omplan.report.layout import SheetLayout

ROOT = Path(__file__).resolve().parents[1]

NA = "—"
CENT = 0.005


def two_year_plan(actuals: list[ActualLine] | None = None) -> Plan:
    """The plan of the module docstring (the reader's Q1–Q4 values, widened to 8 quarters)."""
    sheets = tiny_plan()
    sheets["Settings"] += [["fy_start_month", 4], ["horizon_years", 2]]
    plan, findings = parse(sheets)
    assert plan is not None and not findings
    ops, dev = plan.staffing
    staffing = [replace(ops, fte=(1, 1, 1, 1, 1, 2, 1, 1)),
                replace(dev, fte=(1, 1.5, 1, 1, 1, 1, 1, 1))]
    return replace(plan, staffing=staffing, actuals=list(actuals or []))


def actual_rows() -> list[ActualLine]:
    """22,000 a month in FY2027 (Monitoring 10,000, Incident response 6,000, Corrective
    6,000); FY2028 Q1 23,000 a month (Monitoring 11,000); Jul and Aug 2028 (FY2028 Q2, months
    16 and 17 of the horizon) 33,000 a month (Monitoring 21,000), and 500 of Adaptive on CRM,
    a system the plan does not have, in Aug 2028. Sep 2028 is not reported."""
    rows = []
    for i in range(17):  # fiscal month index 0 (Apr 2027) .. 16 (Aug 2028)
        monitoring = 10_000 if i < 12 else 11_000 if i < 15 else 21_000
        rows += [ActualLine(i, "ERP", "Monitoring", monitoring),
                 ActualLine(i, "ERP", "Incident response", 6_000),
                 ActualLine(i, "ERP", "Corrective", 6_000)]
    rows.append(ActualLine(16, "CRM", "Adaptive", 500))
    return rows


def budget(plan: Plan, quarter: str | int) -> SheetLayout:
    evaluation = evaluate(plan)
    assert evaluation.ok, evaluation.errors
    return build_quarter_layout(evaluation, "Baseline", quarter).sheet("Budget")


def value(sheet: SheetLayout, block: str, row: Any, column: str) -> Any:
    return sheet.block(block).value(row, column)


# --------------------------------------------------------------------------- plan only


def test_plan_only_budget_has_plan_columns_and_says_how_to_add_actuals():
    sheet = budget(two_year_plan(), "FY2028 Q2")
    note = next(t.value for t in sheet.texts if t.row == 3)
    assert note.startswith("No actual spend for this plan: the budget shows the plan only")
    summary = sheet.block("summary")
    assert list(summary.header) == ["Budget (EUR)", "Plan", "Operation", "Maintenance",
                                    "Operation share", "Band status", "Notes"]
    quarter = "Q2 FY2028"
    assert value(sheet, "summary", quarter, "Plan") == 96_000
    # operation: Ops 60,000 + half of Dev's 36,000
    assert value(sheet, "summary", quarter, "Operation") == 60_000 + 18_000
    assert value(sheet, "summary", quarter, "Operation share") == pytest.approx(78 / 96)
    ytd = "Year to date (Q1–Q2)"
    assert value(sheet, "summary", ytd, "Plan") == 66_000 + 96_000
    assert value(sheet, "summary", "FY2028 full year", "Plan") == 66_000 + 96_000 + 66_000 \
        + 66_000
    with pytest.raises(KeyError):
        sheet.block("plan_vs_actual")
    matrix = sheet.block("activity_month")
    assert list(matrix.header) == ["Activity", "Jul 2028", "Aug 2028", "Sep 2028", "Q2", "Notes"]
    assert matrix.value("Monitoring", "Q2") == 60_000
    assert matrix.value("Monitoring", "Jul 2028") == 20_000


def test_previous_quarter_and_previous_year_comparisons():
    sheet = budget(two_year_plan(), "FY2028 Q2")
    block = sheet.block("comparison")
    assert list(block.header) == ["Against (EUR)", "Q2 FY2028", "Q1 FY2028", "Change",
                                  "Change %", "Q2 FY2027", "Change", "Change %"]
    plan = block.row_of("Plan")
    assert plan[1:] == [96_000, 66_000, 30_000, pytest.approx(30_000 / 66_000),
                        84_000, 12_000, pytest.approx(12_000 / 84_000)]
    fte = block.row_of("FTE")  # Ops 2 + Dev 1; before: 1 + 1, and 1 + 1.5 a year ago
    assert fte[1:4] == [3.0, 2.0, 1.0] and fte[5:7] == [2.5, 0.5]
    share = block.row_of("Operation share")  # 78/96 now, 48/66 before: points apart
    assert share[1] == pytest.approx(78 / 96)
    assert share[3] == pytest.approx((78 / 96 - 48 / 66) * 100)
    assert share[4] == NA  # a change of a share is in points, not a percentage


def test_the_first_quarter_of_the_horizon_has_nothing_to_compare_with():
    sheet = budget(two_year_plan(), "Q1")
    block = sheet.block("comparison")
    assert list(block.header)[1:6:4] == ["Q1 FY2027", "Q1 FY2026"]
    assert block.header[2] == "Q4 FY2026"  # before the horizon: named, but "—"
    for row in block.rows:
        assert row[2:] == [NA] * 6, row[0]
    fte = sheet.block("fte")
    assert fte.row_of("Total")[5:] == [NA] * 4
    # FY2027 Q2 has the previous quarter but not last year's
    q2 = budget(two_year_plan(), "Q2").block("comparison").row_of("Plan")
    assert q2[2:5] == [66_000, 18_000, pytest.approx(18_000 / 66_000)] and q2[5:] == [NA] * 3


def test_fte_table_is_the_staffing_fte_of_the_quarter_by_level_and_sourcing():
    """Sourcing from a richer plan: Ops outsourced (Acme) besides in-house, Dev offshore."""
    sheets = tiny_plan()
    sheets["Staffing"] += [["ERP", "Ops", "Outsource", "Acme", 0.5, 0.5, 0.75, 0.5],
                           ["CRM", "Dev", "Offshore", None, 2, 2.5, 3, 3]]
    plan, findings = parse(sheets)
    assert plan is not None and not [f for f in findings if f.severity == "error"]
    sheet = budget(plan, "Q3")
    fte = sheet.block("fte")
    assert list(fte.header) == ["Role level", "In-house", "Outsource", "Offshore", "Total FTE",
                                "Q2 FY2027", "Change", "Q3 FY2026", "Change"]
    # the Staffing sheet's Q3 column, by the role's level and the line's sourcing
    expected = {("L2", "In-house"): 1.0, ("L2", "Outsource"): 0.75,
                ("L3", "In-house"): 1.0, ("L3", "Offshore"): 3.0}
    for level, label in (("L1", "L1 Service Desk"), ("L2", "L2 Operations Engineer"),
                         ("L3", "L3 Maintenance Engineer"), ("PMO", "PMO / Service Owner")):
        row = fte.row_of(label)
        cells = [expected.get((level, s), 0.0) for s in ("In-house", "Outsource", "Offshore")]
        assert row[1:5] == pytest.approx([*cells, sum(cells)]), label
    total = fte.row_of("Total")
    assert total[1:5] == pytest.approx([2.0, 0.75, 3.0, 5.75])
    # Q2: 1 + 0.5 (L2) and 1 + 2.5 (L3) = 5.0; Q3 is 0.75 more
    assert total[5:7] == pytest.approx([5.0, 0.75])
    staffing_q3 = sum(line.fte[2] for line in plan.staffing)
    assert total[4] == pytest.approx(staffing_q3)


# --------------------------------------------------------------------------- with actuals


@pytest.fixture(scope="module")
def with_actuals() -> SheetLayout:
    return budget(two_year_plan(actual_rows()), "FY2028 Q2")


def test_summary_quarter_year_to_date_and_fiscal_year_forecast(with_actuals):
    sheet = with_actuals
    summary = sheet.block("summary")
    assert list(summary.header) == ["Budget (EUR)", "Plan", "Plan to date", "Actual",
                                    "Variance", "Variance %", "Forecast",
                                    "Variance at completion", "Notes"]
    # the quarter: Jul and Aug reported, 33,000 + 33,500 against their plan, 2/3 of 96,000
    quarter = summary.row_of("Q2 FY2028")
    assert quarter[1:8] == [96_000, 64_000, 66_500, 2_500, pytest.approx(2_500 / 64_000),
                            98_500, 2_500]
    # year to date: FY2028 Q1 (69,000 against 66,000) and Q2 so far
    ytd = summary.row_of("Year to date (Q1–Q2)")
    assert ytd[1:8] == [162_000, 66_000 + 64_000, 69_000 + 66_500, 3_000 + 2_500,
                        pytest.approx(5_500 / (66_000 + 64_000)), 162_000 + 5_500, 5_500]
    # the year: actual to date + the plan still to come (Sep 2028 = 96,000 / 3, Q3, Q4)
    year = summary.row_of("FY2028 full year")
    assert year[1:4] == [294_000, 130_000, 135_500]
    assert year[6] == pytest.approx(135_500 + 32_000 + 66_000 + 66_000)  # 299,500
    assert year[7] == pytest.approx(299_500 - 294_000)
    note = next(t.value for t in sheet.texts if t.row == 3)
    assert note.startswith("Actuals through Aug 2028; Sep 2028 not reported yet")


def test_plan_vs_actual_by_activity_and_month(with_actuals):
    block = with_actuals.block("plan_vs_actual")
    assert list(block.header) == ["Activity", *["Plan", "Actual", "Variance"] * 3,
                                  "Plan to date", "Actual", "Variance", "Variance %", "Notes"]
    groups = {t.col: t.value for t in with_actuals.texts
              if t.row == block.header_row - 1 and t.value}  # the labels over the columns
    assert groups == {3: "Jul 2028", 6: "Aug 2028", 9: "Sep 2028",
                      12: "Q2 FY2028 to date (Jul–Aug 2028)"}
    monitoring = block.row_of("Monitoring")  # plan 60,000: 20,000 a month
    assert monitoring[1:7] == [20_000, 21_000, 1_000, 20_000, 21_000, 1_000]
    assert monitoring[7:10] == [20_000, NA, NA]  # Sep 2028: not reported yet
    # the quarter against the plan of the two months reported: 42,000 vs 40,000
    assert monitoring[10:14] == [40_000, 42_000, 2_000, pytest.approx(2_000 / 40_000)]
    adaptive = block.row_of("Adaptive")  # not planned, 500 spent in Aug on CRM
    assert adaptive[4:7] == [0, 500, 500] and adaptive[10:14] == [0, 500, 500, None]
    total = block.row_of("Total")
    assert total[1:4] == [32_000, 33_000, 1_000]
    assert total[4:7] == [32_000, 33_500, 1_500]
    assert total[10:14] == [64_000, 66_500, 2_500, pytest.approx(2_500 / 64_000)]
    assert block.row_of("Total")[-1] is None  # Notes: an empty input cell
    assert block.style_at(len(block.rows) - 1, len(block.header) - 1) == "omplan input"


def test_comparisons_carry_actual_and_variance(with_actuals):
    """Jul and Aug 2028 are reported: the first two months of each quarter are compared
    (Apr–May 2028 of FY2028 Q1, Jul–Aug 2027 of FY2027 Q2), never two months with three."""
    block = with_actuals.block("comparison")
    assert list(block.header[:3]) == ["First 2 months (EUR)", "Q2 FY2028 (Jul–Aug 2028)",
                                      "Q1 FY2028 (Apr–May 2028)"]
    assert block.header[5] == "Q2 FY2027 (Jul–Aug 2027)"
    plan = block.row_of("Plan")  # 2/3 of 96,000, of 66,000 and of 84,000
    assert plan[1:3] == [64_000, 44_000] and plan[5] == 56_000
    actual = block.row_of("Actual")  # 66,500 now; 2 × 23,000 in Q1; 2 × 22,000 a year ago
    assert actual[1:4] == [66_500, 46_000, 20_500]
    assert actual[4] == pytest.approx(20_500 / 46_000)
    assert actual[5:7] == [44_000, 22_500]
    variance = block.row_of("Variance")  # a year ago 44,000 spent of 56,000 planned
    assert variance[1:3] == [2_500, 2_000] and variance[5] == -12_000


def test_system_table_and_year_to_date_table_show_actuals(with_actuals):
    systems = with_actuals.block("by_system")
    assert list(systems.header[-4:]) == ["Plan to date", "Actual", "Variance", "Variance %"]
    assert systems.value("ERP", "Plan to date") == 64_000
    erp = systems.row_of("ERP")  # 66,000 of 96,000 × 2/3 = 64,000
    assert erp[-3:] == [66_000, 2_000, pytest.approx(2_000 / 64_000)]
    assert systems.row_of("CRM")[4] == 0 and systems.row_of("CRM")[-3:-1] == [500, 500]
    ytd = with_actuals.block("year_to_date")
    assert ytd.value("Q1", "Actual") == 69_000 and ytd.value("Q2", "Variance") == 2_500
    assert ytd.value("Year to date", "Actual") == 135_500
    assert ytd.value("Full year FY2028", "Actual") == 135_500


def test_a_quarter_not_reported_yet_has_plan_as_forecast():
    sheet = budget(two_year_plan(actual_rows()), "FY2028 Q3")
    quarter = sheet.block("summary").row_of("Q3 FY2028")
    assert quarter[1:8] == [66_000, None, None, None, None, 66_000, 0.0]
    assert sheet.block("plan_vs_actual").row_of("Total")[11:14] == [NA, NA, NA]
    note = next(t.value for t in sheet.texts if t.row == 3)
    assert "no month of Q3 FY2028 is reported yet: the forecast is the plan" in note


def test_budget_of_a_scenario_other_than_the_budget_scenario_says_so():
    plan = two_year_plan(actual_rows())
    plan = replace(plan, scenario_changes=[])
    sheets = with_rows(tiny_plan(), "Scenarios", ["Lean", "Ops", "*", "fte_factor", 0.5],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    lean, _ = parse(sheets)
    plan = replace(plan, scenario_changes=lean.scenario_changes)
    evaluation = evaluate(plan)
    sheet = build_quarter_layout(evaluation, "Lean", "FY2028 Q2").sheet("Budget")
    # Lean halves Ops: 30,000 + 36,000 = 66,000 planned; the same 66,500 spent
    quarter = sheet.block("summary").row_of("Q2 FY2028")
    assert quarter[1:5] == [66_000, 44_000, 66_500, 66_500 - 44_000]
    note = next(t.value for t in sheet.texts if t.row == 3)
    assert "compared with this budget's scenario, Lean (the plan's budget_scenario is " \
           "Baseline)" in note


# --------------------------------------------------------------------------- the file


def test_sign_off_block_and_print_setup_in_the_file(tmp_path):
    evaluation = evaluate(two_year_plan(actual_rows()))
    layout = build_quarter_layout(evaluation, "Baseline", "FY2028 Q2")
    render_workbook(layout, tmp_path / "b.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["Budget"]
    block = layout.sheet("Budget").block("sign_off")
    labels = [ws.cell(block.first_row + i, block.col).value for i in range(len(SIGN_OFF))]
    assert labels == ["Prepared by", "Reviewed by", "Approved by", "Date", "Version",
                      "Status"]
    entries = [ws.cell(block.first_row + i, block.col + 1) for i in range(len(SIGN_OFF))]
    assert [c.value for c in entries] == [None] * 5 + ["Draft"]  # to fill in
    assert {c.fill.fgColor.rgb for c in entries} == {"00FFF2CC"}  # the input look
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    status, date = entries[5].coordinate, entries[3].coordinate
    assert rules[status].type == "list" and rules[status].formula1 == '"Draft,Final"'
    assert rules[date].type == "date"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    # the Notes cells are inputs too
    pva = layout.sheet("Budget").block("plan_vs_actual")
    notes = ws.cell(pva.first_row, pva.col + len(pva.header) - 1)
    assert notes.value is None and notes.fill.fgColor.rgb == "00FFF2CC"


def test_columns_are_wide_enough_for_their_numbers():
    """No '####': every number cell's formatted text fits its column (7 px a character)."""
    layout = build_quarter_layout(evaluate(two_year_plan(actual_rows())), "Baseline", 5)
    sheet = layout.sheet("Budget")
    for b in sheet.blocks:
        for i, row in enumerate(b.rows):
            for j, v in enumerate(row):
                if isinstance(v, float | int) and not isinstance(v, bool):
                    width = sheet.column_widths.get(b.col + j, 8.43)
                    text = f"{abs(v):,.2f}" if "fte" in b.style_at(i, j) else f"{v:+,.0f}"
                    assert len(text) + 1 <= width, (b.key, row[0], j, v, width)


# --------------------------------------------------------------------------- a batch


N_PLANS = 12
NO_ACTUALS = 5  # bu05: plan only
INVALID = 9  # bu09: a negative FTE
CSV_PLANS = (2, 4, 6, 8, 10, 12)  # <stem>.actuals.csv beside; the others .actuals.xlsx
OWN_SHEET = 3  # bu03 also has an Actuals sheet of its own: the file beside it replaces it


def generated_plan(i: int) -> dict[str, list[list[Any]]]:
    """A generated plan (tests/plan_generator.py) with actual spend on its systems: each
    month 1 to 7 of the fiscal year a fixed amount per system and activity, 1 % more every
    plan, and a credit note in month 2."""
    sheets = make_plan(12 + i, 1, seed=100 + i)
    sheets["Settings"] = [row for row in sheets["Settings"]
                          if row[0] not in ("plan_name", "fy_start_month")]
    sheets["Settings"] += [["plan_name", f"BU {i:02d}"], ["fy_start_month", 4 if i % 2 else 1]]
    if i == INVALID:
        sheets["Staffing"][1][5] = -1
    return sheets


def actuals_table(sheets: dict[str, list[list[Any]]], i: int) -> list[list[Any]]:
    start = 4 if i % 2 else 1
    systems = sorted({row[0] for row in sheets["Staffing"][1:]})[:4]
    rows: list[list[Any]] = [["Month", "System", "Activity", "Amount"]]
    for m in range(7):
        year, month = 2027 + (start - 1 + m) // 12, (start - 1 + m) % 12 + 1
        for k, system in enumerate(systems):
            for activity in ("Monitoring", "Corrective", "Adaptive"):
                amount = round((8_000 + 1_000 * k + 250 * m) * (1 + 0.01 * i), 2)
                rows.append([f"{year}-{month:02d}", system, activity, amount])
        if m == 1:
            rows.append([f"{year}-{month:02d}", systems[0], "Monitoring", -1_234.56])
    return rows


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plans")
    for i in range(1, N_PLANS + 1):
        sheets = generated_plan(i)
        stem = f"bu{i:02d}"
        if i != NO_ACTUALS:
            table = actuals_table(sheets, i)
            if i in CSV_PLANS:
                with open(folder / f"{stem}.actuals.csv", "w", newline="",
                          encoding="utf-8") as f:
                    csv.writer(f).writerows(table)
            else:
                write_openpyxl({"Actuals": table}, folder / f"{stem}.actuals.xlsx")
        if i == OWN_SHEET:
            sheets["Actuals"] = [table[0], ["2027-04", table[1][1], "Monitoring", 1e6]]
        write_openpyxl(sheets, folder / f"{stem}.xlsx")
    out = tmp_path_factory.mktemp("out")
    outcome = execute_batch([folder], quarter="Q2", out=out, jobs=2)
    return folder, out, outcome


def json_of(folder: Path, stem: str, tmp_path: Path) -> dict[str, Any]:
    """``omplan run PLAN [--actuals FILE] --json OUT``: the figures to reconcile with."""
    args = ["run", str(folder / f"{stem}.xlsx"), "--json", str(tmp_path / f"{stem}.json")]
    for suffix in (".xlsx", ".csv"):
        beside = folder / f"{stem}.actuals{suffix}"
        if beside.exists():
            args += ["--actuals", str(beside)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / f"{stem}.json").read_text(encoding="utf-8"))


def test_actuals_files_are_not_taken_for_plans(batch):
    folder, _, outcome = batch
    assert len(expand_paths([folder])) == N_PLANS
    assert [r.file for r in outcome.results] == [f"bu{i:02d}.xlsx"
                                                 for i in range(1, N_PLANS + 1)]


def test_the_invalid_plan_is_reported_and_the_others_written(batch):
    _, out, outcome = batch
    statuses = {r.file: r.status for r in outcome.results}
    assert statuses.pop(f"bu{INVALID:02d}.xlsx") == "failed"
    assert set(statuses.values()) == {"ok"}
    bad = outcome.results[INVALID - 1]
    assert bad.errors[0]["location"] == "Staffing!F2" and bad.outputs == []
    written = sorted(p.name for p in out.glob("bu*_FY2027_Q2.xlsx"))
    assert written == [f"bu{i:02d}_FY2027_Q2.xlsx" for i in range(1, N_PLANS + 1)
                       if i != INVALID]
    report = json.loads((out / "batch_report.json").read_text(encoding="utf-8"))
    assert report["plans_failed"] == 1 and report["plans"][INVALID - 1]["status"] == "failed"


def test_every_budget_with_actuals_shows_actual_variance_and_forecast(batch, tmp_path):
    folder, out, outcome = batch
    for r in outcome.results:
        if not r.ok:
            continue
        ws = openpyxl.load_workbook(out / r.outputs[0])["Budget"]
        values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
        if r.file == f"bu{NO_ACTUALS:02d}.xlsx":
            assert r.actuals is None and r.quarters[0]["actuals"] is None
            assert any(isinstance(v, str) and v.startswith("No actual spend") for v in values)
            assert "Actual" not in values and "Forecast" not in values
            continue
        stem = r.file[:-5]
        source = f"{stem}.actuals.csv" if int(stem[2:]) in CSV_PLANS \
            else f"'[{stem}.actuals.xlsx]Actuals'"
        assert r.actuals is not None and r.actuals["source"] == source
        # seven months from April (odd plans) or from January
        assert r.actuals["through"] == ("2027-10" if int(stem[2:]) % 2 else "2027-07")
        for header in ("Actual", "Variance", "Variance %", "Forecast",
                       "Variance at completion", "Notes"):
            assert header in values, (r.file, header)
        figures = json_of(folder, r.file[:-5], tmp_path)["actuals"]
        q2 = next(q for q in figures["quarters"] if q["quarter"] == "Q2")
        rows = {row[0].value: [c.value for c in row]
                for row in ws.iter_rows() if isinstance(row[0].value, str)}
        quarter = rows["Q2 FY2027"]
        # Plan, Plan to date, Actual, Variance, Variance %, Forecast, Variance at completion
        assert quarter[2] == pytest.approx(q2["plan"], abs=CENT)
        assert quarter[3] == pytest.approx(q2["actual"], abs=CENT)
        assert quarter[4] == pytest.approx(q2["variance"], abs=CENT)
        year = rows["FY2027 full year"]
        assert year[6] == pytest.approx(figures["years"][0]["forecast"], abs=CENT)
        assert year[7] == pytest.approx(figures["years"][0]["variance_at_completion"],
                                        abs=CENT)


def test_rollup_reconciles_to_each_plans_json_to_the_cent(batch, tmp_path):
    folder, out, outcome = batch
    report = json.loads((out / "batch_report.json").read_text(encoding="utf-8"))
    expected: dict[str, dict[str, float]] = {}
    for entry in report["plans"]:
        if entry["status"] != "ok" or entry["quarters"][0]["actuals"] is None:
            continue
        summary = json_of(folder, entry["file"][:-5], tmp_path)
        q2 = next(q for q in summary["actuals"]["quarters"] if q["quarter"] == "Q2")
        year = summary["actuals"]["years"][0]
        plan_q2 = summary["scenarios"][0]["quarters"][1]["total"]
        mine = entry["quarters"][0]["actuals"]
        assert mine["actual"] == pytest.approx(q2["actual"], abs=CENT)
        assert mine["variance"] == pytest.approx(q2["variance"], abs=CENT)
        assert mine["fiscal_year_forecast"] == pytest.approx(year["forecast"], abs=CENT)
        expected[entry["file"]] = {
            "plan": plan_q2, "actual": q2["actual"], "variance": q2["variance"],
            "forecast": plan_q2 + q2["variance"], "fy_forecast": year["forecast"],
            "vac": year["variance_at_completion"]}
    assert len(expected) == N_PLANS - 2  # not the invalid plan, not the one without actuals

    # odd plans' fiscal years start in April (Q2 is Jul–Sep), even ones' in January (Q2 is
    # Apr–Jun): a rollup each, adding up only its own plans
    totals = {t["fy_start_month"]: t for t in report["totals"]}
    assert set(totals) == {1, 4} and {t["currency"] for t in totals.values()} == {"USD"}
    for start, rollup in ((1, "rollup_FY2027_Q2_Apr-Jun.xlsx"),
                          (4, "rollup_FY2027_Q2_Jul-Sep.xlsx")):
        mine = {f: e for f, e in expected.items() if int(f[2:4]) % 2 == (start == 4)}
        without = [f"bu{i:02d}.xlsx" for i in (NO_ACTUALS,) if i % 2 == (start == 4)]
        assert totals[start]["rollup"] == rollup
        sums = {key: math.fsum(e[key] for e in mine.values())
                for key in next(iter(mine.values()))}
        t = totals[start]["actuals"]
        assert t["plans"] == len(mine)
        for key, name in (("plan", "plan"), ("actual", "actual"), ("variance", "variance"),
                          ("forecast", "forecast"), ("fy_forecast", "fiscal_year_forecast"),
                          ("vac", "variance_at_completion")):
            assert t[name] == pytest.approx(sums[key], abs=CENT), key

        ws = openpyxl.load_workbook(out / rollup)["Rollup"]
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        header = next(i for i, r in enumerate(rows) if r[:4] == ["Plan", "Plan file",
                                                                  "Actuals through", "Budget"])
        assert rows[header][4:13] == ["Budget to date", "Actual", "Variance", "Variance %",
                                      "Forecast", "FY budget", "FY actual to date",
                                      "FY forecast", "FY variance at completion"]
        body = rows[header + 1: header + 1 + len(mine)]
        assert [r[1] for r in body] == list(mine)
        for r in body:  # Q2 is complete in every plan: its budget to date is its budget
            e = mine[r[1]]
            assert r[3:7] == pytest.approx([e["plan"], e["plan"], e["actual"], e["variance"]],
                                           abs=CENT)
            assert r[8] == pytest.approx(e["forecast"], abs=CENT)
            assert r[11:13] == pytest.approx([e["fy_forecast"], e["vac"]], abs=CENT)
        total = rows[header + 1 + len(mine)]
        assert total[0] == f"Total ({len(mine)} plans with actuals)"
        assert total[3:7] == pytest.approx([sums["plan"], sums["plan"], sums["actual"],
                                            sums["variance"]], abs=CENT)
        assert total[11:13] == pytest.approx([sums["fy_forecast"], sums["vac"]], abs=CENT)
        note = rows[header + 3 + len(mine)][0]
        if without:
            assert note.startswith(f"Without actuals (plan only): {without[0]}.")
        else:
            assert note.startswith("Budget to date is the plan of the months reported")


def test_two_actuals_files_beside_a_plan_fail_that_plan(tmp_path):
    plan = write_openpyxl(generated_plan(1), tmp_path / "unit.xlsx")
    table = actuals_table(generated_plan(1), 1)
    write_openpyxl({"Actuals": table}, tmp_path / "unit.actuals.xlsx")
    (tmp_path / "unit.actuals.csv").write_text("Month,System,Activity,Amount\n",
                                               encoding="utf-8")
    outcome = execute_batch([plan], quarter="Q1", out=tmp_path / "out", jobs=1)
    error = outcome.results[0].errors[0]
    assert error["code"] == "actuals-ambiguous"
    assert error["message"].startswith("unit.actuals.xlsx and unit.actuals.csv are both "
                                       "beside the plan")


def test_a_bad_actuals_file_fails_its_plan_with_the_located_cell(tmp_path):
    plan = write_openpyxl(generated_plan(2), tmp_path / "unit.xlsx")
    (tmp_path / "unit.actuals.csv").write_text(
        "Month,System,Activity,Amount\n2027-02,X,Monitoring,lots\n", encoding="utf-8")
    outcome = execute_batch([plan], quarter="Q1", out=tmp_path / "out", jobs=1)
    result = outcome.results[0]
    assert result.status == "failed" and result.outputs == []
    assert result.errors[0]["location"] == "unit.actuals.csv line 2, column Amount"


def test_a_plans_own_actuals_sheet_is_used_without_a_file_beside_it(tmp_path):
    sheets = generated_plan(1)
    sheets["Actuals"] = actuals_table(sheets, 1)
    plan = write_openpyxl(sheets, tmp_path / "unit.xlsx")
    if not run_plan(plan).plan.actuals:
        pytest.skip("this build reads no Actuals sheet from a plan file (the reader's list of "
                    "input sheets does not have it yet)")
    outcome = execute_batch([plan], quarter="Q2", out=tmp_path / "out", jobs=1)
    result = outcome.results[0]
    assert result.ok and result.actuals is not None
    assert result.actuals["source"] == "Actuals" and result.actuals["through"] == "2027-10"
    # Jul–Sep 2027 (months m = 3, 4, 5): 3 activities × (8,000 + 1,000 k + 250 m) × 1.01 for
    # the k-th system of the plan (it has one: k = 0)
    n_systems = len({row[0] for row in sheets["Staffing"][1:]})
    assert n_systems == 1
    expected = 3 * sum((8_000 + 250 * m) * 1.01 for m in (3, 4, 5))
    assert result.quarters[0]["actuals"]["actual"] == pytest.approx(expected, abs=CENT)


def test_an_over_budget_quarter_is_on_the_checks_sheet():
    """FY2028 Q1 with 4,000 a month more of Perfective: 81,000 spent against 66,000 planned,
    15,000 (22.7 %) over, beyond the 5 % threshold."""
    rows = [*actual_rows(), *(ActualLine(i, "ERP", "Perfective", 4_000) for i in (12, 13, 14))]
    layout = build_quarter_layout(evaluate(two_year_plan(rows)), "Baseline", "FY2028 Q2")
    checks = layout.sheet("Checks").block("checks")
    over = [r for r in checks.rows if r[1] == "over-budget"]
    assert len(over) == 1 and over[0][0] == "warning"
    assert over[0][3].startswith("FY2028 Q1: actual spend 81,000 EUR is 15,000 (22.7%) over")
    summary = layout.sheet("Budget").block("summary")
    assert summary.value("Year to date (Q1–Q2)", "Variance") == 15_000 + 2_500


def test_quarters_are_read_by_the_period_axis_one_way():
    """A budget's quarter is read by core.periods (the same reading as a typed quarter cell),
    and outside the horizon or unreadable it is the report's error, naming what was given."""
    from omplan.core.periods import Horizon, parse_quarter
    from omplan.report.budget_quarter import period_of
    from omplan.report.errors import ReportError

    assert parse_quarter("Q3") == (None, 3)
    assert parse_quarter("FY2028 Q3") == parse_quarter("fy2028-q3") == (2028, 3)
    assert parse_quarter(" FY 2028_Q3 ") == (2028, 3)
    assert [parse_quarter(x) for x in ("Q5", "FY28 Q1", "", None, 3, "2028 Q1")] == \
        [None] * 6
    horizon = Horizon(2027, 2, 4)
    assert horizon.period_named("FY2028 Q2").index == 5
    assert horizon.period_named("Q4").index == 3
    assert horizon.period_named("FY2029 Q1") is None
    plan, _ = parse(with_rows(tiny_plan(), "Settings", ["horizon_years", 2]))
    assert period_of(plan, "fy2028q2").index == 5 and period_of(plan, 7).label == "FY2028 Q4"
    for bad, message in ((8, "index 8 is outside"), ("Q0", "'Q0' is not a quarter"),
                         ("FY2026 Q4", "'FY2026 Q4' is outside")):
        with pytest.raises(ReportError, match=message):
            period_of(plan, bad)
