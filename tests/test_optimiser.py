"""The optimiser: the cheapest mix of the Options within the rules, equal to exhaustive search.

Every small random plan is solved twice: by the optimiser, and by evaluating every mix with the
engine (all of them as scenarios of one plan) and checking every rule on the plan's figures.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from factories import grids, parse, tiny_plan
from optimiser_plans import best_of, exhaustive, random_plan

from omplan.core.business import CENT_TOLERANCE
from omplan.core.engine import evaluate
from omplan.core.model import (
    IN_HOUSE,
    OFFSHORE,
    OUTSOURCE,
    Contract,
    OptionRow,
    Plan,
    Rate,
    Role,
    StaffingLine,
)
from omplan.core.optimiser import (
    Choice,
    line_choices,
    optimise,
    optimise_start,
    paste_rows,
    with_optimised,
)
from omplan.core.summary import plan_figures
from omplan.files.sample import SAMPLE_PLAN
from omplan.files.sample_options import with_optimiser_inputs
from omplan.input.options import read_optimiser_inputs
from omplan.input.reader import parse_plan

SEEDS = range(48)


def _solved(seed: int):
    plan = random_plan(seed)
    return plan, exhaustive(plan), optimise(plan, time_limit=120)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_optimiser_equals_exhaustive_search(seed):
    plan, mixes, result = _solved(seed)
    best = best_of(mixes)
    if best is None:
        assert result.status == "infeasible"
        assert result.infeasible is not None and result.infeasible.constraint
        assert result.npv_cost is None and result.changes == () and result.scenario is None
        return
    assert result.status == "optimal", result.infeasible
    assert result.npv_cost == pytest.approx(best.npv_cost, abs=CENT_TOLERANCE)
    assert len(result.changes) == best.changes
    # the optimiser's own mix meets every rule, checked on the engine's figures
    baseline, _ = line_choices(plan)
    mix = list(baseline)
    for change in result.changes:
        mix[change.line] = change.after
    found = next(m for m in mixes if list(m.choices) == mix)
    assert found.ok, found.broken
    assert found.npv_cost == pytest.approx(result.npv_cost, abs=CENT_TOLERANCE)


#: larger random plans (6–9 lines) whose searches refine the band and cut candidates off
LARGER = (1, 13, 19, 20, 25)


@pytest.mark.parametrize("seed", LARGER)
def test_the_optimiser_equals_exhaustive_search_on_larger_plans(seed):
    plan = random_plan(seed, 2500, (6, 9))
    best = best_of(exhaustive(plan))
    result = optimise(plan, time_limit=120)
    assert result.refinements + result.cuts > 0
    if best is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal", result.infeasible
    assert result.npv_cost == pytest.approx(best.npv_cost, abs=CENT_TOLERANCE)
    assert len(result.changes) == best.changes


def test_the_random_plans_cover_what_makes_the_model_hard():
    """The seeds above meet every feature: pro-rata roles, split contracts, escalation, FX,
    a later optimise_from, and each rule binding or breaking somewhere."""
    seen: set[str] = set()
    for seed in SEEDS:
        plan = random_plan(seed)
        st = plan.settings
        pro = {x.role for x in plan.staffing if plan.allocation[x.role].shares is None}
        if pro:
            seen.add("pro-rata")
        if plan.escalation:
            seen.add("escalation")
        if plan.fx:
            seen.add("fx")
        if optimise_start(plan) > 0:
            seen.add("from")
        for name, on in (("capacity", any(c.max_fte is not None
                                          for c in plan.contracts.values())),
                         ("in-house", st.min_inhouse_share > 0),
                         ("max_changes", st.max_changes is not None),
                         ("budget", st.transition_budget is not None),
                         ("two years", st.horizon_years > 1)):
            if on:
                seen.add(name)
        evaluation = evaluate(plan)
        if evaluation.ledger["component"].eq("coordination").any():
            seen.add("split contract")
    assert seen >= {"pro-rata", "escalation", "fx", "from", "capacity", "in-house",
                    "max_changes", "budget", "two years", "split contract"}
    statuses = {optimise(random_plan(seed)).status for seed in SEEDS[:24]}
    assert statuses == {"optimal", "infeasible"}


def _moved(seed: int) -> list[int]:
    plan = random_plan(seed)
    return [seed] if optimise(plan).changes else []


def test_optimal_mixes_with_changes_are_among_the_seeds():
    assert sum(len(_moved(seed)) for seed in SEEDS[:24]) >= 5


@pytest.mark.parametrize("seed", [s for s in range(30)])
def test_relaxing_a_rule_never_raises_the_optimum(seed):
    plan = random_plan(seed)
    result = optimise(plan)
    st = plan.settings
    relaxations = {
        "band": dict(band_low=max(0.0, st.band_low - 0.05), band_high=min(1.0,
                                                                          st.band_high + 0.05)),
        "max_changes": dict(max_changes=None if st.max_changes is None else st.max_changes + 1),
        "transition_budget": dict(transition_budget=None),
        "min_inhouse_share": dict(min_inhouse_share=st.min_inhouse_share / 2),
    }
    for what, change in relaxations.items():
        looser = dataclasses.replace(plan, settings=dataclasses.replace(st, **change))
        relaxed = optimise(looser)
        if result.status == "optimal":
            assert relaxed.status == "optimal", what
            assert relaxed.npv_cost <= result.npv_cost + CENT_TOLERANCE, what
    bigger = {k: dataclasses.replace(c, max_fte=None) for k, c in plan.contracts.items()}
    relaxed = optimise(dataclasses.replace(plan, contracts=bigger))
    if result.status == "optimal":
        assert relaxed.npv_cost <= result.npv_cost + CENT_TOLERANCE


def _tiny(**settings) -> Plan:
    plan, findings = parse(tiny_plan())
    assert plan is not None, findings
    return dataclasses.replace(plan, settings=dataclasses.replace(plan.settings, **settings))


def test_an_option_that_is_never_cheaper_changes_nothing():
    # Ops may go to Outsource at 12,000 a month instead of 10,000 in-house: never cheaper
    plan = _tiny(band_low=0.0, band_high=1.0)
    plan.options = [OptionRow("Ops", "*", OUTSOURCE, "Acme")]
    result = optimise(plan)
    assert result.status == "optimal" and result.changes == ()
    assert result.npv_cost == pytest.approx(result.baseline_npv_cost, abs=1e-6)
    assert result.npv_savings == pytest.approx(0.0, abs=1e-6)
    # and the optimised scenario is the Baseline under another name
    full = with_optimised(plan, result)
    figures = plan_figures(full, [], evaluate(full))
    assert [s.name for s in figures.scenarios] == ["Baseline", "Optimised"]
    assert figures.scenarios[1].total == pytest.approx(figures.scenarios[0].total)


def test_a_cheaper_option_moves_the_line_with_its_transition():
    # Dev offshore at 6,000 instead of 12,000: 36,000 saved a quarter, 12,000 once to move
    plan = _tiny(band_low=0.0, band_high=1.0)
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "")]
    result = optimise(plan)
    assert result.status == "optimal"
    [change] = result.changes
    assert (change.location, change.before, change.after) == (
        "Staffing!A3", Choice(IN_HOUSE, ""), Choice(OFFSHORE, "Offshore vendor"))
    full = with_optimised(plan, result)
    figures = plan_figures(full, [], evaluate(full))
    optimised = figures.scenarios[-1]
    assert optimised.components["transition"] == pytest.approx(2 * 6000)
    # labour 30,000 + 18,000 a quarter, vendor management 10 % of the offshore labour, and
    # a split contract (operation in-house and offshore, maintenance offshore): 5 % of the
    # offshore labour and vendor management
    assert optimised.total == pytest.approx(4 * (30000 + 18000 + 1800 + 990) + 12000)
    assert optimised.npv_cost == pytest.approx(result.npv_cost)


def test_an_option_priced_in_a_currency_without_a_rate_is_no_choice():
    plan = _tiny(band_low=0.0, band_high=1.0)
    plan.rates = {**plan.rates, ("Dev", OFFSHORE): Rate("Dev", OFFSHORE, 500000, "", "INR")}
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "")]  # the FX sheet has no INR rate
    assert line_choices(plan)[1][1] == [Choice(IN_HOUSE, ""), Choice(OFFSHORE,
                                                                     "Offshore vendor")]
    result = optimise(plan)
    assert result.status == "optimal" and result.changes == ()


def test_a_timed_start_moves_the_line_from_that_quarter():
    plan = _tiny(band_low=0.0, band_high=1.0, optimise_from="Q3")
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "")]
    result = optimise(plan)
    assert result.start == 2
    full = with_optimised(plan, result)
    figures = plan_figures(full, [], evaluate(full))
    quarters = figures.scenarios[-1].quarters
    assert [q.total for q in quarters[:2]] == [66000, 66000]  # as entered
    assert quarters[2].total == pytest.approx(30000 + 18000 + 1800 + 990 + 12000)  # moved
    assert quarters[3].total == pytest.approx(30000 + 18000 + 1800 + 990)


def test_the_band_keeps_a_cheaper_move_out():
    # as entered 48,000 of 66,000 a quarter is operation (72.7 %); Dev offshore halves its
    # cost and pushes the share past 75 %
    plan = _tiny(band_low=0.60, band_high=0.75)
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "")]
    result = optimise(plan)
    assert result.changes == ()
    assert result.binding == ("band FY2027 high",)


# --------------------------------------------------------------------------- infeasible


def _pmo_plan(**settings) -> Plan:
    """Ops in-house; a PMO Lead outsourced to Acme who has an In-house option: the PMO rule
    makes that move compulsory."""
    plan = _tiny(band_low=0.0, band_high=1.0, **settings)
    plan.roles = {**plan.roles, "Lead": Role("Lead", "PMO")}
    plan.rates = {**plan.rates, ("Lead", IN_HOUSE): Rate("Lead", IN_HOUSE, 15000),
                  ("Lead", OUTSOURCE): Rate("Lead", OUTSOURCE, 18000)}
    plan.allocation = {**plan.allocation, "Lead": dataclasses.replace(
        plan.allocation["Ops"], role="Lead")}
    plan.staffing = [*plan.staffing, StaffingLine("ERP", "Lead", OUTSOURCE, "Acme",
                                                  (1.0,) * 4, 4, "Staffing!A4")]
    plan.options = [OptionRow("*", "*", IN_HOUSE, "")]
    return plan


def test_an_external_pmo_line_must_come_in_house():
    result = optimise(_pmo_plan())
    [change] = result.changes
    assert change.role == "Lead" and change.after == Choice(IN_HOUSE, "")


@pytest.mark.parametrize(("settings", "rule", "needed"), [
    (dict(max_changes=0), "max_changes", 1.0),
    (dict(transition_budget=10000.0), "transition_budget", 2 * 15000.0),
])
def test_a_limit_that_cannot_be_met_is_named_with_what_a_mix_needs(settings, rule, needed):
    result = optimise(_pmo_plan(**settings))
    assert result.status == "infeasible"
    assert result.infeasible is not None
    assert result.infeasible.constraint == rule
    assert result.infeasible.needed == pytest.approx(needed)
    block = result.to_json()
    assert block["npv_cost"] is None and block["changes"] == [] and block["gap"] is None


def test_a_vendor_without_capacity_is_named_with_the_fte_needed():
    plan = _tiny(band_low=0.0, band_high=1.0)
    plan.staffing = [dataclasses.replace(plan.staffing[0], sourcing=OUTSOURCE, vendor="Acme",
                                         fte=(2.0,) * 4), plan.staffing[1]]
    plan.contracts = {"acme": Contract("Acme", 4, 10, "Contracts!A2", max_fte=1.5)}
    plan.options = [OptionRow("Dev", "*", OUTSOURCE, "Acme")]  # Ops has nowhere else to go
    plan.rates = {**plan.rates, ("Dev", OUTSOURCE): Rate("Dev", OUTSOURCE, 13000)}
    result = optimise(plan)
    assert result.status == "infeasible"
    assert result.infeasible.constraint == "capacity Acme"
    assert result.infeasible.needed == pytest.approx(2.0)


def test_a_band_no_mix_reaches_is_named_with_the_nearest_share():
    plan = _tiny(band_low=0.9, band_high=0.95)
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "")]
    result = optimise(plan)
    assert result.status == "infeasible"
    why = result.infeasible
    assert why.constraint == "band FY2027 low"
    # the highest share is that of Dev offshore, as a hand-made scenario gives it
    from omplan.core.model import ScenarioChange

    by_hand = dataclasses.replace(plan, scenario_changes=[
        ScenarioChange("Dev offshore", "Dev", "ERP", "sourcing", OFFSHORE)])
    figures = plan_figures(by_hand, [], evaluate(by_hand))
    assert why.needed == pytest.approx(figures.scenarios[1].operation_share)
    assert why.needed > figures.scenarios[0].operation_share
    assert "FY2027" in why.message


def test_an_in_house_share_no_mix_keeps_is_named():
    plan = _tiny(band_low=0.0, band_high=1.0, min_inhouse_share=0.9)
    plan.staffing = [dataclasses.replace(plan.staffing[0], sourcing=OUTSOURCE, vendor="Acme"),
                     plan.staffing[1]]
    plan.options = [OptionRow("Dev", "*", OFFSHORE, "")]
    result = optimise(plan)
    assert result.status == "infeasible"
    assert result.infeasible.constraint == "min_inhouse_share ERP"
    assert result.infeasible.needed == pytest.approx(0.5)


# --------------------------------------------------------------------------- the scenario


def test_one_line_of_several_with_the_same_role_and_system_moves_alone():
    plan = _tiny(band_low=0.0, band_high=1.0)
    second = dataclasses.replace(plan.staffing[1], sourcing=OFFSHORE, vendor="Krakow",
                                 location="Staffing!A4", row=4)
    plan.staffing = [*plan.staffing, second]
    plan.options = [OptionRow("Dev", "*", OFFSHORE, "Bangalore")]
    plan.rates = {**plan.rates, ("Dev", OFFSHORE): Rate("Dev", OFFSHORE, 6000)}
    plan.escalation = []
    result = optimise(plan)
    # the in-house Dev moves (cheaper); the offshore one would only pay a transition
    assert [c.location for c in result.changes] == ["Staffing!A3"]
    full = with_optimised(plan, result)
    evaluation = evaluate(full)
    lines = evaluation.arrays.lines
    n = len(plan.staffing)
    names = lines.vendor_names
    vendors = [names[v] for v in lines.vendor[n:2 * n, 0]]
    assert vendors == ["", "Bangalore", "Krakow"]
    rows = paste_rows(plan, result)
    assert rows == [["Optimised", "Dev", "ERP", "sourcing", OFFSHORE, None, "Staffing!A3"],
                    ["Optimised", "Dev", "ERP", "vendor", "Bangalore", None, "Staffing!A3"]]


def test_the_json_block_has_the_contract_keys():
    plan = _tiny(band_low=0.0, band_high=1.0)
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "Bangalore")]
    block = json.loads(json.dumps(optimise(plan).to_json()))
    assert list(block) == ["status", "scenario", "npv_cost", "npv_savings", "gap",
                           "candidates_checked", "changes", "binding", "infeasible"]
    assert block["status"] == "optimal" and block["scenario"] == "Optimised"
    assert block["gap"] == 0.0 and block["candidates_checked"] >= 1
    assert block["changes"] == [{"location": "Staffing!A3", "system": "ERP", "role": "Dev",
                                 "from": {"sourcing": "In-house", "vendor": None},
                                 "to": {"sourcing": "Offshore", "vendor": "Bangalore"}}]
    assert block["infeasible"] is None


def test_no_time_to_search_is_said_as_such():
    plan = _tiny(band_low=0.0, band_high=1.0)
    plan.options = [OptionRow("Dev", "ERP", OFFSHORE, "")]
    result = optimise(plan, time_limit=0)
    assert result.status == "infeasible" and result.infeasible.constraint == "time"
    assert "optimise_seconds" in result.infeasible.message


def test_no_stray_output_on_the_terminal(capfd):
    plan = random_plan(22)
    capfd.readouterr()
    optimise(plan)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# --------------------------------------------------------------------------- the sample


def sample_with_options() -> Plan:
    sheets = grids(with_optimiser_inputs(SAMPLE_PLAN))
    plan, findings = parse_plan(sheets, "sample.xlsx")
    assert plan is not None, findings
    plan, findings = read_optimiser_inputs(sheets, plan)
    assert findings == []
    return plan


def test_the_sample_moves_l3_offshore_up_to_the_centres_capacity():
    plan = sample_with_options()
    result = optimise(plan)
    assert result.status == "optimal" and result.gap == 0.0
    assert {c.after for c in result.changes} == {Choice(OFFSHORE, "Bangalore Dev Center")}
    assert {c.role for c in result.changes} <= {"App maintenance engineer",
                                               "Senior developer"}
    assert result.binding == ("capacity Bangalore Dev Center",)
    full = with_optimised(plan, result)
    figures = plan_figures(full, [], evaluate(full))
    optimised = figures.scenarios[-1]
    assert optimised.name == "Optimised" and figures.recommended == "Optimised"
    assert optimised.npv_cost == pytest.approx(result.npv_cost, abs=CENT_TOLERANCE)
    assert optimised.business_case.npv_savings == pytest.approx(result.npv_savings,
                                                                abs=CENT_TOLERANCE)
    assert all(y.band_status == "within" for y in optimised.years)
    assert optimised.components["transition"] <= 100000
    # every rule checked on the optimised mix, with its slack
    checks = {c.name: c for c in result.constraints}
    assert checks["capacity Bangalore Dev Center"].slack == pytest.approx(0.0, abs=1e-9)
    assert all(c.slack >= -1e-9 for c in result.constraints)
    # it is at least as cheap as every hand-made scenario within the rules
    for sc in figures.scenarios[1:-1]:
        if all(y.band_status == "within" for y in sc.years):
            assert result.npv_cost <= sc.npv_cost


def test_paste_rows_evaluate_to_the_optimised_mix():
    """The rows the Optimiser sheet lists, read as Scenarios rows (Staffing row = that line
    alone), give the same scenario as the optimiser's own rows."""
    plan = sample_with_options()
    result = optimise(plan)
    from omplan.core.model import ScenarioChange

    start = result.start
    index = {x.location: i for i, x in enumerate(plan.staffing)}
    pasted = [ScenarioChange("Pasted", role, system, change, value, "", start,
                             index[where] if where else None)
              for _, role, system, change, value, _, where in paste_rows(plan, result)]
    full = dataclasses.replace(with_optimised(plan, result),
                               scenario_changes=[*plan.scenario_changes,
                                                 *result.scenario_changes, *pasted])
    figures = plan_figures(full, [], evaluate(full))
    by_name = {s.name: s for s in figures.scenarios}
    assert by_name["Pasted"].npv_cost == pytest.approx(by_name["Optimised"].npv_cost)
    assert np.allclose([q.total for q in by_name["Pasted"].quarters],
                       [q.total for q in by_name["Optimised"].quarters])
