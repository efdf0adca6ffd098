"""The engine's steps against figures derived without it: a plan computed by hand, and a plain
loop-per-line reading of spec §3 over a generated plan; ``totals`` against the ledger; the
component table as the one place a component is declared; one check per advisory code."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from factories import parse, tiny_plan, with_rows
from plan_generator import make_plan

from omplan.apps.cli import sample_plan_path
from omplan.core import advisories
from omplan.core.business import bridge_parts
from omplan.core.engine import build_ledger, compute_arrays, evaluate, totals
from omplan.core.ledger import kind_totals
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    BRIDGE_KEYS,
    BRIDGE_LABELS,
    COMPONENT_TABLE,
    COMPONENTS,
    IN_HOUSE,
    OPERATION_ACTIVITIES,
    Plan,
    resolve_vendor,
)
from omplan.files.run import run_plan

SCEN_HEAD = ["Scenario", "Role", "System", "Change", "Value"]


@pytest.fixture(scope="module")
def plans():
    # a pro-rata role alone on a system of its own: split by the plan-wide mix (§3.4)
    sheets = with_rows(make_plan(150, 4, seed=11), "Staffing",
                       ["Lonely system", "Team lead", "In-house", None, 1, 1, 2, 2])
    generated, findings = parse(sheets)
    assert generated is not None, findings
    return {"sample": run_plan(sample_plan_path()).plan, "generated": generated}


# --------------------------------------------------------------------------- by hand


def split_plan() -> Plan:
    """``tiny_plan`` (Ops in-house 1 FTE at 10,000, 100 % Monitoring; Dev in-house 1 FTE at
    12,000, 50 % Incident response / 50 % Corrective) plus Ops outsourced to Acme, 2 FTE at
    12,000, and a scenario moving Dev offshore (6,000)."""
    sheets = with_rows(tiny_plan(), "Staffing", ["ERP", "Ops", "Outsource", "Acme", 2, 2, 2, 2])
    sheets = with_rows(sheets, "Scenarios", ["Offshore dev", "Dev", "*", "sourcing", "Offshore"],
                       header=SCEN_HEAD)
    plan, findings = parse(sheets)
    assert plan is not None and not [f for f in findings if f.severity == "error"], findings
    return plan


def test_arrays_and_ledger_of_a_plan_computed_by_hand():
    arrays = compute_arrays(split_plan())
    assert arrays.errors == []
    # per (scenario, role, sourcing): labour, vendor management, transition of each quarter
    got: dict[tuple[str, str, str, str], list[float]] = defaultdict(lambda: [0.0] * 4)
    for c in ("labour", "vendor_management", "transition"):
        for i, amount in enumerate(arrays.amount(c)):
            key = (arrays.names[arrays.scenario[i]], arrays.roles[arrays.role[i]],
                   ("In-house", "Outsource", "Offshore")[arrays.sourcing[i]], c)
            got[key][arrays.quarter[i]] += float(amount)
    # L = FTE × 3 × rate; V = 10 % of external L; T = 2 months × 6,000 × 1 FTE, once, in Q1
    expected = {
        ("Baseline", "Ops", "In-house", "labour"): [30_000.0] * 4,
        ("Baseline", "Dev", "In-house", "labour"): [36_000.0] * 4,
        ("Baseline", "Ops", "Outsource", "labour"): [72_000.0] * 4,
        ("Baseline", "Ops", "Outsource", "vendor_management"): [7_200.0] * 4,
        ("Offshore dev", "Ops", "In-house", "labour"): [30_000.0] * 4,
        ("Offshore dev", "Dev", "Offshore", "labour"): [18_000.0] * 4,
        ("Offshore dev", "Dev", "Offshore", "vendor_management"): [1_800.0] * 4,
        ("Offshore dev", "Dev", "Offshore", "transition"): [12_000.0, 0.0, 0.0, 0.0],
        ("Offshore dev", "Ops", "Outsource", "labour"): [72_000.0] * 4,
        ("Offshore dev", "Ops", "Outsource", "vendor_management"): [7_200.0] * 4,
    }
    flat = {(*k, q): v for k, values in got.items() for q, v in enumerate(values) if v}
    assert flat == pytest.approx({(*k, q): v for k, values in expected.items()
                                  for q, v in enumerate(values) if v})

    # §3.6 both scenarios split ERP (Acme operates, in-house / offshore maintains): 5 % of
    # the external L + V, split by the system's L + V mix
    ledger = build_ledger(arrays)
    coord = ledger[ledger["component"] == "coordination"]
    by = coord.groupby(["scenario", "activity"], observed=True)["amount"].sum()
    base_lv = {"Monitoring": 30_000 + 79_200, "Incident response": 18_000, "Corrective": 18_000}
    scen_lv = {"Monitoring": 30_000 + 79_200, "Incident response": 9_900, "Corrective": 9_900}
    for name, lv, external in (("Baseline", base_lv, 79_200), ("Offshore dev", scen_lv, 99_000)):
        whole = sum(lv.values())
        for activity, amount in lv.items():
            assert by[(name, activity)] == pytest.approx(4 * 0.05 * external * amount / whole)
    # the ledger's total per scenario: every component of the hand figures above
    year = kind_totals(ledger, "scenario")["total"]
    assert year["Baseline"] == pytest.approx(4 * (30_000 + 36_000 + 79_200 + 0.05 * 79_200))
    assert year["Offshore dev"] == pytest.approx(
        4 * (30_000 + 19_800 + 79_200 + 0.05 * 99_000) + 12_000)
    # the labour rows carry their FTE, split like the amount
    labour = ledger[ledger["component"] == "labour"]
    assert labour.groupby("scenario", observed=True)["fte"].sum().tolist() == \
        pytest.approx([16.0, 16.0])
    assert (ledger.loc[ledger["component"] != "labour", "fte"] == 0).all()
    found = advisories.advise(arrays, ledger)
    assert [f.code for f in found["Baseline"]].count("split-contract") == 1
    assert [f.code for f in found["Offshore dev"]].count("split-contract") == 1


# --------------------------------------------------------------------------- by the spec


def reference_ledger(plan: Plan) -> dict[tuple[str, str, int, str, str], float]:
    """Spec §3 (one fiscal year, no escalation, FX or timed rows) one line and quarter at a
    time: {(scenario, system, quarter, activity, component): amount}."""
    st = plan.settings
    shares = {r: a.shares for r, a in plan.allocation.items()}
    out: dict[tuple[str, str, int, str, str], float] = defaultdict(float)
    base_state = [(x.sourcing, resolve_vendor(x.sourcing, x.vendor)) for x in plan.staffing]
    for name in plan.scenario_names:
        lines = []  # (system, role, sourcing, vendor, fte per quarter, rate factor, baseline i)
        for i, x in enumerate(plan.staffing):
            sourcing, cell, fte, factor = x.sourcing, x.vendor, list(x.fte), 1.0
            for c in plan.scenario_changes:
                if c.scenario != name or c.role not in ("*", x.role) or \
                        c.system not in ("*", x.system):
                    continue
                if c.change == "sourcing":
                    sourcing = str(c.value)
                elif c.change == "vendor":
                    cell = str(c.value)
                elif c.change == "fte_factor":
                    fte = [f * float(c.value) for f in fte]
                else:
                    factor *= float(c.value)
            lines.append((x.system, x.role, sourcing, resolve_vendor(sourcing, cell), fte,
                          factor, i))
        for q in range(4):
            labour: list[float] = []
            mix_sys: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
            mix_plan: dict[str, float] = defaultdict(float)
            for system, role, sourcing, _, fte, factor, _ in lines:
                rate = plan.rates[(role, sourcing)].monthly_cost * factor \
                    if fte[q] > 0 else 0.0
                amount = fte[q] * 3 * rate
                labour.append(amount)
                if shares[role] is not None:
                    for a, s in shares[role].items():
                        mix_sys[system][a] += amount * s
                        mix_plan[a] += amount * s
            parties = defaultdict(lambda: (set(), set()))
            lv = defaultdict(lambda: defaultdict(float))
            external = defaultdict(float)
            for (system, role, sourcing, vendor, fte, factor, i), amount in zip(
                    lines, labour, strict=True):
                v = st.vendor_overhead * amount if sourcing != IN_HOUSE else 0.0
                split = _split_of(shares[role], mix_sys[system], mix_plan)
                for a, s in split.items():
                    out[(name, system, q, a, "labour")] += amount * s
                    out[(name, system, q, a, "vendor_management")] += v * s
                    lv[system][a] += (amount + v) * s
                    if shares[role] is not None and amount * s > 0:
                        side = 0 if a in OPERATION_ACTIVITIES else 1
                        parties[system][side].add(vendor or IN_HOUSE)
                if sourcing != IN_HOUSE:
                    external[system] += amount + v
                first = next((k for k in range(4) if fte[k] > 0), None)
                moved = (sourcing, vendor) != base_state[i]
                if name != plan.scenario_names[0] and moved and first == q:
                    t = st.transition_months * plan.rates[(role, sourcing)].monthly_cost \
                        * factor * fte[q]
                    for a, s in split.items():
                        out[(name, system, q, a, "transition")] += t * s
            for system, (op, mt) in parties.items():
                if op and mt and op != mt:
                    whole = sum(lv[system].values())
                    for a, amount in lv[system].items():
                        out[(name, system, q, a, "coordination")] += \
                            st.coordination_overhead * external[system] * amount / whole
            for cost in plan.costs:
                out[(name, cost.system, q, cost.activity, "other")] += cost.amounts[q]
    return {k: v for k, v in out.items() if v}


def _split_of(shares: dict[str, float] | None, system_mix: dict[str, float],
              plan_mix: dict[str, float]) -> dict[str, float]:
    """§3.4 a line's activity split: its role's shares, else (pro rata) the system's labour
    mix, else the plan's."""
    if shares is not None:
        total = sum(shares.values())
        return {a: s / total for a, s in shares.items()}
    mix = system_mix if sum(system_mix.values()) else plan_mix
    whole = sum(mix.values())
    return {a: v / whole for a, v in mix.items()}


def test_a_generated_plan_gives_what_a_loop_per_line_reading_of_the_spec_gives(plans):
    plan = plans["generated"]
    ledger = evaluate(plan).ledger
    sums = ledger.groupby(["scenario", "system", "quarter", "activity", "component"],
                          observed=True)["amount"].sum()
    got = {(s, sy, ["Q1", "Q2", "Q3", "Q4"].index(q), a, c): float(v)
           for (s, sy, q, a, c), v in sums.items() if v}
    want = reference_ledger(plan)
    assert set(got) == set(want)
    assert got == pytest.approx(want, rel=1e-9)
    # every kind of money occurs, so each rule was exercised
    assert {key[4] for key in want} == set(COMPONENTS)
    assert sum(v for k, v in want.items() if k[4] == "transition") > 0
    assert any(plan.allocation[r].pro_rata for r in plan.allocation)


@pytest.mark.parametrize("name", ["sample", "generated"])
def test_totals_without_a_ledger_match_the_ledger(plans, name):
    plan = plans[name]
    arrays = compute_arrays(plan)
    got = totals(arrays)
    expected = kind_totals(evaluate(plan).ledger, "scenario")
    assert list(got) == plan.scenario_names
    for scenario, figures in got.items():
        for kind in ("operation", "maintenance", "total"):
            assert figures[kind] == pytest.approx(float(expected.loc[scenario, kind]), rel=1e-12)
    assert got["Baseline"]["total"] > 0


# --------------------------------------------------------------------------- the table


def test_the_component_table_is_the_one_list_of_components(plans):
    arrays = compute_arrays(plans["sample"])
    assert list(arrays.amounts) == list(COMPONENTS) == [c.name for c in COMPONENT_TABLE]
    ledger = build_ledger(arrays)
    assert list(ledger["component"].cat.categories) == list(COMPONENTS)
    # the shorthands read the same arrays
    assert arrays.labour is arrays.amount("labour")
    assert arrays.coordination is arrays.amount("coordination")
    assert arrays.other_costs is arrays.amount("other")
    # rows: row components, then system components, then cost components
    order = ledger["component"].cat.codes.to_numpy()
    firsts = [int(np.flatnonzero(order == COMPONENTS.index(c))[0]) for c in
              ("labour", "vendor_management", "transition", "coordination", "other")]
    assert firsts == sorted(firsts)
    assert BRIDGE_KEYS == ("fte", "rate", "vendor_management", "coordination", "transition",
                           "other")
    assert BRIDGE_LABELS["transition"] == "Transition (one-off)"
    parts = bridge_parts((-5.0, 2.0), {"labour": 10.0, "coordination": 1.0, "other": 4.0},
                         {"labour": 7.0, "coordination": 3.0, "transition": 6.0, "other": 4.0})
    assert parts == {"fte": -5.0, "rate": 2.0, "vendor_management": 0.0,
                     "coordination": 2.0, "transition": 6.0, "other": 0.0}


def test_ledger_codes_are_narrow_and_written_once(plans):
    ledger = evaluate(plans["generated"]).ledger
    for column in ("scenario", "quarter", "level", "sourcing", "activity", "kind", "component"):
        assert ledger[column].cat.codes.dtype == np.int8, column
    assert (ledger[ledger["component"] == "vendor_management"]["sourcing"] != "In-house").all()
    assert (ledger["amount"] != 0).all()
    kinds = ledger["kind"].astype(str).to_numpy()
    assert (kinds == np.array([ACTIVITY_KIND[a].value for a in
                               ledger["activity"].astype(str)])).all()
    assert set(ledger["activity"].astype(str)) <= set(ACTIVITIES)


def test_one_check_per_code_in_one_tuple(plans):
    assert [c.__name__ for c in advisories.CHECKS] == [
        "out_of_band", "pmo_outsourced", "split_contract", "sla_undefined",
        "l3_offshore_candidate"]
    plan = plans["sample"]
    arrays = compute_arrays(plan)
    ledger = build_ledger(arrays)
    everything = advisories.advise(arrays, ledger)
    codes = {f.code for findings in everything.values() for f in findings}
    assert {"split-contract", "pmo-outsourced", "sla-undefined", "out-of-band",
            "l3-offshore-candidate"} <= codes
    for check in advisories.CHECKS:
        alone = advisories.advise(arrays, ledger, checks=(check,))
        code = check.__name__.replace("_", "-")
        assert {f.code for fs in alone.values() for f in fs} == {code}
        # the same findings, in the same order, as in the full run
        for scenario, findings in everything.items():
            assert [f for f in findings if f.code == code] == alone[scenario]
