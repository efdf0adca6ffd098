"""Plan versions: fingerprint, change log and the bridge between two versions (spec §12)."""

from __future__ import annotations

import copy
import math
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from factories import grids, horizon_plan, tiny_plan, write_openpyxl

from omplan.core.engine import evaluate
from omplan.core.records import plan_records
from omplan.core.summary import plan_figures
from omplan.core.versions import (
    BRIDGE_CATEGORIES,
    Change,
    ScenarioAmounts,
    change_log,
    fingerprint,
    plan_fingerprint,
    telescope,
)
from omplan.files.sample import SAMPLE_PLAN, write_plan_workbook
from omplan.input.reader import load_plan
from omplan.input.versions import compare_grids, compare_plans

CATEGORIES = [name for name, _ in BRIDGE_CATEGORIES]


def scenario_plan() -> dict[str, list[list[Any]]]:
    """``tiny_plan()`` with an outsourced line, other costs, a scenario and a second year."""
    sheets = horizon_plan(2)
    sheets["Staffing"].append(["CRM", "Ops", "Outsource", "Acme", 1, 1, 2, 2])
    sheets["Costs"] = [["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"],
                       ["ERP", "Monitoring tool", "Monitoring", 1000, 1000, 1000, 1000]]
    sheets["Scenarios"] = [["Scenario", "Role", "System", "Change", "Value"],
                           ["Offshore dev", "Dev", "*", "sourcing", "Offshore"],
                           ["Lean", "*", "*", "fte_factor", 0.8]]
    return sheets


def diff(old: dict[str, list[list[Any]]], new: dict[str, list[list[Any]]]):
    result = compare_grids(grids(old), grids(new), "v1.xlsx", "v2.xlsx")
    assert result.ok, result.error_lines()
    assert result.comparison is not None
    return result.comparison


def steps_of(comparison, scenario: str = "Baseline") -> dict[str, float]:
    return {step.label: step.scenarios[scenario].total for step in comparison.bridge.steps}


def assert_adds_up(comparison) -> None:
    """Every scenario's steps add up to NEW − OLD exactly (in exact rational arithmetic, and
    as floats: each step is the exact difference of two evaluated figures)."""
    bridge = comparison.bridge
    for name in bridge.scenarios:
        for field in ("total", "npv_cost"):
            steps = [getattr(s.scenarios[name], field) for s in bridge.steps]
            old, new = getattr(bridge.old[name], field), getattr(bridge.new[name], field)
            assert sum(map(Fraction, steps)) == Fraction(new) - Fraction(old)
            assert math.fsum(steps) == new - old


# --------------------------------------------------------------------------- identical


def test_identical_plans_have_equal_fingerprints_no_changes_and_zero_steps():
    sheets = scenario_plan()
    comparison = diff(sheets, copy.deepcopy(sheets))
    assert comparison.same_inputs
    assert comparison.old.fingerprint == comparison.new.fingerprint
    assert len(comparison.old.fingerprint) == 64
    assert comparison.changes == []
    assert [s.categories for s in comparison.bridge.steps] == [(c,) for c in CATEGORIES]
    for step in comparison.bridge.steps:
        assert set(step.scenarios) == {"Baseline", "Offshore dev", "Lean"}
        for amounts in step.scenarios.values():
            assert amounts == ScenarioAmounts(0.0, 0.0)
    assert comparison.to_json()["same_inputs"] is True


def test_a_formatting_only_resave_keeps_the_fingerprint(tmp_path):
    """Fonts, column widths, header case, column order and an Excel Table change nothing."""
    sheets = scenario_plan()
    plain = write_openpyxl(sheets, tmp_path / "plain.xlsx")
    styled = tmp_path / "styled.xlsx"
    wb = xlsxwriter.Workbook(str(styled))
    bold = wb.add_format({"bold": True, "font_name": "Georgia", "font_size": 14,
                          "bg_color": "#FFF2CC"})
    money = wb.add_format({"num_format": "#,##0.00", "font_color": "#1F4E79"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        header = list(rows[0])
        order = list(reversed(range(len(header))))  # every column in the opposite place
        for c, j in enumerate(order):
            ws.write(0, c, str(header[j]).upper(), bold)
            ws.set_column(c, c, 10 + 3 * c)
            for r, row in enumerate(rows[1:], start=1):
                value = row[j] if j < len(row) else None
                if value is not None:
                    ws.write(r, c, value, money if isinstance(value, int | float) else None)
        if name == "Staffing":  # the same data inside an Excel Table
            ws.add_table(0, 0, len(rows) - 1, len(header) - 1,
                         {"columns": [{"header": str(header[j]).upper()} for j in order],
                          "style": "Table Style Medium 9"})
    wb.close()
    result = compare_plans(plain, styled)
    assert result.ok, result.error_lines()
    comparison = result.comparison
    assert comparison.same_inputs
    assert comparison.changes == []
    assert all(a == ScenarioAmounts(0.0, 0.0) for s in comparison.bridge.steps
               for a in s.scenarios.values())


def test_a_libreoffice_resave_keeps_the_fingerprint(tmp_path, soffice):
    plain = write_openpyxl(scenario_plan(), tmp_path / "plan.xlsx")
    out = tmp_path / "resaved"
    subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--headless", "--norestore", "--convert-to", "xlsx", "--outdir", str(out),
                    str(plain)], check=True, capture_output=True, timeout=240)
    resaved = out / "plan.xlsx"
    assert resaved.read_bytes() != plain.read_bytes()
    plans = [load_plan(p)[0] for p in (plain, resaved)]
    assert plans[0] is not None and plans[1] is not None
    assert plan_fingerprint(plans[0]) == plan_fingerprint(plans[1])


def test_values_compare_as_the_reader_normalises_them():
    old = scenario_plan()
    new = copy.deepcopy(old)
    new["Staffing"][1][2] = "in house"   # In-house
    new["Staffing"][3][2] = "OUTSOURCED"  # Outsource
    new["Rates"][1][2] = 10000.0         # 10000
    new["Roles"][1][1] = "l2"            # L2
    new["Billing"] = [["Activity", "Basis"], ["Monitoring", "fixed fee"]]  # the default
    comparison = diff(old, new)
    assert comparison.same_inputs
    assert comparison.changes == []


def test_the_file_name_is_no_input():
    sheets = tiny_plan()
    sheets["Settings"] = [row for row in sheets["Settings"] if row[0] != "plan_name"]
    a = plan_records(load_plan_from(sheets, "first.xlsx"))
    b = plan_records(load_plan_from(sheets, "second_name.xlsx"))
    assert fingerprint(a) == fingerprint(b)


def load_plan_from(sheets: dict[str, list[list[Any]]], name: str):
    from omplan.input.reader import parse_plan

    plan, findings = parse_plan(grids(sheets), name)
    assert plan is not None, findings
    return plan


def test_sheets_without_rows_leave_the_fingerprint_alone():
    """A sheet omplan does not know yet (or an empty one) is no part of the serialisation, so
    a plan without it keeps its fingerprint when omplan learns the sheet."""
    records = plan_records(load_plan_from(scenario_plan(), "p.xlsx"))
    assert fingerprint(records) == fingerprint({**records, "Risks": [], "Options": [],
                                                "TBM": []})
    assert fingerprint(records) != fingerprint({**records, "Risks": [{"Driver": "Rate"}]})


def test_every_input_sheet_enters_the_fingerprint():
    reference = plan_fingerprint(load_plan_from(SAMPLE_PLAN, "sample.xlsx"))

    def systems(s: dict[str, list[list[Any]]]) -> None:
        names = dict.fromkeys(r[0] for r in s["Staffing"][1:] + s["Costs"][1:])
        s["Systems"] = [["System"], *([name] for name in names)]

    def profile(s: dict[str, list[list[Any]]]) -> None:
        s["Profile"][1][1] = "no" if str(s["Profile"][1][1]).lower().startswith("y") else "yes"

    edits = {
        "Settings": lambda s: s["Settings"].append(["variance_threshold", 0.07]),
        "Systems": systems,
        "Actuals": lambda s: s["Actuals"].pop(),
        "FX": lambda s: s["FX"][1].__setitem__(2, s["FX"][1][2] * 1.01),
        "Escalation": lambda s: s["Escalation"][1].__setitem__(2, 0.05),
        "Contracts": lambda s: s["Contracts"][1].__setitem__(1, 12),
        "Profile": profile,
    }
    for sheet, edit in edits.items():
        sheets = copy.deepcopy(SAMPLE_PLAN)
        edit(sheets)
        assert plan_fingerprint(load_plan_from(sheets, "sample.xlsx")) != reference, sheet


# --------------------------------------------------------------------------- change log


def test_the_change_log_matches_rows_by_key_and_occurrence():
    old = scenario_plan()
    old["Rates"].append(["Ops", "Offshore", 5000])
    new = copy.deepcopy(old)
    new["Staffing"].append(["ERP", "Ops", "In-house", None, 1, 1, 1, 1])  # a second ERP/Ops
    new["Staffing"][2][5] = 1.5                  # ERP/Dev Q2
    new["Rates"][2][2] = 12500                   # Dev in-house
    del new["Rates"][5]                          # Ops offshore removed
    new["Settings"].append(["discount_rate", 0.1])
    new["Scenarios"][2][4] = 0.7
    comparison = diff(old, new)
    assert comparison.changes == [
        Change("Settings", ("discount_rate",), change="added"),
        Change("Rates", ("Dev", "In-house"), "Monthly cost", 12000.0, 12500.0),
        Change("Rates", ("Ops", "Offshore"), change="removed"),
        Change("Staffing", ("ERP", "Dev", "In-house", None), "Q2", 1.0, 1.5),
        Change("Staffing", ("ERP", "Ops", "In-house", None), change="added"),
        Change("Scenarios", ("Lean", "*", "*", "fte_factor", None), "Value", 0.8, 0.7),
    ]
    json = [c.to_json() for c in comparison.changes]
    assert json[1] == {"sheet": "Rates", "key": ["Dev", "In-house"], "column": "Monthly cost",
                       "old": 12000.0, "new": 12500.0}
    assert json[2] == {"sheet": "Rates", "key": ["Ops", "Offshore"], "change": "removed"}


def test_quarters_over_the_horizon_are_logged_once():
    """Q1 changed (every year) is one entry; a single later quarter is its FY column."""
    old = horizon_plan(3)
    new = copy.deepcopy(old)
    new["Staffing"][1][4] = 2                      # Q1 of every year
    new["Staffing"][0].append("FY2028 Q3")
    for row in new["Staffing"][1:]:
        row.append(None)
    new["Staffing"][2][-1] = 4                      # Dev, FY2028 Q3 only
    changes = diff(old, new).changes
    assert changes == [
        Change("Staffing", ("ERP", "Ops", "In-house", None), "Q1", 1.0, 2.0),
        Change("Staffing", ("ERP", "Dev", "In-house", None), "FY2028 Q3", None, 4.0),
    ]


def test_change_log_of_records_directly():
    old = {"Roles": [{"Role": "A", "Level": "L1"}, {"Role": "A", "Level": "L2"}]}
    new = {"Roles": [{"Role": "A", "Level": "L1"}, {"Role": "A", "Level": "L3"},
                     {"Role": "B", "Level": "L1"}], "Unknown": [{"x": 1}]}
    assert change_log(old, new) == [
        Change("Roles", ("A",), "Level", "L2", "L3"),
        Change("Roles", ("B",), change="added"),
        Change("Unknown", (1,), change="added"),
    ]
    assert change_log(new, new) == []


# --------------------------------------------------------------------------- bridge


def _settings(s: dict[str, list[list[Any]]]) -> None:
    s["Settings"].append(["vendor_overhead", 0.15])


def _rates(s: dict[str, list[list[Any]]]) -> None:
    s["Rates"][2][2] = 12600                      # Dev in-house


def _allocation(s: dict[str, list[list[Any]]]) -> None:
    s["Allocation"][2][2], s["Allocation"][2][5] = 0.7, 0.3   # Dev: more incident response


def _staffing(s: dict[str, list[list[Any]]]) -> None:
    s["Staffing"][3][6] = 3                       # CRM outsourced Ops, Q3


def _costs(s: dict[str, list[list[Any]]]) -> None:
    s["Costs"][1][5] = 2500                       # the monitoring tool, Q3


def _scenarios(s: dict[str, list[list[Any]]]) -> None:
    s["Scenarios"][2][4] = 0.75                   # Lean


EDITS = {"Settings": _settings, "Rates": _rates, "Roles and Allocation": _allocation,
         "Staffing": _staffing, "Costs, Billing, Contracts, Profile and Systems": _costs,
         "Scenarios": _scenarios}


def fx_plans() -> tuple[dict[str, list[list[Any]]], dict[str, list[list[Any]]]]:
    """A plan with an offshore rate in INR, and the same with another FX rate."""
    old = scenario_plan()
    old["Rates"] = [[*old["Rates"][0], "Currency"], *([*r, None] for r in old["Rates"][1:])]
    old["Rates"][4][3] = "INR"
    old["Rates"][4][2] = 500000
    old["FX"] = [["Currency", "Fiscal year", "Rate"], ["INR", None, 0.012]]
    new = copy.deepcopy(old)
    new["FX"][1][2] = 0.013
    return old, new


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_change_in_one_category_is_all_in_its_step(category):
    if category == "FX":
        old, new = fx_plans()
    elif category == "Escalation":
        old = scenario_plan()
        old["Escalation"] = [["Applies to", "Vendor", "Annual rate"], ["In-house", None, 0.03]]
        new = copy.deepcopy(old)
        new["Escalation"][1][2] = 0.04
    else:
        old = scenario_plan()
        new = copy.deepcopy(old)
        EDITS[category](new)
    comparison = diff(old, new)
    bridge = comparison.bridge
    assert bridge.plans_evaluated == 0  # the plan after the only changed category is NEW
    for name in bridge.scenarios:
        change = bridge.change(name)
        for step in bridge.steps:
            expected = change if step.categories == (category,) else ScenarioAmounts(0.0, 0.0)
            assert step.scenarios[name] == expected, (category, step.categories, name)
    if category != "Roles and Allocation":  # shares move money between activities only
        assert any(bridge.change(name).total != 0.0 for name in bridge.scenarios)


def test_changes_in_several_categories_add_up_exactly():
    old, new = fx_plans()
    for category in ("Settings", "Rates", "Roles and Allocation", "Staffing",
                     "Costs, Billing, Contracts, Profile and Systems", "Scenarios"):
        EDITS[category](new)
    new["FX"][1][2] = 0.0125
    comparison = diff(old, new)
    moved = [s.label for s in comparison.bridge.steps
             if any(a.total != 0 for a in s.scenarios.values())]
    assert moved == ["Settings", "FX", "Rates", "Staffing",
                     "Costs, Billing, Contracts, Profile and Systems", "Scenarios"]
    assert comparison.bridge.plans_evaluated == 6  # seven categories changed; none is redone
    assert_adds_up(comparison)
    # the endpoints are the plans' own figures, exactly as the JSON summary gives them
    for sheets, side in ((old, comparison.bridge.old), (new, comparison.bridge.new)):
        plan = load_plan_from(sheets, "p.xlsx")
        figures = plan_figures(plan, [], evaluate(plan))
        for s in figures.scenarios:
            assert side[s.name] == ScenarioAmounts(s.total, s.npv_cost)


def test_swapping_old_and_new_negates_every_step():
    """Exactly, for changes whose effects do not depend on each other (here: a rate, other
    costs and a scenario factor on lines the rate does not touch); for changes that do, the
    steps of OLD→NEW and NEW→OLD differ by the joint effect, and only the totals negate."""
    old = scenario_plan()
    new = copy.deepcopy(old)
    new["Rates"][3][2] = 13000                           # Ops outsource
    new["Costs"][1][4] = 1800
    new["Settings"].append(["discount_rate", 0.06])
    forward, backward = diff(old, new), diff(new, old)
    for f, b in zip(forward.bridge.steps, backward.bridge.steps, strict=True):
        assert f.categories == b.categories
        for name, amounts in f.scenarios.items():
            assert b.scenarios[name].total == pytest.approx(-amounts.total, rel=1e-12,
                                                            abs=1e-9)
    assert steps_of(forward)["Rates"] != 0 and steps_of(forward)[
        "Costs, Billing, Contracts, Profile and Systems"] != 0
    # interacting changes: the totals still negate, each direction adds up exactly
    new["Staffing"][3][5] = 5                            # more of the outsourced line
    forward, backward = diff(old, new), diff(new, old)
    assert_adds_up(forward)
    assert_adds_up(backward)
    for name in forward.bridge.scenarios:
        assert backward.bridge.change(name).total == -forward.bridge.change(name).total


def test_an_invalid_plan_in_between_merges_two_categories():
    """NEW adds a role: its rate (category Rates) is an error until Roles come too."""
    old = scenario_plan()
    new = copy.deepcopy(old)
    new["Roles"].append(["QA", "L3"])
    new["Rates"].append(["QA", "In-house", 8000])
    new["Allocation"].append(["QA", None, None, None, None, 1, None, None, None])
    new["Staffing"].append(["ERP", "QA", "In-house", None, 1, 1, 1, 1])
    comparison = diff(old, new)
    labels = [s.categories for s in comparison.bridge.steps]
    assert ("Rates", "Roles and Allocation") in labels
    assert ("Rates",) not in labels and ("Roles and Allocation",) not in labels
    assert len(labels) == len(CATEGORIES) - 1
    assert any("Rates is merged" in n and "QA" in n for n in comparison.bridge.notes)
    assert_adds_up(comparison)
    assert steps_of(comparison)["Staffing"] == 8000 * 3 * 4 * 2  # a year of 1 FTE, 2 years


def test_actuals_do_not_enter_the_bridge(tmp_path):
    new = copy.deepcopy(SAMPLE_PLAN)
    new["Actuals"][5][3] += 1000
    paths = [tmp_path / "v1.xlsx", tmp_path / "v2.xlsx"]
    write_plan_workbook(SAMPLE_PLAN, paths[0])
    write_plan_workbook(new, paths[1])
    result = compare_plans(*paths)
    assert result.ok, result.error_lines()
    comparison = result.comparison
    assert not comparison.same_inputs
    assert [c.sheet for c in comparison.changes] == ["Actuals"]
    assert comparison.changes[0].column == "Amount"
    assert all(a == ScenarioAmounts(0.0, 0.0) for s in comparison.bridge.steps
               for a in s.scenarios.values())
    assert comparison.bridge.scenarios == ["Baseline", "Outsource L1/L2", "Offshore L3",
                                           "Integrated vendor", "Lean 2027"]


def test_other_horizons_are_compared_over_the_years_both_cover():
    old = horizon_plan(3)
    new = copy.deepcopy(old)
    new["Settings"][2][1] = 2028                   # fiscal_year: FY2028–FY2030
    comparison = diff(old, new)
    bridge = comparison.bridge
    assert bridge.fiscal_years == (2028, 2029)
    assert not bridge.whole_horizon
    assert "FY2027–FY2029" in bridge.notes[0] and "FY2028–FY2029" in bridge.notes[0]
    # the same quarters in both: two years of 66,000 a quarter, nothing changed
    assert bridge.old["Baseline"].total == bridge.new["Baseline"].total == 8 * 66000
    assert all(a == ScenarioAmounts(0.0, 0.0) for s in bridge.steps for a in s.scenarios.values())
    # one more year: the overlap is the first year, and the new year is not compared
    longer = horizon_plan(1)
    comparison = diff(longer, horizon_plan(3))
    assert comparison.bridge.fiscal_years == (2027, 2027)
    assert comparison.bridge.old["Baseline"].total == 4 * 66000
    assert_adds_up(comparison)


def test_different_currencies_are_not_bridged():
    old = tiny_plan()
    new = copy.deepcopy(old)
    new["Settings"][3][1] = "USD"
    comparison = diff(old, new)
    assert comparison.bridge.steps == []
    assert "EUR" in comparison.bridge.notes[0] and "USD" in comparison.bridge.notes[0]
    assert comparison.changes == [Change("Settings", ("currency",), "Value", "EUR", "USD")]
    assert comparison.to_json()["bridge"] == []


def test_scenarios_in_one_version_only_are_named():
    old = scenario_plan()
    new = copy.deepcopy(old)
    new["Scenarios"][2][0] = "Leaner"
    comparison = diff(old, new)
    assert comparison.bridge.scenarios == ["Baseline", "Offshore dev"]
    assert "only in OLD, not compared: Lean" in comparison.bridge.notes
    assert "only in NEW, not compared: Leaner" in comparison.bridge.notes
    assert set(comparison.bridge.steps[0].scenarios) == {"Baseline", "Offshore dev"}


def test_errors_name_the_file(tmp_path):
    bad = tiny_plan()
    bad["Staffing"][1][4] = "three"
    result = compare_grids(grids(tiny_plan()), grids(bad), "v1.xlsx", "v2.xlsx")
    assert not result.ok
    assert result.error_lines() == [
        "v2.xlsx: Staffing!E2: FTE Q1 must be a number ≥ 0, got 'three'"]
    missing = compare_plans(tmp_path / "nope.xlsx", tmp_path / "nope2.xlsx")
    assert [name for name, _ in missing.errors] == ["nope.xlsx", "nope2.xlsx"]


def test_telescope_merges_invalid_plans_and_keeps_the_sum():
    def f(total: float) -> dict[str, ScenarioAmounts]:
        return {"Baseline": ScenarioAmounts(total, total / 2)}

    steps = telescope(["a", "b", "c", "d"], [f(100.0), None, f(130.0), None, f(90.0)],
                      ["Baseline"])
    assert [s.categories for s in steps] == [("a", "b"), ("c", "d")]
    assert [s.scenarios["Baseline"].total for s in steps] == [30.0, -40.0]
    with pytest.raises(ValueError):
        telescope(["a"], [f(1.0), None], ["Baseline"])


def test_json_has_the_shape_of_the_spec():
    old = scenario_plan()
    new = copy.deepcopy(old)
    EDITS["Rates"](new)
    data = diff(old, new).to_json()
    assert list(data) == ["old", "new", "same_inputs", "changes", "bridge", "bridge_scope"]
    assert data["old"]["file"] == "v1.xlsx" and len(data["new"]["fingerprint"]) == 64
    assert data["bridge"][3] == {"categories": ["Rates"], "scenarios": {
        name: {"total": v.total, "npv_cost": v.npv_cost}
        for name, v in diff(old, new).bridge.steps[3].scenarios.items()}}
    assert data["bridge_scope"]["fiscal_years"] == [2027, 2028]


def test_records_of_a_plan_path(tmp_path):
    path = write_openpyxl(scenario_plan(), tmp_path / "p.xlsx")
    plan, _ = load_plan(Path(path))
    assert plan is not None
    records = plan_records(plan)
    assert records["Staffing"][0] == {"System": "ERP", "Role": "Ops", "Sourcing": "In-house",
                                      "Q1": 1.0, "Q2": 1.0, "Q3": 1.0, "Q4": 1.0}
    assert records["Billing"][4] == {"Activity": "Corrective", "Basis": "Fixed fee"}
    assert records["Settings"][1] == {"Setting": "fiscal_year", "Value": 2027}
