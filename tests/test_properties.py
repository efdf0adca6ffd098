"""Property tests over generated plans (hypothesis)."""

from __future__ import annotations

import copy

import pytest
from factories import ACTS, parse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omplan.core.engine import evaluate
from omplan.core.summary import summary_json

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
