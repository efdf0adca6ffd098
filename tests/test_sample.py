"""The shipped sample plan: rebuilt from code, identical to the committed files, valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from omplan.apps.cli import sample_plan_path
from omplan.core.engine import evaluate
from omplan.files.run import run_plan
from omplan.files.sample import SAMPLE_PLAN, SAMPLE_PLAN_ONE_YEAR, build_sample_plan

ROOT = Path(__file__).resolve().parents[1]


def test_committed_sample_is_what_the_script_builds(tmp_path):
    fresh = build_sample_plan(tmp_path / "sample_plan.xlsx").read_bytes()
    assert (ROOT / "workbooks" / "sample_plan.xlsx").read_bytes() == fresh
    assert sample_plan_path().read_bytes() == fresh


def test_sample_plan_is_realistic():
    run = run_plan(sample_plan_path())
    # the one finding is intended: an emergency fix booked on 'Legacy CRM', a retired system
    # the plan deliberately leaves out, shows how unplanned spend is reported
    assert run.ok
    assert [(f.severity, f.code, f.location) for f in run.findings] == [
        ("warning", "actuals-unplanned", "Actuals!B195")]
    assert "'Legacy CRM'" in run.findings[0].message
    summary = run.summary()
    names = [s["name"] for s in summary["scenarios"]]
    assert names == ["Baseline", "Outsource L1/L2", "Offshore L3", "Integrated vendor",
                     "Lean 2027"]
    plan = run.plan
    assert {r.level for r in plan.roles.values()} == {"L1", "L2", "L3", "PMO"}
    assert {line.sourcing for line in plan.staffing} == {"In-house", "Outsource", "Offshore"}
    assert len({line.system for line in plan.staffing}) == 4
    assert plan.costs and plan.contracts and plan.profile
    # three fiscal years from April, offshore rates in rupees, escalation, a mid-year
    # scenario and two quarters of actuals
    assert (plan.settings.fiscal_year, plan.settings.horizon_years,
            plan.settings.fy_start_month) == (2027, 3, 4)
    assert {r.currency for r in plan.rates.values()} == {"", "INR"} and plan.fx
    assert {e.applies_to for e in plan.escalation} == {"In-house", "Outsource", "Offshore",
                                                      "Other costs"}
    assert {(c.scenario, c.start) for c in plan.scenario_changes if c.start} == {
        ("Outsource L1/L2", 2)}  # from FY2027 Q3, the third quarter of the plan
    assert summary["actuals"]["through"] == "2027-09"
    base = summary["scenarios"][0]
    assert base["band_status"] == "within"
    assert [y["band_status"] for y in base["years"]] == ["within"] * 3
    assert abs(base["total"] - sum(base["components"].values())) < 1e-6
    assert base["total"] == pytest.approx(11_572_270.18, abs=0.005)  # derived below


def test_sample_baseline_total_derived_by_hand(one_year_sample):
    """The Baseline total from the one-year sample's rows (the sample before it spanned
    three years, every rate in USD), without the engine.

    labour      = sum of FTE x 3 months x monthly rate over the 23 Staffing lines x 4 quarters
                = 3,464,236.50
    vendor mgmt = 10 % of external labour (Acme's three lines, the two Offshore lines)
                = 0.10 x 564,111.00 = 56,411.10
    coordination: only HR & payroll has a split contract. Its operation work is done by Acme
                (service desk, ops engineer) and in-house (service owner), its maintenance
                work only in-house (app maintenance engineer, service owner); every other
                system has the same parties on both sides. 5 % of Acme's HR labour + 10 %:
                Q1-Q3: (1 x 3 x 7,844 + 0.5 x 3 x 11,768) x 1.1 x 0.05 = 2,265.12 each
                Q4:    (1 x 3 x 7,844 + 1.0 x 3 x 11,768) x 1.1 x 0.05 = 3,235.98
                = 3 x 2,265.12 + 3,235.98 = 10,031.34
    other       = the Costs sheet, 277,000.00
    total       = 3,464,236.50 + 56,411.10 + 10,031.34 + 277,000.00 = 3,807,678.94
    """
    rows = {sheet: [dict(zip(data[0], row, strict=True)) for row in data[1:]]
            for sheet, data in SAMPLE_PLAN_ONE_YEAR.items()}
    rate = {(r["Role"], r["Sourcing"]): r["Monthly cost"] for r in rows["Rates"]}
    quarters = ("Q1", "Q2", "Q3", "Q4")
    labour = external = 0.0
    for line in rows["Staffing"]:
        amount = sum(line[q] * 3 * rate[line["Role"], line["Sourcing"]] for q in quarters)
        labour += amount
        external += amount if line["Sourcing"] != "In-house" else 0.0
    other = sum(c[q] or 0 for c in rows["Costs"] for q in quarters)
    hr_acme = [sum(line[q] * 3 * rate[line["Role"], line["Sourcing"]]
                   for line in rows["Staffing"]
                   if line["System"] == "HR & payroll" and line["Sourcing"] == "Outsource")
               for q in quarters]
    coordination = sum(0.05 * 1.1 * amount for amount in hr_acme)
    assert labour == pytest.approx(3_464_236.50, abs=1e-6)
    assert external == pytest.approx(564_111.00, abs=1e-6)
    assert coordination == pytest.approx(10_031.34, abs=1e-6)
    assert other == 277_000
    total = labour + 0.10 * external + coordination + other
    assert total == pytest.approx(3_807_678.94, abs=1e-6)

    base = run_plan(one_year_sample).summary()["scenarios"][0]
    assert base["components"] == pytest.approx({
        "labour": labour, "vendor_management": 0.10 * external, "coordination": coordination,
        "transition": 0.0, "other": other}, abs=1e-6)
    assert base["total"] == pytest.approx(total, abs=1e-6)


def test_an_offshore_rupee_line_in_fy2028_derived_by_hand():
    """Data warehouse, Senior developer, Offshore (Staffing row 22), FY2028 Q3: 1.5 FTE at
    591,600 INR a month, escalated one year at 6.8 % (Aon India) in rupees, then converted at
    1 / 82.5708 USD per INR (Fed G.5A, 2023):
        1.5 x 3 x 591,600 = 2,662,200 INR;  x 1.068 = 2,843,229.60;  / 82.5708 = 34,433.84 USD
    and vendor management 10 % of it, 3,443.38."""
    row = SAMPLE_PLAN["Staffing"][21]
    assert row[:4] == ["Data warehouse", "Senior developer", "Offshore", None] and row[6] == 1.5
    assert ["Senior developer", "Offshore", 591600, "INR"] in SAMPLE_PLAN["Rates"]
    by_hand = 1.5 * 3 * 591_600 * 1.068 * (1 / 82.5708)
    assert by_hand == pytest.approx(34_433.84, abs=0.005)

    ledger = evaluate(run_plan(sample_plan_path()).plan).ledger
    line = ledger[(ledger["scenario"] == "Baseline") & (ledger["quarter"] == "FY2028 Q3")
                  & (ledger["system"] == "Data warehouse") & (ledger["role"] == "Senior developer")]
    amounts = line.groupby("component", observed=True)["amount"].sum()
    assert dict(amounts) == pytest.approx({"labour": by_hand, "vendor_management": 0.1 * by_hand},
                                          rel=1e-12)


def test_three_year_sample_baseline_total_derived_by_hand():
    """The shipped sample's Baseline over FY2027-FY2029 (11,572,270.18), the one-year
    derivation above with, in year y = 0, 1, 2: every rate x (1 + escalation)^y (3.7 %
    In-house and Outsource, 6.8 % Offshore), INR rates x 1 / 82.5708; recurring costs x
    1.029^y and the one-off projects (FY2027 columns) in FY2027 only:
        FY2027  3,807,671.82  (the one-year 3,807,678.94 less the rupee rates' rounding)
        FY2028  3,808,876.28  (no one-off projects: 140,000 less other cost, escalation on)
        FY2029  3,955,722.08"""
    rows = {sheet: [dict(zip(data[0], row, strict=True)) for row in data[1:]]
            for sheet, data in SAMPLE_PLAN.items()}
    fx = {"USD": 1.0, "INR": 1 / 82.5708}
    rate = {(r["Role"], r["Sourcing"]): r["Monthly cost"] * fx[r["Currency"]]
            for r in rows["Rates"]}
    growth = {e["Applies to"]: 1 + e["Annual rate"] for e in rows["Escalation"]}
    quarters = ("Q1", "Q2", "Q3", "Q4")
    years = []
    for y in range(3):
        labour = external = acme_hr = 0.0
        for line in rows["Staffing"]:
            amount = (sum(line[q] * 3 * rate[line["Role"], line["Sourcing"]] for q in quarters)
                      * growth[line["Sourcing"]] ** y)
            labour += amount
            external += amount if line["Sourcing"] != "In-house" else 0.0
            if line["System"] == "HR & payroll" and line["Sourcing"] == "Outsource":
                acme_hr += amount  # the split contract, as in the one-year derivation
        other = sum(c[q] or 0 for c in rows["Costs"] for q in quarters) * growth["Other costs"] ** y
        if y == 0:
            other += sum(c[f"FY2027 {q}"] or 0 for c in rows["Costs"] for q in quarters[1:])
        years.append(labour + 0.10 * external + 0.05 * 1.1 * acme_hr + other)
    assert years == pytest.approx([3_807_671.82, 3_808_876.28, 3_955_722.08], abs=0.005)

    base = run_plan(sample_plan_path()).summary()["scenarios"][0]
    assert [y["total"] for y in base["years"]] == pytest.approx(years, rel=1e-12)
    assert base["total"] == pytest.approx(sum(years), rel=1e-12)
    assert sum(years) == pytest.approx(11_572_270.18, abs=0.005)
