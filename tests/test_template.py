"""`omplan new`: the input template, read back by omplan."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from typing import Any

import openpyxl
import pytest
from factories import ACTS
from openpyxl.utils import range_boundaries

from omplan.apps.cli import sample_plan_path
from omplan.core.periods import Horizon
from omplan.files.run import run_plan
from omplan.files.template import write_template
from omplan.files.template_sheets import HEADERS, INPUT_FILL, from_choices
from omplan.input.reader import load_plan


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
    # the three-year sample's own inputs made it into the template: FY2027 one-off columns
    # on Costs, rupee rates, escalation, FX, the From of a mid-year scenario, the actuals
    assert len(got["scenarios"][0]["years"]) == 3 and got["actuals"]["through"] == "2027-09"
    wb = openpyxl.load_workbook(sample)
    costs = [c.value for c in wb["Costs"][1]]
    assert costs[len(HEADERS["Costs"]):] == ["FY2027 Q2", "FY2027 Q3", "FY2027 Q4"]
    assert wb["Costs"].cell(2, len(HEADERS["Costs"]) + 1).number_format == "#,##0"
    assert "INR" in [r[3] for r in wb["Rates"].iter_rows(min_row=2, values_only=True)]
    assert "Q3" in [r[5] for r in wb["Scenarios"].iter_rows(min_row=2, values_only=True)]
    assert wb["Actuals"]["A2"].value == dt.datetime(2027, 4, 1)


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
    # the one finding is intended: the sample's Actuals book an emergency fix on 'Legacy CRM',
    # a retired system that is deliberately neither in the plan nor on Systems
    findings = run_plan(sample).findings
    assert [(f.severity, f.code, f.location) for f in findings] == [
        ("warning", "actuals-unplanned", "Actuals!B195")]
    assert "'Legacy CRM'" in findings[0].message


def _shown(cell) -> str:
    """The text a cell shows: a date as its yyyy-mm format gives it (the Actuals months)."""
    if isinstance(cell.value, dt.date):
        assert cell.number_format == "yyyy-mm", cell.coordinate
        return cell.value.strftime("%Y-%m")
    return str(cell.value)


def test_columns_fit_their_content(sample):
    wb = openpyxl.load_workbook(sample)
    for sheet in HEADERS:
        ws = wb[sheet]
        last = range_boundaries(ws.tables[f"{sheet}Table"].ref)[2]
        assert last >= len(HEADERS[sheet])
        for col in ws.iter_cols(max_col=last):  # the sample's FY2027 columns of Costs too
            longest = max((len(_shown(c)) for c in col if c.value is not None), default=0)
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


# --------------------------------------------------------------------------- multi-year sheets


def test_multi_year_sheets_and_columns_have_their_validations(empty):
    wb = openpyxl.load_workbook(empty)
    assert wb.sheetnames[-3:] == ["Escalation", "FX", "Actuals"]
    assert [c.value for c in wb["Actuals"][1]][:6] == [
        "Month", "System", "Activity", "Amount", "Currency", "Item"]
    assert [c.value for c in wb["Rates"][1]][:4] == ["Role", "Sourcing", "Monthly cost", "Currency"]
    dvs = _validations(empty)

    def rule(sheet, col):
        dv = dvs[(sheet, col)]
        return dv.type, dv.operator, dv.formula1, dv.formula2, bool(dv.showErrorMessage)

    assert rule("Escalation", "A") == (
        "list", None, '"In-house,Outsource,Offshore,Other costs"', None, True)
    assert rule("Escalation", "C") == ("decimal", "between", "-1", "1", True)
    assert rule("FX", "B") == ("whole", "between", "1900", "2200", True)
    assert rule("FX", "C") == ("decimal", "greaterThan", "0", None, True)
    for sheet, col in (("Rates", "D"), ("Costs", "D"), ("FX", "A"), ("Actuals", "E")):
        assert rule(sheet, col) == ("textLength", "equal", "3", None, True), (sheet, col)
    # the template's horizon is one year (the default): Q1-Q4 and FY2027 Q1-Q4; open, so a
    # later year can be typed once horizon_years is raised
    assert rule("Scenarios", "F") == ("list", None, '"Q1,Q2,Q3,Q4,FY2027 Q1,FY2027 Q2,FY2027 Q3,'
                                      'FY2027 Q4"', None, False)
    assert rule("Actuals", "B") == ("list", None, "Systems!$A$2:$A$201", None, False)
    assert rule("Actuals", "C")[:3] == ("list", None, '"' + ",".join(ACTS) + '"')
    assert "YYYY-MM" in dvs[("Actuals", "A")].prompt
    assert wb["Escalation"]["C2"].number_format == "0.0%"
    assert wb["Actuals"]["A2"].number_format == "yyyy-mm"
    settings = [r[0] for r in wb["Settings"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert "horizon_years" in settings and "budget_scenario" in settings


def test_from_choices_follow_the_horizon_and_fit_an_excel_list():
    assert from_choices(Horizon(2027, 2)) == [
        "Q1", "Q2", "Q3", "Q4", "FY2027 Q1", "FY2027 Q2", "FY2027 Q3", "FY2027 Q4",
        "FY2028 Q1", "FY2028 Q2", "FY2028 Q3", "FY2028 Q4"]
    ten = from_choices(Horizon(2027, 10))
    # with its two quotes the list holds 2 + 4 x 2 ('Q1') + n x 9 ('FY2027 Q1') + (3 + n)
    # commas = 13 + 10 n characters: n = 24 labels make 253 <= 255, a 25th would make 263
    assert len(ten) == 4 + 24 and ten[-1] == "FY2032 Q4"
    assert len(",".join(ten)) + 2 == 253


def _fill(ws, *rows, start=2):
    for r, row in enumerate(rows, start=start):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c, value)


def test_a_filled_in_template_reads_back(tmp_path, empty):
    wb = openpyxl.load_workbook(empty)
    settings = {row[0].value: row[1] for row in wb["Settings"].iter_rows(min_row=2)}
    settings["horizon_years"].value = 2
    settings["currency"].value = "EUR"
    settings["budget_scenario"].value = "Offshore dev"
    _fill(wb["Roles"], ["Ops", "L2"], ["Dev", "L3"])
    _fill(wb["Systems"], ["ERP"])
    _fill(wb["Rates"], ["Ops", "In-house", 10000], ["Dev", "Offshore", 5000, "usd"])
    _fill(wb["Allocation"], ["Ops", 1], ["Dev", None, None, None, None, 1])
    _fill(wb["Staffing"], ["ERP", "Ops", "In-house", None, 2, 2, 2, 2, 3],
          ["ERP", "Dev", "Offshore", None, 1, 1, 1, 1])
    wb["Staffing"]["I1"] = "FY2028 Q3"  # a column typed next to the table
    _fill(wb["Costs"], ["ERP", "Licences", "Monitoring", "USD", 100, 100, 100, 100])
    _fill(wb["Escalation"], ["Offshore", None, 0.03], ["Other costs", None, 0.02])
    _fill(wb["FX"], ["USD", None, 0.9], ["USD", 2028, 0.95])
    _fill(wb["Scenarios"], ["Offshore dev", "Dev", "*", "fte_factor", 0.5, "FY2028 Q1"])
    _fill(wb["Actuals"], [dt.datetime(2027, 1, 15), "ERP", "Monitoring", 1000])
    wb.save(tmp_path / "filled.xlsx")

    plan, findings = load_plan(tmp_path / "filled.xlsx")
    assert plan is not None and findings == []
    s = plan.settings
    assert (s.horizon_years, s.currency, s.budget_scenario) == (2, "EUR", "Offshore dev")
    ops, dev = plan.staffing
    assert ops.fte == (2, 2, 2, 2, 2, 2, 3, 2)  # FY2028 Q3 is k = 4 + 2 = 6
    assert dev.fte == (1,) * 8
    assert plan.rates[("Dev", "Offshore")].currency == "USD"
    assert plan.rates[("Ops", "In-house")].currency == ""
    (cost,) = plan.costs
    assert (cost.currency, cost.amounts) == ("USD", (100,) * 8)
    assert [(e.applies_to, e.vendor, e.annual_rate) for e in plan.escalation] == [
        ("Offshore", "", 0.03), ("Other costs", "", 0.02)]
    assert [(f.currency, f.fiscal_year, f.rate) for f in plan.fx] == [
        ("USD", None, 0.9), ("USD", 2028, 0.95)]
    (change,) = plan.scenario_changes
    assert (change.scenario, change.start) == ("Offshore dev", 4)  # FY2028 Q1: k = 4
