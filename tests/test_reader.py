"""The plan reader (spec §2, §5): every bad input gets a located finding, all in one pass.

Grids (fast) for the rules; real files written by openpyxl and XlsxWriter for what only a
file has: cell types, error values, formulas without a cached value, Excel Tables.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from factories import ACTS, parse, tiny_plan, with_rows, write_openpyxl, write_xlsxwriter
from test_package import BILLION_LAUGHS, OLE_MAGIC, Entry, members, openpyxl_book, raw_zip, rezip

from omplan.core.findings import Finding
from omplan.core.model import IN_HOUSE, OFFSHORE, OUTSOURCE, Settings
from omplan.input.reader import grids_from_file, load_plan

STAFF_HEAD = ["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"]
COST_HEAD = ["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"]
SCEN_HEAD = ["Scenario", "Role", "System", "Change", "Value"]
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "omplan" / "data" / "sample_plan.xlsx"

Sheets = dict[str, list[list[Any]]]


# --------------------------------------------------------------------------- helpers


def errors_of(sheets: Sheets) -> list[Finding]:
    """Parse grids that must fail: the plan is None and the errors are returned."""
    plan, findings = parse(sheets)
    errors = [f for f in findings if f.severity == "error"]
    assert plan is None and errors, findings
    return errors


def ok(sheets: Sheets):
    plan, findings = parse(sheets)
    assert plan is not None, findings
    assert not [f for f in findings if f.severity == "error"]
    return plan


def expect(findings: list[Finding], code: str, location: str, phrase: str) -> Finding:
    """Exactly one finding at ``location``; it has ``code`` and ``phrase`` in its message."""
    here = [f for f in findings if f.location == location]
    assert len(here) == 1, f"expected one finding at {location}, got {findings}"
    finding = here[0]
    assert finding.code == code, finding
    assert phrase in finding.message, finding
    return finding


def only(findings: list[Finding], code: str, location: str, phrase: str) -> Finding:
    """The one and only finding."""
    assert len(findings) == 1, findings
    return expect(findings, code, location, phrase)


def set_cell(sheets: Sheets, sheet: str, ref: str, value: Any) -> Sheets:
    """A copy of ``sheets`` with the cell ``ref`` (e.g. 'E2', row 1 = header) set."""
    out = copy.deepcopy(sheets)
    col = ord(ref[0]) - ord("A")
    row = int(ref[1:]) - 1
    rows = out[sheet]
    while len(rows) <= row:
        rows.append([])
    while len(rows[row]) <= col:
        rows[row].append(None)
    rows[row][col] = value
    return out


def with_settings(sheets: Sheets, *rows: list[Any]) -> Sheets:
    return with_rows(sheets, "Settings", *rows)


def load_errors(path: Path) -> list[Finding]:
    plan, findings = load_plan(path)
    errors = [f for f in findings if f.severity == "error"]
    assert plan is None and errors, findings
    return errors


def xlsxwriter_plan(path: Path, sheets: Sheets, extra=None) -> Path:
    """The plan written by XlsxWriter; ``extra(workbook, worksheets)`` adds special cells."""
    wb = xlsxwriter.Workbook(str(path))
    sheets_by_name = {}
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        sheets_by_name[name] = ws
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    if extra is not None:
        extra(wb, sheets_by_name)
    wb.close()
    return path


def openpyxl_plan(path: Path, sheets: Sheets, cells: dict[str, dict[str, Any]]) -> Path:
    """The plan written by openpyxl with some cells (``{sheet: {ref: value}}``) overwritten."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for ref, value in cells.get(name, {}).items():
            ws[ref] = value
    wb.save(path)
    return path


# --------------------------------------------------------------------------- baseline


def test_tiny_plan_reads_cleanly():
    plan = ok(tiny_plan())
    assert plan.settings == Settings(plan_name="Tiny", fiscal_year=2027, currency="EUR")
    assert list(plan.roles) == ["Ops", "Dev"]
    assert plan.rates[("Dev", IN_HOUSE)].monthly_cost == 12000
    assert plan.allocation["Dev"].shares == {"Incident response": 0.5, "Corrective": 0.5}
    assert [(s.system, s.role, s.sourcing, s.fte) for s in plan.staffing] == [
        ("ERP", "Ops", IN_HOUSE, (1, 1, 1, 1)), ("ERP", "Dev", IN_HOUSE, (1, 1, 1, 1))]
    assert plan.staffing[0].location == "Staffing!A2"


def test_openpyxl_uses_defusedxml():
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML


# --------------------------------------------------------------------------- bad cells


def test_text_in_a_number_cell_has_the_documented_message():
    errors = errors_of(set_cell(tiny_plan(), "Staffing", "E2", "three"))
    finding = only(errors, "not-a-number", "Staffing!E2", "got 'three'")
    assert str(finding) == "Staffing!E2: FTE Q1 must be a number ≥ 0, got 'three'"


def test_number_stored_as_text_says_so():
    errors = errors_of(set_cell(tiny_plan(), "Rates", "C3", "12,000"))
    only(errors, "not-a-number", "Rates!C3", "stored as text")


@pytest.mark.parametrize("error", ["#REF!", "#DIV/0!", "#N/A", "#VALUE!"])
def test_error_value_text_in_a_grid(error):
    errors = errors_of(set_cell(tiny_plan(), "Staffing", "F3", error))
    only(errors, "error-value", "Staffing!F3", f"FTE Q2 holds the error value {error}")


@pytest.mark.parametrize(
    ("sheet", "ref", "value", "phrase"),
    [
        ("Staffing", "E2", -1, "FTE Q1 must be a number ≥ 0, got -1"),
        ("Staffing", "H3", -0.5, "FTE Q4 must be a number ≥ 0"),
        ("Costs", "D2", -100, "Cost Q1 must be a number ≥ 0, got -100"),
    ],
)
def test_negative_fte_or_cost(sheet, ref, value, phrase):
    sheets = with_rows(tiny_plan(), "Costs", ["ERP", "Licences", "Monitoring", 1, 1, 1, 1],
                       header=COST_HEAD)
    errors = errors_of(set_cell(sheets, sheet, ref, value))
    only(errors, "out-of-range", f"{sheet}!{ref}", phrase)


@pytest.mark.parametrize("cost", [0, -5000])
def test_rate_not_above_zero(cost):
    errors = errors_of(set_cell(tiny_plan(), "Rates", "C2", cost))
    # only the rate itself: no knock-on "missing rate" for the Staffing line that uses it
    only(errors, "out-of-range", "Rates!C2", "Monthly cost must be a number > 0")


def test_blank_rate_is_required():
    errors = errors_of(set_cell(tiny_plan(), "Rates", "C5", None))
    only(errors, "missing-value", "Rates!C5", "Monthly cost is required")


@pytest.mark.parametrize(
    ("sheet", "ref", "value", "phrase"),
    [
        ("Staffing", "C3", "Cloud", "Sourcing must be one of In-house, Outsource, Offshore"),
        ("Rates", "B5", "Nearshore", "got 'Nearshore'"),
        ("Roles", "B3", "L4", "Level must be one of L1, L2, L3, PMO, got 'L4'"),
        ("Costs", "C2", "Support", "Activity must be one of Monitoring"),
        ("Billing", "B2", "Hourly", "Basis must be one of Fixed fee, Separate estimate"),
        ("Billing", "A3", "Firefighting", "Activity must be one of"),
        ("Scenarios", "D2", "headcount", "Change must be one of sourcing, vendor"),
    ],
)
def test_unknown_enumerated_value(sheet, ref, value, phrase):
    sheets = with_rows(tiny_plan(), "Costs", ["ERP", "Licences", "Monitoring", 1, 1, 1, 1],
                       header=COST_HEAD)
    sheets = with_rows(sheets, "Billing", ["Monitoring", "Fixed fee"], ["Adaptive", "Fixed fee"],
                       header=["Activity", "Basis"])
    sheets = with_rows(sheets, "Scenarios", ["Cheaper", "*", "*", "fte_factor", 0.5],
                       header=SCEN_HEAD)
    errors = errors_of(set_cell(sheets, sheet, ref, value))
    only(errors, "unknown-value", f"{sheet}!{ref}", phrase)


def test_unknown_role_in_staffing():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Tester", "In-house", None, 1, 1, 1, 1])
    only(errors_of(sheets), "unknown-role", "Staffing!B4",
         "role 'Tester' is not listed on the Roles sheet")


def test_role_in_rates_not_in_roles():
    sheets = with_rows(tiny_plan(), "Rates", ["Tester", "In-house", 9000])
    only(errors_of(sheets), "unknown-role", "Rates!A6", "'Tester' is not listed on the Roles")


def test_role_in_allocation_not_in_roles():
    sheets = with_rows(tiny_plan(), "Allocation", ["Tester", 1])
    only(errors_of(sheets), "unknown-role", "Allocation!A4", "'Tester'")


def test_role_in_scenarios_not_in_roles():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Cheaper", "Tester", "*", "fte_factor", 0.5],
                       header=SCEN_HEAD)
    only(errors_of(sheets), "unknown-role", "Scenarios!B2", "'Tester'")


def test_duplicate_role_in_roles():
    sheets = with_rows(tiny_plan(), "Roles", ["Ops", "L1"])
    only(errors_of(sheets), "duplicate", "Roles!A4",
         "role 'Ops' is listed twice (first at Roles!A2)")


def test_duplicate_role_and_sourcing_in_rates():
    sheets = with_rows(tiny_plan(), "Rates", ["Dev", "in house", 13000])
    only(errors_of(sheets), "duplicate", "Rates!A6",
         "rate for (Dev, In-house) is given twice (first at Rates!C3)")


def test_duplicate_allocation_row():
    sheets = with_rows(tiny_plan(), "Allocation", ["Ops", 1])
    only(errors_of(sheets), "duplicate", "Allocation!A4", "two allocation rows")


def test_allocation_not_summing_to_one():
    sheets = set_cell(tiny_plan(), "Allocation", "F3", 0.4)  # Dev: 0.5 + 0.4
    only(errors_of(sheets), "shares-not-one", "Allocation!A3", "add up to 0.9, not 1")


def test_allocation_within_tolerance_is_fine():
    sheets = set_cell(tiny_plan(), "Allocation", "F3", 0.5004)
    ok(sheets)


def test_allocation_given_as_percent_numbers():
    sheets = set_cell(set_cell(tiny_plan(), "Allocation", "C3", 50), "Allocation", "F3", 50)
    # located at the first bad cell, not at the role: that is where the fix goes
    finding = only(errors_of(sheets), "percent-number", "Allocation!C3", "percent numbers")
    assert "add up to 100" in finding.message


def test_negative_allocation_share():
    sheets = set_cell(tiny_plan(), "Allocation", "C3", -0.5)
    only(errors_of(sheets), "out-of-range", "Allocation!C3", "Incident response share")


def test_missing_rate_for_used_role_and_sourcing():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Offshore", None, 0, 2, 2, 2])
    finding = only(errors_of(sheets), "missing-rate", "Staffing!C4",
                   "no Offshore rate for role 'Ops'")
    assert "Rates sheet" in finding.message


def test_missing_rate_is_fine_without_fte():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Offshore", None, 0, None, 0, 0])
    ok(sheets)


@pytest.mark.parametrize("sheet", ["Settings", "Roles", "Rates", "Allocation", "Staffing"])
def test_missing_required_sheet(sheet):
    sheets = tiny_plan()
    del sheets[sheet]
    errors = errors_of(sheets)
    expect(errors, "missing-sheet", sheet, f"required sheet '{sheet}' is missing")
    assert [f.code for f in errors] == ["missing-sheet"]


def test_missing_fiscal_year():
    sheets = tiny_plan()
    sheets["Settings"] = [["Setting", "Value"], ["plan_name", "Tiny"]]
    only(errors_of(sheets), "missing-setting", "Settings!A1", "fiscal_year is required")


def test_blank_fiscal_year():
    sheets = set_cell(tiny_plan(), "Settings", "B3", None)
    only(errors_of(sheets), "missing-value", "Settings!B3", "setting fiscal_year is required")


@pytest.mark.parametrize(
    ("value", "code", "phrase"),
    [("FY27", "not-a-number", "got 'FY27'"), (2027.5, "out-of-range", "whole number"),
     (27, "out-of-range", "≥ 1900")],
)
def test_bad_fiscal_year(value, code, phrase):
    only(errors_of(set_cell(tiny_plan(), "Settings", "B3", value)), code, "Settings!B3", phrase)


@pytest.mark.parametrize(
    ("rows", "location", "phrase"),
    [
        ([["band_low", 0.6], ["band_high", 0.6]], "Settings!B5", "band_low (0.6) must be below"),
        ([["band_low", 0.7]], "Settings!B5", "band_high (0.6, the default)"),
        ([["band_high", 0.3]], "Settings!B5", "band_low (0.4, the default) must be below"),
    ],
)
def test_band_low_not_below_band_high(rows, location, phrase):
    only(errors_of(with_settings(tiny_plan(), *rows)), "bad-band", location, phrase)


@pytest.mark.parametrize("key", ["band_low", "band_high", "vendor_overhead",
                                 "coordination_overhead"])
def test_fraction_given_as_percent_number(key):
    errors = errors_of(with_settings(tiny_plan(), [key, 40]))
    finding = only(errors, "percent-number", "Settings!B5", "percent")
    assert "enter 0.4" in finding.message and "40 %" in finding.message


@pytest.mark.parametrize("name", ["Baseline", "baseline", " BASELINE "])
def test_scenario_named_baseline(name):
    sheets = with_rows(tiny_plan(), "Scenarios", [name, "*", "*", "fte_factor", 2],
                       header=SCEN_HEAD)
    only(errors_of(sheets), "baseline-redefined", "Scenarios!A2", "cannot be redefined")


@pytest.mark.parametrize(
    ("change", "value", "code", "phrase"),
    [
        ("fte_factor", -1, "out-of-range", "fte_factor must be a number ≥ 0, got -1"),
        ("rate_factor", 0, "out-of-range", "rate_factor must be a number > 0, got 0"),
        ("sourcing", "Cloud", "unknown-value", "Sourcing must be one of In-house"),
        ("fte_factor", "half", "not-a-number", "got 'half'"),
        ("rate_factor", None, "missing-value", "rate_factor is required"),
    ],
)
def test_scenario_value_invalid_for_its_change(change, value, code, phrase):
    sheets = with_rows(tiny_plan(), "Scenarios", ["Cheaper", "*", "*", change, value],
                       header=SCEN_HEAD)
    only(errors_of(sheets), code, "Scenarios!E2", phrase)


def test_role_in_staffing_without_allocation_row():
    sheets = with_rows(tiny_plan(), "Roles", ["Lead", "PMO"])
    sheets = with_rows(sheets, "Rates", ["Lead", "In-house", 15000])
    sheets = with_rows(sheets, "Staffing", ["ERP", "Lead", "In-house", None, 1, 1, 1, 1])
    only(errors_of(sheets), "no-allocation", "Staffing!B4",
         "role 'Lead' has no row on the Allocation sheet")


def test_unknown_profile_factor():
    sheets = with_rows(tiny_plan(), "Profile", ["Runs 24x7", "yes"], ["Cloud native", "yes"],
                       header=["Factor", "Applies"])
    only(errors_of(sheets), "unknown-value", "Profile!A3", "unknown profile factor 'Cloud native'")


def test_profile_applies_not_yes_or_no():
    sheets = with_rows(tiny_plan(), "Profile", ["Runs 24x7", "maybe"],
                       header=["Factor", "Applies"])
    only(errors_of(sheets), "unknown-value", "Profile!B2", "Applies must be yes or no")


def test_missing_column():
    sheets = tiny_plan()
    sheets["Rates"][0] = ["Role", "Sourcing", "Cost per month"]
    finding = only(errors_of(sheets), "missing-column", "Rates!A1", "'Monthly cost'")
    assert "Cost per month" in finding.message


# --------------------------------------------------------------------------- one pass


def test_all_errors_are_collected_in_one_pass():
    sheets = with_settings(tiny_plan(), ["band_low", 40])  # Settings!B5
    sheets = set_cell(sheets, "Roles", "B3", "L9")
    sheets = set_cell(sheets, "Rates", "C4", -12000)  # Ops Outsource, not used
    sheets = set_cell(sheets, "Allocation", "F3", 0.4)  # Dev 0.5 + 0.4
    sheets = set_cell(sheets, "Staffing", "E2", "three")
    sheets = with_rows(sheets, "Staffing", ["CRM", "Ops", "Cloud", None, 1, 1, 1, 1])
    sheets = with_rows(sheets, "Costs", ["ERP", "Licences", "Monitoring", 5, -100, 5, 5],
                       header=COST_HEAD)
    sheets = with_rows(sheets, "Billing", ["Adaptive", "Hourly"], header=["Activity", "Basis"])
    sheets = with_rows(sheets, "Profile", ["Cloud native", "yes"], header=["Factor", "Applies"])
    sheets = with_rows(sheets, "Scenarios", ["Baseline", "*", "*", "fte_factor", 2],
                       header=SCEN_HEAD)
    errors = errors_of(sheets)
    assert {(f.code, f.location) for f in errors} == {
        ("percent-number", "Settings!B5"),
        ("unknown-value", "Roles!B3"),
        ("out-of-range", "Rates!C4"),
        ("shares-not-one", "Allocation!A3"),
        ("not-a-number", "Staffing!E2"),
        ("unknown-value", "Staffing!C4"),
        ("out-of-range", "Costs!E2"),
        ("unknown-value", "Billing!B2"),
        ("unknown-value", "Profile!A2"),
        ("baseline-redefined", "Scenarios!A2"),
    }
    assert len(errors) == 10
    assert all(f.message and f.severity == "error" for f in errors)


# --------------------------------------------------------------------------- leniencies


def test_sheet_names_and_headers_ignore_case_and_spaces():
    sheets = {name.upper() if i % 2 else f" {name.lower()} ": rows
              for i, (name, rows) in enumerate(tiny_plan().items())}
    sheets["ROLES"][0] = ["  role ", "LEVEL"]
    sheets[" staffing "][0] = [" system", "ROLE ", "sourcing", "vendor", "q1", " Q2", "q3 ", "Q4"]
    sheets[" rates "][0] = ["ROLE", "sourcing", "  Monthly   COST "]
    plan, base = ok(sheets), ok(tiny_plan())
    assert plan.settings == base.settings
    assert [(s.system, s.role, s.sourcing, s.fte) for s in plan.staffing] == [
        (s.system, s.role, s.sourcing, s.fte) for s in base.staffing]
    assert {k: r.monthly_cost for k, r in plan.rates.items()} == {
        k: r.monthly_cost for k, r in base.rates.items()}
    assert plan.staffing[0].location == "' staffing '!A2"


def test_error_location_uses_the_sheet_name_as_written():
    sheets = {("STAFFING" if name == "Staffing" else name): rows
              for name, rows in tiny_plan().items()}
    sheets = set_cell(sheets, "STAFFING", "G3", "two")
    only(errors_of(sheets), "not-a-number", "STAFFING!G3", "FTE Q3")


def test_sheet_name_with_space_is_quoted_in_locations():
    sheets = tiny_plan()
    sheets["Staffing"][1][4] = "x"
    sheets = {("Staffing " if name == "Staffing" else name): rows for name, rows in sheets.items()}
    only(errors_of(sheets), "not-a-number", "'Staffing '!E2", "FTE Q1")


def _reorder(rows: list[list[Any]], order: list[int]) -> list[list[Any]]:
    return [[row[i] if i < len(row) else None for i in order] for row in rows]


def test_column_order_is_free_and_unknown_columns_are_ignored():
    base = ok(tiny_plan())
    sheets = tiny_plan()
    sheets["Staffing"] = _reorder(sheets["Staffing"], [7, 6, 5, 4, 3, 2, 1, 0])
    sheets["Rates"] = _reorder(sheets["Rates"], [2, 0, 1])
    for name in ("Staffing", "Rates", "Roles"):
        sheets[name][0].append("Comment")
        for row in sheets[name][1:]:
            row.append("anything at all, even -1")
    plan = ok(sheets)
    assert [(s.system, s.role, s.sourcing, s.fte) for s in plan.staffing] == [
        (s.system, s.role, s.sourcing, s.fte) for s in base.staffing]
    assert {k: r.monthly_cost for k, r in plan.rates.items()} == {
        k: r.monthly_cost for k, r in base.rates.items()}
    # locations follow the moved columns: System is now column H
    assert plan.staffing[0].location == "Staffing!H2"
    bad = set_cell(sheets, "Staffing", "D2", "lots")  # Q1 is now column D
    only(errors_of(bad), "not-a-number", "Staffing!D2", "FTE Q1")


def test_fully_empty_rows_are_skipped():
    sheets = tiny_plan()
    sheets["Staffing"].insert(2, [None] * 8)
    sheets["Staffing"].insert(3, [])
    sheets["Staffing"].insert(4, ["", "  ", None, ""])
    sheets["Staffing"].append([None, None, None, None, None, None, None, None, "note"])
    sheets["Roles"].insert(1, [])
    plan = ok(sheets)
    assert [s.location for s in plan.staffing] == ["Staffing!A2", "Staffing!A6"]
    assert list(plan.roles) == ["Ops", "Dev"]


def test_header_row_below_a_title():
    sheets = tiny_plan()
    sheets["Staffing"] = [["Staffing plan FY2027"], [], *sheets["Staffing"]]
    sheets["Rates"] = [[None, "Monthly rates, fully loaded"], [None], *sheets["Rates"]]
    plan = ok(sheets)
    assert plan.staffing[0].location == "Staffing!A4"
    assert plan.rates[("Ops", IN_HOUSE)].location == "Rates!C4"
    only(errors_of(set_cell(sheets, "Staffing", "E5", "x")), "not-a-number", "Staffing!E5",
         "FTE Q1")


def test_missing_column_below_a_title_is_reported_on_the_header_row():
    sheets = tiny_plan()
    sheets["Staffing"] = [["Staffing plan FY2027"], [],
                          ["System", "Role", "Source", "Vendor", "Q1", "Q2", "Q3", "Q4"]]
    only(errors_of(sheets), "missing-column", "Staffing!A3", "'Sourcing' missing")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("In-house", IN_HOUSE), ("in house", IN_HOUSE), ("In-House", IN_HOUSE),
     ("inhouse", IN_HOUSE), ("IN_HOUSE", IN_HOUSE), ("Outsourced", OUTSOURCE),
     ("outsource", OUTSOURCE), (" off-shore ", OFFSHORE), ("OFFSHORE", OFFSHORE)],
)
def test_sourcing_matching(text, expected):
    sheets = tiny_plan()
    sheets["Staffing"][1][2] = text
    sheets["Rates"] = [["Role", "Sourcing", "Monthly cost"], ["Ops", text, 10000],
                       ["Dev", "In-house", 12000]]
    if expected != IN_HOUSE:
        sheets["Rates"].append(["Dev", "Outsource" if expected == OFFSHORE else "Offshore", 1])
    plan = ok(sheets)
    assert plan.staffing[0].sourcing == expected
    assert ("Ops", expected) in plan.rates


def test_other_enum_matching():
    sheets = tiny_plan()
    sheets["Roles"][1][1] = "l2"
    sheets["Roles"][2][1] = " L-3 "
    sheets["Allocation"][0] = ["role", *(a.upper() for a in ACTS)]
    sheets = with_rows(sheets, "Roles", ["Lead", "pmo"])
    sheets = with_rows(sheets, "Costs", ["ERP", "Scanner", "security-operations", 1, 1, 1, 1],
                       header=COST_HEAD)
    sheets = with_rows(sheets, "Billing", ["adaptive", "fixed-fee"],
                       ["Perfective", "FIXED_FEE"], ["monitoring", "separate estimate"],
                       header=["Activity", "Basis"])
    sheets = with_rows(sheets, "Scenarios", ["Lean", "*", "*", "FTE_FACTOR", 0.5],
                       ["Lean", "Ops", "ERP", "Rate-Factor", 1.1],
                       ["Lean", "Dev", "*", " Sourcing ", "offshore"],
                       header=SCEN_HEAD)
    plan = ok(sheets)
    assert [r.level for r in plan.roles.values()] == ["L2", "L3", "PMO"]
    assert plan.allocation["Dev"].shares == {"Incident response": 0.5, "Corrective": 0.5}
    assert plan.costs[0].activity == "Security operations"
    assert plan.billing["Adaptive"] == plan.billing["Perfective"] == "Fixed fee"
    assert plan.billing["Monitoring"] == "Separate estimate"
    assert [(c.change, c.value) for c in plan.scenario_changes] == [
        ("fte_factor", 0.5), ("rate_factor", 1.1), ("sourcing", OFFSHORE)]


@pytest.mark.parametrize(
    ("value", "applies"),
    [("yes", True), ("Y", True), ("TRUE", True), (True, True), (1, True), (1.0, True),
     ("x", True), ("X", True), ("1", True), ("no", False), ("N", False), ("false", False),
     (False, False), (0, False), ("0", False), (None, False), ("", False), ("  ", False)],
)
def test_yes_no_variants(value, applies):
    sheets = with_rows(tiny_plan(), "Profile", ["runs 24X7", value], header=["Factor", "Applies"])
    assert ok(sheets).profile == {"Runs 24x7": applies}


def test_profile_without_applies_column_means_no():
    sheets = with_rows(tiny_plan(), "Profile", ["Revenue critical"], header=["Factor"])
    assert ok(sheets).profile == {"Revenue critical": False}


def test_blank_allocation_row_is_pro_rata():
    sheets = with_rows(tiny_plan(), "Roles", ["Lead", "PMO"])
    sheets = with_rows(sheets, "Rates", ["Lead", "In-house", 15000])
    sheets = with_rows(sheets, "Allocation", ["Lead", None, "", None])
    sheets = with_rows(sheets, "Staffing", ["ERP", "Lead", "In-house", None, 1, 1, 1, 1])
    plan = ok(sheets)
    assert plan.allocation["Lead"].pro_rata
    assert not plan.allocation["Ops"].pro_rata
    assert plan.allocation["Ops"].shares == {"Monitoring": 1}


def test_missing_settings_take_defaults_and_plan_name_is_the_file_stem():
    sheets = tiny_plan()
    sheets["Settings"] = [["Setting", "Value"], ["fiscal_year", 2028]]
    assert ok(sheets).settings == Settings(
        plan_name="tiny", fiscal_year=2028, currency="USD", fy_start_month=1, band_low=0.4,
        band_high=0.6, vendor_overhead=0.1, coordination_overhead=0.05, transition_months=2)


def test_setting_keys_match_loosely_and_blank_values_take_defaults():
    sheets = tiny_plan()
    sheets["Settings"] = [["Setting", "Value"], ["Fiscal Year", 2028], ["FY start month", 4],
                          ["Band-Low", 0.35], ["plan_name", None], ["currency", "gbp"],
                          ["vendor_overhead", None]]
    settings = ok(sheets).settings
    assert (settings.fiscal_year, settings.fy_start_month, settings.band_low) == (2028, 4, 0.35)
    assert (settings.plan_name, settings.currency, settings.vendor_overhead) == ("tiny", "GBP", 0.1)


def test_unknown_setting_is_a_warning():
    plan, findings = parse(with_settings(tiny_plan(), ["colour", "blue"]))
    assert plan is not None
    expect(findings, "unknown-setting", "Settings!A5", "unknown setting 'colour'")
    assert findings[0].severity == "warning"


def test_missing_optional_sheets_are_fine():
    plan = ok(tiny_plan())
    assert plan.costs == [] and plan.contracts == {} and plan.profile == {}
    assert plan.scenario_changes == [] and plan.scenario_names == ["Baseline"]
    assert plan.billing["Adaptive"] == "Separate estimate"
    assert plan.billing["Corrective"] == "Fixed fee"


def test_empty_template_gives_exactly_one_finding():
    heads = {
        "Settings": ["Setting", "Value"], "Roles": ["Role", "Level"],
        "Rates": ["Role", "Sourcing", "Monthly cost"], "Allocation": ["Role", *ACTS],
        "Staffing": STAFF_HEAD, "Costs": COST_HEAD, "Billing": ["Activity", "Basis"],
        "Contracts": ["Vendor", "Emergency response SLA hours", "Permanent fix SLA days"],
        "Profile": ["Factor", "Applies"], "Scenarios": SCEN_HEAD,
    }
    sheets = {name: [head] for name, head in heads.items()}
    sheets["Settings"].append(["fiscal_year", 2027])
    plan, findings = parse(sheets)
    assert plan is None
    assert [(f.code, f.location) for f in findings] == [("no-staffing", "Staffing")]
    assert "no staffing" in findings[0].message


def test_empty_template_file_gives_exactly_one_finding(tmp_path):
    sheets = {name: [rows[0]] for name, rows in tiny_plan().items()}
    sheets["Settings"].append(["fiscal_year", 2027])
    sheets["Costs"] = [COST_HEAD]
    sheets["Scenarios"] = [SCEN_HEAD]
    sheets["Profile"] = []  # a sheet with nothing at all on it
    plan, findings = load_plan(write_xlsxwriter(sheets, tmp_path / "template.xlsx"))
    assert plan is None
    assert [(f.code, f.location) for f in findings] == [("no-staffing", "Staffing")]


# --------------------------------------------------------------------------- real files


def test_formula_without_cached_value(tmp_path):
    path = openpyxl_plan(tmp_path / "scripted.xlsx", tiny_plan(),
                         {"Staffing": {"E2": "=1+1"}, "Rates": {"C3": "=B2*2"}})
    errors = load_errors(path)
    finding = expect(errors, "no-cached-value", "Staffing!E2", "FTE Q1 has a formula (=1+1)")
    assert "no saved value" in finding.message
    assert "save it" in finding.message and "soffice --headless" in finding.message
    assert "scripted.xlsx" in finding.message
    expect(errors, "no-cached-value", "Rates!C3", "Monthly cost has a formula (=B2*2)")
    assert len(errors) == 2


def test_formula_with_cached_value_reads_its_value(tmp_path):
    def formulas(wb, ws):
        ws["Staffing"].write_formula("E2", "=0.5+0.5", None, 1)
        ws["Rates"].write_formula("C3", "=6000*2", None, 12000)

    path = xlsxwriter_plan(tmp_path / "cached.xlsx", tiny_plan(), formulas)
    plan, findings = load_plan(path)
    assert plan is not None and findings == []
    assert plan.staffing[0].fte[0] == 1 and plan.rates[("Dev", IN_HOUSE)].monthly_cost == 12000


@pytest.mark.parametrize(("formula", "error"), [("=1/0", "#DIV/0!"), ("=#REF!*2", "#REF!"),
                                                ("=NA()", "#N/A"), ('="a"+1', "#VALUE!")])
def test_error_value_in_a_file(tmp_path, formula, error):
    def errors_in(wb, ws):
        ws["Staffing"].write_formula("F3", formula, None, error)

    errors = load_errors(xlsxwriter_plan(tmp_path / "errors.xlsx", tiny_plan(), errors_in))
    only(errors, "error-value", "Staffing!F3", f"FTE Q2 holds the error value {error}")


def test_error_value_in_a_text_cell(tmp_path):
    def errors_in(wb, ws):
        ws["Staffing"].write_formula("B3", "=VLOOKUP(1,Z1:Z2,2)", None, "#N/A")

    errors = load_errors(xlsxwriter_plan(tmp_path / "errors.xlsx", tiny_plan(), errors_in))
    only(errors, "error-value", "Staffing!B3", "Role holds the error value #N/A")


def test_date_and_boolean_in_number_cells(tmp_path):
    import datetime as dt

    path = openpyxl_plan(tmp_path / "types.xlsx", tiny_plan(),
                         {"Staffing": {"F2": dt.date(2027, 1, 1), "G3": True}})
    errors = load_errors(path)
    expect(errors, "not-a-number", "Staffing!F2", "got a date/time (2027-01-01")
    expect(errors, "not-a-number", "Staffing!G3", "got the logical value TRUE")
    assert len(errors) == 2


def test_percent_formatted_cells(tmp_path):
    def percents(wb, ws):
        pct = wb.add_format({"num_format": "0%"})
        ws["Settings"].write_number("B5", 0.35, pct)  # band_low 35 %: fine
        ws["Settings"].write_number("B6", 15, pct)  # vendor_overhead 1500 %: a percent number
        ws["Allocation"].write_number("C3", 0.5, pct)
        ws["Allocation"].write_number("F3", 0.5, pct)
        ws["Settings"].write_string("B7", "5%")  # coordination_overhead as text

    sheets = with_settings(tiny_plan(), ["band_low", None], ["vendor_overhead", None],
                           ["coordination_overhead", None])
    errors = load_errors(xlsxwriter_plan(tmp_path / "pct.xlsx", sheets, percents))
    expect(errors, "percent-number", "Settings!B6", "percent")
    expect(errors, "not-a-number", "Settings!B7", "stored as text")
    assert len(errors) == 2

    def fixed(wb, ws):
        pct = wb.add_format({"num_format": "0%"})
        ws["Settings"].write_number("B5", 0.35, pct)
        ws["Settings"].write_number("B6", 0.15, pct)
        ws["Settings"].write_number("B7", 0.05, pct)

    plan, findings = load_plan(xlsxwriter_plan(tmp_path / "pct2.xlsx", sheets, fixed))
    assert plan is not None, findings
    assert (plan.settings.band_low, plan.settings.vendor_overhead,
            plan.settings.coordination_overhead) == (0.35, 0.15, 0.05)


def test_excel_table_reads_the_same(tmp_path):
    path = tmp_path / "tables.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in tiny_plan().items():
        ws = wb.add_worksheet(name)
        ws.write(0, 0, f"{name} of the tiny plan")  # a title above the table
        data = [list(r) for r in rows[1:]]
        ws.add_table(2, 1, 2 + len(data), len(rows[0]), {
            "name": f"T{name}", "data": data,
            "columns": [{"header": h} for h in rows[0]]})
    wb.close()
    plan, findings = load_plan(path)
    assert plan is not None and findings == [], findings
    base = ok(tiny_plan())
    assert plan.settings == base.settings
    assert {k: (r.level) for k, r in plan.roles.items()} == {
        k: r.level for k, r in base.roles.items()}
    assert {k: r.monthly_cost for k, r in plan.rates.items()} == {
        k: r.monthly_cost for k, r in base.rates.items()}
    assert {k: a.shares for k, a in plan.allocation.items()} == {
        k: a.shares for k, a in base.allocation.items()}
    assert [(s.system, s.role, s.sourcing, s.vendor, s.fte) for s in plan.staffing] == [
        (s.system, s.role, s.sourcing, s.vendor, s.fte) for s in base.staffing]
    assert plan.staffing[0].location == "Staffing!B4"


def test_header_below_a_title_in_a_file(tmp_path):
    sheets = tiny_plan()
    sheets["Staffing"] = [["Staffing plan FY2027"], [], *sheets["Staffing"]]
    sheets["Staffing"][3][4] = "three"
    errors = load_errors(write_openpyxl(sheets, tmp_path / "titled.xlsx"))
    only(errors, "not-a-number", "Staffing!E4", "got 'three'")


def test_plan_name_defaults_to_the_file_stem(tmp_path):
    sheets = tiny_plan()
    sheets["Settings"] = [["Setting", "Value"], ["fiscal_year", 2027]]
    plan, findings = load_plan(write_openpyxl(sheets, tmp_path / "ERP budget 2027.xlsx"))
    assert plan is not None, findings
    assert plan.settings.plan_name == "ERP budget 2027"
    assert plan.source_name == "ERP budget 2027.xlsx"


def test_sample_plan_has_no_findings():
    """The one finding is intended: the sample's Actuals book an emergency fix on 'Legacy CRM',
    a retired system deliberately left out of the plan, to show the warning."""
    plan, findings = load_plan(SAMPLE)
    assert plan is not None
    assert [(f.severity, f.code, f.location) for f in findings] == [
        ("warning", "actuals-unplanned", "Actuals!B195")]
    assert "'Legacy CRM'" in findings[0].message
    assert plan.settings.plan_name == "Sample plan"
    assert len(plan.scenario_names) == 5


def _sheets_of(path: Path) -> Sheets:
    """The cell values of a workbook as factory data ('' -> None, integral floats -> int)."""
    out: Sheets = {}
    for name, grid in grids_from_file(path).items():
        rows = []
        for row in grid.rows:
            cells = [None if v == "" else v for v in row]
            rows.append([int(v) if isinstance(v, float) and v.is_integer() else v for v in cells])
        out[name] = rows
    return out


def test_openpyxl_and_xlsxwriter_copies_parse_to_equal_plans(tmp_path):
    sheets = _sheets_of(SAMPLE)
    (tmp_path / "copy").mkdir()
    a, fa = load_plan(write_openpyxl(sheets, tmp_path / "plan.xlsx"))
    b, fb = load_plan(write_xlsxwriter(sheets, tmp_path / "copy" / "plan.xlsx"))
    original, fo = load_plan(SAMPLE)
    assert a is not None and b is not None and fa == fb == fo  # the Legacy CRM warning
    # the copies keep the Actuals months as dates (XlsxWriter with a date format)
    assert _sheets_of(tmp_path / "copy" / "plan.xlsx")["Actuals"][1][0] == dt.date(2027, 4, 1)
    for plan in (b, original):
        assert a.settings == plan.settings
        assert a.roles == plan.roles
        assert a.rates == plan.rates
        assert a.allocation == plan.allocation
        assert a.staffing == plan.staffing
        assert a.costs == plan.costs and a.billing == plan.billing
        assert a.contracts == plan.contracts and a.profile == plan.profile
        assert a.scenario_changes == plan.scenario_changes
        assert a.escalation == plan.escalation and a.fx == plan.fx
        assert a.actuals == plan.actuals
    # 6 months x 4 systems x 8 activities and the Legacy CRM fix; the SLA credit (-2,400) has
    # the key of HR's Incident response of Aug 2027, so the two rows add up to one line
    assert len(a.actuals) == 6 * 4 * 8 + 1 and a.fx and a.escalation
    rows = [r for r in sheets["Actuals"][1:]
            if (r[0], r[1], r[2]) == (dt.date(2027, 8, 1), "HR & payroll", "Incident response")]
    assert [r[3] < 0 for r in rows] == [False, True]
    (credited,) = [x for x in a.actuals if (x.month, x.system, x.activity)
                   == (4, "HR & payroll", "Incident response")]
    assert credited.amount == sum(r[3] for r in rows)
    assert a == b


# --------------------------------------------------------------------------- file level


def _not_a_zip(tmp_path: Path) -> Path:
    path = tmp_path / "random.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    return path


def _truncated(tmp_path: Path) -> Path:
    good = write_openpyxl(tiny_plan(), tmp_path / "good.xlsx").read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(good[: len(good) // 2])
    return path


def _encrypted(tmp_path: Path) -> Path:
    path = tmp_path / "secret.xlsx"
    path.write_bytes(OLE_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(50)
                     + "EncryptedPackage".encode("utf-16-le") + os.urandom(2048))
    return path


def _legacy_xls(tmp_path: Path) -> Path:
    path = tmp_path / "old.xls"
    path.write_bytes(OLE_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1000))
    return path


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "plan.csv"
    path.write_text("Role,Level\nDev,L3\n", encoding="utf-8")
    return path


def _csv_named_xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "exported.xlsx"
    path.write_text("Role;Level\nDev;L3\n", encoding="utf-8")
    return path


def _zip_bomb(tmp_path: Path) -> Path:  # in a part omplan reads: the Settings sheet
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    for e in entries:
        if e.name == "xl/worksheets/sheet1.xml":
            e.declared = 300 * 1000 * 1000
    return raw_zip(tmp_path / "bomb.xlsx", entries)


def _ratio_bomb(tmp_path: Path) -> Path:  # in a part omplan reads: the Roles sheet
    entries = [Entry(n, d) for n, d in members(openpyxl_book(tmp_path / "base.xlsx"))]
    for e in entries:
        if e.name == "xl/worksheets/sheet2.xml":
            e.data = b"<a>" + b" " * (4 * 1024 * 1024) + b"</a>"
    return raw_zip(tmp_path / "ratio.xlsx", entries)


def _entity_bomb(tmp_path: Path) -> Path:
    base = write_openpyxl(tiny_plan(), tmp_path / "base.xlsx")
    return rezip(base, tmp_path / "laughs.xlsx", {"xl/workbook.xml": BILLION_LAUGHS})


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    return path


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "no such plan.xlsx"


FILE_PROBLEMS = [
    (_not_a_zip, "not-a-spreadsheet", "not an Excel workbook"),
    (_truncated, "truncated", "damaged or incomplete"),
    (_encrypted, "encrypted", "password-protected"),
    (_legacy_xls, "legacy-xls", "save it as .xlsx"),
    (_csv, "csv", "CSV"),
    (_csv_named_xlsx, "csv", "CSV"),
    (_zip_bomb, "zip-bomb", "zip bomb"),
    (_ratio_bomb, "zip-bomb", "compression ratio"),
    (_entity_bomb, "xml-entities", "entity declarations"),
    (_empty, "empty-file", "empty"),
    (_missing, "file-not-found", "not found"),
]


@pytest.mark.parametrize(("build", "code", "phrase"), FILE_PROBLEMS,
                         ids=[b.__name__.strip("_") for b, _, _ in FILE_PROBLEMS])
def test_file_level_problem_is_one_finding(tmp_path, build, code, phrase):
    path = build(tmp_path)
    plan, findings = load_plan(path)
    assert plan is None
    assert len(findings) == 1, findings
    finding = findings[0]
    assert (finding.severity, finding.code, finding.location) == ("error", code, "")
    assert path.name in finding.message and phrase in finding.message
    assert finding.message.endswith(".") and "\n" not in finding.message


def test_load_plan_accepts_a_str_path(tmp_path):
    path = write_openpyxl(tiny_plan(), tmp_path / "plan.xlsx")
    plan, findings = load_plan(str(path))
    assert plan is not None and findings == []


def test_misspelt_activity_column_is_named():
    sheets = tiny_plan()
    sheets["Allocation"][0][5] = "Corective"
    plan, findings = parse(sheets)
    assert ("warning", "unknown-column", "Allocation!F1") in [
        (f.severity, f.code, f.location) for f in findings]
    assert "did you mean 'Corrective'" in next(f.message for f in findings
                                                if f.code == "unknown-column")
    assert "shares-not-one" in [f.code for f in findings]  # Dev's shares now add up to 0.5
