"""The Monte Carlo and the tornado (the Risks sheet): vectorised draws against whole reruns of
the engine, analytic percentiles, degenerate drivers, and bit-identical results whatever the
block size."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from factories import tiny_plan
from risk_reference import (
    ALL_DRIVERS,
    plan_with_risks,
    reference_point,
    risk_sheets,
)
from scipy import stats

from omplan.core.engine import evaluate
from omplan.core.model import RiskDriver
from omplan.core.risk import (
    CHUNK_DRAWS,
    DrawResults,
    draw_values,
    evaluate_points,
    risk_model,
    run_risk,
    simulate,
    summarise,
    tornado,
)
from omplan.core.summary import plan_figures

FIELDS = ("npv_cost", "total", "npv_savings", "payback_months", "within_band", "recommended")


def one_line_sheets() -> dict[str, list[list[object]]]:
    """One in-house Ops FTE at 10,000 a month, all Monitoring, one year: 30,000 a quarter,
    120,000 a year; no scenario."""
    sheets = tiny_plan()
    sheets["Staffing"] = sheets["Staffing"][:2]
    return sheets


def same_bits(a: DrawResults, b: DrawResults) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS)


# --------------------------------------------------------------------------- analytic cases


def test_a_uniform_rate_factor_on_one_line_has_the_analytic_percentiles():
    """Total = 4 quarters × 1 FTE × 3 months × 10,000 × x = 120,000 x with x ~ U(0.8, 1.2):
    P10 = 120,000 × 0.84 = 100,800, P50 = 120,000, P90 = 120,000 × 1.16 = 139,200, mean
    120,000. NPV of cost = x × 30,000 × Σ_k 1.08^-(k+1)/4.

    Bounds from the sample size n = 10,000 (fixed seed, so the check is deterministic; these
    bounds say how far an honest sample may stray): the DKW inequality P(sup |F_n − F| > ε) ≤
    2·exp(−2nε²) gives ε = 0.02 at a risk of 7e-4, i.e. each percentile's CDF value within
    ±0.02 (±960 on the total); Hoeffding's inequality for the mean of values in a range of
    48,000 gives ±1,000 at a risk of 4e-4."""
    plan = plan_with_risks(one_line_sheets(), [["Rate", "*", 0.8, 1.0, 1.2, "Uniform"]])
    figures = run_risk(plan)
    assert figures is not None and figures.draws == 10_000 and figures.seed == 1
    base = figures.scenarios[0]
    cdf = stats.uniform(loc=0.8, scale=0.4).cdf
    for q, value in ((0.1, base.total.p10), (0.5, base.total.p50), (0.9, base.total.p90)):
        assert abs(cdf(value / 120_000) - q) <= 0.02, (q, value)
        assert abs(value - 120_000 * (0.8 + 0.4 * q)) <= 960
    assert abs(base.total.mean - 120_000) <= 1_000
    annuity = 30_000 * sum(1.08 ** (-(k + 1) / 4) for k in range(4))
    for q, value in ((0.1, base.npv_cost.p10), (0.5, base.npv_cost.p50),
                     (0.9, base.npv_cost.p90)):
        assert abs(cdf(value / annuity) - q) <= 0.02
    # every draw is exactly linear in its factor
    model = risk_model(plan)
    x = draw_values(model.drivers, 1, 0, 50)[0]
    res = evaluate_points(model, x[:, None])
    assert np.allclose(res.total[0], 120_000 * x, rtol=1e-14, atol=0)
    # all Monitoring: 100 % operation, outside the band in every draw, so never recommended
    assert base.p_within_band == 0.0 and base.p_recommended == 0.0


@pytest.mark.parametrize("distribution,low,likely,high,dist", [
    ("PERT", 0.9, 1.0, 1.3, stats.beta(2.0, 4.0, loc=0.9, scale=0.4)),  # α = 1 + 4·0.1/0.4
    ("Triangular", 0.9, 1.0, 1.3, stats.triang(0.25, loc=0.9, scale=0.4)),
])
def test_pert_and_triangular_percentiles_follow_their_distribution(distribution, low, likely,
                                                                  high, dist):
    """PERT(0.9, 1.0, 1.3) = 0.9 + 0.4·Beta(2, 4) (α = 1 + 4·(1.0 − 0.9)/0.4 = 2,
    β = 1 + 4·(1.3 − 1.0)/0.4 = 4); the triangle has its mode a quarter of the way. Total =
    120,000 x: the CDF at each percentile within the DKW bound ε = 0.02 of n = 10,000."""
    plan = plan_with_risks(one_line_sheets(), [["Rate", "*", low, likely, high, distribution]])
    figures = run_risk(plan)
    assert figures is not None
    total = figures.scenarios[0].total
    for q, value in ((0.1, total.p10), (0.5, total.p50), (0.9, total.p90)):
        assert abs(dist.cdf(value / 120_000) - q) <= 0.02, (q, value)
    assert abs(total.mean - 120_000 * dist.mean()) <= 1_000


def test_degenerate_drivers_give_the_deterministic_figures():
    """Low = Likely = High at the plan's own values (factors 1, the one Escalation rate of
    In-house and of other costs, the vendor_overhead setting): every draw is the plan as
    entered, so P10 = P50 = P90 = mean = the deterministic figure (up to the order of
    additions: 1e-12 relative), and the probabilities are 0 or 1 as the plan's own verdicts
    say."""
    rows = [["Rate", "*", 1, 1, 1], ["FTE", "ERP", 1, 1, 1], ["FX", "INR", 1, 1, 1],
            ["Other costs", "*", 1, 1, 1], ["Transition", "*", 1, 1, 1],
            ["Escalation", "In-house", 0.03, 0.03, 0.03],
            ["Escalation", "Other costs", 0.02, 0.02, 0.02],
            ["Vendor overhead", "*", 0.1, 0.1, 0.1]]
    plan = plan_with_risks(risk_sheets(), rows, risk_draws=500)
    figures = run_risk(plan)
    assert figures is not None
    deterministic = plan_figures(plan, [], evaluate(plan))
    assert [s.name for s in figures.scenarios] == [s.name for s in deterministic.scenarios]
    for risk, s in zip(figures.scenarios, deterministic.scenarios, strict=True):
        for stat, value in ((risk.npv_cost, s.npv_cost), (risk.total, s.total)):
            for v in (stat.mean, stat.p10, stat.p50, stat.p90):
                assert v == pytest.approx(value, rel=1e-12, abs=1e-6)
        case = s.business_case
        if case is None:
            assert risk.npv_savings is None and risk.payback_months is None
            continue
        assert risk.npv_savings is not None
        for v in (risk.npv_savings.mean, risk.npv_savings.p10, risk.npv_savings.p90):
            assert v == pytest.approx(case.npv_savings, rel=1e-12, abs=1e-6)
        assert risk.payback_months == (case.payback_months,) * 3
        assert risk.p_savings == (1.0 if case.npv_savings > 0.005 else 0.0)
        within = all(y.band_status == "within" for y in s.years)
        assert risk.p_within_band == (1.0 if within else 0.0)
        assert risk.p_recommended == (1.0 if s.name == deterministic.recommended else 0.0)


def test_a_fixed_rate_factor_scales_the_tiny_plan_by_hand():
    """tiny_plan: Ops 1 FTE × 3 × 10,000 + Dev 1 FTE × 3 × 12,000 = 66,000 a quarter,
    264,000 a year; with every rate × 1.1 fixed: 290,400."""
    plan = plan_with_risks(tiny_plan(), [["Rate", "*", 1.1, 1.1, 1.1]], risk_draws=100)
    figures = run_risk(plan)
    assert figures is not None
    total = figures.scenarios[0].total
    assert (total.p10, total.p50, total.p90) == pytest.approx((290_400,) * 3, rel=1e-14)


# --------------------------------------------------------------------------- against the engine


def _assert_point(res: DrawResults, j: int, ref, rel: float = 1e-12) -> None:
    for s in range(len(ref.npv_cost)):
        assert res.npv_cost[s, j] == pytest.approx(ref.npv_cost[s], rel=rel)
        assert res.total[s, j] == pytest.approx(ref.total[s], rel=rel)
        assert res.npv_savings[s, j] == pytest.approx(ref.npv_savings[s], rel=rel, abs=1e-6)
        assert res.payback_months[s, j] == ref.payback_months[s]
        assert res.within_band[s, j] == ref.within_band[s]
    assert res.recommended[j] == ref.recommended


def test_vectorised_draws_equal_whole_engine_reruns():
    """Six Monte Carlo draws of every driver kind at once, each against the engine run on the
    plan edited to those values (pro-rata roles with and without labour beside them, a split
    contract, escalation with a vendor row, INR rates, a EUR cost, timed scenarios)."""
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS)
    model = risk_model(plan)
    values = draw_values(model.drivers, 3, 0, 6)
    # the plan has both a split contract and pro-rata roles with and without labour beside them
    assert model.nl_fallback.any() and not model.nl_fallback.all()
    assert model.n_split_only + model.n_both > 0
    res = evaluate_points(model, values.T)
    for j in range(values.shape[1]):
        _assert_point(res, j, reference_point(plan, plan.risks, values[:, j]))


def test_the_plan_as_entered_is_the_base_case():
    """All drivers as entered (NaN) reproduce the engine's own figures."""
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS)
    res = evaluate_points(risk_model(plan), np.full((1, len(plan.risks)), np.nan))
    _assert_point(res, 0, reference_point(plan, plan.risks, [math.nan] * len(plan.risks)))


def test_the_tornado_equals_rerunning_the_plan_at_low_and_high():
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS)
    model = risk_model(plan)
    entries, base = tornado(model)
    names = list(model.names)
    n = len(plan.risks)
    assert len(entries) == n * len(names)
    # scenario-major, drivers in sheet order
    assert [(e.scenario, e.driver, e.applies_to) for e in entries] == [
        (s, d.driver, d.applies_to) for s in names for d in plan.risks]
    for i, driver in enumerate(plan.risks):
        for value, side in ((driver.low, "low"), (driver.high, "high")):
            point = [math.nan] * n
            point[i] = value
            ref = reference_point(plan, plan.risks, point)
            for s in range(len(names)):
                entry = entries[s * n + i]
                assert getattr(entry, f"npv_cost_{side}") == pytest.approx(ref.npv_cost[s],
                                                                           rel=1e-12)
                saving = getattr(entry, f"npv_savings_{side}")
                if s == 0:
                    assert saving is None
                else:
                    assert saving == pytest.approx(ref.npv_savings[s], rel=1e-12, abs=1e-6)
    assert base.npv_cost[:, 0] == pytest.approx(
        reference_point(plan, plan.risks, [math.nan] * n).npv_cost, rel=1e-12)


def test_a_scenario_equal_to_baseline_saves_nothing_in_every_draw():
    """"Same" changes nothing: its totals are Baseline's bit for bit in every draw, so its
    NPV of savings is exactly 0, it pays back at once and never counts as a saving."""
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS, risk_draws=2_000)
    model = risk_model(plan)
    s = model.names.index("Same")
    results = simulate(model, 2_000, 11)
    assert np.array_equal(results.total[s], results.total[0])
    assert not results.npv_savings[s].any()
    assert not results.payback_months[s].any()
    figures = summarise(model, results, 11)
    same = figures.scenario("Same")
    assert same.p_savings == 0.0 and same.payback_months == (0, 0, 0)
    assert same.npv_savings is not None and same.npv_savings.p90 == 0.0


# --------------------------------------------------------------------------- reproducibility


def test_block_size_and_task_split_do_not_change_a_bit():
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS)
    model = risk_model(plan)
    draws = 2 * CHUNK_DRAWS + 37
    reference = simulate(model, draws, 5)
    for block, per_task in ((1, 16), (7, 1), (CHUNK_DRAWS, 2), (10 * CHUNK_DRAWS, 16)):
        assert same_bits(simulate(model, draws, 5, block=block, chunks_per_task=per_task),
                         reference), (block, per_task)
    # the first draws of a longer run are the draws of a shorter one
    longer = simulate(model, draws + 500, 5)
    assert np.array_equal(longer.npv_cost[:, :draws], reference.npv_cost)
    # another seed, other draws
    assert not np.array_equal(simulate(model, draws, 6).npv_cost, reference.npv_cost)


def test_drivers_draw_from_their_own_streams():
    """Each driver's values come from its own stream: adding a driver leaves the others'."""
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS[:3])
    more = dataclasses.replace(plan, risks=[*plan.risks, RiskDriver("FTE", "*", 0.9, 1, 1.1)])
    a = draw_values(plan.risks, 9, 100, 300)
    b = draw_values(more.risks, 9, 100, 300)
    assert np.array_equal(a, b[:3])
    assert np.all((b[3] >= 0.9) & (b[3] <= 1.1))


def test_without_risks_there_are_no_risk_figures():
    plan = plan_with_risks(tiny_plan(), [])
    assert run_risk(plan) is None


def test_a_plan_with_errors_has_no_risk_model():
    plan = plan_with_risks(tiny_plan(), [["Rate", "*", 0.9, 1, 1.1]])
    plan.staffing = [dataclasses.replace(x, fte=(0.0,) * 4) for x in plan.staffing]
    with pytest.raises(ValueError, match="Baseline costs nothing"):
        risk_model(plan)


# --------------------------------------------------------------------------- JSON


def test_the_json_block_has_the_contract_shape():
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS[:2] + [["Transition", "*", 0.5, 1, 3]],
                           risk_draws=300, risk_seed=4)
    figures = run_risk(plan)
    assert figures is not None
    block = figures.to_json()
    assert list(block) == ["draws", "seed", "drivers", "scenarios", "tornado"]
    assert (block["draws"], block["seed"]) == (300, 4)
    assert block["drivers"][0] == {"driver": "Rate", "applies_to": "*", "low": 0.95,
                                   "likely": 1.0, "high": 1.1, "distribution": "Uniform",
                                   "location": "Risks!A2"}
    assert block["drivers"][1]["distribution"] == "PERT"
    names = ["Baseline", "Offshore dev", "Insource ops", "Same", "Outsource desk"]
    assert [s["name"] for s in block["scenarios"]] == names
    base, other = block["scenarios"][0], block["scenarios"][1]
    assert list(other) == ["name", "npv_cost", "total", "npv_savings", "payback_months",
                           "p_savings", "p_within_band", "p_recommended"]
    assert list(other["npv_cost"]) == ["mean", "p10", "p50", "p90"]
    assert list(other["payback_months"]) == ["p10", "p50", "p90"]
    assert base["npv_savings"] is None and base["payback_months"] is None
    assert base["p_savings"] is None and isinstance(base["p_within_band"], float)
    assert sum(s["p_recommended"] for s in block["scenarios"]) <= 1.0
    tornado_block = block["tornado"]
    assert len(tornado_block) == 3 * len(names)
    assert tornado_block[0] == {**tornado_block[0], "scenario": "Baseline",
                                "npv_savings_low": None, "npv_savings_high": None}
    assert [t["scenario"] for t in tornado_block[::3]] == names
    assert list(tornado_block[3]) == ["driver", "applies_to", "scenario", "npv_cost_low",
                                      "npv_cost_high", "npv_savings_low", "npv_savings_high"]


def test_lookup_answers_as_a_custom_function_asks():
    plan = plan_with_risks(risk_sheets(), ALL_DRIVERS[:3], risk_draws=300)
    figures = run_risk(plan)
    assert figures is not None
    block = {s["name"]: s for s in figures.to_json()["scenarios"]}
    assert figures.lookup("offshore DEV", "npv_savings", "P90") == \
        block["Offshore dev"]["npv_savings"]["p90"]
    assert figures.lookup("Baseline", "NPV cost", 10) == block["Baseline"]["npv_cost"]["p10"]
    assert figures.lookup("Same", "total", "mean") == block["Same"]["total"]["mean"]
    assert figures.lookup("Insource ops", "p_savings") == block["Insource ops"]["p_savings"]
    assert figures.lookup("Baseline", "npv_savings") is None
    months = block["Offshore dev"]["payback_months"]["p50"]
    assert figures.lookup("Offshore dev", "payback_months") == (
        None if months is None else float(months))
    with pytest.raises(KeyError, match="no scenario 'Nope'"):
        figures.lookup("Nope", "total")
    with pytest.raises(ValueError, match="measure must be one of npv_cost"):
        figures.lookup("Same", "savings")
    with pytest.raises(ValueError, match="percentile must be p10, p50, p90, got .mean."):
        figures.lookup("Same", "payback_months", "mean")
