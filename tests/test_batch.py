"""``omplan batch``: quarterly budgets for many plans, rollups, batch_report.json (issue 6).

Twelve business-unit plans (one invalid) run once through the real command in a subprocess
(plain progress lines: not a terminal) and once more with ``--quiet --jobs 1``; the other
tests read what those runs wrote. Figures are checked against the engine's ledger and the
JSON summary of ``omplan run --json``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from factories import tiny_plan, with_rows, write_openpyxl
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

import omplan
from omplan.apps.batch import (
    BatchError,
    PlanResult,
    RichProgress,
    execute_batch,
    expand_paths,
    is_output_name,
    parse_quarters,
    run_batch,
)
from omplan.apps.cli import cli
from omplan.core.model import ACTIVITIES, QUARTERS
from omplan.pipeline import run_plan
from omplan.report.layout import SourceInfo
from omplan.report.quarterly import (
    FY_CONVENTION,
    build_quarter_layout,
    fiscal_months,
    fiscal_year_span,
    quarter_month_labels,
    split_quarter,
)

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1800000000"  # 2027-01-15 08:00:00 UTC
N_PLANS = 12
BAD = 7  # bu07 has a negative FTE
BAD_LOCATION = "Staffing!F2"
#: The rollups of each quarter: the even plans' fiscal years start in January, the odd ones'
#: in April, so their Q1 FY2027 are other months and each calendar has rollups of its own.
ROLLUPS = {"Q1": ("rollup_FY2027_Q1_Jan-Mar.xlsx", "rollup_FY2027_Q1_Apr-Jun.xlsx"),
           "Q2": ("rollup_FY2027_Q2_Apr-Jun.xlsx", "rollup_FY2027_Q2_Jul-Sep.xlsx"),
           "Q3": ("rollup_FY2027_Q3_Jul-Sep.xlsx", "rollup_FY2027_Q3_Oct-Dec.xlsx"),
           "Q4": ("rollup_FY2027_Q4_Oct-Dec.xlsx", "rollup_FY2027_Q4_Jan-Mar.xlsx")}
JANUARY = [f"bu{i:02d}.xlsx" for i in range(2, N_PLANS + 1, 2)]
APRIL = [f"bu{i:02d}.xlsx" for i in range(1, N_PLANS + 1, 2) if i != BAD]
#: openpyxl writes numbers with 16 significant digits ("%.16g"): a float read back from a
#: file is within this of the float written (Python's repr needs up to 17 digits).
FILE_REL = 1e-15


# --------------------------------------------------------------------------- plans


def bu_plan(i: int, currency: str = "EUR") -> dict[str, list[list[Any]]]:
    """Business unit ``i``: the tiny plan with its own FTE, rates, fiscal-year start, an
    outsourced line, other costs or a scenario depending on ``i``."""
    sheets = tiny_plan()
    sheets["Settings"][1] = ["plan_name", f"BU {i:02d}"]
    sheets["Settings"][3] = ["currency", currency]
    sheets["Settings"].append(["fy_start_month", 4 if i % 2 else 1])
    sheets["Staffing"][1][4:8] = [1 + 0.25 * i, 1 + 0.25 * i, 2, 0.5 * (i % 3)]
    sheets["Staffing"][2][4:8] = [1, 1.5, 1.5 + 0.1 * i, 1]
    sheets["Rates"][2][2] = 12_000 + 350 * i
    if i % 3 == 0:
        sheets = with_rows(sheets, "Staffing",
                           ["CRM", "Ops", "Outsource", "Acme" if i % 2 else None, 0.5, 1, 1, 1])
    if i % 4 == 0:
        sheets = with_rows(sheets, "Scenarios", ["Offshore dev", "Dev", "*", "sourcing",
                                                 "Offshore"],
                           header=["Scenario", "Role", "System", "Change", "Value"])
    if i % 5 == 0:
        sheets = with_rows(sheets, "Costs", ["ERP", "Licences", "Monitoring", 1000, 1000,
                                             2000, 500],
                           header=["System", "Item", "Activity", *QUARTERS])
    if i == BAD:
        sheets["Staffing"][1][5] = -1
    return sheets


def write_plans(folder: Path, n: int = N_PLANS, currency=lambda i: "EUR") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_openpyxl(bu_plan(i, currency(i)), folder / f"bu{i:02d}.xlsx")
            for i in range(1, n + 1)]


def omplan_cmd(*args: Any, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "OMPLAN_DEBUG"}
    environ.update({"PYTHONUTF8": "1", "SOURCE_DATE_EPOCH": EPOCH, "TERM": "dumb"})
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "omplan", *map(str, args)], cwd=ROOT,
                          env=environ, capture_output=True, text=True, encoding="utf-8",
                          timeout=240)


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("plans")
    return folder, write_plans(folder)


@pytest.fixture(scope="module")
def batch(plans, tmp_path_factory):
    """The real command over the folder of plans: all quarters, two processes."""
    folder, _ = plans
    out = tmp_path_factory.mktemp("batch") / "out"
    result = omplan_cmd("batch", folder, "--quarter", "all", "--out", out, "--jobs", 2)
    return result, out


@pytest.fixture(scope="module")
def quiet_batch(plans, tmp_path_factory):
    folder, _ = plans
    out = tmp_path_factory.mktemp("quiet") / "out"
    result = omplan_cmd("batch", folder, "--quarter", "ALL", "--out", out, "--jobs", 1,
                        "--quiet")
    return result, out


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "batch_report.json").read_text(encoding="utf-8"))


def json_summary(path: Path, tmp_path: Path) -> dict[str, Any]:
    """What ``omplan run PLAN --json FILE`` writes (the command, run in-process)."""
    target = tmp_path / f"{path.stem}.json"
    result = CliRunner().invoke(cli, ["run", str(path), "--json", str(target)])
    assert result.exit_code == 0, result.output
    return json.loads(target.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the batch


def test_batch_writes_every_workbook_and_exits_2_for_the_bad_plan(batch):
    result, out = batch
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    names = sorted(p.name for p in out.iterdir())
    expected = sorted([f"bu{i:02d}_FY2027_{q}.xlsx" for i in range(1, N_PLANS + 1) if i != BAD
                       for q in QUARTERS]
                      + [name for q in QUARTERS for name in ROLLUPS[q]]
                      + ["batch_report.json"])
    assert names == expected  # 11 × 4 budgets, 2 × 4 rollups, the report; no temporary files
    data = report(out)
    assert data["status"] == "failed"
    assert (data["plans_total"], data["plans_ok"], data["plans_failed"]) == (12, 11, 1)
    # January's calendar first, then April's; quarters in order within each
    assert data["rollups"] == ([ROLLUPS[q][0] for q in QUARTERS]
                               + [ROLLUPS[q][1] for q in QUARTERS])
    bad = data["plans"][BAD - 1]
    assert bad["file"] == "bu07.xlsx" and bad["status"] == "failed" and bad["outputs"] == []
    assert bad["errors"][0]["location"] == BAD_LOCATION
    assert "≥ 0" in bad["errors"][0]["message"]
    for entry in data["plans"]:
        if entry["file"] != "bu07.xlsx":
            assert entry["status"] == "ok" and entry["errors"] == []
            assert entry["outputs"] == [f"{Path(entry['file']).stem}_FY2027_{q}.xlsx"
                                        for q in QUARTERS]


def test_plain_progress_lines_when_not_a_terminal(batch):
    result, out = batch
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) == N_PLANS
    assert progress[-1].startswith(f"[{N_PLANS}/{N_PLANS}]")
    assert sum(" ok " in line for line in progress) == N_PLANS - 1
    failed = [line for line in progress if "failed" in line]
    assert len(failed) == 1 and "bu07.xlsx" in failed[0] and BAD_LOCATION in failed[0]
    assert "\x1b[" not in result.stdout  # no terminal control codes in a log
    assert "Wrote 44 quarterly budgets and 8 rollups" in result.stdout
    assert ("Fiscal years start in January (6 plans) and April (5 plans): each calendar has "
            "rollups of its own, named by their months.") in result.stdout
    assert "bu07.xlsx" in result.stderr and BAD_LOCATION in result.stderr


def test_quiet_prints_only_the_failures(quiet_batch):
    result, out = quiet_batch
    assert result.returncode == 2
    assert result.stdout == ""
    assert "bu07.xlsx" in result.stderr and BAD_LOCATION in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # "1 plan failed:" and the plan


def test_jobs_1_and_jobs_2_write_the_same_bytes(batch, quiet_batch):
    _, out2 = batch
    _, out1 = quiet_batch
    names = sorted(p.name for p in out2.iterdir())
    assert names == sorted(p.name for p in out1.iterdir())
    for name in names:
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name


def test_rollup_totals_are_the_sum_of_the_json_quarters(batch, plans, tmp_path):
    """Each fiscal calendar's rollup adds up its own plans' quarters, and only those."""
    _, out = batch
    _, paths = plans
    summaries = {p.name: json_summary(p, tmp_path) for p in paths if p.name != "bu07.xlsx"}
    data = report(out)
    for qi, quarter in enumerate(QUARTERS):
        json_q = {name: s["scenarios"][0]["quarters"][qi] for name, s in summaries.items()}
        for start, files, rollup in ((1, JANUARY, ROLLUPS[quarter][0]),
                                     (4, APRIL, ROLLUPS[quarter][1])):
            expected = {k: sum(json_q[f][k] for f in files)
                        for k in ("total", "operation", "maintenance")}
            totals = next(t for t in data["totals"] if t["quarter"] == quarter
                          and t["fy_start_month"] == start)
            assert (totals["fiscal_year"], totals["currency"], totals["plans"]) == (
                2027, "EUR", len(files))
            assert totals["plan_files"] == files and totals["rollup"] == rollup
            assert totals["plans_failed"] == 1  # bu07 was not read: it is in every rollup
            for key, value in expected.items():
                assert totals[key] == pytest.approx(value, rel=1e-12)
            assert totals["operation_share"] == pytest.approx(
                expected["operation"] / expected["total"], rel=1e-12)

            ws = openpyxl.load_workbook(out / rollup)["Rollup"]
            rows = {r[1]: r for r in ws.iter_rows(values_only=True) if r[1]}
            assert sorted(n for n in rows if str(n).startswith("bu") and n != "Plan file"
                          and n in summaries) == files
            for name in files:  # openpyxl writes 16 significant digits
                q = json_q[name]
                assert rows[name][3:6] == pytest.approx(
                    (q["total"], q["operation"], q["maintenance"]), rel=FILE_REL)
            total_row = next(r for r in ws.iter_rows(values_only=True)
                             if isinstance(r[0], str) and r[0].startswith("Total ("))
            assert total_row[0] == f"Total ({len(files)} plans)"
            assert total_row[3] == pytest.approx(expected["total"], rel=1e-12)
            assert total_row[3] == pytest.approx(totals["total"], rel=FILE_REL)
            failed = [r for r in ws.iter_rows(values_only=True) if r[0] == "bu07.xlsx"]
            assert failed and failed[0][1] == BAD_LOCATION
        for entry in data["plans"]:  # each plan's quarter is exactly the JSON's
            if entry["status"] == "ok":
                q = entry["quarters"][qi]
                for key in ("total", "operation", "maintenance", "operation_share",
                            "band_status"):
                    assert q[key] == json_q[entry["file"]][key], (entry["file"], key)


def test_rollup_lists_each_plan_with_band_and_target(batch):
    """Q3 FY2027 is Oct–Dec 2027 for a fiscal year from April and Jul–Sep 2027 for one from
    January: two rollups, each saying which months it adds up."""
    _, out = batch
    for rollup, files, months, start in (
            (ROLLUPS["Q3"][1], APRIL, "Oct 2027 – Dec 2027", "April"),
            (ROLLUPS["Q3"][0], JANUARY, "Jul 2027 – Sep 2027", "January")):
        ws = openpyxl.load_workbook(out / rollup)["Rollup"]
        header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Plan")
        assert header[:8] == ("Plan", "Plan file", "Months", "Total", "Operation",
                              "Maintenance", "Operation share", "Band status")
        rows = [r for r in ws.iter_rows(values_only=True)
                if isinstance(r[0], str) and r[0].startswith("BU ")]
        assert [r[1] for r in rows] == files
        for r in rows:
            assert r[2] == months
            assert r[6] == pytest.approx(r[4] / r[3])
            assert r[7] in ("within", "operation-heavy", "maintenance-heavy")
            assert r[10] == 0.5  # target: no profile factors
            assert r[12] == f"{Path(r[1]).stem}_FY2027_Q3.xlsx"
        assert f"{months}, fiscal years from {start}" in ws["A2"].value
        wb = openpyxl.load_workbook(out / rollup)
        assert wb.sheetnames == ["Rollup", "About"]
        assert len(wb["Rollup"]._charts) == 1
        about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
        assert about["Months"].startswith(f"Every plan here starts its fiscal year in {start}, "
                                          f"so Q3 FY2027 is {months} for each.")
        assert about["Months"].endswith(f"(this one {rollup}).")


def _quarter_layout(path: Path, quarter: str, scenario: str = "Baseline"):
    run = run_plan(path)
    assert run.ok
    lay = build_quarter_layout(run.evaluation, scenario, quarter, input_findings=run.findings,
                               source=SourceInfo(path.name))
    return run, lay


def _read(path: Path) -> dict[str, dict[tuple[int, int], Any]]:
    """Cell values by sheet with openpyxl, checked to be the same with python-calamine."""
    wb = openpyxl.load_workbook(path)
    values = {ws.title: {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                         if c.value not in (None, "")} for ws in wb.worksheets}
    cal = CalamineWorkbook.from_path(str(path))
    assert cal.sheet_names == list(values)
    for name in cal.sheet_names:
        grid = cal.get_sheet_by_name(name).to_python(skip_empty_area=False)
        other = {(r + 1, c + 1): v for r, row in enumerate(grid) for c, v in enumerate(row)
                 if v not in (None, "")}
        assert other.keys() == values[name].keys(), name
        for key, value in values[name].items():
            if isinstance(value, int | float):
                assert float(other[key]) == value, (name, key)  # floats round-trip exactly
            elif isinstance(value, str):
                assert other[key] == value, (name, key)
    return values


@pytest.mark.parametrize("plan, quarter", [("bu03.xlsx", "Q2"), ("bu10.xlsx", "Q4"),
                                           ("bu12.xlsx", "Q1")])
def test_quarterly_workbook_holds_the_ledger_figures(batch, plans, plan, quarter):
    _, out = batch
    folder, _ = plans
    run, lay = _quarter_layout(folder / plan, quarter)
    led = run.evaluation.ledger
    led = led[(led["scenario"] == "Baseline") & (led["quarter"] == quarter)]
    values = _read(out / f"{Path(plan).stem}_FY2027_{quarter}.xlsx")
    assert list(values) == ["Budget", "Ledger", "Checks", "About"]
    budget = values["Budget"]
    sheet = lay.sheet("Budget")

    def cell(block: str, i: int, j: int) -> Any:
        b = sheet.block(block)
        return budget.get((b.first_row + i, b.col + j))

    def ledger(**where: Any) -> float:
        frame = led
        for column, value in where.items():
            frame = frame[frame[column].isin(value if isinstance(value, list) else [value])]
        return float(frame["amount"].sum())

    matrix = sheet.block("activity_month")
    assert [budget[(matrix.header_row, c)] for c in range(1, 6)] == [
        "Activity", *quarter_month_labels(2027, 4 if int(plan[2:4]) % 2 else 1, quarter),
        quarter]
    for i, row in enumerate(matrix.rows[:-2]):
        label = row[0]
        where = ({"activity": label} if label in ACTIVITIES else
                 {"kind": label.lower()} if label in ("Operation", "Maintenance") else {})
        q = cell("activity_month", i, 4)
        assert q == pytest.approx(ledger(**where), rel=1e-12, abs=1e-9), label
        months = [cell("activity_month", i, j) for j in (1, 2, 3)]
        assert sum(months) == pytest.approx(q, rel=FILE_REL, abs=1e-12), label
        m1, m2, m3, q_written = row[1:5]  # the floats the renderer writes: exact
        assert m1 == m2 == q_written / 3 and m1 + m2 + m3 == q_written, label
    total = ledger()
    assert cell("activity_month", len(ACTIVITIES) + 2, 4) == pytest.approx(total, rel=1e-12)
    summary = run.summary()["scenarios"][0]["quarters"][QUARTERS.index(quarter)]
    assert cell("activity_month", len(ACTIVITIES) + 2, 4) == summary["total"]

    systems = sheet.block("by_system")
    for i, row in enumerate(systems.rows[:-1]):
        assert cell("by_system", i, 4) == pytest.approx(ledger(system=row[0]), abs=1e-9)
        assert cell("by_system", i, 5) == pytest.approx(
            ledger(system=row[0], kind="operation"), abs=1e-9)
    levels = sheet.block("by_level")
    for i, row in enumerate(levels.rows[:-1]):
        level = row[0].split()[0] if row[0][:2] in ("L1", "L2", "L3", "PM") else ""
        assert cell("by_level", i, 4) == pytest.approx(ledger(level=level), abs=1e-9)
    vendors = sheet.block("by_vendor")
    for i, row in enumerate(vendors.rows):
        if row[1] and row[1] != "In-house staff":
            assert cell("by_vendor", i, 5) == pytest.approx(
                ledger(sourcing=row[0], vendor=row[1]), abs=1e-9)
    assert cell("by_vendor", len(vendors.rows) - 1, 5) == pytest.approx(total, rel=1e-12)
    billing = sheet.block("billing")
    external = ledger(component="labour", sourcing=["Outsource", "Offshore"])
    assert cell("billing", len(billing.rows) - 1, 5) == pytest.approx(external, abs=1e-9)
    fixed = cell("billing", len(ACTIVITIES), 5)
    separate = cell("billing", len(ACTIVITIES) + 1, 5)
    assert fixed + separate == pytest.approx(external, abs=1e-9)

    ytd = sheet.block("year_to_date")
    n = QUARTERS.index(quarter) + 1
    quarters = run.summary()["scenarios"][0]["quarters"]
    assert [budget[(ytd.first_row + k, 1)] for k in range(n)] == list(QUARTERS[:n])
    assert budget[(ytd.first_row + n, 1)] == "Year to date"
    assert budget[(ytd.first_row + n, 3)] == pytest.approx(
        sum(q["total"] for q in quarters[:n]), rel=1e-12)

    ledger_rows = [v for (r, c), v in values["Ledger"].items() if c == 11 and r > 1]
    assert math.fsum(ledger_rows) == pytest.approx(total, rel=1e-12)
    about = values["About"]
    assert FY_CONVENTION in about.values()
    assert any(isinstance(v, str) and v.startswith("FY2027: ") for v in about.values())


def test_reading_back_gives_the_ledger_when_the_plan_has_a_scenario(batch, plans, tmp_path):
    """--scenario: plans without it fail with a clear error, the others use it."""
    folder, paths = plans
    out = tmp_path / "out"
    subset = [paths[3], paths[7], paths[0]]  # bu04 and bu08 have 'Offshore dev', bu01 not
    frame = run_batch(subset, quarter="Q2", out=out, scenario="Offshore dev", jobs=2)
    assert list(frame["plan"]) == ["BU 04", "BU 08", "BU 01"]
    assert list(frame["status"]) == ["ok", "ok", "failed"]
    error = frame.loc[2, "error"]
    assert error.startswith("Scenarios: the plan has no scenario 'Offshore dev'")
    run = run_plan(paths[3])
    sc = next(s for s in run.summary()["scenarios"] if s["name"] == "Offshore dev")
    assert frame.loc[0, "total"] == sc["quarters"][1]["total"]
    assert (out / "bu04_FY2027_Q2.xlsx").is_file() and not (out / "bu01_FY2027_Q2.xlsx").exists()
    ws = openpyxl.load_workbook(out / "bu04_FY2027_Q2.xlsx")["Budget"]
    assert "Scenario Offshore dev" in ws["A2"].value
    data = report(out)
    assert data["scenario"] == "Offshore dev" and data["plans_failed"] == 1


def test_run_batch_frame_has_one_row_per_plan_and_quarter(tmp_path):
    paths = write_plans(tmp_path / "plans", n=3)
    out = tmp_path / "out"
    frame = omplan.run_batch(tmp_path / "plans", quarter=["Q3", "q1"], out=out, jobs=1)
    assert list(frame.columns) == ["plan", "path", "status", "fiscal_year", "currency",
                                   "quarter", "total", "operation", "maintenance",
                                   "operation_share", "band_status", "target", "output",
                                   "error"]
    assert len(frame) == 6
    assert list(frame["quarter"]) == ["Q1", "Q3"] * 3
    assert list(frame["path"]) == [str(p) for p in paths for _ in range(2)]
    assert (frame["status"] == "ok").all() and frame["error"].isna().all()
    assert (frame["operation"] + frame["maintenance"] - frame["total"]).abs().max() < 1e-6
    assert set(frame["output"]) == {f"bu0{i}_FY2027_{q}.xlsx" for i in (1, 2, 3)
                                    for q in ("Q1", "Q3")}
    assert frame["fiscal_year"].tolist() == [2027] * 6


def test_mixed_currencies_get_one_rollup_each(tmp_path):
    paths = write_plans(tmp_path / "plans", n=4, currency=lambda i: "USD" if i == 2 else "EUR")
    out = tmp_path / "out"
    outcome = execute_batch(paths, quarter="Q2", out=out, jobs=2)
    assert outcome.ok
    # bu02 is in USD; bu02 and bu04 start their fiscal year in January (Q2 is Apr–Jun), bu01
    # and bu03 in April (Q2 is Jul–Sep): one rollup per calendar and currency, both named
    assert outcome.rollups == ["rollup_FY2027_Q2_Apr-Jun_EUR.xlsx",
                               "rollup_FY2027_Q2_Apr-Jun_USD.xlsx",
                               "rollup_FY2027_Q2_Jul-Sep_EUR.xlsx"]
    data = report(out)
    totals = {(t["fy_start_month"], t["currency"]): t for t in data["totals"]}
    assert set(totals) == {(1, "EUR"), (1, "USD"), (4, "EUR")}
    by_plan = {p["file"]: p["quarters"][0]["total"] for p in data["plans"]}
    assert totals[1, "USD"]["total"] == by_plan["bu02.xlsx"]
    assert totals[1, "EUR"]["total"] == by_plan["bu04.xlsx"]
    assert totals[4, "EUR"]["total"] == by_plan["bu01.xlsx"] + by_plan["bu03.xlsx"]
    assert [totals[k]["plan_files"] for k in sorted(totals)] == [
        ["bu04.xlsx"], ["bu02.xlsx"], ["bu01.xlsx", "bu03.xlsx"]]
    eur = openpyxl.load_workbook(out / "rollup_FY2027_Q2_Jul-Sep_EUR.xlsx")["Rollup"]
    files = [r[1] for r in eur.iter_rows(values_only=True) if r[1]]
    assert "bu02.xlsx" not in files and "bu04.xlsx" not in files
    assert "EUR" in eur["A1"].value
    number_formats = {c.number_format for row in eur.iter_rows() for c in row
                      if isinstance(c.value, float)}
    assert not any("USD" in f for f in number_formats)


def test_rerun_overwrites_cleanly_with_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    paths = write_plans(tmp_path / "plans", n=2)
    out = tmp_path / "out"
    execute_batch(paths, quarter="Q4", out=out, jobs=1)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "bu01_FY2027_Q4.xlsx").write_bytes(b"stale")
    execute_batch(paths, quarter="Q4", out=out, jobs=2)
    second = {p.name: p.read_bytes() for p in out.iterdir()}
    assert first == second
    assert report(out)["generated"] == "2027-01-15T08:00:00"


def test_a_quarter_without_cost_has_no_share(tmp_path):
    sheets = tiny_plan()
    for row in sheets["Staffing"][1:]:
        row[7] = 0  # nobody in Q4
    plan = write_openpyxl(sheets, tmp_path / "idle.xlsx")
    outcome = execute_batch([plan], quarter="Q4", out=tmp_path / "out", jobs=1)
    assert outcome.ok
    q4 = outcome.results[0].quarters[0]
    assert (q4["total"], q4["operation_share"], q4["band_status"]) == (0.0, None, "no-cost")
    ws = openpyxl.load_workbook(tmp_path / "out" / "idle_FY2027_Q4.xlsx")["Budget"]
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "no-cost" in values
    rollup = openpyxl.load_workbook(tmp_path / "out" / "rollup_FY2027_Q4.xlsx")["Rollup"]
    total = next(r for r in rollup.iter_rows(values_only=True) if r[0] == "Total (1 plan)")
    assert total[3] == 0 and total[6] is None and total[7] == "no-cost"


def test_same_stem_in_two_folders_is_a_failure_not_an_overwrite(tmp_path):
    a = write_openpyxl(bu_plan(1), (tmp_path / "a").mkdir() or tmp_path / "a" / "unit.xlsx")
    b = write_openpyxl(bu_plan(2), (tmp_path / "b").mkdir() or tmp_path / "b" / "unit.xlsx")
    outcome = execute_batch([a, b, a], quarter="Q1", out=tmp_path / "out", jobs=1)
    assert [r.status for r in outcome.results] == ["ok", "failed"]  # a counted once
    assert outcome.results[1].errors[0]["code"] == "duplicate-name"
    assert openpyxl.load_workbook(tmp_path / "out" / "unit_FY2027_Q1.xlsx")["Budget"][
        "A1"].value.startswith("BU 01")


def test_missing_file_and_all_failed_batch(tmp_path):
    outcome = execute_batch([tmp_path / "nope.xlsx"], quarter="Q1", out=tmp_path / "out")
    assert not outcome.ok and outcome.rollups == []
    assert outcome.results[0].errors[0]["code"] == "file-not-found"
    assert report(tmp_path / "out")["totals"] == []


def test_batch_errors_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match="no plan workbooks"):
        execute_batch([tmp_path / "empty"], quarter="Q1", out=tmp_path / "out")
    with pytest.raises(BatchError, match="quarter must be"):
        parse_quarters("Q5")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    plan = write_openpyxl(bu_plan(1), tmp_path / "p.xlsx")
    with pytest.raises(BatchError, match=r"pip install 'omplan\[dask\]'"):
        execute_batch([plan], quarter="Q1", out=tmp_path / "out",
                      scheduler="tcp://127.0.0.1:1")
    result = CliRunner().invoke(cli, ["batch", str(plan), "--quarter", "Q1", "--out",
                                      str(tmp_path / "out"), "--scheduler", "tcp://x:1"])
    assert result.exit_code == 2
    assert "pip install 'omplan[dask]'" in result.output
    result = CliRunner().invoke(cli, ["batch", str(plan), "--quarter", "Q1", "--out",
                                      str(tmp_path / "out"), "--jobs", "2", "--scheduler",
                                      "tcp://x:1"])
    assert result.exit_code == 2 and "exclude each other" in result.output
    assert not (tmp_path / "out").exists()


def test_folder_expansion_skips_outputs_and_lock_files(tmp_path):
    for name in ("b.xlsx", "a.xlsm", "~$a.xlsx", ".hidden.xlsx", "notes.txt",
                 "a_FY2027_Q1.xlsx", "rollup_FY2027_Q1.xlsx", "rollup_FY2027_Q1_EUR.xlsx",
                 "rollup_FY2027_Q1_Apr-Jun.xlsx", "rollup_FY2027_Q1_Apr-Jun_EUR.xlsx"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    found = expand_paths([tmp_path, tmp_path / "b.xlsx", tmp_path / "missing.xlsx"])
    assert [p.name for p in found] == ["a.xlsm", "b.xlsx", "missing.xlsx"]
    assert is_output_name("BU 1_FY2027_Q4.xlsx") and not is_output_name("plan_FY2027.xlsx")


def crashing_task(path: str, **kwargs: Any) -> PlanResult:
    """A task whose process dies on one plan (as if killed for memory)."""
    if path.endswith("crash.xlsx"):
        os._exit(3)
    return PlanResult(path=path, file=path, plan=path, status="ok", pid=os.getpid())


def test_a_dying_worker_fails_only_its_plan():
    from omplan.apps.batch import _run_local

    tasks = [(i, f"p{i}.xlsx") for i in range(5)] + [(5, "crash.xlsx")]
    results: dict[int, PlanResult] = {}
    _run_local(tasks, 2, {"scenario": "Baseline"},
               lambda i, r: results.setdefault(i, r), task=crashing_task)
    assert sorted(results) == list(range(6))
    assert results[5].status == "failed"
    assert results[5].errors[0]["code"] == "worker-died"
    assert all(results[i].status == "ok" for i in range(5))


def test_rich_progress_bar_on_a_terminal():
    from rich.console import Console

    buffer = StringIO()
    bar = RichProgress(Console(file=buffer, force_terminal=True, width=100))
    bar.start(2)
    bar.advance(PlanResult("a.xlsx", "a.xlsx", "a", status="ok", outputs=["x"]), 1, 2)
    bar.advance(PlanResult("[b].xlsx", "[b].xlsx", "[b]", errors=[
        {"location": "Staffing!F2", "message": "FTE Q2 must be a number ≥ 0, got -1 [/]"}]),
        2, 2)
    bar.stop()
    text = buffer.getvalue()
    # file names and messages are printed as they are: brackets are not console markup
    assert "2/2" in text and "[b].xlsx: Staffing!F2: FTE Q2" in text and "got -1 [/]" in text


# --------------------------------------------------------------------------- calendar


@pytest.mark.parametrize("start, quarter, months", [
    (4, "Q1", ["Apr 2027", "May 2027", "Jun 2027"]),
    (4, "Q4", ["Jan 2028", "Feb 2028", "Mar 2028"]),
    (1, "Q1", ["Jan 2027", "Feb 2027", "Mar 2027"]),
    (1, "Q4", ["Oct 2027", "Nov 2027", "Dec 2027"]),
    (10, "Q1", ["Oct 2027", "Nov 2027", "Dec 2027"]),
    (10, "Q2", ["Jan 2028", "Feb 2028", "Mar 2028"]),
    (12, "Q4", ["Sep 2028", "Oct 2028", "Nov 2028"]),
])
def test_fiscal_months_name_the_year_the_fiscal_year_starts(start, quarter, months):
    assert quarter_month_labels(2027, start, quarter) == months
    assert len({(y, m) for q in QUARTERS for y, m in fiscal_months(2027, start, q)}) == 12


def test_fiscal_year_span():
    assert fiscal_year_span(2027, 4) == "Apr 2027 – Mar 2028"
    assert fiscal_year_span(2027, 1) == "Jan 2027 – Dec 2027"


@given(st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False)
       | st.floats(min_value=0, max_value=1e300, allow_subnormal=True))
def test_months_add_up_to_the_quarter_exactly(amount):
    m1, m2, m3 = split_quarter(amount)
    assert m1 == m2 == amount / 3
    assert m1 + m2 + m3 == amount
    assert sum([m1, m2, m3]) == amount
    assert m3 >= 0


def test_split_examples():
    for amount in (0.0, 0.1, 100.0, 1_000_000.01, 123_456.789, 2.0 ** 53 + 2):
        assert sum(split_quarter(amount)) == amount


# --------------------------------------------------------------------------- LibreOffice


def test_libreoffice_opens_a_quarterly_budget_and_a_rollup(batch, tmp_path):
    if os.environ.get("OMPLAN_SKIP_LIBREOFFICE"):
        pytest.skip("OMPLAN_SKIP_LIBREOFFICE is set")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed ('soffice' is not on PATH): the batch "
                    "workbooks cannot be opened in a real spreadsheet application here")
    _, out = batch
    files = [out / "bu03_FY2027_Q2.xlsx", out / ROLLUPS["Q2"][1]]
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--norestore", "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
         *map(str, files)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in files:
        pdf = tmp_path / "pdf" / f"{path.stem}.pdf"
        assert pdf.is_file(), f"LibreOffice made no PDF of {path.name}: {result.stderr}"
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


def test_batch_frame_dtypes_survive_failures(tmp_path):
    paths = write_plans(tmp_path / "plans", n=BAD)[BAD - 2:]  # bu06 ok, bu07 bad
    frame = run_batch(paths, quarter="Q1", out=tmp_path / "out", jobs=2)
    assert list(frame["status"]) == ["ok", "failed"]
    assert pd.isna(frame.loc[1, "total"]) and frame.loc[1, "error"].startswith(BAD_LOCATION)
    assert frame["total"].dtype == float


def test_a_task_result_is_a_dataclass_with_the_old_json(tmp_path):
    """``run_plan_task`` returns a picklable PlanResult; ``to_json()`` is the dict the task
    returned before it was a dataclass (same keys, same order, JSON-able)."""
    import pickle

    from omplan.apps.batch import run_plan_task

    path = write_openpyxl(bu_plan(1), tmp_path / "bu01.xlsx")
    result = run_plan_task(str(path), "Q2", str(tmp_path / "out"))
    assert isinstance(result, PlanResult) and result.ok
    data = result.to_json()
    assert list(data) == ["path", "file", "plan", "status", "scenario", "fiscal_year",
                          "currency", "fy_start_month", "band", "target", "actuals",
                          "quarters", "outputs", "errors", "seconds", "cpu_seconds",
                          "peak_rss_mb", "pid"]
    assert data["actuals"] is None and data["quarters"][0]["actuals"] is None  # none here
    assert (data["plan"], data["status"], data["outputs"]) == (
        "BU 01", "ok", ["bu01_FY2027_Q2.xlsx"])
    assert data["quarters"][0]["quarter"] == "Q2" and data["pid"] == os.getpid()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert pickle.loads(pickle.dumps(result)) == result
    failed = PlanResult.failure("x.xlsx", "Baseline", "not-run", "stopped")
    assert list(failed.to_json()) == list(data)[:14]  # no run metrics: it never ran
    assert failed.first_error() == "stopped"


# --------------------------------------------------------------------------- quarters over years


@pytest.mark.parametrize("given, expected", [
    ("Q2", ("Q2",)), ("q2", ("Q2",)), (" all ", ("all",)), ("ALL", ("all",)),
    ("FY2028Q2", ("FY2028 Q2",)), ("fy2028 q2", ("FY2028 Q2",)), ("FY2028-Q2", ("FY2028 Q2",)),
    (["FY2029 Q1", "q3", "FY2028q4", "Q1"], ("Q1", "Q3", "FY2028 Q4", "FY2029 Q1")),
    (["Q1", "all", "FY2030 Q1"], ("all",)),  # all covers every other choice
])
def test_quarter_choices_are_normalised(given, expected):
    assert parse_quarters(given) == expected


@pytest.mark.parametrize("bad", ["Q5", "Q0", "FY28 Q2", "2028 Q2", "FY2028", "quarter 2", ""])
def test_a_quarter_that_is_none_is_refused(bad):
    with pytest.raises(BatchError, match=r"quarter must be Q1–Q4 .* FY<year> Q<n>"):
        parse_quarters(bad)


def test_choices_resolve_within_each_plans_horizon():
    from omplan.apps.batch.tasks import resolve_quarters

    # Q2 is quarter 2 of the plan's first fiscal year; FY2027 Q2 is the same quarter, once
    assert resolve_quarters(("Q2", "FY2027 Q2"), 2027, 3) == ([(2027, 2)], [])
    assert resolve_quarters(("FY2028 Q2",), 2027, 3) == ([(2028, 2)], [])
    # all: 4 × 3 = 12 quarters, in time order
    picked, outside = resolve_quarters(("all",), 2027, 3)
    assert picked == [(y, q) for y in (2027, 2028, 2029) for q in (1, 2, 3, 4)]
    assert outside == []
    assert resolve_quarters(("Q1", "FY2030 Q1", "FY2026 Q4"), 2027, 3) == (
        [(2027, 1)], ["FY2030 Q1", "FY2026 Q4"])


def test_fy_quarter_of_a_one_year_plan_is_its_quarter(tmp_path):
    """FY2027 Q2 of a plan for FY2027 is its Q2: the same workbook name and figures."""
    path = write_openpyxl(bu_plan(2), tmp_path / "bu02.xlsx")
    outcome = execute_batch([path], quarter="fy2027q2", out=tmp_path / "out", jobs=1)
    assert outcome.ok and outcome.rollups == ["rollup_FY2027_Q2.xlsx"]
    summary = run_plan(path).summary()["scenarios"][0]["quarters"][1]
    q = outcome.results[0].quarters[0]
    assert (q["fiscal_year"], q["quarter"], q["output"]) == (2027, "Q2", "bu02_FY2027_Q2.xlsx")
    assert q["total"] == summary["total"]
    frame = outcome.frame()
    assert frame[["fiscal_year", "quarter"]].values.tolist() == [[2027, "Q2"]]


def test_quarter_outside_a_plans_horizon_fails_that_plan_only(tmp_path):
    """bu01 covers FY2027 only: FY2028 Q1 is outside it, a located error naming the
    horizon; bu02 goes on."""
    paths = write_plans(tmp_path / "plans", n=2)
    settings = bu_plan(1)["Settings"]
    row = next(i for i, r in enumerate(settings) if r[0] == "fiscal_year") + 1  # 1-based
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(paths[0]), str(paths[1]), "--quarter",
                                      "FY2028Q1", "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    data = report(out)
    assert [p["status"] for p in data["plans"]] == ["failed", "failed"]
    error = data["plans"][0]["errors"][0]
    assert error["code"] == "quarter-outside-horizon"
    # no horizon_years row: the fiscal_year cell sets the horizon of one year
    assert error["location"] == f"Settings!B{row}"
    assert error["message"] == (
        "--quarter FY2028 Q1 is outside this plan's horizon, FY2027 (fiscal_year 2027, "
        "horizon_years 1), so no workbook was written for it; choose a quarter within it or "
        "raise horizon_years")
    assert f"bu01.xlsx: Settings!B{row}: --quarter FY2028 Q1 is outside" in result.output
    assert data["rollups"] == [] and not list(out.glob("bu0*_FY*.xlsx"))
    # the same batch for Q1 and FY2028 Q1: the plan fails as a whole, nothing half-written
    outcome = execute_batch([paths[0]], quarter=["Q1", "FY2028 Q1"], out=tmp_path / "o2",
                            jobs=1)
    assert not outcome.ok and outcome.results[0].outputs == []
    frame = outcome.frame()
    assert frame[["fiscal_year", "quarter", "status"]].values.tolist() == [
        [2027, "Q1", "failed"], [2028, "Q1", "failed"]]


def three_year_plan(i: int) -> dict[str, list[list[Any]]]:
    """bu_plan(i) over FY2027–FY2029 (horizon_years 3): its Q1–Q4 FTE in every year, but
    Ops at 3 FTE in FY2028 Q2."""
    sheets = bu_plan(i)
    sheets["Settings"].append(["horizon_years", 3])
    sheets["Staffing"][0].append("FY2028 Q2")
    sheets["Staffing"][1].append(3)
    for row in sheets["Staffing"][2:]:
        row.append(None)
    return sheets


def test_fy_quarters_of_a_three_year_plan_through_the_command(tmp_path):
    """The real command on a 3-year plan file and a 1-year one: FY2028Q2 is budgeted for the
    first (its own figures, its own workbook and rollup) and is outside the second."""
    (tmp_path / "plans").mkdir()
    three = write_openpyxl(three_year_plan(2), tmp_path / "plans" / "three.xlsx")
    one = write_openpyxl(bu_plan(2), tmp_path / "plans" / "one.xlsx")
    out = tmp_path / "out"
    result = omplan_cmd("batch", three, one, "--quarter", "FY2028Q2", "--out", out, "--jobs",
                        1)
    assert result.returncode == 2, result.stdout + result.stderr  # one.xlsx fails
    data = report(out)
    assert data["quarters"] == ["FY2028 Q2"]
    ok, failed = data["plans"]
    assert ok["outputs"] == ["three_FY2028_Q2.xlsx"] and data["rollups"] == [
        "rollup_FY2028_Q2.xlsx"]
    summary = json_summary(three, tmp_path)
    assert [q["quarter"] for q in summary["scenarios"][0]["quarters"]][4:6] == ["Q1", "Q2"]
    want = summary["scenarios"][0]["quarters"][5]  # k = 5: FY2028 Q2
    assert want["fiscal_year"] == 2028
    got = ok["quarters"][0]
    assert (got["fiscal_year"], got["quarter"], got["total"]) == (2028, "Q2", want["total"])
    # bu02's Ops (10,000 a month, all Monitoring): 3 FTE instead of its Q2's 1 + 0.25 × 2 =
    # 1.5 adds 1.5 × 3 × 10,000 = 45,000 to FY2027 Q2
    assert got["total"] == pytest.approx(summary["scenarios"][0]["quarters"][1]["total"]
                                         + 45_000)
    assert failed["errors"][0]["code"] == "quarter-outside-horizon"
    assert failed["errors"][0]["location"] == "Settings!B3"  # fiscal_year of a 1-year plan
    assert "one.xlsx: Settings!B3: --quarter FY2028 Q2 is outside" in result.stderr
    rollup = openpyxl.load_workbook(out / "rollup_FY2028_Q2.xlsx")["Rollup"]
    total = next(r for r in rollup.iter_rows(values_only=True) if r[0] == "Total (1 plan)")
    assert total[3] == pytest.approx(want["total"], rel=FILE_REL)
    # all: twelve budgets of the 3-year plan, four of the 1-year one
    result = omplan_cmd("batch", three, one, "--quarter", "all", "--out", tmp_path / "all",
                        "--jobs", 1)
    assert result.returncode == 0, result.stderr
    outputs = [p["outputs"] for p in report(tmp_path / "all")["plans"]]
    assert outputs == [[f"three_FY{y}_Q{q}.xlsx" for y in (2027, 2028, 2029)
                        for q in (1, 2, 3, 4)], [f"one_FY2027_Q{q}.xlsx" for q in (1, 2, 3, 4)]]
