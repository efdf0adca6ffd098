"""Small random plans for the optimiser's tests, and the exhaustive search it must equal.

``random_plan(seed)`` builds a valid plan of a few Staffing lines with every feature the
optimiser's arithmetic meets: pro-rata roles, split contracts, escalation, FX, timed
``optimise_from``, vendor capacity, in-house share, max_changes and a transition budget.
``exhaustive(plan)`` evaluates every mix with the engine (all of them as scenarios of one plan)
and checks every rule on the figures the report and the JSON show.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass

import numpy as np

from omplan.core.business import CENT_TOLERANCE
from omplan.core.engine import evaluate
from omplan.core.model import (
    ACTIVITIES,
    IN_HOUSE,
    OFFSHORE,
    OUTSOURCE,
    Allocation,
    Contract,
    Escalation,
    FxRate,
    OptionRow,
    Plan,
    Rate,
    Role,
    ScenarioChange,
    Settings,
    StaffingLine,
)
from omplan.core.optimiser import Choice, line_choices, optimise_start
from omplan.core.summary import plan_figures

VENDORS = {OUTSOURCE: ["Acme", "Northwind"], OFFSHORE: ["Bangalore", ""]}


def random_plan(seed: int, max_mixes: int = 400, lines: tuple[int, int] = (3, 6)) -> Plan:
    """A valid plan of 3–6 lines (``lines``) over 1–2 systems and 1–2 years, with random
    options and rules; its mixes number at most ``max_mixes``."""
    rng = random.Random(seed)
    years = rng.choice((1, 1, 2))
    roles = {"Desk": Role("Desk", "L1"), "Ops": Role("Ops", "L2"), "Dev": Role("Dev", "L3"),
             "Lead": Role("Lead", "PMO"), "Coach": Role("Coach", "L2")}
    op, mt = ACTIVITIES[:4], ACTIVITIES[4:]
    allocation = {
        "Desk": Allocation("Desk", {op[0]: 0.5, op[1]: 0.5}),
        "Ops": Allocation("Ops", {op[0]: 0.5, op[2]: 0.25, mt[1]: 0.25}),
        "Dev": Allocation("Dev", {mt[0]: 0.5, mt[2]: 0.25, op[1]: 0.25}),
        "Lead": Allocation("Lead", None if rng.random() < 0.5 else dict.fromkeys(ACTIVITIES,
                                                                                 0.125)),
        "Coach": Allocation("Coach", None),  # pro rata
    }
    base_rate = {"Desk": 6000, "Ops": 9000, "Dev": 14000, "Lead": 17000, "Coach": 11000}
    rates: dict[tuple[str, str], Rate] = {}
    inr = rng.random() < 0.4
    for role, cost in base_rate.items():
        rates[(role, IN_HOUSE)] = Rate(role, IN_HOUSE, cost * rng.uniform(0.9, 1.1))
        rates[(role, OUTSOURCE)] = Rate(role, OUTSOURCE, cost * rng.uniform(0.8, 1.3))
        if role != "Lead" or rng.random() < 0.5:
            if inr:
                rates[(role, OFFSHORE)] = Rate(role, OFFSHORE, cost * rng.uniform(30, 60), "",
                                               "INR")
            else:
                rates[(role, OFFSHORE)] = Rate(role, OFFSHORE, cost * rng.uniform(0.4, 0.8))
    systems = ["ERP", "CRM"][: rng.choice((1, 2))]
    n_k = 4 * years
    staffing: list[StaffingLine] = []
    n_lines = rng.randint(*lines)
    for i in range(n_lines):
        role = "Ops" if i == 0 else rng.choice(list(roles))
        system = systems[i % len(systems)]
        sourcing = rng.choice((IN_HOUSE, IN_HOUSE, OUTSOURCE, OFFSHORE))
        if (role, sourcing) not in rates:
            sourcing = IN_HOUSE
        vendor = rng.choice(VENDORS[sourcing]) if sourcing != IN_HOUSE else ""
        if i < len(systems):  # a staffed line with shares in every quarter of every system
            fte = tuple([1.0] * n_k)
        else:
            pattern = rng.choice(("flat", "ramp", "late", "gap"))
            base = rng.choice((0.5, 1.0, 1.5, 2.0))
            fte = tuple(
                base if pattern == "flat" else
                base + 0.5 * (k // 2) if pattern == "ramp" else
                (0.0 if k < 2 else base) if pattern == "late" else
                (0.0 if k % 4 == 1 else base) for k in range(n_k))
        staffing.append(StaffingLine(system, role, sourcing, vendor, fte, i + 2,
                                     f"Staffing!A{i + 2}"))
    options: list[OptionRow] = []
    for _ in range(rng.randint(2, 5)):
        sourcing = rng.choice((IN_HOUSE, OUTSOURCE, OFFSHORE))
        vendor = rng.choice(VENDORS[sourcing]) if sourcing != IN_HOUSE else ""
        options.append(OptionRow(rng.choice(["*", *roles]), rng.choice(["*", *systems]),
                                 sourcing, vendor))
    escalation = []
    if years > 1 and rng.random() < 0.7:
        escalation = [Escalation(IN_HOUSE, "", 0.03), Escalation(OFFSHORE, "", 0.07),
                      Escalation(OUTSOURCE, "Acme", 0.05), Escalation("Other costs", "", 0.02)]
    fx = [FxRate("INR", None, 1 / 82.0)] if inr else []
    if inr and years > 1:
        fx.append(FxRate("INR", 2028, 1 / 85.0))
    contracts = {}
    for vendor in ("Acme", "Bangalore", "Offshore vendor"):
        if rng.random() < 0.4:
            contracts[vendor.casefold()] = Contract(vendor, 4, 10, "", rng.choice((1, 2, 3,
                                                                                   4)))
    settings = Settings(
        "Random", 2027, horizon_years=years, coordination_overhead=rng.choice((0.05, 0.2)),
        optimise_from=rng.choice(("", "", "Q2", "Q3", "FY2028 Q1" if years > 1 else "Q4")),
        max_changes=rng.choice((None, None, None, 0, 1, 2)),
        transition_budget=rng.choice((None, None, None, 30000.0, 80000.0)),
        min_inhouse_share=rng.choice((0.0, 0.0, 0.0, 0.3, 0.5)),
        discount_rate=rng.choice((0.0, 0.08)))
    plan = Plan(settings, roles, rates, allocation, staffing, contracts=contracts,
                escalation=escalation, fx=fx, options=options)
    # a band near the Baseline's share, narrow enough to matter, at times just past it
    figures = plan_figures(plan, [], evaluate(plan))
    share = figures.baseline.operation_share or 0.5
    width = rng.choice((0.2, 0.2, 0.1, 0.03, 0.01, 0.005))
    centre = share + rng.choice((0.0, 0.0, 0.0, -1.0, 1.0)) * rng.uniform(0.5, 1.5) * width
    plan.settings = dataclasses.replace(settings, band_low=max(0.0, centre - width),
                                        band_high=min(1.0, centre + width))
    n_mixes = int(np.prod([len(c) for c in line_choices(plan)[1]]))
    if n_mixes > max_mixes:
        return random_plan(seed + 10_000, max_mixes, lines)
    return plan


@dataclass
class Mix:
    """One mix as the engine and the figures see it."""

    choices: tuple[Choice, ...]
    npv_cost: float
    changes: int
    ok: bool
    broken: list[str]


def mix_rows(plan: Plan, mix: tuple[Choice, ...], name: str) -> list[ScenarioChange]:
    """Each changed line moved alone from optimise_from, written independently of the
    optimiser's own helper."""
    start = optimise_start(plan)
    baseline, _ = line_choices(plan)
    rows = []
    for i, (choice, base) in enumerate(zip(mix, baseline, strict=True)):
        if choice == base:
            continue
        line = plan.staffing[i]
        rows.append(ScenarioChange(name, line.role, line.system, "sourcing", choice.sourcing,
                                   "", start, i))
        if choice.sourcing != IN_HOUSE:
            rows.append(ScenarioChange(name, line.role, line.system, "vendor", choice.vendor,
                                       "", start, i))
    # every scenario exists, the unchanged one too
    rows.append(ScenarioChange(name, "*", "*", "fte_factor", 1.0, "", start))
    return rows


def exhaustive(plan: Plan) -> list[Mix]:
    """Every mix evaluated by the engine (one plan, a scenario per mix), every rule checked
    on the plan's figures."""
    baseline, choices = line_choices(plan)
    mixes = list(itertools.product(*choices))
    rows = []
    for m, mix in enumerate(mixes):
        rows += mix_rows(plan, mix, f"mix {m}")
    full = dataclasses.replace(plan, scenario_changes=rows, options=[])
    evaluation = evaluate(full)
    assert evaluation.ok, evaluation.errors
    figures = plan_figures(full, [], evaluation)
    st = plan.settings
    start = optimise_start(plan)
    assert evaluation.arrays is not None
    lines = evaluation.arrays.lines
    n = len(plan.staffing)
    vendor_names = [v.casefold() for v in lines.vendor_names]
    out = []
    for m, mix in enumerate(mixes):
        sc = figures.scenarios[1 + m]
        assert sc.name == f"mix {m}"
        changes = sum(c != b for c, b in zip(mix, baseline, strict=True))
        broken = [f"band FY{y.fiscal_year}" for y in sc.years if y.band_status != "within"]
        if st.max_changes is not None and changes > st.max_changes:
            broken.append("max_changes")
        if st.transition_budget is not None and \
                sc.components["transition"] > st.transition_budget + CENT_TOLERANCE:
            broken.append("transition_budget")
        block = slice((1 + m) * n, (2 + m) * n)
        fte = lines.fte[block][:, start:]
        vendor = lines.vendor[block][:, start:]
        for contract in plan.contracts.values():
            if contract.max_fte is None:
                continue
            codes = [c for c, v in enumerate(vendor_names) if v == contract.vendor.casefold()]
            use = np.where(np.isin(vendor, codes), fte, 0.0).sum(axis=0)
            if (use > contract.max_fte + 1e-9).any():
                broken.append(f"capacity {contract.vendor}")
        if st.min_inhouse_share > 0:
            src = lines.sourcing[block][:, start:]
            for system in dict.fromkeys(x.system for x in plan.staffing):
                mine = np.array([x.system == system for x in plan.staffing])
                total = fte[mine].sum(axis=0)
                own = np.where(src[mine] == 0, fte[mine], 0.0).sum(axis=0)
                if ((total > 0) & (own < st.min_inhouse_share * total - 1e-9)).any():
                    broken.append(f"min_inhouse_share {system}")
        out.append(Mix(mix, sc.npv_cost, changes, not broken, broken))
    return out


def best_of(mixes: list[Mix]) -> Mix | None:
    """The exhaustive answer: the cheapest mix that meets every rule; among those within
    half a cent of it, the fewest changes."""
    ok = [m for m in mixes if m.ok]
    if not ok:
        return None
    cheapest = min(m.npv_cost for m in ok)
    ties = [m for m in ok if m.npv_cost <= cheapest + CENT_TOLERANCE]
    return min(ties, key=lambda m: (m.changes, m.npv_cost))
