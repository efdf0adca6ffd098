"""`omplan new`: the input template, read back by omplan."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from typing import Any

import openpyxl
import pytest

from omplan.apps.cli import sample_plan_path
from omplan.files.run import run_plan
from omplan.files.template import write_template
from omplan.files.template_sheets import HEADERS, INPUT_FILL


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("t") / "plan.xlsx", fiscal_year=2027)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("t") / "sample.xlsx", sample=True)


def test_empty_template_gives_one_clear_finding(empty):
    run = run_plan(empty)
    assert [(f.severity, f.code, f.location) for f in run.findings] == [
        ("error", "no-staffing", "Staffing")]
    assert "no staffing yet" in run.findings[0].message


def test_sample_template_gives_the_sample_figures(sample):
    got, want = run_plan(sample).summary(), run_plan(sample_plan_path()).summary()
    assert got == want
    assert got["scenarios"][0]["total"] > 0


def test_every_input_sheet_is_a_table_with_drop_downs(empty):
    wb = openpyxl.load_workbook(empty)
    assert wb.sheetnames == ["Start here", *HEADERS]
    for sheet, header in HEADERS.items():
        ws = wb[sheet]
        assert [c.value for c in ws[1]][: len(header)] == header
        assert list(ws.tables) == [f"{sheet}Table"]
    validations = {(ws.title, str(dv.sqref).split(":")[0][0], dv.formula1)
                   for ws in wb.worksheets for dv in ws.data_validations.dataValidation}
    assert ("Roles", "B", '"L1,L2,L3,PMO"') in validations
    assert ("Staffing", "C", '"In-house,Outsource,Offshore"') in validations
    assert ("Staffing", "B", "Roles!$A$2:$A$51") in validations
    assert ("Profile", "B", '"yes,no"') in validations
    assert ("Scenarios", "D", '"sourcing,vendor,fte_factor,rate_factor"') in validations
    assert ("Billing", "B", '"Fixed fee,Separate estimate"') in validations
    assert wb["Staffing"]["E2"].fill.fgColor.rgb.endswith(INPUT_FILL)
    assert wb["Settings"]["A2"].fill.fgColor.rgb != "00" + INPUT_FILL  # a label, not an input
    start = [c.value for c in wb["Start here"]["A"] if c.value]
    assert any("Operation keeps" in line for line in start)
    assert any("L3 Maintenance Engineer — offshore recommended" in line for line in start)


def test_cli_new_refuses_to_overwrite(tmp_path):
    target = tmp_path / "p.xlsx"
    cmd = [sys.executable, "-m", "omplan", "new", str(target)]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    before = target.read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert target.read_bytes() == before
    bad = subprocess.run([sys.executable, "-m", "omplan", "new", str(tmp_path / "p.csv")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and ".xlsx" in bad.stderr


def test_cli_new_sample_runs(tmp_path):
    target = tmp_path / "s.xlsx"
    subprocess.run([sys.executable, "-m", "omplan", "new", str(target), "--sample"], check=True,
                   capture_output=True)
    out = tmp_path / "s.json"
    done = subprocess.run([sys.executable, "-m", "omplan", "run", str(target), "--json",
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text())["scenarios"]) == 5


# --------------------------------------------------------------------------- issue 11, item 17


def _validations(path) -> dict[tuple[str, str], Any]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, str(dv.sqref).split(":")[0].rstrip("0123456789")): dv
            for ws in wb.worksheets for dv in ws.data_validations.dataValidation}


def test_scenarios_offer_roles_and_systems_and_accept_a_star(sample):
    dvs = _validations(sample)
    for sheet, col, source in (("Scenarios", "B", "Roles!$A$2:$A$51"),
                               ("Scenarios", "C", "Systems!$A$2:$A$201"),
                               ("Staffing", "A", "Systems!$A$2:$A$201"),
                               ("Costs", "A", "Systems!$A$2:$A$201")):
        dv = dvs[(sheet, col)]
        assert (dv.type, dv.formula1) == ("list", source)
        assert not dv.showErrorMessage  # '*' (and an unlisted system) can be typed
    assert "* for every role" in dvs[("Scenarios", "B")].prompt


def test_rates_validation_matches_the_reader(empty):
    dv = _validations(empty)[("Rates", "C")]
    assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThan", "0")


def test_the_sample_template_lists_its_systems_and_reads_clean(sample):
    wb = openpyxl.load_workbook(sample)
    assert [r[0] for r in wb["Systems"].iter_rows(min_row=2, values_only=True) if r[0]] == [
        "Order platform", "Customer portal", "HR & payroll", "Data warehouse"]
    assert run_plan(sample).findings == []


def test_columns_fit_their_content(sample):
    wb = openpyxl.load_workbook(sample)
    for sheet in HEADERS:
        ws = wb[sheet]
        for col in ws.iter_cols(max_col=len(HEADERS[sheet])):
            longest = max(len(str(c.value)) for c in col if c.value is not None)
            width = ws.column_dimensions[col[0].column_letter].width
            assert width >= min(longest + 1, 60), (sheet, col[0].column_letter, longest, width)


def test_start_here_names_each_level_once(empty):
    start = [c.value for c in openpyxl.load_workbook(empty)["Start here"]["A"] if c.value]
    assert "PMO / Service Owner — keep in-house" in start
    assert not any("PMO PMO" in line for line in start)


def test_start_here_stays_inside_the_page_in_libreoffice(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or not shutil.which("pdftotext"):
        pytest.skip("needs LibreOffice (soffice) and poppler-utils (pdftotext)")
    book = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx", fiscal_year=2027))
    for ws in book.worksheets[1:]:
        book.remove(ws)
    book.save(tmp_path / "start.xlsx")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "start.xlsx")],
                   check=True, capture_output=True, timeout=300)
    subprocess.run(["pdftotext", "-bbox", str(tmp_path / "start.pdf"), str(tmp_path / "b.html")],
                   check=True, capture_output=True, timeout=60)
    html = (tmp_path / "b.html").read_text()
    page_width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    words = [(float(x), w) for x, w in re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)<', html)]
    assert any(w == "Operation" for _, w in words)
    assert max(x for x, _ in words) < page_width - 20, "text runs off the right of the page"
