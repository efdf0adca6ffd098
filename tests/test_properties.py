"""Property tests over generated plans (hypothesis), and the one-year golden files."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from factories import ACTS, parse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omplan.core.business import labour_bridge, line_arrays
from omplan.core.engine import evaluate
from omplan.core.model import ESCALATION_TARGETS, Escalation, FxRate, Plan
from omplan.core.summary import summary_json

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"

ROLES = [("Desk", "L1"), ("Ops", "L2"), ("Dev", "L3"), ("Owner", "PMO"), ("Lead", "PMO")]
SOURCING = ["In-house", "Outsource", "Offshore"]
SYSTEMS = ["ERP", "CRM", "Web"]

fte = st.sampled_from([0, 0.5, 1, 1.5, 2, 3])
share_rows = st.lists(st.integers(0, 4), min_size=8, max_size=8).filter(lambda v: sum(v) > 0)


@st.composite
def plans(draw, with_costs=True):
    """A valid random plan: all rates present, 'Lead' pro rata, Desk/Ops/Dev/Owner with shares."""
    rates = [["Role", "Sourcing", "Monthly cost"]]
    for role, _ in ROLES:
        for sourcing in SOURCING:
            rates.append([role, sourcing, draw(st.integers(1_000, 20_000))])
    allocation = [["Role", *ACTS]]
    for role, _ in ROLES[:-1]:
        weights = draw(share_rows)
        allocation.append([role, *[w / sum(weights) if w else None for w in weights]])
    allocation.append(["Lead"])
    staffing = [["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"]]
    for system in SYSTEMS:
        # a direct role staffed in every quarter, so pro-rata always has a mix
        staffing.append([system, "Ops", "In-house", None, 1, 1, 1, 1])
    for _ in range(draw(st.integers(0, 10))):
        role = draw(st.sampled_from([r for r, _ in ROLES]))
        sourcing = draw(st.sampled_from(SOURCING))
        vendor = draw(st.sampled_from([None, "Acme", "Beta"]))
        staffing.append([draw(st.sampled_from(SYSTEMS)), role, sourcing, vendor,
                         *[draw(fte) for _ in range(4)]])
    scenarios = [["Scenario", "Role", "System", "Change", "Value"]]
    for name in draw(st.lists(st.sampled_from(["S1", "S2", "S3"]), max_size=3, unique=True)):
        for _ in range(draw(st.integers(1, 3))):
            change = draw(st.sampled_from(["sourcing", "vendor", "fte_factor", "rate_factor"]))
            value = {"sourcing": st.sampled_from(SOURCING),
                     "vendor": st.sampled_from(["Acme", "Gamma"]),
                     "fte_factor": st.sampled_from([0, 0.5, 1.25]),
                     "rate_factor": st.sampled_from([0.8, 1.1])}[change]
            scenarios.append([name, draw(st.sampled_from(["*", "Dev", "Ops", "Owner"])),
                              draw(st.sampled_from(["*", *SYSTEMS])), change, draw(value)])
    sheets = {
        "Settings": [["Setting", "Value"], ["fiscal_year", 2027]],
        "Roles": [["Role", "Level"], *map(list, ROLES)],
        "Rates": rates, "Allocation": allocation, "Staffing": staffing, "Scenarios": scenarios,
    }
    if with_costs:
        sheets["Costs"] = [["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"]] + [
            [draw(st.sampled_from(SYSTEMS)), "tool", draw(st.sampled_from(ACTS)),
             *[draw(st.integers(0, 5_000)) for _ in range(4)]]
            for _ in range(draw(st.integers(0, 3)))]
    return sheets


def summarise(sheets):
    plan, findings = parse(sheets)
    assert plan is not None, findings
    ev = evaluate(plan)
    # a scenario may leave a pro-rata role nothing to split by: a correct error, not a case here
    assert all(f.code == "pro-rata-impossible" for f in ev.errors), ev.errors
    assume(ev.ok)
    return summary_json(plan, findings, ev)


def figures(summary):
    """Every money figure and share of a summary, findings left out."""
    return [{k: v for k, v in s.items() if k != "findings"} for s in summary["scenarios"]]


PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@PROPERTY
@given(plans())
def test_components_add_up_and_shares_are_fractions(sheets):
    for s in summarise(sheets)["scenarios"]:
        assert sum(s["components"].values()) == pytest.approx(s["total"], rel=1e-9)
        assert sum(s["by_activity"].values()) == pytest.approx(s["total"], rel=1e-9)
        assert s["operation"] + s["maintenance"] == pytest.approx(s["total"], rel=1e-9)
        assert sum(q["total"] for q in s["quarters"]) == pytest.approx(s["total"], rel=1e-9)
        assert sum(s["billing"].values()) == pytest.approx(
            s["by_sourcing"]["Outsource"] + s["by_sourcing"]["Offshore"], rel=1e-9, abs=1e-6)
        for share in [s["operation_share"], *(q["operation_share"] for q in s["quarters"])]:
            assert share is None or 0 <= share <= 1


@PROPERTY
@given(plans(with_costs=False))
def test_doubling_every_rate_doubles_money_and_keeps_shares(sheets):
    doubled = copy.deepcopy(sheets)
    for row in doubled["Rates"][1:]:
        row[2] *= 2
    once, twice = summarise(sheets), summarise(doubled)
    for a, b in zip(once["scenarios"], twice["scenarios"], strict=True):
        assert b["total"] == pytest.approx(2 * a["total"], rel=1e-9)
        for key in a["components"]:
            assert b["components"][key] == pytest.approx(2 * a["components"][key], rel=1e-9)
        if a["operation_share"] is not None:
            assert b["operation_share"] == pytest.approx(a["operation_share"], rel=1e-9)
        assert b["band_status"] == a["band_status"]


@PROPERTY
@given(plans())
def test_fte_factor_zero_removes_labour(sheets):
    sheets["Scenarios"].append(["Nobody", "*", "*", "fte_factor", 0])
    nobody = next(s for s in summarise(sheets)["scenarios"] if s["name"] == "Nobody")
    assert nobody["components"]["labour"] == 0
    assert nobody["components"]["vendor_management"] == 0
    assert nobody["components"]["coordination"] == 0
    assert nobody["components"]["transition"] == 0
    assert nobody["total"] == nobody["components"]["other"]


@PROPERTY
@given(plans(), st.randoms(use_true_random=False))
def test_order_of_staffing_rows_does_not_change_results(sheets, rnd):
    shuffled = copy.deepcopy(sheets)
    body = shuffled["Staffing"][1:]
    rnd.shuffle(body)
    shuffled["Staffing"][1:] = body
    a, b = figures(summarise(sheets)), figures(summarise(shuffled))
    assert [s["name"] for s in a] == [s["name"] for s in b]
    for sa, sb in zip(a, b, strict=True):
        assert _close(sa, sb)


def _close(a, b) -> bool:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9)
        return True
    assert a == b
    return True


# --- over a multi-year horizon -------------------------------------------------------------

@st.composite
def horizon_plans(draw, with_costs=True, pro_rata=True):
    """A plan of :func:`plans` over 1–3 fiscal years, with escalation (some of it for vendor
    Acme) and every Scenarios row applying from a random quarter."""
    sheets = draw(plans(with_costs=with_costs))
    if not pro_rata:  # no line of the pro-rata role 'Lead'
        sheets["Staffing"] = [r for r in sheets["Staffing"] if r[1] != "Lead"]
    plan, findings = parse(sheets)
    assert plan is not None, findings
    years = draw(st.integers(1, 3))
    plan.settings = replace(plan.settings, horizon_years=years)
    plan.scenario_changes = [replace(c, start=draw(st.integers(0, 4 * years - 1)))
                             for c in plan.scenario_changes]
    rate = st.sampled_from([0.0, 0.025, 0.05, -0.02])
    plan.escalation = [Escalation(target, "", draw(rate)) for target in ESCALATION_TARGETS]
    plan.escalation.append(Escalation("Outsource", "Acme", draw(rate)))
    return plan


def evaluated(plan: Plan):
    ev = evaluate(plan)
    assert all(f.code == "pro-rata-impossible" for f in ev.errors), ev.errors
    assume(ev.ok)
    return ev


@PROPERTY
@given(horizon_plans())
def test_bridge_adds_up_to_the_difference_of_totals(plan):
    """The six parts add up to scenario − Baseline; the rate part, which closes the labour
    difference of the ledger, is also the line formula Σ FTE_b × 3 × (rate_s − rate_b) over
    the quarters where both lines are staffed, at the escalated per-quarter rates."""
    evaluation = evaluated(plan)
    summary = summary_json(plan, [], evaluation)
    base = summary["scenarios"][0]
    lines = line_arrays(evaluation)
    for k, s in enumerate(summary["scenarios"][1:], start=1):
        bridge = s["business_case"]["bridge"]
        assert sum(bridge.values()) == pytest.approx(s["total"] - base["total"], rel=1e-9,
                                                     abs=1e-6)
        assert bridge["fte"] + bridge["rate"] == pytest.approx(
            s["components"]["labour"] - base["components"]["labour"], rel=1e-9, abs=1e-6)
        volume, price = labour_bridge(*lines.of(0), *lines.of(k))
        assert bridge["fte"] == volume
        assert bridge["rate"] == pytest.approx(price, rel=1e-9, abs=1e-6)


@PROPERTY
@given(horizon_plans())
def test_quarters_and_years_add_up_to_the_horizon(plan):
    summary = summary_json(plan, [], evaluated(plan))
    years = plan.settings.horizon_years
    for s in summary["scenarios"]:
        assert len(s["quarters"]) == 4 * years and len(s["years"]) == years
        assert sum(q["total"] for q in s["quarters"]) == pytest.approx(s["total"], rel=1e-9)
        assert sum(y["total"] for y in s["years"]) == pytest.approx(s["total"], rel=1e-9)
        for key, value in s["components"].items():
            assert sum(y["components"][key] for y in s["years"]) == pytest.approx(
                value, rel=1e-9, abs=1e-6)
        assert sum(s["by_activity"].values()) == pytest.approx(s["total"], rel=1e-9)


@PROPERTY
@given(horizon_plans(pro_rata=False), st.data())
def test_doubling_the_fx_rates_of_a_currency_doubles_exactly_its_amounts(plan, data):
    """Some Rates rows and Costs rows in INR (FX per year, an all-years row for the rest):
    doubling every INR rate doubles exactly the ledger rows of lines priced in INR and the
    INR costs, and leaves every other row as it was. (Coordination is a share of a system's
    external labour in every currency, and a pro-rata role follows the other roles' mix, so
    neither is part of this property: the plans have no pro-rata lines, and coordination
    rows are not compared.)"""
    inr = {key for key in plan.rates if data.draw(st.booleans())}
    for key in inr:
        plan.rates[key] = replace(plan.rates[key], currency="INR")
    inr_costs = [data.draw(st.booleans()) for _ in plan.costs]
    plan.costs = [replace(c, currency="INR") if foreign else c
                  for c, foreign in zip(plan.costs, inr_costs, strict=True)]
    fx = st.sampled_from([0.011, 0.0123, 0.013])
    plan.fx = [FxRate("INR", 2027, data.draw(fx)), FxRate("INR", None, data.draw(fx))]
    once = evaluated(plan)
    plan.fx = [replace(r, rate=2 * r.rate) for r in plan.fx]
    twice = evaluated(plan)
    a, b = once.ledger, twice.ledger
    keys = [c for c in a.columns if c not in ("amount", "fte")]
    assert len(a) == len(b) and all((a[c] == b[c]).all() for c in keys)
    in_inr = np.array([(str(r), str(s)) in inr for r, s in zip(a["role"], a["sourcing"],
                                                              strict=True)], dtype=bool)
    keyed = (a["component"] != "coordination").to_numpy() & (a["role"] != "").to_numpy()
    amount_a, amount_b = a["amount"].to_numpy(), b["amount"].to_numpy()
    assert (amount_b[keyed & in_inr] == 2 * amount_a[keyed & in_inr]).all()
    assert (amount_b[keyed & ~in_inr] == amount_a[keyed & ~in_inr]).all()
    assert once.arrays is not None and twice.arrays is not None
    for i, foreign in enumerate(inr_costs):
        expected = 2 * once.arrays.other_costs[i] if foreign else once.arrays.other_costs[i]
        assert (twice.arrays.other_costs[i] == expected).all()
    assert (a["fte"] == b["fte"]).all()


# --- one year, nothing new: the v1 figures exactly ------------------------------------------

def _same_v1_values(golden, new, path="") -> None:
    """Every key of the golden JSON is in the new one with exactly the same value (new keys
    may be added; lists keep their length)."""
    if isinstance(golden, dict):
        assert isinstance(new, dict), path
        for key, value in golden.items():
            assert key in new, f"{path}/{key} is missing"
            _same_v1_values(value, new[key], f"{path}/{key}")
    elif isinstance(golden, list):
        assert isinstance(new, list) and len(new) == len(golden), path
        for i, (g, n) in enumerate(zip(golden, new, strict=True)):
            _same_v1_values(g, n, f"{path}[{i}]")
    else:
        assert new == golden, f"{path}: {new!r} != {golden!r}"


def _golden(name: str):
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def test_a_generated_one_year_plan_gives_the_v1_figures_exactly():
    """tests/plan_generator.py 500 lines x 6 scenarios, seed 7 (tests/golden/README.md)."""
    from plan_generator import make_plan

    plan, findings = parse(make_plan(500, 6, seed=7))
    assert plan is not None and plan.settings.horizon_years == 1
    summary = summary_json(plan, findings, evaluate(plan), "generated.xlsx")
    _same_v1_values(_golden("generated_500x6_seed7_v1.json"), json.loads(json.dumps(summary)))


def test_the_one_year_sample_gives_the_v1_figures_exactly(one_year_sample):
    """The golden file was written from the one-year workbooks/sample_plan.xlsx, before the
    shipped sample spanned three years. The plan is built from the frozen copy of that data,
    omplan.files.sample.SAMPLE_PLAN_ONE_YEAR (equal to SAMPLE_PLAN as of commit ca066a6: one
    year, no Escalation, FX, Currency or From), rather than regenerating the golden file."""
    from omplan.files.run import run_plan

    run = run_plan(one_year_sample)
    assert run.ok and run.plan is not None and run.plan.settings.horizon_years == 1
    assert not run.plan.escalation and not run.plan.fx
    _same_v1_values(_golden("sample_plan_v1.json"), json.loads(json.dumps(run.summary())))
