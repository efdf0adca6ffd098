"""Periods compared like with like: payback counted from the change, a partly reported quarter
against the same months of the quarters it is compared with, rollups of one fiscal calendar.

Each test builds plan files as a user would (openpyxl-made workbooks) and runs the command line
on them; the expected figures are worked out by hand in the docstrings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from factories import tiny_plan, with_rows, write_openpyxl

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["Scenario", "Role", "System", "Change", "Value", "From"]


def omplan_cmd(*args: str | os.PathLike[str], cwd: Path = ROOT,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m omplan ARGS`` as a user runs it."""
    environ = {k: v for k, v in os.environ.items() if k != "OMPLAN_DEBUG"}
    environ["PYTHONUTF8"] = "1"
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "omplan", *map(os.fspath, args)], cwd=cwd,
                          env=environ, capture_output=True, text=True, encoding="utf-8",
                          timeout=300)


def sheet_rows(path: Path, sheet: str) -> list[list[Any]]:
    """A sheet's cells read back with openpyxl (values, not formulas: omplan writes values)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)]


def table_under(rows: list[list[Any]], first_header: str, second_header: str
                ) -> tuple[list[Any], list[list[Any]]]:
    """(header, data rows) of the table whose header row starts with the two labels."""
    for i, row in enumerate(rows):
        cells = [c for c in row if c is not None]
        if cells[:2] == [first_header, second_header]:
            start = next(j for j, c in enumerate(row) if c == first_header)
            data = []
            for below in rows[i + 1:]:
                if below[start] is None:
                    break
                data.append(below[start:])
            return row[start:], data
    raise AssertionError(f"no table headed {first_header!r}, {second_header!r}")


# --------------------------------------------------------------------------- payback from change


def change_plan() -> dict[str, list[list[Any]]]:
    """The tiny plan over FY2027–FY2029, four transition months, and four scenarios.

    Baseline: Ops 1 FTE × 3 × 10,000 = 30,000 and Dev 1 × 3 × 12,000 = 36,000 a quarter.
    Dev offshore (6,000 a month) costs 18,000 + vendor management 1,800 + coordination 990
    (5 % of 19,800: Ops in-house and the offshore vendor share the operation work) = 20,790 a
    quarter, 15,210 less than in-house, and once 4 × 6,000 = 24,000 of transition in the
    quarter of the move: that quarter saves 15,210 − 24,000 = −8,790 and the next +15,210,
    so the cumulative savings turn (and stay) positive one quarter after the move.

    - *Offshore dev from FY2028 Q3* (k0 = 6): cumulative −8,790 in FY2028 Q3 (k = 6),
      +6,420 in FY2028 Q4 (k = 7): payback 3 × (7 + 1) = 24 months from the plan's start,
      24 − 3 × 6 = 6 months from the change.
    - *Offshore dev* (no From, k0 = 0): −8,790 in FY2027 Q1, +6,420 in Q2: 6 months, and 6
      months from the change (= payback_months).
    - *Outsource ops* (Ops to an onshore vendor at 12,000 a month, FY2028 Q1): it only costs
      more, never pays back: both null.
    - *Staged*: Ops halved from Q2 (k = 1) and Dev offshore from FY2028 Q3; its earliest row
      applies from k0 = 1. Halving Ops saves 15,000 a quarter from Q2, so the cumulative
      savings are never negative: payback 0 (at once), from change max(0, 0 − 3) = 0.
    """
    sheets = tiny_plan()
    sheets["Settings"] += [["horizon_years", 3], ["transition_months", 4]]
    return with_rows(
        sheets, "Scenarios",
        ["Offshore dev from FY2028 Q3", "Dev", "*", "sourcing", "Offshore", "FY2028 Q3"],
        ["Offshore dev", "Dev", "*", "sourcing", "Offshore", None],
        ["Outsource ops", "Ops", "*", "sourcing", "Outsource", "FY2028 Q1"],
        ["Staged", "Dev", "*", "sourcing", "Offshore", "FY2028 Q3"],
        ["Staged", "Ops", "*", "fte_factor", 0.5, "Q2"],
        header=SCENARIOS)


@pytest.fixture(scope="module")
def change_run(tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[dict[str, Any], str, Path]:
    folder = tmp_path_factory.mktemp("change")
    plan = write_openpyxl(change_plan(), folder / "change.xlsx")
    result = omplan_cmd("run", plan, "--json", folder / "change.json", "--out",
                        folder / "change_report.xlsx", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((folder / "change.json").read_text(encoding="utf-8"))
    return summary, result.stdout, folder / "change_report.xlsx"


def test_payback_from_change_in_the_json(change_run):
    summary, _, _ = change_run
    cases = {s["name"]: s["business_case"] for s in summary["scenarios"]}
    assert cases["Baseline"] is None
    late = cases["Offshore dev from FY2028 Q3"]
    assert late["payback_months"] == 24
    assert late["payback_quarter"] == {"fiscal_year": 2028, "quarter": "Q4"}
    assert late["payback_from_change_months"] == 6  # 24 − 3 × 6
    assert late["one_off"] == 24_000
    quarters = {s["name"]: s["quarters"] for s in summary["scenarios"]}
    savings = [b["total"] - s["total"] for b, s in zip(quarters["Baseline"],
                                                       quarters["Offshore dev from FY2028 Q3"],
                                                       strict=True)]
    assert savings[:6] == [0.0] * 6
    assert savings[6:8] == [pytest.approx(-8_790), pytest.approx(15_210)]
    now = cases["Offshore dev"]
    assert (now["payback_months"], now["payback_from_change_months"]) == (6, 6)
    never = cases["Outsource ops"]
    assert (never["payback_months"], never["payback_from_change_months"]) == (None, None)
    staged = cases["Staged"]
    assert (staged["payback_months"], staged["payback_from_change_months"]) == (0, 0)
    # the key sits beside payback_months and payback_quarter
    keys = list(late)
    assert keys.index("payback_from_change_months") == keys.index("payback_quarter") + 1


def test_payback_from_change_in_the_terminal_within_80_columns(change_run):
    _, stdout, _ = change_run
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Against Baseline"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Recommended: ")
               or line.startswith("No scenario is recommended"))
    assert max(len(line.rstrip()) for line in lines[head:end + 1]) <= 80, stdout
    table = "\n".join(lines[head:end])
    assert re.search(r"\bPayback\b", table) and re.search(r"\bchange\b", table), table
    # a scenario name may wrap in 80 columns: look the figures up by their first words
    late = next(line for line in lines[head:end] if line.startswith("Offshore dev from"))
    assert re.search(r"\b24 mo \(FY2028 Q4\)\s+6 mo$", late.rstrip()), late
    now = next(line for line in lines[head:end] if line.startswith("Offshore dev ")
               and "from" not in line)
    assert re.search(r"\b6 mo \(FY2027 Q2\)\s+6 mo$", now.rstrip()), now
    never = next(line for line in lines[head:end] if line.startswith("Outsource ops"))
    assert re.search(r"\bnever\s+never$", never.rstrip()), never
    staged = next(line for line in lines[head:end] if line.startswith("Staged"))
    assert re.search(r"\bat once\s+at once$", staged.rstrip()), staged


def test_payback_from_change_on_the_business_case_sheet(change_run):
    summary, _, report = change_run
    header, rows = table_under(sheet_rows(report, "Business case"), "Rank", "Scenario")
    column = header.index("Payback from change (months)")
    assert header[column - 2: column + 2] == ["Payback (months)", "Pays back in",
                                              "Payback from change (months)", "Verdict"]
    by_name = {row[1]: row for row in rows}
    assert by_name["Offshore dev from FY2028 Q3"][column - 2: column + 1] == [24, "FY2028 Q4", 6]
    assert by_name["Offshore dev"][column - 2: column + 1] == [6, "FY2027 Q2", 6]
    assert by_name["Outsource ops"][column - 2: column + 1] == [None, "never in the horizon",
                                                                None]
    assert by_name["Staged"][column - 2: column + 1] == [0, "at once", 0]
    assert by_name["Baseline"][column] is None
    for sc in summary["scenarios"][1:]:
        assert by_name[sc["name"]][column] == sc["business_case"]["payback_from_change_months"]


# --------------------------------------------------------------------------- rollups per calendar


def unit(name: str, fy_start_month: int, ops_fte: float = 1, dev_fte: float = 1
         ) -> dict[str, list[list[Any]]]:
    """The tiny plan as a business unit: Ops ``ops_fte`` × 3 × 10,000 and Dev ``dev_fte`` × 3
    × 12,000 every quarter, fiscal years from ``fy_start_month``."""
    sheets = tiny_plan()
    sheets["Settings"][1] = ["plan_name", name]
    sheets["Settings"].append(["fy_start_month", fy_start_month])
    sheets["Staffing"][1][4:8] = [ops_fte] * 4
    sheets["Staffing"][2][4:8] = [dev_fte] * 4
    return sheets


def test_plans_of_different_fiscal_calendars_are_rolled_up_apart(tmp_path):
    """Q2 FY2027 is Apr–Jun 2027 for a fiscal year from January and Jul–Sep 2027 for one from
    April: they are not the same months, so they are not added up.

    - *Calendar* (January): 30,000 + 36,000 = 66,000 a quarter.
    - *Calendar too* (January), Dev 2 FTE: 30,000 + 72,000 = 102,000.
    - *April* (April), Ops 2 FTE: 60,000 + 36,000 = 96,000.

    Rollups: Apr–Jun 2027 = 66,000 + 102,000 = 168,000 (two plans); Jul–Sep 2027 = 96,000
    (one plan). Never 264,000 for "Q2 FY2027".
    """
    plans = tmp_path / "plans"
    plans.mkdir()
    write_openpyxl(unit("Calendar", 1), plans / "calendar.xlsx")
    write_openpyxl(unit("Calendar too", 1, dev_fte=2), plans / "calendar_too.xlsx")
    write_openpyxl(unit("April", 4, ops_fte=2), plans / "april.xlsx")
    out = tmp_path / "out"
    result = omplan_cmd("batch", plans, "--quarter", "Q2", "--out", out, "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("Fiscal years start in January (2 plans) and April (1 plan): each calendar has "
            "rollups of its own, named by their months.") in result.stdout
    assert sorted(p.name for p in out.glob("rollup*")) == [
        "rollup_FY2027_Q2_Apr-Jun.xlsx", "rollup_FY2027_Q2_Jul-Sep.xlsx"]

    report = json.loads((out / "batch_report.json").read_text(encoding="utf-8"))
    assert report["rollups"] == ["rollup_FY2027_Q2_Apr-Jun.xlsx",
                                 "rollup_FY2027_Q2_Jul-Sep.xlsx"]
    january, april = report["totals"]
    assert (january["fy_start_month"], january["months"]) == (1, ["Apr 2027", "May 2027",
                                                                  "Jun 2027"])
    assert january["plan_files"] == ["calendar.xlsx", "calendar_too.xlsx"]
    assert (january["plans"], january["total"]) == (2, 66_000 + 102_000)
    assert (april["fy_start_month"], april["months"]) == (4, ["Jul 2027", "Aug 2027",
                                                              "Sep 2027"])
    assert april["plan_files"] == ["april.xlsx"]
    assert (april["plans"], april["total"]) == (1, 96_000)

    for name, files, total, months, start in (
            ("rollup_FY2027_Q2_Apr-Jun.xlsx", ["calendar.xlsx", "calendar_too.xlsx"],
             168_000, "Apr 2027 – Jun 2027", "January"),
            ("rollup_FY2027_Q2_Jul-Sep.xlsx", ["april.xlsx"], 96_000, "Jul 2027 – Sep 2027",
             "April")):
        rows = sheet_rows(out / name, "Rollup")
        header, body = table_under(rows, "Plan", "Plan file")
        listed = [r for r in body if r[1] in files]
        assert [r[1] for r in listed] == files
        assert all(r[header.index("Months")] == months for r in listed)
        total_row = next(r for r in body if str(r[0]).startswith("Total ("))
        assert total_row[0] == f"Total ({len(files)} plan{'s' if len(files) > 1 else ''})"
        assert total_row[header.index("Total")] == total
        assert f"{months}, fiscal years from {start}" in rows[1][0]
        about = {r[0]: r[1] for r in sheet_rows(out / name, "About") if r[0]}
        assert about["Months"].startswith(f"Every plan here starts its fiscal year in {start}")


def test_one_fiscal_calendar_keeps_the_plain_rollup_name(tmp_path):
    """A batch whose plans share a calendar names its rollups as before (no months)."""
    plans = tmp_path / "plans"
    plans.mkdir()
    write_openpyxl(unit("North", 4), plans / "north.xlsx")
    write_openpyxl(unit("South", 4, ops_fte=2), plans / "south.xlsx")
    result = omplan_cmd("batch", plans, "--quarter", "Q2", "--out", tmp_path / "out",
                        "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fiscal years start in" not in result.stdout
    assert [p.name for p in (tmp_path / "out").glob("rollup*")] == ["rollup_FY2027_Q2.xlsx"]
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text(encoding="utf-8"))
    assert report["totals"][0]["total"] == 66_000 + 96_000
    assert report["totals"][0]["plan_files"] == ["north.xlsx", "south.xlsx"]


# ------------------------------------------------------------------ a partly reported quarter


def reported_plan() -> dict[str, list[list[Any]]]:
    """The tiny plan over FY2026–FY2027 (calendar fiscal years), Ops 2 FTE in Q3, with its
    own Actuals sheet through Aug 2027.

    Plan a quarter: Q1, Q2, Q4 30,000 + 36,000 = 66,000 (22,000 a month); Q3 60,000 + 36,000
    = 96,000 (32,000 a month). Actual a month on ERP: Incident response 6,000, Corrective
    6,000 and Monitoring 10,000 in FY2026 (20,000 in Jul–Sep 2026), 11,000 in Jan–Jun 2027,
    21,000 in Jul and Aug 2027; Sep 2027 is not reported.
    """
    sheets = tiny_plan()
    sheets["Settings"] += [["horizon_years", 2], ["fy_start_month", 1]]
    sheets["Settings"][2] = ["fiscal_year", 2026]
    sheets["Staffing"][1][4:8] = [1, 1, 2, 1]
    actuals: list[list[Any]] = [["Month", "System", "Activity", "Amount"]]
    for year, month in [(2026, m) for m in range(1, 13)] + [(2027, m) for m in range(1, 9)]:
        monitoring = (20_000 if year == 2026 and 7 <= month <= 9 else 10_000 if year == 2026
                      else 21_000 if month >= 7 else 11_000)
        for activity, amount in (("Monitoring", monitoring), ("Incident response", 6_000),
                                 ("Corrective", 6_000)):
            actuals.append([f"{year}-{month:02d}", "ERP", activity, amount])
    sheets["Actuals"] = actuals
    return sheets


@pytest.fixture(scope="module")
def partial_budget(tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[list[list[Any]], dict[str, Any]]:
    """The batch's FY2027 Q3 budget (Jul and Aug reported) read back with openpyxl, and the
    plan's JSON summary."""
    folder = tmp_path_factory.mktemp("partial")
    plan = write_openpyxl(reported_plan(), folder / "unit.xlsx")
    result = omplan_cmd("batch", plan, "--quarter", "FY2027Q3", "--out", folder / "out",
                        "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    run = omplan_cmd("run", plan, "--json", folder / "unit.json")
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((folder / "unit.json").read_text(encoding="utf-8"))
    return sheet_rows(folder / "out" / "unit_FY2027_Q3.xlsx", "Budget"), summary


def test_the_json_counts_only_the_months_reported(partial_budget):
    _, summary = partial_budget
    actuals = summary["actuals"]
    assert actuals["through"] == "2027-08"
    q3 = next(q for q in actuals["quarters"]
              if (q["fiscal_year"], q["quarter"]) == (2027, "Q3"))
    # Jul and Aug: 2 × 32,000 planned, 2 × 33,000 spent
    assert (q3["complete"], q3["plan"], q3["actual"], q3["variance"]) == (
        False, 64_000, 66_000, 2_000)
    assert q3["variance_pct"] == 2_000 / 64_000


def test_a_partly_reported_quarter_shows_plan_to_date_beside_its_actuals(partial_budget):
    """Budget summary: the quarter's plan (96,000) for the forecast, and its plan to date
    (64,000) beside the 66,000 spent; the year to date adds FY2027 Q1 and Q2 (66,000 planned,
    69,000 spent each) and the full year the plan still to come (Sep 32,000, Q4 66,000)."""
    rows, summary = partial_budget
    header, body = table_under(rows, "Budget (EUR)", "Plan")
    assert header[:9] == ["Budget (EUR)", "Plan", "Plan to date", "Actual", "Variance",
                          "Variance %", "Forecast", "Variance at completion", "Notes"]
    figures = {r[0]: r[1:8] for r in body}
    assert figures["Q3 FY2027"] == [96_000, 64_000, 66_000, 2_000, 2_000 / 64_000,
                                    96_000 + 2_000, 2_000]
    assert figures["Year to date (Q1–Q3)"] == [
        66_000 + 66_000 + 96_000, 66_000 + 66_000 + 64_000, 69_000 + 69_000 + 66_000,
        3_000 + 3_000 + 2_000, pytest.approx(8_000 / 196_000), 228_000 + 8_000, 8_000]
    assert figures["FY2027 full year"] == [
        294_000, 196_000, 204_000, 8_000, pytest.approx(8_000 / 196_000),
        204_000 + 32_000 + 66_000, 302_000 - 294_000]
    # the same plan to date as the JSON's quarter
    q3 = next(q for q in summary["actuals"]["quarters"]
              if (q["fiscal_year"], q["quarter"]) == (2027, "Q3"))
    assert figures["Q3 FY2027"][1] == q3["plan"]

    # by activity and month: the quarter's columns hold the plan to date
    group = next(r for r in rows if "Q3 FY2027 to date (Jul–Aug 2027)" in r)
    assert group.index("Q3 FY2027 to date (Jul–Aug 2027)") == 11  # over its second column
    header, body = table_under(rows, "Activity", "Plan")
    assert header[10:14] == ["Plan to date", "Actual", "Variance", "Variance %"]
    total = next(r for r in body if r[0] == "Total")
    assert total[1:4] == [32_000, 33_000, 1_000] and total[7:10] == [32_000, "—", "—"]
    assert total[10:14] == [64_000, 66_000, 2_000, 2_000 / 64_000]
    monitoring = next(r for r in body if r[0] == "Monitoring")  # 2 × 20,000 planned
    assert monitoring[10:13] == [40_000, 42_000, 2_000]

    # the months, the quarter to date, and the systems and year to date beside their actuals
    _, months = table_under(rows, "Month", "Plan")
    assert months[3][:5] == ["Q3 to date (Jul–Aug 2027)", 64_000, 66_000, 2_000,
                             2_000 / 64_000]
    header, systems = table_under(rows, "System", "Jul 2027")
    erp = next(r for r in systems if r[0] == "ERP")
    at = header.index("Plan to date")
    assert header[at:at + 4] == ["Plan to date", "Actual", "Variance", "Variance %"]
    assert erp[header.index("Total")] == 96_000 and erp[at:at + 3] == [64_000, 66_000, 2_000]
    header, ytd = table_under(rows, "Quarter", "Months")
    at = header.index("Plan to date")
    assert {r[0]: r[at:at + 3] for r in ytd} == {
        "Q1": [66_000, 69_000, 3_000], "Q2": [66_000, 69_000, 3_000],
        "Q3": [64_000, 66_000, 2_000], "Year to date": [196_000, 204_000, 8_000],
        "Full year FY2027": [196_000, 204_000, 8_000]}


def test_a_partly_reported_quarter_is_compared_over_the_same_months(partial_budget):
    """Jul–Aug 2027 against Apr–May 2027 (the previous quarter's first two months) and Jul–Aug
    2026 (the same quarter last year's): plan 64,000 vs 44,000 and 64,000, actual 66,000 vs
    46,000 and 64,000. Against whole quarters it would read 66,000 against 69,000 (−4.3 %)
    and 96,000 (−31.3 %) spent: two months against three."""
    rows, _ = partial_budget
    title = next(r[0] for r in rows if r[0] and str(r[0]).startswith("Against the previous"))
    assert title == ("Against the previous quarter (Q2 FY2027) and the same quarter last year "
                     "(Q3 FY2026), the first 2 months of each: Q3 FY2027 is reported through "
                     "Aug 2027")
    header, body = table_under(rows, "First 2 months (EUR)", "Q3 FY2027 (Jul–Aug 2027)")
    assert header[:8] == ["First 2 months (EUR)", "Q3 FY2027 (Jul–Aug 2027)",
                          "Q2 FY2027 (Apr–May 2027)", "Change", "Change %",
                          "Q3 FY2026 (Jul–Aug 2026)", "Change", "Change %"]
    table = {r[0]: r[1:8] for r in body}
    assert table["Plan"] == [64_000, 44_000, 20_000, pytest.approx(20_000 / 44_000),
                             64_000, 0, 0]
    assert table["Actual"] == [66_000, 46_000, 20_000, pytest.approx(20_000 / 46_000),
                               64_000, 2_000, 2_000 / 64_000]
    # variance 2,000 now, 2,000 in Apr–May, 0 in Jul–Aug 2026 (no % of a change from 0)
    assert table["Variance"] == [2_000, 2_000, 0, 0, 0, 2_000, "—"]
    # Q3's operation: Ops 60,000 + half of Dev's 36,000; Q2's 30,000 + 18,000; two thirds
    assert table["Operation"][:3] == [52_000, 32_000, 20_000]
    assert table["Maintenance"][:3] == [12_000, 12_000, 0]
    # shares and FTE are not amounts of months: the quarters' own
    assert table["Operation share"][:2] == [pytest.approx(78 / 96), pytest.approx(48 / 66)]
    assert table["FTE"][:3] == [3, 2, 1]
    status = next(r[0] for r in rows if r[0] and str(r[0]).startswith("Actuals through"))
    assert "the comparisons with other quarters take their first 2 months" in status


def test_a_complete_quarter_is_compared_with_whole_quarters(tmp_path):
    """FY2027 Q2 (complete) keeps the whole-quarter comparison: 69,000 spent against 69,000
    in FY2027 Q1 and 66,000 in FY2026 Q2; its plan to date is its plan."""
    plan = write_openpyxl(reported_plan(), tmp_path / "unit.xlsx")
    result = omplan_cmd("batch", plan, "--quarter", "FY2027Q2", "--out", tmp_path / "out",
                        "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = sheet_rows(tmp_path / "out" / "unit_FY2027_Q2.xlsx", "Budget")
    header, body = table_under(rows, "Against (EUR)", "Q2 FY2027")
    assert header[:8] == ["Against (EUR)", "Q2 FY2027", "Q1 FY2027", "Change", "Change %",
                          "Q2 FY2026", "Change", "Change %"]
    table = {r[0]: r[1:8] for r in body}
    assert table["Plan"] == [66_000, 66_000, 0, 0, 66_000, 0, 0]
    assert table["Actual"][:2] == [69_000, 69_000] and table["Actual"][4] == 66_000
    _, summary = table_under(rows, "Budget (EUR)", "Plan")
    assert summary[0][:5] == ["Q2 FY2027", 66_000, 66_000, 69_000, 3_000]
