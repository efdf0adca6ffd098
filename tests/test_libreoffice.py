"""A real spreadsheet application opens every report: LibreOffice (headless) renders each one
to PDF and re-saves it as .xlsx after recalculating, and every value survives.

Needs ``soffice`` on PATH (skipped with a reason otherwise). All reports go through one
soffice call per conversion, with a private profile, so the module costs two LibreOffice
start-ups. Deselect with ``-k "not libreoffice"`` or ``OMPLAN_SKIP_LIBREOFFICE=1``.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from factories import tiny_plan, with_rows
from test_report_layout import quiet_plan
from test_report_xlsx import INJECTIONS, write_text_plan

from omplan.apps.cli import sample_plan_path
from omplan.files.report import write_report
from omplan.files.run import run_plan

REL = 1e-6
TIMEOUT = 300


def _plans(folder: Path) -> dict[str, Path]:
    """Plans covering the report's shapes: the sample, a tiny one with a split contract, one
    without findings and with a quarter without cost, and text that looks like formulas."""
    tiny = with_rows(tiny_plan(), "Scenarios", ["Bob's offshore/dev", "Dev", "*", "sourcing",
                                                "Offshore"],
                     header=["Scenario", "Role", "System", "Change", "Value"])
    no_cost = quiet_plan()
    inject = tiny_plan()
    inject["Settings"][1] = ["plan_name", "=cmd()"]
    inject["Staffing"][1][0] = INJECTIONS[0]
    inject["Staffing"][2][0] = INJECTIONS[3]
    inject = with_rows(inject, "Staffing", ["-2+3", "Ops", "Outsource", INJECTIONS[1],
                                            1, 1, 1, 1])
    inject = with_rows(inject, "Scenarios", [INJECTIONS[3], "Ops", "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    return {
        "sample": sample_plan_path(),
        "tiny": write_text_plan(tiny, folder / "tiny.xlsx"),
        "no_cost": write_text_plan(no_cost, folder / "no_cost.xlsx"),
        "inject": write_text_plan(inject, folder / "inject.xlsx"),
    }


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    plans = tmp_path_factory.mktemp("plans")
    out = tmp_path_factory.mktemp("reports")
    written = {}
    for name, plan in _plans(plans).items():
        run = run_plan(plan)
        assert run.ok, run.errors
        written[name] = write_report(run, out / f"{name}_report.xlsx")
    return written


def convert(soffice: str, files: list[Path], target: str, outdir: Path,
            profile: Path) -> subprocess.CompletedProcess[str]:
    """One LibreOffice run converting every file (private profile: no clash with a desktop
    LibreOffice or with parallel test runs)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(outdir), *map(str, files)],
        capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def converted(soffice, reports, tmp_path_factory) -> dict[str, dict[str, Path]]:
    profile = tmp_path_factory.mktemp("lo-profile")
    base = tmp_path_factory.mktemp("converted")
    files = list(reports.values())
    out: dict[str, dict[str, Path]] = {}
    for kind, target in (("pdf", "pdf"), ("xlsx", "xlsx:Calc MS Excel 2007 XML")):
        result = convert(soffice, files, target, base / kind, profile)
        assert result.returncode == 0, result.stdout + result.stderr
        out[kind] = {name: base / kind / f"{path.stem}.{kind}" for name, path in
                     reports.items()}
    return out


def test_libreoffice_renders_every_report_to_pdf(converted):
    for name, pdf in converted["pdf"].items():
        assert pdf.is_file(), f"LibreOffice made no PDF of the {name} report"
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 10_000, name


def _cells(path: Path) -> dict[str, dict[tuple[int, int], Any]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: {(c.row, c.column): c for row in ws.iter_rows() for c in row
                       if c.value is not None} for ws in wb.worksheets}


def test_recalculation_round_trip_keeps_every_value(reports, converted):
    for name, original in reports.items():
        before = _cells(original)
        after = _cells(converted["xlsx"][name])
        assert list(after) == list(before), name
        numbers = 0
        for sheet in before:
            if sheet in ("Ledger", "Checks", "About"):
                continue  # Summary and the scenario sheets hold the computed figures
            for (r, c), cell in before[sheet].items():
                other = after[sheet].get((r, c))
                assert other is not None, (name, sheet, cell.coordinate)
                if isinstance(cell.value, int | float):
                    assert other.value == pytest.approx(cell.value, rel=REL, abs=1e-9), (
                        name, sheet, cell.coordinate)
                    numbers += 1
                elif isinstance(cell.value, str):
                    assert other.value == cell.value, (name, sheet, cell.coordinate)
                    assert other.data_type == "s", (name, sheet, cell.coordinate)
        assert numbers > 50, name


def test_round_trip_keeps_the_ledger_and_text(reports, converted):
    for name, original in reports.items():
        wb = openpyxl.load_workbook(converted["xlsx"][name], read_only=True)
        rows = list(wb["Ledger"].iter_rows(values_only=True))
        source = list(openpyxl.load_workbook(original, read_only=True)["Ledger"].iter_rows(
            values_only=True))
        assert len(rows) == len(source), name
        assert sum(r[-1] for r in rows[1:]) == pytest.approx(sum(r[-1] for r in source[1:]),
                                                            rel=REL)
        with zipfile.ZipFile(converted["xlsx"][name]) as z:
            for member in z.namelist():
                if member.startswith("xl/worksheets/sheet"):
                    assert not re.search(rb"<f[ >]", z.read(member)), (name, member)
            charts = [m for m in z.namelist() if m.startswith("xl/charts/chart")]
        with zipfile.ZipFile(original) as z:
            assert len(charts) == len([m for m in z.namelist()
                                       if m.startswith("xl/charts/chart")]), name
