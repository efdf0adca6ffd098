"""Business case arithmetic (savings, NPV, payback, bridge, recommendation), worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from omplan.core.business import (
    Candidate,
    bridge_parts,
    business_case,
    discount_factors,
    labour_bridge,
    npv,
    payback,
    recommend,
)


def test_npv_discounts_at_the_end_of_each_quarter():
    # 1,000 at the end of quarters 1..4 at 8 %: 1000/1.08^0.25 + 1000/1.08^0.5 + ... + 1000/1.08
    # = 980.94 + 962.25 + 943.92 + 925.93 = 3,813.03 (to the cent)
    assert npv([1000, 1000, 1000, 1000], 0.08) == pytest.approx(3813.0335, abs=1e-4)
    assert discount_factors(4, 0.08)[-1] == pytest.approx(1 / 1.08, rel=1e-15)
    assert npv([0, 0, 0, 1080], 0.08) == pytest.approx(1000.0, rel=1e-15)
    assert npv([500, 500], 0.0) == 1000.0


@pytest.mark.parametrize(("savings", "expected"), [
    ([10, 0, 5, 0], (0, None)),  # never below zero: pays back at once
    ([-300, 100, 100, 100, 100], (12, 3)),  # cumulative -300, -200, -100, 0, 100: 0 in Q4
    ([50, -100, 80, 0], (9, 2)),  # 50, -50, 30, 30: back above zero in the third quarter
    ([-100, 10, 10, 10], (None, None)),  # ends at -70: never pays back
    ([-100.004, 100, 0, 0], (6, 1)),  # ends at -0.004, which counts as zero
    ([-100.006, 100, 0, 0], (None, None)),  # -0.006 does not
])
def test_payback(savings, expected):
    assert payback(savings) == expected


def test_labour_bridge_volume_and_price():
    """Two lines over two quarters.

    line 1: Baseline 2 FTE at 10,000, scenario 1 FTE at 12,000 (both quarters):
        volume (1 − 2) × 3 × 12,000 = −36,000; price 2 × 3 × (12,000 − 10,000) = 12,000
    line 2: Baseline 1 FTE at 8,000 in Q1 only; scenario none, then 1 FTE at 9,000 in Q2:
        Q1 volume −1 × 3 × 8,000 = −24,000; Q2 volume (1 − 0) × 3 × 9,000 = 27,000; no price
    volume = 2 × −36,000 − 24,000 + 27,000 = −69,000; price = 2 × 12,000 = 24,000
    labour: scenario 2 × 36,000 + 27,000 = 99,000, Baseline 2 × 60,000 + 24,000 = 144,000,
    difference −45,000 = −69,000 + 24,000.
    """
    base_fte = np.array([[2.0, 2.0], [1.0, 0.0]])
    base_rate = np.array([[10_000.0, 10_000.0], [8_000.0, 8_000.0]])
    fte = np.array([[1.0, 1.0], [0.0, 1.0]])
    rate = np.array([[12_000.0, 12_000.0], [9_000.0, 9_000.0]])
    assert labour_bridge(base_fte, base_rate, fte, rate) == (-69_000.0, 24_000.0)


def test_bridge_adds_up_to_the_difference_of_totals():
    base = {"labour": 144_000.0, "vendor_management": 0.0, "coordination": 0.0,
            "transition": 0.0, "other": 5_000.0}
    scen = {"labour": 99_000.0, "vendor_management": 9_900.0, "coordination": 495.0,
            "transition": 18_000.0, "other": 5_000.0}
    bridge = bridge_parts((-69_000.0, 24_000.0), base, scen)
    assert bridge == {"fte": -69_000.0, "rate": 24_000.0, "vendor_management": 9_900.0,
                      "coordination": 495.0, "transition": 18_000.0, "other": 0.0}
    assert sum(bridge.values()) == pytest.approx(sum(scen.values()) - sum(base.values()))


def test_business_case_over_two_years():
    """Baseline 100 a quarter for 8 quarters; the scenario 140 in Q1 (60 of it one-off
    transition), then 90: savings −40, then 10 a quarter. Cumulative −40, −30, −20, −10, 0,
    10, 20, 30: payback when it reaches 0 in quarter k = 4 (FY2 Q1), 15 months.
    run rate = the last year's Baseline 400 − (scenario 360 − transition 0) = 40."""
    base = np.full(8, 100.0)
    total = np.array([140.0] + [90.0] * 7)
    transition = np.array([60.0] + [0.0] * 7)
    bridge = {"fte": 0.0}
    case = business_case(base, total, transition, 0.08, bridge)
    assert case.savings == pytest.approx(30.0)
    assert case.one_off == 60.0
    assert case.run_rate_savings == pytest.approx(40.0)
    assert (case.payback_months, case.payback_quarter) == (15, 4)
    assert case.cumulative_savings == pytest.approx((-40, -30, -20, -10, 0, 10, 20, 30))
    expected = -40 / 1.08 ** 0.25 + sum(10 / 1.08 ** ((k + 1) / 4) for k in range(1, 8))
    assert case.npv_savings == pytest.approx(expected, rel=1e-12)


def test_recommendation_takes_the_cheapest_eligible_and_says_why_not_the_others():
    candidates = [
        Candidate("Baseline", 1_000_000.0),
        Candidate("Outsource", 900_000.0, out_of_band_years=(2028,)),
        Candidate("Offshore", 950_000.0),
        Candidate("PMO out", 800_000.0, pmo_outsourced=True),
        Candidate("Lean", 980_000.0),
    ]
    best, why = recommend(candidates, "USD")
    assert best == "Offshore"
    assert why == {
        "Baseline": "costs USD 50,000 more in NPV than Offshore",
        "Outsource": "out of band in FY2028",
        "PMO out": "PMO outsourced (keep it in-house)",
        "Lean": "costs USD 30,000 more in NPV than Offshore",
    }


def test_recommendation_tie_goes_to_the_earlier_scenario():
    best, why = recommend([Candidate("Baseline", 500.0), Candidate("Same", 500.004),
                           Candidate("Cheaper by a cent", 499.99)])
    assert best == "Cheaper by a cent"
    best, why = recommend([Candidate("Baseline", 500.0), Candidate("Same", 500.004)])
    assert best == "Baseline"
    assert why == {"Same": "ties with Baseline, which comes first"}


def test_no_recommendation_when_nothing_qualifies():
    best, why = recommend([Candidate("Baseline", 1.0, out_of_band_years=(2027, 2028))])
    assert best is None
    assert why == {"Baseline": "out of band in FY2027, FY2028"}


_fte = arrays(float, (3, 4), elements=hs.sampled_from([0.0, 0.5, 1.0, 2.5]))
_rate = arrays(float, (3, 4), elements=hs.floats(1_000, 30_000, allow_nan=False))


@given(_fte, _rate, _fte, _rate)
def test_volume_plus_price_is_the_labour_difference(base_fte, base_rate, fte, rate):
    volume, price = labour_bridge(base_fte, base_rate, fte, rate)
    difference = (fte * 3 * rate).sum() - (base_fte * 3 * base_rate).sum()
    assert volume + price == pytest.approx(difference, rel=1e-9, abs=1e-6)


def test_business_case_of_the_tiny_plan_in_the_json():
    """The tiny plan (Baseline 66,000 a quarter) with Dev moved offshore at 6,000: each
    quarter Ops 30,000 + Dev 18,000 + vendor management 1,800 + coordination 990 = 50,790,
    and Q1 also the transition 2 x 6,000 = 12,000. Savings: 3,210 in Q1, 15,210 after:
    48,840 in all, never below zero, so payback at once. Run rate: 264,000 − (215,160 −
    12,000) = 60,840. Bridge: the same FTE (volume 0) at half the rate: 4 x 3 x −6,000 =
    −72,000; vendor management +7,200, coordination +4 x 990, transition +12,000. Both
    scenarios are operation-heavy, so none is recommended."""
    from factories import parse, tiny_plan, with_rows

    from omplan.core.engine import evaluate
    from omplan.core.summary import summary_json

    sheets = with_rows(tiny_plan(), "Scenarios", ["Offshore dev", "Dev", "*", "sourcing",
                                                  "Offshore"],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan, findings = parse(sheets)
    summary = summary_json(plan, findings, evaluate(plan))
    base, off = summary["scenarios"]
    case = off["business_case"]
    assert [q["total"] for q in off["quarters"]] == pytest.approx([62_790, 50_790, 50_790,
                                                                   50_790])
    assert case["savings"] == pytest.approx(48_840)
    assert case["one_off"] == pytest.approx(12_000)
    assert case["run_rate_savings"] == pytest.approx(60_840)
    assert (case["payback_months"], case["payback_quarter"]) == (0, None)
    assert case["bridge"] == pytest.approx({"fte": 0.0, "rate": -72_000.0,
                                            "vendor_management": 7_200.0,
                                            "coordination": 3_960.0, "transition": 12_000.0,
                                            "other": 0.0})
    assert sum(case["bridge"].values()) == pytest.approx(off["total"] - base["total"])
    assert base["npv_cost"] == pytest.approx(66_000 * 3.8130335, rel=1e-7)
    assert case["npv_savings"] == pytest.approx(
        3_210 / 1.08 ** 0.25 + sum(15_210 / 1.08 ** ((k + 1) / 4) for k in (1, 2, 3)))
    assert summary["recommended"] is None
    assert base["not_recommended"] == off["not_recommended"] == "out of band in FY2027"


def test_payback_from_change_counts_from_the_earliest_row_of_the_scenario():
    """k0 is the earliest From of the scenario's rows (0 for a row without From); an
    optimiser scenario, whose rows all start at optimise_from, gets that quarter."""
    from dataclasses import replace

    from factories import parse, tiny_plan, with_rows

    from omplan.core.business import first_change_quarter, payback_from_change
    from omplan.core.model import ScenarioChange

    sheets = tiny_plan()
    sheets["Settings"].append(["horizon_years", 3])
    sheets = with_rows(sheets, "Scenarios",
                       ["Late", "Dev", "*", "sourcing", "Offshore", "FY2028 Q3"],
                       ["Staged", "Dev", "*", "sourcing", "Offshore", "FY2028 Q3"],
                       ["Staged", "Ops", "*", "fte_factor", 0.5, "Q2"],
                       ["Now", "Dev", "*", "sourcing", "Offshore", None],
                       header=["Scenario", "Role", "System", "Change", "Value", "From"])
    plan, findings = parse(sheets)
    assert plan is not None, findings
    optimised = [ScenarioChange("Optimised", "Dev", "ERP", "sourcing", "Offshore", "", 5, 1)]
    plan = replace(plan, scenario_changes=[*plan.scenario_changes, *optimised])
    assert [first_change_quarter(plan, n) for n in ("Baseline", "Late", "Staged", "Now",
                                                    "Optimised")] == [0, 6, 1, 0, 5]
    # 24 months from the start, from FY2028 Q3 (k0 = 6): 24 − 18 = 6
    assert payback_from_change(24, 6) == 6
    assert payback_from_change(0, 1) == 0  # at once stays at once
    assert payback_from_change(6, 0) == 6  # no From: the payback itself
    assert payback_from_change(None, 6) is None  # never stays never
