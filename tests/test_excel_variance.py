"""OM_VARIANCE: a quarter's actual minus plan, as the JSON's actuals figures give it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from factories import tiny_plan

from omplan.excel import OM_VARIANCE
from omplan.files.sample import SAMPLE_PLAN, build_sample_plan
from omplan.pipeline import run_plan

ACTUALS_HEAD = ["Month", "System", "Activity", "Amount"]


def test_variance_by_hand_on_a_partial_quarter():
    """The tiny plan costs 66,000 a quarter (ops 30,000 + dev 36,000): 22,000 a month. Spend
    of 25,000 in January and 24,000 (as '2027-02') in February: Q1 so far is two months, plan
    2 × 22,000 = 44,000, actual 49,000, variance +5,000 (over budget)."""
    sheets = tiny_plan()
    actuals = [ACTUALS_HEAD, [dt.datetime(2027, 1, 15), "ERP", "Monitoring", 25000],
               ["2027-02", "ERP", "Corrective", 24000]]
    args = (actuals, sheets["Staffing"], sheets["Rates"], sheets["Allocation"], None,
            sheets["Roles"], sheets["Settings"])
    assert OM_VARIANCE("Q1", *args) == 5000
    assert OM_VARIANCE("fy2027 q1", *args) == 5000
    assert OM_VARIANCE("Q2", *args) == (
        "#OMPLAN: FY2027 Q2 has no actual spend yet: the actuals run through 2027-02")
    assert OM_VARIANCE("Q5", *args).startswith("#OMPLAN: quarter must be Q1-Q4")
    bad = [ACTUALS_HEAD, ["2027-01", "ERP", "Monitoring", "lots"]]
    assert OM_VARIANCE("Q1", bad, *args[1:]).startswith("#OMPLAN: Actuals!D2: ")


def test_variance_of_the_sample_is_the_jsons(tmp_path):
    """The shipped sample (INR offshore rates, escalation, actuals for Apr-Sep 2027): the
    function with its tables gives each quarter's variance exactly as the JSON does."""
    def table(name: str) -> pd.DataFrame:
        rows = SAMPLE_PLAN[name]
        return pd.DataFrame(rows[1:], columns=rows[0])

    names = ("Actuals", "Staffing", "Rates", "Allocation", "Costs", "Roles", "Settings",
             "Scenarios", "FX", "Escalation")
    args = [table(n) for n in names]
    summary = run_plan(build_sample_plan(tmp_path / "sample.xlsx")).summary()
    quarters = summary["actuals"]["quarters"]
    assert [q["quarter"] for q in quarters] == ["Q1", "Q2"]
    for q in quarters:
        assert OM_VARIANCE(f"FY{q['fiscal_year']} {q['quarter']}", *args) == q["variance"]
    assert OM_VARIANCE("Q2", *args) > 0.05 * quarters[1]["plan"]  # the over-budget quarter


def test_payback_and_split_of_the_shipped_sample_with_its_fx_and_escalation(tmp_path):
    """With the FX and Escalation tables as arguments, the functions price the shipped sample
    (INR offshore rates, escalation) exactly as the JSON does."""
    from omplan.excel import OM_PAYBACK, OM_SPLIT

    def table(name: str) -> pd.DataFrame:
        rows = SAMPLE_PLAN[name]
        return pd.DataFrame(rows[1:], columns=rows[0])

    st, ra, al, sc, co, ro, se, fx, es = (table(n) for n in (
        "Staffing", "Rates", "Allocation", "Scenarios", "Costs", "Roles", "Settings", "FX",
        "Escalation"))
    summary = run_plan(build_sample_plan(tmp_path / "sample.xlsx")).summary()
    for s in summary["scenarios"][1:]:
        assert OM_PAYBACK(s["name"], st, ra, al, sc, co, ro, se, fx, es) == \
            s["business_case"]["payback_months"], s["name"]
    assert OM_SPLIT(st, ra, al, co, ro, se, fx, es) == summary["scenarios"][0]["operation_share"]
    # without the FX table the INR rates are refused at their cell, never priced as USD
    assert OM_SPLIT(st, ra, al, co, ro, se).startswith("#OMPLAN: Rates!D")
