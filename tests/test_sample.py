"""The shipped sample plan: rebuilt from code, identical to the committed files, valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from omplan.apps.cli import sample_plan_path
from omplan.files.run import run_plan
from omplan.files.sample import SAMPLE_PLAN, build_sample_plan

ROOT = Path(__file__).resolve().parents[1]


def test_committed_sample_is_what_the_script_builds(tmp_path):
    fresh = build_sample_plan(tmp_path / "sample_plan.xlsx").read_bytes()
    assert (ROOT / "workbooks" / "sample_plan.xlsx").read_bytes() == fresh
    assert sample_plan_path().read_bytes() == fresh


def test_sample_plan_is_realistic():
    run = run_plan(sample_plan_path())
    assert run.ok and run.findings == []
    summary = run.summary()
    names = [s["name"] for s in summary["scenarios"]]
    assert names == ["Baseline", "Outsource L1/L2", "Offshore L3", "Integrated vendor",
                     "Lean 2027"]
    plan = run.plan
    assert {r.level for r in plan.roles.values()} == {"L1", "L2", "L3", "PMO"}
    assert {line.sourcing for line in plan.staffing} == {"In-house", "Outsource", "Offshore"}
    assert len({line.system for line in plan.staffing}) == 4
    assert plan.costs and plan.contracts and plan.profile
    base = summary["scenarios"][0]
    assert base["band_status"] == "within"
    assert abs(base["total"] - sum(base["components"].values())) < 1e-6
    assert base["total"] == pytest.approx(3_807_678.94, abs=0.005)  # derived below


def test_sample_baseline_total_derived_by_hand():
    """The Baseline total from the sample's rows, without the engine.

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
            for sheet, data in SAMPLE_PLAN.items()}
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

    base = run_plan(sample_plan_path()).summary()["scenarios"][0]
    assert base["components"] == pytest.approx({
        "labour": labour, "vendor_management": 0.10 * external, "coordination": coordination,
        "transition": 0.0, "other": other}, abs=1e-6)
    assert base["total"] == pytest.approx(total, abs=1e-6)
