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
