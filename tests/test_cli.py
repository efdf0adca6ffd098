"""The ``omplan`` command end to end: the real entry point in a subprocess (spec §5, §6).

Exit status: 0 success, 2 input errors (file-level or in the plan), 1 internal error; never a
traceback unless OMPLAN_DEBUG is set.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from factories import tiny_plan, with_rows, write_openpyxl
from test_reader import FILE_PROBLEMS

import omplan
from omplan.core.model import ACTIVITIES, QUARTERS, SOURCINGS
from omplan.input.reader import load_plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbooks" / "sample_plan.xlsx"

TOP_KEYS = {"plan", "currency", "fiscal_year", "band", "target_operation_share", "horizon",
            "discount_rate", "recommended", "errors", "scenarios", "actuals"}
SCENARIO_KEYS = {"name", "total", "operation", "maintenance", "operation_share", "band_status",
                 "components", "by_sourcing", "by_activity", "billing", "quarters", "findings",
                 "npv_cost", "years", "business_case", "not_recommended"}
COMPONENTS = {"labour", "vendor_management", "coordination", "transition", "other"}


def omplan_cmd(*args: str | os.PathLike[str], cwd: Path = ROOT,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m omplan ARGS`` as a user would (no OMPLAN_DEBUG)."""
    environ = {k: v for k, v in os.environ.items() if k != "OMPLAN_DEBUG"}
    environ["PYTHONUTF8"] = "1"
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "omplan", *map(os.fspath, args)], cwd=cwd, env=environ,
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


def bad_plan(tmp_path: Path) -> Path:
    """A plan with errors on three sheets."""
    sheets = tiny_plan()
    sheets["Staffing"][1][4] = "three"
    sheets["Rates"][1][2] = 0
    sheets = with_rows(sheets, "Scenarios", ["Baseline", "*", "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    return write_openpyxl(sheets, tmp_path / "bad plan.xlsx")


# --------------------------------------------------------------------------- success


def test_version():
    result = omplan_cmd("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"omplan, version {omplan.__version__}"


def test_help():
    result = omplan_cmd("--help")
    assert result.returncode == 0
    assert "run" in result.stdout and "demo" in result.stdout


def test_demo_prints_the_scenario_table(tmp_path):
    result = omplan_cmd("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = tmp_path / "omplan-demo" / "sample_plan_report.xlsx"
    assert report.is_file() and f"Report written to {Path('omplan-demo')}" in result.stdout
    no_traceback(result)
    plan, _ = load_plan(SAMPLE)
    assert plan is not None
    for name in plan.scenario_names:
        assert name in result.stdout
    for column in ("Scenario", "Total", "Operation", "Maintenance", "Op. share",
                   "Band status", "Share vs target"):
        assert column in result.stdout
    # the shipped sample covers three fiscal years: the table gives their totals
    assert "Sample plan — FY2027–FY2029 (3-year totals), amounts in USD" in result.stdout


def test_run_prints_the_business_case_in_80_columns(tmp_path):
    """The tables and the recommendation fit 80 columns (findings follow, one per line in a
    log); against Baseline: Δ total, one-off, NPV of savings and payback, as in the JSON."""
    out = tmp_path / "s.json"
    result = omplan_cmd("run", SAMPLE, "--json", out, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    lines = result.stdout.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("Recommended: "))
    assert max(len(line.rstrip()) for line in lines[: end + 1]) <= 80, result.stdout
    # Offshore L3 has the lowest NPV of cost, but once FY2027's one-off projects (maintenance)
    # and its transition are over it is operation-heavy in FY2028 and FY2029, so the sample
    # recommends Baseline; Integrated vendor outsources the PMO, the other two cost more.
    assert lines[end] == ("Recommended: Baseline (lowest NPV of cost, within the band, PMO "
                          "in-house)") and summary["recommended"] == "Baseline"
    verdicts = {sc["name"]: sc["not_recommended"] for sc in summary["scenarios"]}
    assert verdicts["Offshore L3"] == "out of band in FY2028, FY2029"
    assert verdicts["Integrated vendor"] == "PMO outsourced (keep it in-house)"
    npv = {sc["name"]: sc["npv_cost"] for sc in summary["scenarios"]}
    assert npv["Offshore L3"] < npv["Baseline"]
    head = next(i for i, line in enumerate(lines) if line.startswith("Against Baseline"))
    assert lines[head].startswith("Against Baseline over 3 years (NPV at 8.0% a year")
    table = {line.split("  ")[0]: line for line in lines[head + 2: end]}
    for sc in summary["scenarios"][1:]:
        case = sc["business_case"]
        row = table[sc["name"]].split()
        # Δ total is the scenario minus Baseline: minus the savings
        assert f"{-case['savings']:+,.0f}" in row and f"{case['one_off']:,.0f}" in row
        assert f"{case['npv_savings']:+,.0f}" in row
    # payback from the plan's start, then from the scenario's first change: the sample's
    # Offshore L3 applies from the start (6 months either way)
    assert re.search(r"6 mo \(FY2027 Q2\)\s+6 mo$", table["Offshore L3"].rstrip())
    assert re.search(r"at once\s+at once$", table["Lean 2027"].rstrip())
    assert re.search(r"never\s+never$", table["Outsource L1/L2"].rstrip())


def test_run_sample_writes_the_json_summary(tmp_path):
    out = tmp_path / "out.json"
    result = omplan_cmd("run", "workbooks/sample_plan.xlsx", "--json", out)
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    assert "Baseline" in result.stdout and str(out) in result.stdout
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert set(summary) == TOP_KEYS
    assert summary["errors"] == []
    assert (summary["plan"], summary["currency"], summary["fiscal_year"]) == (
        "Sample plan", "USD", 2027)
    assert summary["band"] == {"low": 0.4, "high": 0.6}
    assert summary["horizon"] == {"first_fiscal_year": 2027, "years": 3}
    # two quarters of actual spend against the Baseline budget: Apr-Sep 2027
    assert (summary["actuals"]["budget_scenario"], summary["actuals"]["through"]) == (
        "Baseline", "2027-09")
    scenarios = summary["scenarios"]
    assert len(scenarios) == 5
    assert scenarios[0]["name"] == "Baseline"
    for s in scenarios:
        assert set(s) == SCENARIO_KEYS
        assert set(s["components"]) == COMPONENTS
        assert sum(s["components"].values()) == pytest.approx(s["total"])
        assert set(s["by_sourcing"]) == set(SOURCINGS)
        assert set(s["by_activity"]) == set(ACTIVITIES)
        assert set(s["billing"]) == {"fixed_fee", "separate_estimate"}
        assert [(q["fiscal_year"], q["quarter"]) for q in s["quarters"]] == [
            (fy, q) for fy in (2027, 2028, 2029) for q in QUARTERS]
        assert [y["fiscal_year"] for y in s["years"]] == [2027, 2028, 2029]
        assert sum(y["total"] for y in s["years"]) == pytest.approx(s["total"])
        for f in s["findings"]:
            assert set(f) == {"severity", "code", "message", "location"}
    assert not (tmp_path / "out.json.tmp").exists()


# --------------------------------------------------------------------------- input errors


def test_plan_with_errors_lists_each_error_and_exits_2(tmp_path):
    path = bad_plan(tmp_path)
    _, findings = load_plan(path)
    errors = [f for f in findings if f.severity == "error"]
    assert len(errors) == 3
    out = tmp_path / "summary.json"
    result = omplan_cmd("run", path, "--json", out)
    assert result.returncode == 2, result.stdout + result.stderr
    no_traceback(result)
    lines = unwrapped(result.stderr)
    assert "bad plan.xlsx: 3 errors; no figures were produced" in lines
    assert "Staffing!E2: FTE Q1 must be a number ≥ 0, got 'three'" in lines
    for f in errors:
        assert f"{f.location}: {f.message}" in lines
    assert max(len(line) for line in result.stderr.splitlines()) <= 80, result.stderr
    assert {f.location for f in errors} == {"Staffing!E2", "Rates!C2", "Scenarios!A2"}
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert set(summary) == TOP_KEYS
    assert summary["scenarios"] == []
    assert [(e["code"], e["location"]) for e in summary["errors"]] == [
        (f.code, f.location) for f in errors]
    assert all(e["severity"] == "error" for e in summary["errors"])


def unwrapped(text: str) -> list[str]:
    """The lines of ``text`` with each wrapped finding joined again (its continuation lines
    are indented by four spaces)."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("    ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def test_many_errors_show_a_few_per_code_and_count_the_rest(tmp_path):
    """Ten bad FTE cells and a rate of 0: three of the FTE errors are printed, the seven
    others counted; the JSON keeps all eleven."""
    sheets = tiny_plan()
    sheets["Rates"][1][2] = 0
    sheets = with_rows(sheets, "Staffing", *(["ERP", "Ops", "Outsource", f"V{i}", "x", 1, 1, 1]
                                            for i in range(10)))
    out = tmp_path / "summary.json"
    result = omplan_cmd("run", write_openpyxl(sheets, tmp_path / "many.xlsx"), "--json", out)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = unwrapped(result.stderr)
    assert lines[0] == "many.xlsx: 11 errors; no figures were produced"
    fte = [line for line in lines if line.startswith("Staffing!E")]
    assert fte == [f"Staffing!E{row}: FTE Q1 must be a number ≥ 0, got 'x'"
                   for row in (4, 5, 6)]
    assert "  … and 7 more not-a-number" in lines
    assert sum(line.startswith("Rates!C2: ") for line in lines) == 1
    assert lines[-1] == "(11 in all: omplan run PLAN --json FILE lists every one)"
    assert max(len(line) for line in result.stderr.splitlines()) <= 80, result.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert len(summary["errors"]) == 11


def test_findings_are_grouped_by_code_in_80_columns(tmp_path):
    """Six copies of a Staffing line: the five duplicate-line warnings show as three and
    "… and 2 more"; the JSON lists all five, each once, with the Baseline."""
    sheets = with_rows(tiny_plan(), "Staffing", *(["ERP", "Ops", "In-house", None, 1, 1, 1, 1]
                                                  for _ in range(5)))
    out = tmp_path / "summary.json"
    result = omplan_cmd("run", write_openpyxl(sheets, tmp_path / "dup.xlsx"), "--json", out,
                        env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    duplicates = [f for f in summary["scenarios"][0]["findings"]
                  if f["code"] == "duplicate-line"]
    assert len(duplicates) == 5
    lines = unwrapped(result.stdout)
    shown = [line for line in lines if line.endswith("(duplicate-line)")]
    assert [line.split(": ")[0] for line in shown] == [
        f"warning [Baseline] {f['location']}" for f in duplicates[:3]]
    assert "  … and 2 more duplicate-line" in lines
    assert any(line.startswith("(") and "in all: the JSON summary and the report's Checks "
               "sheet list every one)" in line for line in lines)
    printed = result.stdout.split("JSON summary written")[0]  # then the path of the file
    assert max(len(line) for line in printed.splitlines()) <= 80, result.stdout


CLI_FILE_PROBLEMS = [p for p in FILE_PROBLEMS
                     if p[1] in {"not-a-spreadsheet", "truncated", "csv", "encrypted",
                                 "xml-entities", "legacy-xls", "zip-bomb", "file-not-found"}]


@pytest.mark.parametrize(("build", "code", "phrase"), CLI_FILE_PROBLEMS,
                         ids=[b.__name__.strip("_") for b, _, _ in CLI_FILE_PROBLEMS])
def test_file_level_problem_is_one_clear_line(tmp_path, build, code, phrase):
    path = build(tmp_path)
    out = tmp_path / "summary.json"
    result = omplan_cmd("run", path, "--json", out)
    assert result.returncode == 2, result.stdout + result.stderr
    no_traceback(result)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert path.name in lines[0] and phrase in lines[0]
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert [e["code"] for e in summary["errors"]] == [code]
    assert summary["scenarios"] == []


def test_nonexistent_path(tmp_path):
    result = omplan_cmd("run", tmp_path / "missing.xlsx")
    assert result.returncode == 2
    no_traceback(result)
    assert "'missing.xlsx' was not found" in result.stderr


def test_directory_instead_of_a_file(tmp_path):
    result = omplan_cmd("run", tmp_path)
    assert result.returncode == 2
    no_traceback(result)
    assert "directory" in result.stderr


def test_unknown_command():
    result = omplan_cmd("frobnicate")
    assert result.returncode == 2
    no_traceback(result)
    assert "No such command" in result.stderr


# --------------------------------------------------------------------------- internal errors


def _boom(plan, **options):
    raise RuntimeError("boom in the engine")


def test_internal_error_exits_1_without_traceback(monkeypatch):
    from click.testing import CliRunner

    import omplan.pipeline
    from omplan.apps.cli import cli

    monkeypatch.delenv("OMPLAN_DEBUG", raising=False)
    monkeypatch.setattr(omplan.pipeline, "evaluate", _boom)
    result = CliRunner().invoke(cli, ["run", str(SAMPLE)])
    assert result.exit_code == 1, result.output
    assert "internal error" in result.output
    assert "RuntimeError: boom in the engine" in result.output
    assert "OMPLAN_DEBUG=1" in result.output
    assert "Traceback" not in result.output


def test_internal_error_shows_the_traceback_with_omplan_debug(monkeypatch):
    from click.testing import CliRunner

    import omplan.pipeline
    from omplan.apps.cli import cli

    monkeypatch.setenv("OMPLAN_DEBUG", "1")
    monkeypatch.setattr(omplan.pipeline, "evaluate", _boom)
    result = CliRunner().invoke(cli, ["run", str(SAMPLE)])
    assert isinstance(result.exception, RuntimeError)


def test_internal_error_in_a_real_process():
    code = (
        "import sys, omplan.pipeline\n"
        "def boom(plan, **options): raise RuntimeError('boom')\n"
        "omplan.pipeline.evaluate = boom\n"
        "from omplan.apps.cli import main\n"
        f"main(['run', {str(SAMPLE)!r}])\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "OMPLAN_DEBUG"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environ, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error: RuntimeError: boom" in result.stderr


def test_a_finding_longer_than_a_line_fits_80_columns():
    """A plan's long text (a 120-character system name) is cut across lines, never past
    column 80; the code stays whole at the end."""
    from omplan.apps.terminal import finding_lines
    from omplan.core.findings import Finding

    name = "X" * 120
    finding = Finding("warning", "near-duplicate", f"system '{name}' looks like 'Y'",
                      "Staffing!A7")
    lines = finding_lines([(finding, ["Baseline", "A", "B", "C", "D"])], 80)
    assert max(len(line) for line in lines) <= 80
    assert lines[0].startswith("warning [Baseline, A, B and 2 other scenarios] Staffing!A7: ")
    assert all(line.startswith("    ") for line in lines[1:])
    assert "".join(line.strip() for line in lines).count("X") == 120
    assert lines[-1].endswith("looks like 'Y' (near-duplicate)")
