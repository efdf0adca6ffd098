"""Actual spend against the budget: reading (sheet, CSV, workbook), the plan-vs-actual figures,
the forecast, the findings and ``omplan run --actuals`` end to end.

The tiny plan (tests/factories.py) costs 66,000 EUR a quarter: Ops 1 FTE × 3 × 10,000 = 30,000
Monitoring, Dev 1 FTE × 3 × 12,000 = 36,000 split 18,000 Incident response / 18,000 Corrective;
so its plan for a month is 66,000 / 3 = 22,000 and for the year 4 × 66,000 = 264,000.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import parse, tiny_plan, with_rows, write_openpyxl

import omplan as omplan_package
from omplan.core.actuals import actuals_figures, actuals_ledger
from omplan.core.engine import evaluate
from omplan.core.findings import Finding
from omplan.core.model import ACTIVITIES, ACTIVITY_KIND, ActualLine, FxRate, Plan, Settings
from omplan.core.summary import summary_json
from omplan.input.actuals import (
    DETAILED_PER_PROBLEM,
    ActualsContext,
    parse_actuals,
    read_actuals_csv,
    use_actuals_file,
)
from omplan.input.reader import SheetGrid, load_plan, read_grids

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "omplan" / "data" / "sample_plan.xlsx"
HEAD = ["Month", "System", "Activity", "Amount"]
FULL_HEAD = ["Month", "System", "Activity", "Amount", "Currency", "Item"]

Sheets = dict[str, list[list[Any]]]


def tiny_with(*rows: list[Any], header: list[str] = HEAD,
              settings: tuple[tuple[str, Any], ...] = (), sheets: Sheets | None = None
              ) -> tuple[Plan, list[Finding]]:
    """The tiny plan with an Actuals sheet of ``rows`` (and extra Settings rows)."""
    data = with_rows(sheets or tiny_plan(), "Actuals", *rows, header=header)
    data["Settings"].extend([list(s) for s in settings])
    plan, findings = parse(data)
    assert plan is not None, findings
    return plan, findings


def summary_of(plan: Plan, findings: list[Finding]) -> dict[str, Any]:
    return summary_json(plan, findings, evaluate(plan), "tiny.xlsx")


def errors_of(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.location, f.code, f.message) for f in findings if f.severity == "error"]


def by_key(rows: list[dict[str, Any]], key: str = "quarter") -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


# --------------------------------------------------------------------------- figures


def test_partial_quarter_credit_and_rows_with_the_same_keys():
    plan, findings = tiny_with(
        ["2027-01", "ERP", "Monitoring", 9000],
        ["2027-01-20", "ERP", "Monitoring", 1000],  # same keys: 9,000 + 1,000 = 10,000
        [dt.date(2027, 2, 1), "ERP", "Corrective", 20000],
        [dt.datetime(2027, 4, 15, 9, 30), "ERP", "Incident response", 25000],
        ["2027-05", "ERP", "monitoring", -2000],  # a credit; activity matched ignoring case
    )
    assert errors_of(findings) == []
    actuals = summary_of(plan, findings)["actuals"]
    assert actuals["budget_scenario"] == "Baseline"
    assert actuals["through"] == "2027-05"  # the latest month with a row
    assert [m["month"] for m in actuals["months"]] == [
        "2027-01", "2027-02", "2027-03", "2027-04", "2027-05"]
    jan = actuals["months"][0]
    # 22,000 a month (66,000 / 3); January's actual 9,000 + 1,000
    assert jan == {"month": "2027-01", "fiscal_year": 2027, "quarter": "Q1", "plan": 22000.0,
                   "actual": 10000.0, "variance": -12000.0}
    q1, q2 = actuals["quarters"]
    # Q1 complete: plan 66,000, actual 10,000 + 20,000 = 30,000; operation 10,000 / 30,000
    assert q1 == {"fiscal_year": 2027, "quarter": "Q1", "complete": True, "plan": 66000.0,
                  "actual": 30000.0, "variance": -36000.0,
                  "variance_pct": -36000 / 66000, "operation_share_actual": 10000 / 30000,
                  "band_status_actual": "maintenance-heavy"}
    # Q2 so far (April, May): plan 66,000 × 2/3 = 44,000; actual 25,000 − 2,000 = 23,000,
    # all of it operation (Incident response and the Monitoring credit): share 1.0
    assert q2["complete"] is False
    assert q2["plan"] == pytest.approx(44000.0)
    assert (q2["actual"], q2["variance"]) == (23000.0, pytest.approx(-21000.0))
    assert q2["operation_share_actual"] == 1.0
    assert q2["band_status_actual"] == "operation-heavy"
    act = actuals["by_activity"]
    # five months through May: Monitoring 30,000 a quarter × 5/3 = 50,000 planned,
    # 10,000 − 2,000 = 8,000 spent; Incident response 18,000 × 5/3 = 30,000 vs 25,000
    assert act["Monitoring"]["plan"] == pytest.approx(50000.0)
    assert act["Monitoring"]["actual"] == 8000.0
    assert act["Incident response"]["plan"] == pytest.approx(30000.0)
    assert act["Incident response"]["actual"] == 25000.0
    assert act["Corrective"] == {"plan": pytest.approx(30000.0), "actual": 20000.0,
                                 "variance": pytest.approx(-10000.0)}
    assert act["Perfective"] == {"plan": 0.0, "actual": 0.0, "variance": 0.0}
    (year,) = actuals["years"]
    # forecast = 53,000 to date + June's 22,000 + Q3 and Q4 66,000 each = 207,000
    assert year["plan"] == 264000.0
    assert year["actual_to_date"] == 53000.0
    assert year["forecast"] == pytest.approx(207000.0)
    assert year["variance_at_completion"] == pytest.approx(-57000.0)
    assert not [f for f in findings if f.code == "over-budget"]


def test_over_budget_beyond_the_threshold_only():
    rows = [[f"2027-0{m}", "ERP", "Monitoring", 23200] for m in (1, 2, 3)]
    plan, findings = tiny_with(*rows)
    summary = summary_of(plan, findings)
    (q1,) = summary["actuals"]["quarters"]
    # 3 × 23,200 = 69,600 against 66,000: 3,600 over = 5.45 % > 5 %
    assert (q1["actual"], q1["variance"]) == (69600.0, 3600.0)
    over = [f for f in summary["scenarios"][0]["findings"] if f["code"] == "over-budget"]
    assert over == [{"severity": "warning", "code": "over-budget", "location": "Actuals",
                     "message": "FY2027 Q1: actual spend 69,600 EUR is 3,600 (5.5%) over the "
                                "Baseline plan of 66,000; the threshold is 5%"}]
    # a threshold of 6 %: 3,600 is below 0.06 × 66,000 = 3,960
    plan, findings = tiny_with(*rows, settings=(("variance_threshold", 0.06),))
    assert not [f for f in summary_of(plan, findings)["scenarios"][0]["findings"]
                if f["code"] == "over-budget"]
    # exactly 5 % over (3 × 23,100 = 69,300; 3,300 = 0.05 × 66,000) is not beyond it
    plan, findings = tiny_with(*[[r[0], "ERP", "Monitoring", 23100] for r in rows])
    assert not [f for f in summary_of(plan, findings)["scenarios"][0]["findings"]
                if f["code"] == "over-budget"]


def test_a_plan_of_zero_with_actual_spend():
    sheets = tiny_plan()
    for line in sheets["Staffing"][1:]:
        line[5] = 0  # no FTE in Q2: the Q2 plan is 0
    plan, findings = tiny_with(["2027-04", "ERP", "Perfective", 500], sheets=sheets)
    summary = summary_of(plan, findings)
    q1, q2 = summary["actuals"]["quarters"]
    # Q1 has no actual spend: 0 against 66,000, and no share
    assert (q1["actual"], q1["variance"], q1["operation_share_actual"],
            q1["band_status_actual"]) == (0.0, -66000.0, None, "no-cost")
    # Q2 (April so far): 500 against a plan of 0 -> no percentage, over budget all the same
    assert (q2["plan"], q2["actual"], q2["variance"], q2["variance_pct"]) == (
        0.0, 500.0, 500.0, None)
    assert q2["operation_share_actual"] == 0.0  # all maintenance
    assert summary["actuals"]["by_activity"]["Perfective"] == {
        "plan": 0.0, "actual": 500.0, "variance": 500.0}
    over = [f for f in summary["scenarios"][0]["findings"] if f["code"] == "over-budget"]
    assert [f["message"] for f in over] == [
        "FY2027 Q2 (1 of its 3 months so far): actual spend 500 EUR where the Baseline plan "
        "has nothing"]
    (year,) = summary["actuals"]["years"]
    # plan 3 × 66,000 = 198,000; forecast 500 + May, June (0) + Q3 + Q4 = 132,500
    assert (year["plan"], year["forecast"]) == (198000.0, 132500.0)


def test_fiscal_year_from_april_puts_march_of_the_next_year_in_q4():
    plan, findings = tiny_with([dt.date(2028, 3, 31), "ERP", "Corrective", 7000],
                               settings=(("fy_start_month", 4),))
    (line,) = plan.actuals
    # (2028 − 2027) × 12 + (3 − 4) = 11: the last month of FY2027, quarter k = 11 div 3 = 3
    assert line.month == 11
    actuals = summary_of(plan, findings)["actuals"]
    assert actuals["through"] == "2028-03"
    assert [m["month"] for m in actuals["months"]][:2] == ["2027-04", "2027-05"]
    assert actuals["months"][11] == {"month": "2028-03", "fiscal_year": 2027, "quarter": "Q4",
                                     "plan": 22000.0, "actual": 7000.0, "variance": -15000.0}
    assert [(q["quarter"], q["complete"]) for q in actuals["quarters"]] == [
        ("Q1", True), ("Q2", True), ("Q3", True), ("Q4", True)]
    # the whole year is past: the forecast is the actual spend
    assert actuals["years"] == [{"fiscal_year": 2027, "plan": 264000.0,
                                 "actual_to_date": 7000.0, "forecast": 7000.0,
                                 "variance_at_completion": -257000.0}]


def test_months_outside_the_horizon_are_located_errors():
    data = with_rows(tiny_plan(), "Actuals", ["2027-03", "ERP", "Corrective", 1],
                     ["2028-04-01", "ERP", "Corrective", 1], [dt.date(2028, 3, 1), "ERP",
                                                              "Corrective", 1], header=HEAD)
    data["Settings"].append(["fy_start_month", "April"])
    plan, findings = parse(data)
    assert plan is None
    span = "Apr 2027 – Mar 2028 (FY2027)"
    assert errors_of(findings) == [
        ("Actuals!A2", "month-outside", f"Month 2027-03 is outside the plan, which covers "
         f"{span}: give a month of the plan's fiscal years, or change fiscal_year or "
         "horizon_years"),
        ("Actuals!A3", "month-outside", f"Month 2028-04 is outside the plan, which covers "
         f"{span}: give a month of the plan's fiscal years, or change fiscal_year or "
         "horizon_years"),
    ]  # March 2028 (row 4) is month 11 of FY2027: inside


def test_bad_sheet_cells_are_all_reported_with_the_plan_errors():
    data = with_rows(tiny_plan(), "Actuals",
                     ["April", "ERP", "Ops", "abc"],
                     ["2027-02-30", None, "Corrective", True],
                     [46388, "ERP", "Adaptive", "1,5"],
                     ["2027-05", "ERP", "Adaptive", None],
                     ["2027-06", "ERP", "Adaptive", "#N/A"], header=HEAD)
    data["Staffing"][1][4] = "three"  # an error elsewhere in the plan: reported together
    plan, findings = parse(data)
    assert plan is None
    assert errors_of(findings) == [
        ("Staffing!E2", "not-a-number", "FTE Q1 must be a number ≥ 0, got 'three'"),
        ("Actuals!A2", "bad-month",
         "Month must be a date or text YYYY-MM (e.g. 2027-04), got 'April'"),
        ("Actuals!C2", "unknown-value", "Activity must be one of Monitoring, Incident "
         "response, Routine tasks, Security operations, Corrective, Preventive, Adaptive, "
         "Perfective, got 'Ops'"),
        ("Actuals!D2", "not-a-number", "Amount must be a number, got 'abc'"),
        ("Actuals!A3", "bad-month", "Month must be a date or text YYYY-MM (e.g. 2027-04), got "
         "'2027-02-30' (there is no day 30 in 2027-02)"),
        ("Actuals!B3", "missing-value", "System is required"),
        ("Actuals!D3", "not-a-number", "Amount must be a number, got the logical value TRUE"),
        ("Actuals!A4", "bad-month", "Month must be a date or text YYYY-MM (e.g. 2027-04), got "
         "46388 (a number: format the cell as a date)"),
        ("Actuals!D4", "not-a-number", "Amount must be a number, got '1,5' (a decimal comma: "
         "use a decimal point, 1.5)"),
        ("Actuals!D5", "missing-value",
         "Amount is required (enter 0 for a month without spend, or delete the row)"),
        ("Actuals!D6", "error-value", "Amount holds the error value #N/A: fix the formula (or "
         "the cell it refers to) so it gives a value, then save"),
    ]


def test_unplanned_system_is_warned_once_and_counted():
    plan, findings = tiny_with(["2027-01", "ERP", "Monitoring", 1000],
                               ["2027-01", "ERPP", "Adaptive", 300],
                               ["2027-02", "ERPP", "Adaptive", 200])
    warnings = [(f.location, f.message) for f in findings if f.code == "actuals-unplanned"]
    assert warnings == [("Actuals!B3", "system 'ERPP' has actual spend but no Staffing or Costs "
                         "line in the plan (did you mean 'ERP'?): its amounts count, against "
                         "a plan of 0")]
    actuals = summary_of(plan, findings)["actuals"]
    # ERP: two months of 22,000 planned, 1,000 spent; ERPP: 300 + 200, nothing planned
    assert actuals["by_system"] == {
        "ERP": {"plan": 44000.0, "actual": 1000.0, "variance": -43000.0},
        "ERPP": {"plan": 0.0, "actual": 500.0, "variance": 500.0}}
    assert actuals["quarters"][0]["actual"] == 1500.0


def test_a_foreign_currency_converts_at_its_fiscal_years_rate():
    plan, _ = tiny_with(["2027-01", "ERP", "Monitoring", 1])
    plan = replace(plan, fx=[FxRate("USD", 2027, 0.9, "FX!C2")])
    grid = SheetGrid("Actuals", [FULL_HEAD,
                                 ["2027-01", "ERP", "Monitoring", 1000, "usd", "Invoice 17"],
                                 ["2027-01", "ERP", "Monitoring", 50, "EUR", None],
                                 ["2027-02", "ERP", "Monitoring", 80, "", None],
                                 ["2027-02", "ERP", "Monitoring", 70, "GBP", None],
                                 ["2027-02", "ERP", "Monitoring", 70, "EURO", None]])
    lines, findings = parse_actuals(grid, ActualsContext.of(plan))
    assert errors_of(findings) == [
        ("Actuals!E5", "missing-fx", "no FX rate for GBP in fiscal year 2027 (Jan 2027 – Dec "
         "2027): add a row (GBP, 2027, EUR per 1 GBP) to the FX sheet, or one with a blank "
         "Fiscal year for every year"),
        ("Actuals!E6", "bad-currency", "Currency must be a three-letter ISO 4217 code such as "
         "USD or EUR, got 'EURO'"),
    ]
    assert [(x.amount, x.currency, x.item) for x in lines] == [
        (1000.0, "USD", "Invoice 17"), (50.0, "", ""), (80.0, "", "")]
    actuals = actuals_figures(replace(plan, actuals=lines), evaluate(plan).ledger)
    assert actuals is not None
    # 1,000 USD × 0.9 = 900 EUR, + 50 EUR in January; 80 EUR in February
    assert [m.actual for m in actuals.months] == [950.0, 80.0]


def test_a_non_baseline_budget_scenario():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Offshore dev", "Dev", "*", "sourcing",
                                                   "Offshore"],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan, findings = tiny_with(["2027-01", "ERP", "Monitoring", 10000],
                               ["2027-01", "CRM", "Monitoring", 10],
                               settings=(("budget_scenario", "Offshore dev"),), sheets=sheets)
    summary = summary_of(plan, findings)
    actuals = summary["actuals"]
    assert actuals["budget_scenario"] == "Offshore dev"
    # Offshore dev, Q1: Ops 30,000 + Dev offshore 1 × 3 × 6,000 = 18,000, vendor management
    # 10 % = 1,800, coordination 5 % × (18,000 + 1,800) = 990 (Monitoring in-house, Incident
    # response offshore: a split contract), transition 2 × 6,000 × 1 = 12,000 -> 62,790;
    # the other quarters 50,790
    assert actuals["months"][0]["plan"] == pytest.approx(62790 / 3)
    assert actuals["quarters"][0]["plan"] == pytest.approx(62790 / 3)
    (year,) = actuals["years"]
    assert year["plan"] == pytest.approx(62790 + 3 * 50790)
    # forecast: 10,010 to date + February and March of Q1 (62,790 × 2/3) + 3 × 50,790
    assert year["forecast"] == pytest.approx(10010 + 41860 + 152370)
    names = [s["name"] for s in summary["scenarios"]]
    unplanned = {n: [f["code"] for f in s["findings"] if f["code"] == "actuals-unplanned"]
                 for n, s in zip(names, summary["scenarios"], strict=True)}
    assert unplanned == {"Baseline": [], "Offshore dev": ["actuals-unplanned"]}


def test_a_budget_scenario_that_is_not_one_gives_an_error_not_figures():
    plan, findings = tiny_with(["2027-01", "ERP", "Monitoring", 1])
    # the reader reports such a setting at its cell; a plan built otherwise gets it here
    plan = replace(plan, settings=replace(plan.settings, budget_scenario="Offshore"))
    summary = summary_of(plan, findings)
    assert summary["scenarios"] == [] and summary["actuals"] is None
    assert summary["errors"] == [{"severity": "error", "code": "bad-actuals", "location": "",
                                  "message": "budget_scenario 'Offshore' is not a scenario of "
                                             "the plan (known: Baseline)"}]


def test_no_actual_rows_means_null_and_no_plan_figure_changes():
    plan, findings = parse(tiny_plan())
    assert plan is not None
    before = summary_of(plan, findings)
    assert before["actuals"] is None
    with_actuals, more = tiny_with(["2027-01", "ERP", "Monitoring", 1])
    after = summary_of(with_actuals, more)
    assert after["scenarios"] == before["scenarios"]  # the plan's own figures are untouched
    empty, none = tiny_with()  # a header without rows
    assert summary_of(empty, none)["actuals"] is None


# --------------------------------------------------------------------------- ledgers


def test_the_actuals_ledger_has_the_ledgers_keys_and_categories():
    plan, findings = tiny_with(["2027-05", "HR", "Adaptive", 10],
                               ["2027-01", "ERP", "Monitoring", 5])
    ledger = evaluate(plan).ledger
    actual = actuals_ledger(plan, ledger)
    assert list(actual.columns) == ["scenario", "system", "quarter", "activity", "kind",
                                    "component", "month", "amount"]
    assert list(actual["quarter"].cat.categories) == list(ledger["quarter"].cat.categories)
    assert actual["quarter"].cat.codes.tolist() == [1, 0]  # May: k = 4 div 3 = 1
    assert list(actual["system"].cat.categories) == ["ERP", "HR"]  # planned, then unplanned
    assert actual["kind"].tolist() == ["maintenance", "operation"]
    assert set(actual["component"]) == {"actual"} and set(actual["scenario"]) == {"Baseline"}


def two_year_plan() -> tuple[Plan, pd.DataFrame]:
    """A plan over FY2027–FY2028 starting in April, with a hand-made budget ledger: ERP
    Monitoring 3,000 and Corrective 6,000 in each of the 8 quarters (3,000 a month)."""
    settings = Settings("Two years", 2027, currency="EUR", fy_start_month=4, horizon_years=2)
    plan = Plan(settings, {}, {}, {}, [])
    labels = list(plan.horizon.labels)
    assert labels[0] == "FY2027 Q1" and labels[-1] == "FY2028 Q4"
    rows = [(k, a, amt) for k in range(8) for a, amt in (("Monitoring", 3000.0),
                                                          ("Corrective", 6000.0))]
    ledger = pd.DataFrame({
        "scenario": pd.Categorical(["Baseline"] * len(rows)),
        "system": pd.Categorical(["ERP"] * len(rows)),
        "quarter": pd.Categorical.from_codes([r[0] for r in rows], categories=labels),
        "activity": pd.Categorical([r[1] for r in rows], categories=list(ACTIVITIES)),
        "kind": pd.Categorical([ACTIVITY_KIND[r[1]].value for r in rows],
                               categories=["operation", "maintenance"]),
        "component": pd.Categorical(["labour"] * len(rows)),
        "amount": [r[2] for r in rows],
    })
    return plan, ledger


def test_two_fiscal_years_forecast_each_year():
    plan, ledger = two_year_plan()
    grid = SheetGrid("Actuals", [HEAD, ["2027-04", "ERP", "Monitoring", 1200],
                                 ["2028-05-31", "ERP", "Corrective", 5000],
                                 ["2029-03", "ERP", "Corrective", 1],
                                 ["2029-04", "ERP", "Corrective", 1]])
    lines, findings = parse_actuals(grid, ActualsContext(plan.settings))
    # (2029 − 2027) × 12 + (3 − 4) = 23 is the last month; 24 is past the horizon
    assert errors_of(findings) == [("Actuals!A5", "month-outside", (
        "Month 2029-04 is outside the plan, which covers Apr 2027 – Mar 2029 (FY2027–FY2028): "
        "give a month of the plan's fiscal years, or change fiscal_year or horizon_years"))]
    plan = replace(plan, actuals=lines[:2])  # April 2027 (i = 0) and May 2028 (i = 13)
    figures = actuals_figures(plan, ledger)
    assert figures is not None
    data = figures.to_json()
    assert data["through"] == "2028-05" and len(data["months"]) == 14
    assert data["months"][13] == {"month": "2028-05", "fiscal_year": 2028, "quarter": "Q1",
                                  "plan": 3000.0, "actual": 5000.0, "variance": 2000.0}
    quarters = [(q["fiscal_year"], q["quarter"], q["complete"]) for q in data["quarters"]]
    assert quarters == [(2027, "Q1", True), (2027, "Q2", True), (2027, "Q3", True),
                        (2027, "Q4", True), (2028, "Q1", False)]
    # FY2028 Q1 so far: 9,000 × 2/3 = 6,000 planned, 5,000 spent
    last = data["quarters"][-1]
    assert (last["plan"], last["actual"], last["variance"]) == (6000.0, 5000.0, -1000.0)
    # FY2027 is over: forecast = actual 1,200; FY2028: 5,000 + June 3,000 + 3 × 9,000 = 35,000
    assert data["years"] == [
        {"fiscal_year": 2027, "plan": 36000.0, "actual_to_date": 1200.0, "forecast": 1200.0,
         "variance_at_completion": -34800.0},
        {"fiscal_year": 2028, "plan": 36000.0, "actual_to_date": 5000.0, "forecast": 35000.0,
         "variance_at_completion": -1000.0}]
    assert [f.message.split(":")[0] for f in figures.findings] == []  # nothing over budget


def test_everything_reconciles_on_the_sample_plan():
    plan, findings = load_plan(SAMPLE)
    assert plan is not None
    evaluation = evaluate(plan)
    systems = sorted({x.system for x in plan.staffing}) + ["Unplanned system"]
    rng = random.Random(7)
    lines = [ActualLine(rng.randrange(9), rng.choice(systems), rng.choice(ACTIVITIES),
                        round(rng.uniform(-2000, 90000), 2)) for _ in range(500)]
    plan = replace(plan, actuals=lines)
    figures = actuals_figures(plan, evaluation.ledger)
    # the sample's fiscal year starts in April: month 8 is December
    assert figures is not None and figures.through == "2027-12"
    total = sum(x.amount for x in lines)
    months = sum(m.actual for m in figures.months)
    quarters = sum(q.actual for q in figures.quarters)
    activities = sum(v.actual for v in figures.by_activity.values())
    per_system = sum(v.actual for v in figures.by_system.values())
    assert months == pytest.approx(total) and quarters == pytest.approx(total)
    assert activities == pytest.approx(total) and per_system == pytest.approx(total)
    plan_months = sum(m.plan for m in figures.months)
    assert sum(q.plan for q in figures.quarters) == pytest.approx(plan_months)
    assert sum(v.plan for v in figures.by_activity.values()) == pytest.approx(plan_months)
    assert sum(v.plan for v in figures.by_system.values()) == pytest.approx(plan_months)
    # three complete quarters: their plan is the Baseline's quarter total (summed in another
    # order, so equal to the last bits only)
    baseline = summary_json(plan, findings, evaluation)["scenarios"][0]
    assert [q.complete for q in figures.quarters] == [True, True, True]
    for q, budget in zip(figures.quarters, baseline["quarters"], strict=False):
        assert (q.fiscal_year, q.quarter) == (budget["fiscal_year"], budget["quarter"])
        assert q.plan == pytest.approx(budget["total"], rel=1e-12)
    # the sample covers FY2027-FY2029: every actual falls in FY2027, whose forecast is the
    # actuals plus the plan of its Q4; the later years are forecast at their plan
    first, *later = figures.years
    assert [y.fiscal_year for y in figures.years] == [y["fiscal_year"] for y in baseline["years"]]
    assert len(later) == 2
    assert first.plan == pytest.approx(baseline["years"][0]["total"])
    assert first.actual_to_date == pytest.approx(total)
    assert first.forecast == pytest.approx(total + baseline["quarters"][3]["total"])
    for year, budget in zip(later, baseline["years"][1:], strict=True):
        assert year.actual_to_date == 0
        assert year.forecast == year.plan == pytest.approx(budget["total"])
    assert sum(y.plan for y in figures.years) == pytest.approx(baseline["total"])


# --------------------------------------------------------------------------- CSV and files


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def tiny_plan_object() -> Plan:
    plan, findings = parse(tiny_plan())
    assert plan is not None, findings
    return plan


def test_every_bad_csv_row_is_reported_with_its_line(tmp_path):
    path = write_csv(tmp_path / "gl.csv", (
        "Posting month,System,Activity,Amount,Item\n"  # 'Posting month' is not 'Month'
    ))
    lines, findings = read_actuals_csv(path, ActualsContext.of(tiny_plan_object()))
    assert errors_of(findings) == [("gl.csv line 1", "missing-column", "column 'Month' "
                                    "missing from the header line (found: Posting month, "
                                    "System, Activity, Amount, Item)")]
    path = write_csv(tmp_path / "gl.csv", (
        "\ufeffmonth , SYSTEM,Activity,Amount,Item\n"   # 1: BOM, headers matched like a sheet's
        "2027-01,ERP,Monitoring,100.50,a\n"              # 2
        "\n"                                             # 3: empty, skipped
        "April,ERP,Monitoring,1,b\n"                     # 4
        "2027-02,ERP,Monitoring,abc,c\n"                 # 5
        "2027-02,ERP,Ops,,d\n"                           # 6
        '2027-03,ERP,Corrective,"1,200.00","two\nlines"\n'  # 7-8: one row over two lines
        "2027-03,ERP,Corrective,\"12,5\",e\n"            # 9
        "2027-03,ERP,Corrective,(300),credit\n"          # 10
        "2026-12,,Corrective,1,f\n"                      # 11
    ))
    lines, findings = read_actuals_csv(path, ActualsContext.of(tiny_plan_object()))
    assert errors_of(findings) == [
        ("gl.csv line 4, column Month", "bad-month",
         "Month must be a date or text YYYY-MM (e.g. 2027-04), got 'April'"),
        ("gl.csv line 5, column Amount", "not-a-number", "Amount must be a number, got 'abc'"),
        ("gl.csv line 6, column Activity", "unknown-value", "Activity must be one of "
         "Monitoring, Incident response, Routine tasks, Security operations, Corrective, "
         "Preventive, Adaptive, Perfective, got 'Ops'"),
        ("gl.csv line 6, column Amount", "missing-value",
         "Amount is required (enter 0 for a month without spend, or delete the row)"),
        ("gl.csv line 9, column Amount", "not-a-number", "Amount must be a number, got '12,5' "
         "(a decimal comma: use a decimal point, 12.5)"),
        ("gl.csv line 11, column Month", "month-outside", "Month 2026-12 is outside the plan, "
         "which covers Jan 2027 – Dec 2027 (FY2027): give a month of the plan's fiscal years, "
         "or change fiscal_year or horizon_years"),
        ("gl.csv line 11, column System", "missing-value", "System is required"),
    ]
    # lines 7 and 10 have the same keys: one line of 1,200 − 300 = 900 at line 7 (its Item,
    # for reference only, is kept on single rows)
    assert [(x.month, x.amount, x.item, x.location) for x in lines] == [
        (0, 100.5, "a", "gl.csv line 2"), (2, 900.0, "", "gl.csv line 7")]


def test_semicolons_windows_text_and_a_repeated_problem_capped(tmp_path):
    rows = "".join(f"2027-0{1 + i % 9};ERP;Préventive;oops\r\n" for i in range(150))
    path = write_csv(tmp_path / "export.csv", "Month;System;Activity;Amount\r\n"
                     "2027-01;ERP;Preventive;1\r\n" + rows, encoding="cp1252")
    lines, findings = read_actuals_csv(path, ActualsContext.of(tiny_plan_object()))
    errors = [f for f in findings if f.severity == "error"]
    per_code = {code: [f for f in errors if f.code == code]
                for code in ("unknown-value", "not-a-number")}
    # 150 bad rows of 151 (lines 3-152), each with a bad activity and a bad amount: a problem
    # of nearly every row is the column's, one message each, at its first cell
    for code, found in per_code.items():
        assert len(found) == 1, code
        assert found[0].location.startswith("export.csv line 3, column ")
        assert found[0].message.startswith("column ")
        assert ": 150 of 151 rows have the same problem, the first at export.csv line 3" \
            in found[0].message
    assert "got 'Préventive'" in per_code["unknown-value"][0].message
    assert per_code["not-a-number"][0].message.endswith(
        "omplan read the amounts with a decimal comma: if the file uses a decimal point, run "
        "with --csv-decimal point; else fix the column (or the export that wrote it)")
    assert [(x.month, x.activity, x.amount) for x in lines] == [(0, "Preventive", 1.0)]


def test_a_repeated_problem_on_some_rows_is_capped(tmp_path):
    """Not on nearly every row: the first 100 spelt out, the others counted."""
    good = "".join(f"2027-0{1 + i % 9};ERP;Preventive;1\r\n" for i in range(100))
    bad = "".join(f"2027-0{1 + i % 9};ERP;Préventive;1\r\n" for i in range(150))
    path = write_csv(tmp_path / "export.csv", "Month;System;Activity;Amount\r\n" + good + bad,
                     encoding="cp1252")
    _, findings = read_actuals_csv(path, ActualsContext.of(tiny_plan_object()))
    found = [f for f in findings if f.code == "unknown-value"]
    assert len(found) == DETAILED_PER_PROBLEM + 1
    assert found[0].location == "export.csv line 102, column Activity"
    assert found[-1].location == "export.csv"
    assert found[-1].message.startswith("50 more rows have the same problem in column ")


def test_a_csv_with_a_row_longer_than_its_header(tmp_path):
    path = write_csv(tmp_path / "gl.csv", "Month,System,Activity,Amount\n"
                     "2027-01,ERP,Monitoring,1\n2027-01,ERP,Monitoring,1,200.00\n")
    lines, findings = read_actuals_csv(path, ActualsContext.of(tiny_plan_object()))
    assert errors_of(findings) == [("gl.csv line 3", "bad-csv", (
        "5 values on a line where the first line has 4: a value that contains the separator "
        "',' must be in double quotes"))]


def test_a_workbook_given_with_actuals_replaces_the_plans_sheet(tmp_path):
    plan, _ = tiny_with(["2027-01", "ERP", "Monitoring", 5])
    path = write_openpyxl({"Notes": [["x"]], "actuals": [
        HEAD, [dt.datetime(2027, 3, 31), "ERP", "Adaptive", 700.0],
        [dt.datetime(2027, 3, 1), "ERP", "Adaptive", "n/a"],
        [dt.datetime(2027, 3, 1), "ERP", "Adaptive", "=1/0"]]}, tmp_path / "gl.xlsx")
    replaced, findings = use_actuals_file(plan, path, read_grids)
    errors = errors_of(findings)
    assert errors[0] == ("'[gl.xlsx]actuals'!D3", "not-a-number",
                         "Amount must be a number, got 'n/a'")
    # a formula openpyxl saved without its value: reported once, as such
    assert [e[:2] for e in errors[1:]] == [("'[gl.xlsx]actuals'!D4", "no-cached-value")]
    info = [(f.severity, f.code, f.message) for f in findings if f.severity == "info"]
    assert info == [("info", "actuals-replaced", "the plan's own Actuals sheet (1 line) is not "
                     "used: the actual spend comes from gl.xlsx")]
    assert [(x.month, x.amount, x.location) for x in replaced.actuals] == [
        (2, 700.0, "'[gl.xlsx]actuals'!B2")]
    _, findings = use_actuals_file(plan, tmp_path / "missing.csv", read_grids)
    assert errors_of(findings) == [("", "file-missing", f"the actuals file "
                                    f"{tmp_path / 'missing.csv'} does not exist")]
    no_sheet = write_openpyxl({"Ledger": [HEAD]}, tmp_path / "other.xlsx")
    _, findings = use_actuals_file(plan, no_sheet, read_grids)
    assert errors_of(findings) == [("other.xlsx", "missing-sheet",
                                    "the actuals file other.xlsx has no 'Actuals' sheet: "
                                    "name the sheet that holds the spend 'Actuals' (or save "
                                    "it as .csv)")]


# --------------------------------------------------------------------------- the command


def omplan(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OMPLAN_DEBUG"}
    # the omplan under test, whatever the working directory
    env.update(PYTHONUTF8="1", COLUMNS="80",
               PYTHONPATH=str(Path(omplan_package.__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "omplan", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_run_with_actuals_writes_the_json_and_prints_plan_vs_actual(tmp_path):
    plan_path = write_openpyxl(tiny_plan(), tmp_path / "tiny.xlsx")
    write_csv(tmp_path / "gl.csv", "Month,System,Activity,Amount\n"
              "2027-01,ERP,Monitoring,30000\n2027-02,ERP,Corrective,40000\n"
              "2027-04,ERP,Corrective,4000\n")
    result = omplan("run", plan_path, "--actuals", "gl.csv", "--json", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    summary = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    # Q1: 70,000 against 66,000: 4,000 over = 6.1 % > 5 %
    q1 = summary["actuals"]["quarters"][0]
    assert (q1["plan"], q1["actual"], q1["variance"]) == (66000.0, 70000.0, 4000.0)
    assert [f["code"] for f in summary["scenarios"][0]["findings"]
            if f["code"] == "over-budget"] == ["over-budget"]
    out = result.stdout.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("Plan vs actual"))
    section = out[start:start + 8]
    assert section[0] == "Plan vs actual to 2027-04, budget Baseline (+ over budget; * quarter " \
                         "so far)"
    assert section[2].split() == ["FY2027", "Q1", "66,000", "70,000", "+4,000", "+6.1%",
                                  "42.9%", "within"]  # operation 30,000 / 70,000
    assert section[3].split()[:2] == ["FY2027", "Q2*"]
    assert all(len(line) <= 80 for line in section)
    # findings are wrapped to 80 columns: the words of the over-budget one, in order
    assert "gl.csv: FY2027 Q1: actual spend 70,000 EUR is 4,000 (6.1%) over" in " ".join(
        result.stdout.split())


def test_run_with_bad_actuals_exits_2_with_every_error(tmp_path):
    plan_path = write_openpyxl(tiny_plan(), tmp_path / "tiny.xlsx")
    write_csv(tmp_path / "gl.csv", "Month,System,Activity,Amount\n"
              "2027-01,ERP,Monitoring,x\n2030-01,ERP,Monitoring,1\n")
    result = omplan("run", plan_path, "--actuals", "gl.csv", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "tiny.xlsx: 2 errors; no figures were produced"
    assert lines[1] == "gl.csv line 2, column Amount: Amount must be a number, got 'x'"
    assert lines[2].startswith("gl.csv line 3, column Month: Month 2030-01 is outside the plan")

