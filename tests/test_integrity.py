"""No silent wrong figures: inputs that would give plausible but wrong totals are caught.

Each test starts from the shipped sample plan (or the tiny plan) and makes one mistake a
hurried finance manager makes: a copied Staffing row, a factor typed as a percent, a typo in a
system or vendor name, an absurd amount, a decimal comma, a date-formatted cell.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import pytest
from factories import parse, tiny_plan, with_rows, write_openpyxl

from omplan.core.engine import evaluate
from omplan.core.findings import Finding
from omplan.files.run import run_plan
from omplan.files.sample import SAMPLE_PLAN
from omplan.input.tables import looks_alike, near_duplicates

Sheets = dict[str, list[list[Any]]]


def sample() -> Sheets:
    return copy.deepcopy(SAMPLE_PLAN)


def at(findings: list[Finding], code: str) -> list[tuple[str, str, str]]:
    return [(f.severity, f.location, f.message) for f in findings if f.code == code]


def _total(plan) -> float:
    ledger = evaluate(plan).ledger
    return float(ledger.loc[ledger["scenario"] == "Baseline", "amount"].sum())


# --------------------------------------------------------------------------- item 1


def test_a_copied_staffing_row_is_warned_about_with_both_cells():
    sheets = sample()
    sheets["Staffing"].insert(3, list(sheets["Staffing"][2]))  # row 3 again as row 4
    plan, findings = parse(sheets)
    assert plan is not None  # still counted: two identical rows can be meant
    [(severity, location, message)] = at(findings, "duplicate-line")
    assert severity == "warning" and location == "Staffing!A4"
    assert "Staffing!A3" in message and "counts twice" in message
    assert "Order platform, Ops engineer, In-house" in message


def test_the_sample_plan_has_no_duplicate_lines_and_the_copy_changes_the_total():
    sheets = sample()
    plan, findings = parse(sheets)
    assert not at(findings, "duplicate-line")
    before = _total(plan)
    sheets["Staffing"].append(list(sheets["Staffing"][2]))
    after_plan, _ = parse(sheets)
    # the shipped sample's Baseline over FY2027-FY2029: 3,807,672 + 3,808,876 + 3,955,722
    assert round(before) == 11_572_270
    assert _total(after_plan) > before  # exactly what the warning is about
    # by exactly the copied line: 3 + 3 + 3.5 + 3.5 FTE-quarters x 3 months x 9,806 in-house,
    # escalated 3.7 % a year (no vendor, no coordination: Order platform has no split contract)
    added = 13 * 3 * 9806 * (1 + 1.037 + 1.037**2)
    assert _total(after_plan) - before == pytest.approx(added, rel=1e-12)


def test_same_system_and_role_with_another_vendor_is_no_duplicate():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1],
                       ["ERP", "Ops", "Outsource", "Globex", 1, 1, 1, 1])
    _, findings = parse(sheets)
    assert not at(findings, "duplicate-line")


# --------------------------------------------------------------------------- item 2


@pytest.mark.parametrize(("change", "typed", "fix"), [("fte_factor", 90, "0.9"),
                                                      ("rate_factor", 105, "1.05")])
def test_a_scenario_factor_typed_as_a_percent_is_an_error_with_the_hint(change, typed, fix):
    sheets = sample()
    row = next(i for i, r in enumerate(sheets["Scenarios"]) if r[3] == change)
    sheets["Scenarios"][row][4] = typed
    plan, findings = parse(sheets)
    assert plan is None
    [(severity, location, message)] = at(findings, "percent-number")
    assert severity == "error" and location == f"Scenarios!E{row + 1}"
    assert f"enter {fix}" in message and f"{typed} %" in message


def test_a_large_but_plausible_factor_is_a_warning_naming_its_scenario():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Grow", "Ops", "*", "fte_factor", 4],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan, findings = parse(sheets)
    assert plan is not None
    [(severity, location, message)] = at(findings, "large-factor")
    assert (severity, location) == ("warning", "Scenarios!E2")
    assert "scenario 'Grow'" in message


def test_a_scenarios_row_warning_is_reported_with_its_own_scenario():
    """Not under [Baseline]: the JSON lists it with 'Grow', the scenario of that row."""
    from omplan.core.summary import summary_json

    sheets = with_rows(tiny_plan(), "Scenarios", ["Grow", "Ops", "*", "fte_factor", 4],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    sheets["Staffing"].append(list(sheets["Staffing"][1]))  # a duplicate: a plan warning
    plan, findings = parse(sheets)
    summary = summary_json(plan, findings, evaluate(plan))
    codes = {s["name"]: [f["code"] for f in s["findings"]] for s in summary["scenarios"]}
    assert "large-factor" in codes["Grow"] and "large-factor" not in codes["Baseline"]
    assert "duplicate-line" in codes["Baseline"] and "duplicate-line" not in codes["Grow"]


def test_factors_up_to_three_are_quiet():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Grow", "Ops", "*", "fte_factor", 3],
                       ["Grow", "Dev", "*", "rate_factor", 1.2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan, findings = parse(sheets)
    assert plan is not None and findings == []


# --------------------------------------------------------------------------- item 3


def test_a_typo_in_a_system_name_is_warned_about_naming_both_cells():
    sheets = sample()
    sheets["Staffing"][5][0] = "Order platfrom"
    _, findings = parse(sheets)
    [(severity, location, message)] = at(findings, "similar-name")
    assert severity == "warning" and location == "Staffing!A6"
    assert "'Order platfrom'" in message and "'Order platform' (at Staffing!A2)" in message


def test_a_typo_on_costs_is_caught_too():
    sheets = sample()
    sheets["Costs"][3][0] = "customer  Portal"  # case and spacing
    _, findings = parse(sheets)
    [(_, location, message)] = at(findings, "similar-name")
    assert location == "Costs!A4" and "Customer portal" in message


def test_a_typo_in_a_vendor_name_is_warned_about():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Outsource", "Acme Services",
                                                 1, 1, 1, 1],
                       ["CRM", "Ops", "Outsource", "Acme Servcies", 1, 1, 1, 1])
    _, findings = parse(sheets)
    [(_, location, message)] = at(findings, "similar-name")
    assert location == "Staffing!D5" and "Staffing!D4" in message


def test_the_sample_plan_has_no_similar_names():
    """The one finding is intended: the sample's Actuals book an emergency fix on 'Legacy
    CRM', a retired system deliberately not in the plan (and unlike any of its names)."""
    _, findings = parse(sample())
    assert [(f.severity, f.code, f.location) for f in findings] == [
        ("warning", "actuals-unplanned", "Actuals!B195")]
    assert "'Legacy CRM'" in findings[0].message


@pytest.mark.parametrize(("a", "b", "alike"), [
    ("Order platform", "Order platfrom", True),   # swapped letters
    ("Order platform", "order  platform", True),  # case and spacing
    ("HR-payroll", "HR payroll", True),
    ("Data warehouse", "Data warehose", True),
    ("ERP", "ERQ", False),                         # too short to judge
    ("System A", "System B", False),               # one short word differs: deliberate
    ("Billing 1", "Billing 2", False),             # numbered systems
    ("CRM EU", "CRM US", False),
    ("CRM platform", "HR platform", False),        # another system, not a typo
    ("Sales portal", "Sale portal", True),
    ("Customer portal", "Order platform", False),
])
def test_looks_alike(a, b, alike):
    assert looks_alike(a, b) is alike


def test_near_duplicates_scale_to_many_names():
    names = [f"System {i:03d}" for i in range(600)] + ["Order platform", "Order platfrom"]
    assert near_duplicates(names) == [("Order platform", "Order platfrom")]


def systems_sheet(*names: str) -> list[list[Any]]:
    return [["System", "Description", "Owner"], *([n, None, None] for n in names)]


def test_with_a_systems_sheet_unknown_systems_are_located_errors():
    sheets = sample()
    sheets["Systems"] = systems_sheet("Order platform", "Customer portal", "HR & payroll",
                                      "Data warehouse")
    assert parse(sheets)[0] is not None
    sheets["Staffing"][5][0] = "Order platfrom"
    sheets["Costs"][2][0] = "Ordr platform"
    sheets["Scenarios"][16][2] = "Data warehose"
    plan, findings = parse(sheets)
    assert plan is None
    got = {(f.location, f.code) for f in findings if f.severity == "error"}
    assert got == {("Staffing!A6", "unknown-system"), ("Costs!A3", "unknown-system"),
                   ("Scenarios!C17", "unknown-system")}
    assert "did you mean 'Order platform'" in next(f.message for f in findings
                                                  if f.location == "Staffing!A6")
    assert not at(findings, "similar-name")  # the errors say it already


def test_an_empty_systems_sheet_checks_nothing():
    sheets = with_rows(tiny_plan(), "Systems", header=["System", "Description", "Owner"])
    assert parse(sheets)[0] is not None


def test_systems_sheet_duplicates_and_star_are_errors():
    sheets = with_rows(tiny_plan(), "Systems", ["ERP"], ["ERP"], ["*"], header=["System"])
    plan, findings = parse(sheets)
    assert plan is None
    assert {(f.location, f.code) for f in findings} == {("Systems!A3", "duplicate"),
                                                       ("Systems!A4", "unknown-value")}


def test_a_scenario_row_finding_names_its_scenario():
    sheets = sample()
    sheets["Scenarios"][16][2] = "Data warehose"
    _, findings = parse(sheets)
    [(_, location, message)] = at(findings, "no-match")
    assert location == "Scenarios!C17"
    assert message.startswith("scenario 'Lean 2027':") and "did you mean 'Data warehouse'" \
        in message


# --------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(("sheet", "ref", "value", "phrase"), [
    ("Rates", "C2", 1e308, "at most 1,000,000,000"),
    ("Rates", "C2", math.inf, "not a finite number"),
    ("Rates", "C2", math.nan, "not a finite number"),
    ("Rates", "C2", 10**400, "not a finite number"),
    ("Staffing", "E2", 2e5, "at most 100,000"),
    ("Staffing", "E2", -math.inf, "not a finite number"),
])
def test_absurd_and_non_finite_amounts_are_located_errors(sheet, ref, value, phrase):
    sheets = tiny_plan()
    col, row = ord(ref[0]) - 65, int(ref[1:]) - 1
    sheets[sheet][row][col] = value
    plan, findings = parse(sheets)
    assert plan is None
    [error] = [f for f in findings if f.severity == "error"]
    assert error.location == f"{sheet}!{ref}" and phrase in error.message


def test_costs_are_bounded():
    sheets = with_rows(tiny_plan(), "Costs", ["ERP", "Licences", "Monitoring", 2e12, 0, 0, 0],
                       header=["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"])
    plan, findings = parse(sheets)
    assert plan is None and [(f.location, f.code) for f in findings] == [
        ("Costs!D2", "out-of-range")]


def test_a_huge_rate_in_a_file_never_reaches_the_engine(tmp_path):
    sheets = tiny_plan()
    sheets["Rates"][1][2] = 1e308
    run = run_plan(write_openpyxl(sheets, tmp_path / "p.xlsx"))
    assert run.evaluation is None
    assert [(f.location, f.code) for f in run.findings] == [("Rates!C2", "out-of-range")]


# --------------------------------------------------------------------------- item 15


def test_a_decimal_comma_says_use_a_decimal_point():
    sheets = tiny_plan()
    sheets["Staffing"][1][4] = "2,5"
    _, findings = parse(sheets)
    [error] = findings
    assert error.location == "Staffing!E2" and "use a decimal point, 2.5" in error.message


def test_a_thousands_separator_is_still_a_number_stored_as_text():
    sheets = tiny_plan()
    sheets["Rates"][1][2] = "10,000"
    [error] = parse(sheets)[1]
    assert "number stored as text" in error.message


def test_a_single_percent_typed_share_points_at_its_cell():
    sheets = tiny_plan()
    sheets["Allocation"][2][2] = 50  # Dev: Incident response 50 (meant 0.5), Corrective 0.5
    [error] = parse(sheets)[1]
    assert (error.code, error.location) == ("percent-number", "Allocation!C3")
    assert "format the cells as percentages" in error.message


@pytest.mark.parametrize(("typed", "month"), [("April", 4), ("apr", 4), ("SEPT", 9),
                                              ("December", 12), (" jan. ", 1), (7, 7)])
def test_fy_start_month_takes_month_names(typed, month):
    sheets = with_rows(tiny_plan(), "Settings", ["fy_start_month", typed])
    plan = parse(sheets)[0]
    assert plan is not None and plan.settings.fy_start_month == month


def test_an_unknown_month_name_is_a_located_error():
    sheets = with_rows(tiny_plan(), "Settings", ["fy_start_month", "Aprli"])
    [error] = parse(sheets)[1]
    assert error.location == "Settings!B5" and "a name such as April" in error.message


def test_a_date_formatted_cell_says_format_it_as_number(tmp_path):
    sheets = tiny_plan()
    sheets["Staffing"][1][4] = dt.datetime(1900, 1, 2)
    [error] = parse(sheets)[1]
    assert error.location == "Staffing!E2" and "format the cell as Number" in error.message
