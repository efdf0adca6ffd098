"""Reading the multi-year inputs: the horizon and FY<year> Q<n> columns, Escalation, FX,
Currency columns, the Scenarios' From column and budget_scenario, each problem located."""

from __future__ import annotations

import pytest
from factories import horizon_plan, parse, tiny_plan, with_rows, write_openpyxl
from test_reader import COST_HEAD, SCEN_HEAD, errors_of, expect, ok, only, set_cell

from omplan.core.model import IN_HOUSE, OFFSHORE, OTHER_COSTS, OUTSOURCE, Escalation, FxRate
from omplan.input.package import INPUT_SHEETS
from omplan.input.reader import OPTIONAL_SHEETS, REQUIRED_SHEETS, grids_from_file, parse_plan

ESC_HEAD = ["Applies to", "Vendor", "Annual rate"]
FX_HEAD = ["Currency", "Fiscal year", "Rate"]
FROM_HEAD = [*SCEN_HEAD, "From"]


def warnings_of(findings):
    return [(f.code, f.location) for f in findings if f.severity == "warning"]


def with_override(sheets, sheet: str, header: str, *cells):
    """``sheets`` with a column ``header`` appended to ``sheet``: ``cells`` row by row."""
    out = {name: [list(r) for r in rows] for name, rows in sheets.items()}
    rows = out[sheet]
    width = len(rows[0])
    rows[0].append(header)
    while len(rows) <= len(cells):
        rows.append([])
    for r, row in enumerate(rows[1:]):
        row.extend([None] * (width - len(row)))
        row.append(cells[r] if r < len(cells) else None)
    return out


# --------------------------------------------------------------------------- horizon


def test_one_year_without_fy_columns_is_read_as_before():
    plan = ok(tiny_plan())
    assert plan.settings.horizon_years == 1
    assert [line.fte for line in plan.staffing] == [(1, 1, 1, 1), (1, 1, 1, 1)]
    assert plan.escalation == [] and plan.fx == []
    assert all(c.start == 0 for c in plan.scenario_changes)


@pytest.mark.parametrize("header", ["FY2028 Q3", "fy2028 q3", "FY2028Q3", "FY 2028 Q3",
                                    "  Fy 2028  q 3 "])
def test_staffing_quarters_repeat_each_year_and_fy_column_overrides_one(header):
    sheets = set_cell(horizon_plan(3), "Staffing", "E2", 1)
    for ref, value in (("F2", 2), ("G2", 3), ("H2", 4)):
        sheets = set_cell(sheets, "Staffing", ref, value)
    # FY2028 Q3 is period k = 4 x (2028 - 2027) + (3 - 1) = 6; Dev's cell is blank: no override
    sheets = with_override(sheets, "Staffing", header, 5, None)
    plan = ok(sheets)
    ops, dev = plan.staffing
    #            FY2027 Q1-Q4   FY2028 Q1-Q4 (Q3 = 5)   FY2029 Q1-Q4
    assert ops.fte == (1, 2, 3, 4, 1, 2, 5, 4, 1, 2, 3, 4)
    assert dev.fte == (1,) * 12


def test_fy_column_zero_overrides_too():
    sheets = with_override(horizon_plan(2), "Staffing", "FY2027 Q1", 0, 0.5)
    ops, dev = ok(sheets).staffing
    assert ops.fte == (0, 1, 1, 1, 1, 1, 1, 1)  # k = 0 set to 0: a 0 cell is not blank
    assert dev.fte == (0.5, 1, 1, 1, 1, 1, 1, 1)


def test_costs_over_the_horizon_with_an_override():
    sheets = with_rows(horizon_plan(3), "Costs", ["ERP", "Licences", "Monitoring", 100, 200, 300,
                                                  400], header=COST_HEAD)
    # FY2029 Q1 is k = 4 x 2 + 0 = 8
    sheets = with_override(sheets, "Costs", "FY2029 Q1", 1000)
    (cost,) = ok(sheets).costs
    assert cost.amounts == (100, 200, 300, 400, 100, 200, 300, 400, 1000, 200, 300, 400)


def test_one_year_plan_takes_an_fy_column_of_its_year():
    sheets = with_override(tiny_plan(), "Staffing", "FY2027 Q4", 3)
    assert ok(sheets).staffing[0].fte == (1, 1, 1, 3)


@pytest.mark.parametrize(("header", "phrase"), [
    ("FY2030 Q1", "'FY2030 Q1' names FY2030 Q1, outside the plan, which covers FY2027 Q1 to "
                  "FY2029 Q4 (horizon_years 3)"),
    ("FY2026 Q4", "outside the plan"),
])
def test_fy_header_outside_the_horizon_is_an_error_at_the_header(header, phrase):
    sheets = with_override(horizon_plan(3), "Staffing", header, 2, 2)
    only(errors_of(sheets), "outside-horizon", "Staffing!I1", phrase)


def test_fy_header_outside_the_horizon_on_costs():
    sheets = with_rows(horizon_plan(1), "Costs", ["ERP", "Licences", "Monitoring", 1, 1, 1, 1],
                       header=COST_HEAD)
    sheets = with_override(sheets, "Costs", "FY2028 Q1", 5)
    only(errors_of(sheets), "outside-horizon", "Costs!H1", "covers FY2027 Q1 to FY2027 Q4")


@pytest.mark.parametrize("header", ["FY2028 Q5", "FY28 Q3", "FY2028 Q0"])
def test_fy_header_naming_no_quarter(header):
    sheets = with_override(horizon_plan(3), "Staffing", header, 2, 2)
    only(errors_of(sheets), "bad-period", "Staffing!I1", f"column '{header}' names no quarter")


def test_fy_header_given_twice():
    sheets = with_override(horizon_plan(3), "Staffing", "FY2028 Q3", 2, None)
    sheets = with_override(sheets, "Staffing", "fy2028q3", 3, None)
    only(errors_of(sheets), "duplicate", "Staffing!J1", "repeats FY2028 Q3 (first at Staffing!I1)")


@pytest.mark.parametrize(("value", "code", "phrase"), [
    (-1, "out-of-range", "FTE FY2028 Q3 must be a number ≥ 0, got -1"),
    ("lots", "not-a-number", "FTE FY2028 Q3 must be a number ≥ 0, got 'lots'"),
    ("#REF!", "error-value", "FTE FY2028 Q3 holds the error value #REF!"),
])
def test_fy_cells_are_checked_like_quarter_cells(value, code, phrase):
    sheets = with_override(horizon_plan(3), "Staffing", "FY2028 Q3", None, value)
    only(errors_of(sheets), code, "Staffing!I3", phrase)


def test_a_row_with_only_an_fy_value_is_read():
    # the row is not blank (its FY cell has a value): its missing System and Role are reported
    sheets = with_override(horizon_plan(3), "Staffing", "FY2028 Q3", None, None, 2)
    errors = errors_of(sheets)
    expect(errors, "missing-value", "Staffing!A4", "System is required")
    expect(errors, "missing-value", "Staffing!B4", "Role is required")


def test_wrong_horizon_setting_does_not_add_header_errors():
    sheets = set_cell(horizon_plan(3), "Settings", "B5", 11)
    sheets = with_override(sheets, "Staffing", "FY2029 Q1", 2, 2)
    only(errors_of(sheets), "out-of-range", "Settings!B5", "horizon_years must be a whole number "
         "from 1 to 10, got 11")


# --------------------------------------------------------------------------- escalation


def test_escalation_rows_are_read():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1])
    sheets = with_rows(sheets, "Escalation", ["outsourced", "Acme", 0.03],
                       ["Outsource", None, 0.02], ["offshore", "", 0.05],
                       ["other costs", None, -0.01], ["In house", None, 0.04], header=ESC_HEAD)
    plan, findings = parse(sheets)
    assert plan is not None and findings == []
    assert plan.escalation == [
        Escalation(OUTSOURCE, "Acme", 0.03, "Escalation!A2"),
        Escalation(OUTSOURCE, "", 0.02, "Escalation!A3"),
        Escalation(OFFSHORE, "", 0.05, "Escalation!A4"),
        Escalation(OTHER_COSTS, "", -0.01, "Escalation!A5"),
        Escalation(IN_HOUSE, "", 0.04, "Escalation!A6"),
    ]
    assert plan.escalation_rate(OUTSOURCE, "Acme") == 0.03
    assert plan.escalation_rate(OUTSOURCE, "Other Co") == 0.02


@pytest.mark.parametrize(("row", "code", "ref", "phrase"), [
    (["In-house", "Acme", 0.03], "unexpected-vendor", "B2",
     "Vendor may be filled only on Outsource or Offshore rows: In-house has no vendor"),
    (["Other costs", "Acme", 0.03], "unexpected-vendor", "B2", "Other costs has no vendor"),
    (["Outsource", None, 3], "percent-number", "C2", "got 3: it looks like a percent number; "
                                                     "enter 0.03"),
    (["Outsource", None, 1.5], "percent-number", "C2", "enter 0.015"),
    (["Outsource", None, -1], "out-of-range", "C2", "Annual rate must be a number > -1, got -1"),
    (["Outsource", None, "3%"], "not-a-number", "C2", "Annual rate must be a number"),
    (["Outsource", None, None], "missing-value", "C2", "Annual rate is required"),
    (["Contractor", None, 0.03], "unknown-value", "A2",
     "Applies to must be one of In-house, Outsource, Offshore, Other costs, got 'Contractor'"),
])
def test_bad_escalation_rows(row, code, ref, phrase):
    sheets = with_rows(tiny_plan(), "Escalation", row, header=ESC_HEAD)
    only(errors_of(sheets), code, f"Escalation!{ref}", phrase)


def test_escalation_rate_of_one_is_allowed():
    sheets = with_rows(tiny_plan(), "Escalation", ["Outsource", None, 1], header=ESC_HEAD)
    assert ok(sheets).escalation[0].annual_rate == 1


def test_duplicate_escalation_rows():
    sheets = with_rows(tiny_plan(), "Escalation", ["Offshore", None, 0.03],
                       ["offshore", " ", 0.04], header=ESC_HEAD)
    only(errors_of(sheets), "duplicate", "Escalation!A3",
         "escalation for Offshore is given twice (first at Escalation!A2)")
    sheets = with_rows(tiny_plan(), "Escalation", ["Offshore", "Acme", 0.03],
                       ["Offshore", "Acme", 0.04], header=ESC_HEAD)
    only(errors_of(sheets), "duplicate", "Escalation!A3", "Offshore, vendor 'Acme'")


def test_escalation_vendor_no_line_has_is_warned():
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1])
    sheets = with_rows(sheets, "Escalation", ["Outsource", "Acmee", 0.03],
                       ["Offshore", "Offshore vendor", 0.05], header=ESC_HEAD)
    plan, findings = parse(sheets)
    assert plan is not None  # a warning: the row is kept, it just matches nothing
    (finding,) = findings
    assert (finding.code, finding.location) == ("no-match", "Escalation!B2")
    assert "did you mean 'Acme'?" in finding.message


# --------------------------------------------------------------------------- currency


def test_currency_column_on_rates_and_costs():
    sheets = with_override(tiny_plan(), "Rates", "Currency", "usd", "EUR", None, " jpy ")
    sheets = with_rows(sheets, "Costs", ["ERP", "Licences", "Monitoring", 1, 1, 1, 1, "gbp"],
                       ["ERP", "Cloud", "Monitoring", 2, 2, 2, 2, None],
                       header=[*COST_HEAD, "Currency"])
    plan = ok(sheets)
    rates = list(plan.rates.values())
    # EUR is the plan's currency: stored as '' like a blank cell
    assert [(r.currency, r.currency_location) for r in rates] == [
        ("USD", "Rates!D2"), ("", "Rates!D3"), ("", "Rates!D4"), ("JPY", "Rates!D5")]
    assert [(c.currency, c.currency_location) for c in plan.costs] == [
        ("GBP", "Costs!H2"), ("", "Costs!H3")]


@pytest.mark.parametrize("value", ["Euro", "US$", "E1R", 978])
def test_bad_currency_code_on_rates(value):
    sheets = with_override(tiny_plan(), "Rates", "Currency", value)
    # only the currency: no knock-on "missing rate" for the Ops line that uses this rate
    only(errors_of(sheets), "bad-currency", "Rates!D2",
         f"Currency must be a three-letter ISO 4217 code such as USD or EUR (blank = the plan's "
         f"currency), got '{value}'")


def test_bad_currency_code_on_costs():
    sheets = with_rows(tiny_plan(), "Costs", ["ERP", "Licences", "Monitoring", 1, 1, 1, 1, "€"],
                       header=[*COST_HEAD, "Currency"])
    only(errors_of(sheets), "bad-currency", "Costs!H2", "got '€'")


# --------------------------------------------------------------------------- FX


def test_fx_rows_are_read():
    sheets = with_rows(horizon_plan(3), "FX", ["usd", 2027, 0.9], ["USD", None, 0.92],
                       ["JPY", "FY2028", 0.0061], ["GBP", "2029", 1.15], header=FX_HEAD)
    plan, findings = parse(sheets)
    assert plan is not None and findings == []
    assert plan.fx == [FxRate("USD", 2027, 0.9, "FX!C2"), FxRate("USD", None, 0.92, "FX!C3"),
                       FxRate("JPY", 2028, 0.0061, "FX!C4"), FxRate("GBP", 2029, 1.15, "FX!C5")]
    assert plan.fx_rate("USD", 2027) == 0.9  # its own row
    assert plan.fx_rate("USD", 2028) == 0.92  # the all-years row
    assert plan.fx_rate("JPY", 2029) is None  # no rate for FY2029: the engine reports it if needed


@pytest.mark.parametrize(("row", "code", "ref", "phrase"), [
    (["USD", 2027, 0], "out-of-range", "C2", "Rate (EUR for one USD) must be a number > 0, "
                                             "got 0"),
    (["USD", 2027, -1.1], "out-of-range", "C2", "must be a number > 0"),
    (["USD", 2027, None], "missing-value", "C2", "Rate (EUR for one USD) is required"),
    (["USD", 2027, 2e6], "out-of-range", "C2", "must be at most 1,000,000"),
    (["dollar", 2027, 0.9], "bad-currency", "A2", "three-letter ISO 4217 code such as USD or "
                                                  "EUR, got 'dollar'"),
    ([None, 2027, 0.9], "missing-value", "A2", "Currency is required"),
    (["USD", "next year", 0.9], "bad-year", "B2", "Fiscal year must be a year such as 2028 "
                                                  "(blank = every year), got 'next year'"),
    (["USD", 2027.5, 0.9], "bad-year", "B2", "got 2027.5"),
])
def test_bad_fx_rows(row, code, ref, phrase):
    sheets = with_rows(horizon_plan(3), "FX", row, header=FX_HEAD)
    only(errors_of(sheets), code, f"FX!{ref}", phrase)


@pytest.mark.parametrize(("first", "second", "phrase"), [
    (["USD", 2028, 0.9], ["usd", "FY2028", 0.91], "FX rate for USD in FY2028 is given twice "
                                                  "(first at FX!A2)"),
    (["USD", None, 0.9], ["USD", " ", 0.91], "USD for every year (blank Fiscal year)"),
])
def test_duplicate_fx_rows(first, second, phrase):
    sheets = with_rows(horizon_plan(3), "FX", first, second, header=FX_HEAD)
    only(errors_of(sheets), "duplicate", "FX!A3", phrase)


def test_fx_row_for_the_plan_currency_or_outside_the_horizon_is_a_warning():
    sheets = with_rows(horizon_plan(3), "FX", ["eur", None, 1.1], ["USD", 2031, 0.9],
                       ["USD", 2029, 0.95], header=FX_HEAD)
    plan, findings = parse(sheets)
    assert plan is not None
    assert warnings_of(findings) == [("fx-plan-currency", "FX!A2"), ("fx-unused", "FX!B3")]
    assert "EUR, the plan's own currency, is ignored" in findings[0].message
    assert "FX rate for USD in FY2031 is not used: the plan covers FY2027 Q1 to FY2029 Q4" \
        in findings[1].message
    assert plan.fx == [FxRate("USD", 2029, 0.95, "FX!C4")]  # only the row that is used


# --------------------------------------------------------------------------- From


@pytest.mark.parametrize(("value", "start"), [
    (None, 0), ("", 0), ("Q1", 0), ("q3", 2),  # Q3 of FY2027: k = 2
    ("FY2028 Q3", 6),  # 4 x (2028 - 2027) + 2
    ("fy2029q1", 8), ("FY 2028-Q2", 5), ("FY2029 Q4", 11),
])
def test_scenario_from_gives_the_start_period(value, start):
    sheets = with_rows(horizon_plan(3), "Scenarios", ["Lean", "*", "*", "fte_factor", 0.9, value],
                       header=FROM_HEAD)
    (change,) = ok(sheets).scenario_changes
    assert change.start == start


def test_scenarios_without_from_column_start_at_zero():
    sheets = with_rows(horizon_plan(3), "Scenarios", ["Lean", "*", "*", "fte_factor", 0.9],
                       header=SCEN_HEAD)
    assert ok(sheets).scenario_changes[0].start == 0


@pytest.mark.parametrize(("value", "code", "phrase"), [
    ("FY2030 Q1", "outside-horizon", "From names FY2030 Q1, outside the plan, which covers "
                                     "FY2027 Q1 to FY2029 Q4 (horizon_years 3)"),
    ("FY2026 Q4", "outside-horizon", "outside the plan"),
    ("Q5", "bad-period", "From must be a quarter, Q1 to Q4 (of FY2027) or FY<year> Q<n> such as "
                         "FY2028 Q3 (blank = from the start), got 'Q5'"),
    ("next year", "bad-period", "got 'next year'"),
    (3, "bad-period", "got 3"),
])
def test_bad_from(value, code, phrase):
    sheets = with_rows(horizon_plan(3), "Scenarios", ["Lean", "*", "*", "fte_factor", 0.9, value],
                       header=FROM_HEAD)
    only(errors_of(sheets), code, "Scenarios!F2", phrase)


# --------------------------------------------------------------------------- budget_scenario


@pytest.mark.parametrize(("value", "name"), [
    ("Baseline", "Baseline"), ("baseline", "Baseline"), ("Lean", "Lean"), ("lean", "Lean")])
def test_budget_scenario_names_a_scenario(value, name):
    sheets = with_rows(tiny_plan(), "Settings", ["budget_scenario", value])
    sheets = with_rows(sheets, "Scenarios", ["Lean", "*", "*", "fte_factor", 0.9],
                       header=SCEN_HEAD)
    assert ok(sheets).settings.budget_scenario == name


def test_unknown_budget_scenario_is_an_error_at_its_setting():
    sheets = with_rows(tiny_plan(), "Settings", ["budget_scenario", "Leen"])
    sheets = with_rows(sheets, "Scenarios", ["Lean", "*", "*", "fte_factor", 0.9],
                       header=SCEN_HEAD)
    only(errors_of(sheets), "unknown-scenario", "Settings!B5",
         "budget_scenario 'Leen' is not a scenario of the plan (known: Baseline, Lean): did you "
         "mean 'Lean'?")


def test_unknown_budget_scenario_is_reported_beside_other_setting_errors():
    sheets = with_rows(tiny_plan(), "Settings", ["budget_scenario", "Lean"], ["band_low", 7])
    errors = errors_of(sheets)
    assert [(f.code, f.location) for f in errors] == [
        ("percent-number", "Settings!B6"), ("unknown-scenario", "Settings!B5")]


def test_budget_scenario_of_a_row_with_another_error_is_not_reported_again():
    sheets = with_rows(tiny_plan(), "Settings", ["budget_scenario", "Lean"])
    sheets = with_rows(sheets, "Scenarios", ["Lean", "*", "*", "fte_factor", -1],
                       header=SCEN_HEAD)
    only(errors_of(sheets), "out-of-range", "Scenarios!E2", "fte_factor must be a number ≥ 0")


# --------------------------------------------------------------------------- all at once


def test_every_problem_is_reported_in_one_pass():
    sheets = with_rows(horizon_plan(3), "Settings", ["budget_scenario", "Nope"])
    sheets = with_override(sheets, "Staffing", "FY2031 Q1", 1, 1)
    sheets = with_override(sheets, "Rates", "Currency", "Euro")
    sheets = with_rows(sheets, "Costs", ["ERP", "Licences", "Monitoring", 1, 1, 1, 1, "XX"],
                       header=[*COST_HEAD, "Currency"])
    sheets = with_rows(sheets, "Escalation", ["In-house", "Acme", 0.03], ["Offshore", None, 5],
                       header=ESC_HEAD)
    sheets = with_rows(sheets, "FX", ["USD", None, 0], ["USD", "soon", 0.9], header=FX_HEAD)
    sheets = with_rows(sheets, "Scenarios", ["Lean", "*", "*", "fte_factor", 0.9, "FY2035 Q1"],
                       ["Lean", "*", "*", "fte_factor", 0.9, "later"], header=FROM_HEAD)
    errors = errors_of(sheets)
    assert sorted((f.code, f.location) for f in errors) == sorted([
        ("outside-horizon", "Staffing!I1"),
        ("bad-currency", "Rates!D2"),
        ("bad-currency", "Costs!H2"),
        ("unexpected-vendor", "Escalation!B2"),
        ("percent-number", "Escalation!C3"),
        ("out-of-range", "FX!C2"),
        ("bad-year", "FX!B3"),
        ("outside-horizon", "Scenarios!F2"),
        ("bad-period", "Scenarios!F3"),
        ("unknown-scenario", "Settings!B6"),
    ])


# --------------------------------------------------------------------------- files


def test_the_package_scan_reads_every_input_sheet():
    assert set(INPUT_SHEETS) == {*REQUIRED_SHEETS, *OPTIONAL_SHEETS}
    assert {"Escalation", "FX", "Actuals"} <= set(OPTIONAL_SHEETS)


def test_escalation_fx_and_actuals_sheets_are_read_from_a_file(tmp_path):
    sheets = with_rows(horizon_plan(2), "Escalation", ["Outsource", None, 0.03], header=ESC_HEAD)
    sheets = with_rows(sheets, "FX", ["USD", 2028, 0.9], header=FX_HEAD)
    sheets = with_rows(sheets, "actuals", ["2027-04", "ERP", "Monitoring", 100],
                       header=["Month", "System", "Activity", "Amount"])
    sheets["Notes"] = [["not an input"]]
    grids = grids_from_file(write_openpyxl(sheets, tmp_path / "plan.xlsx"))
    assert "Notes" not in grids
    assert grids["actuals"].rows[1] == ["2027-04", "ERP", "Monitoring", 100]
    plan, findings = parse_plan(grids, "plan.xlsx")
    assert plan is not None, findings
    assert plan.escalation == [Escalation(OUTSOURCE, "", 0.03, "Escalation!A2")]
    assert plan.fx == [FxRate("USD", 2028, 0.9, "FX!C2")]

