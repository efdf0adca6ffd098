"""Synthetic plans (spec §2 shape, like ``omplan.files.sample.SAMPLE_PLAN``) for the golden,
property and report tests and for the benchmarks.

``make_plan(n_lines, n_scenarios, seed)`` returns ``{sheet name: rows}`` (first row the headers):
40 roles over L1/L2/L3/PMO (two of them pro rata), rates for every sourcing a line or scenario
can reach (PMO roles have no Offshore rate and nothing ever moves them offshore), up to 200
systems (or ``n_systems``), named vendors with contracts (some SLAs missing), non-labour costs, a
profile and ``n_scenarios`` scenarios besides Baseline, each with 2–5 change rows; all four
change types and ``*`` wildcards occur. The same arguments give the same plan: the golden files
(``tests/golden``) depend on it, so a change here must keep every existing plan as it is.

``python benchmarks/generate.py OUT.xlsx [--lines N --scenarios K --seed S]`` writes one.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from omplan.core.model import (
    ACTIVITIES,
    DEFAULT_BILLING,
    IN_HOUSE,
    MAINTENANCE_FACTORS,
    OFFSHORE,
    OPERATION_FACTORS,
    OUTSOURCE,
    QUARTERS,
    SEPARATE_ESTIMATE,
)

__all__ = ["make_plan", "write_plan"]

_M, _IR, _RT, _SO, _CO, _PR, _AD, _PF = ACTIVITIES

ROLES: dict[str, list[str]] = {
    "L1": [
        "Service desk agent", "Service desk lead", "Desktop support technician",
        "Access management analyst", "Night shift operator", "Multilingual helpdesk agent",
        "Field support technician", "Major incident coordinator",
    ],
    "L2": [
        "Ops engineer", "DBA", "Infrastructure engineer", "Network engineer", "Cloud engineer",
        "Security analyst", "Batch scheduler", "Middleware engineer", "Storage engineer",
        "Site reliability engineer", "Backup administrator", "Monitoring engineer",
    ],
    "L3": [
        "App maintenance engineer", "Senior developer", "Developer", "Integration developer",
        "Test engineer", "Data engineer", "Frontend developer", "Mobile developer",
        "ERP consultant", "BI developer", "Solution architect", "Performance engineer",
        "Release engineer", "Mainframe developer",
    ],
    "PMO": [
        "Service owner", "Service delivery manager", "Vendor manager", "Change manager",
        "Team lead", "Programme manager",
    ],
}
PRO_RATA_ROLES = ("Team lead", "Programme manager")  # all Allocation cells blank

#: Activities each level's shares are drawn from (eighths, so every row sums to exactly 1).
LEVEL_ACTIVITIES = {
    "L1": (_M, _IR, _RT, _IR, _RT),
    "L2": (_M, _IR, _RT, _SO, _PR, _M, _RT),
    "L3": (_CO, _PR, _AD, _PF, _CO, _IR),
    "PMO": ACTIVITIES,
}
#: Base in-house monthly cost range per level; Outsource × 1.2, Offshore × 0.5.
LEVEL_COST = {"L1": (6000, 7500), "L2": (9000, 11500), "L3": (12500, 16500), "PMO": (16000, 19000)}
LEVEL_WEIGHT = {"L1": 0.2, "L2": 0.3, "L3": 0.4, "PMO": 0.1}
#: (In-house, Outsource, Offshore) weights of a Baseline line by level; PMO is never offshore.
SOURCING_WEIGHT = {
    "L1": (0.5, 0.4, 0.1), "L2": (0.6, 0.3, 0.1), "L3": (0.55, 0.15, 0.3), "PMO": (0.9, 0.1, 0.0),
}

VENDORS = {
    OUTSOURCE: [
        "Acme Managed Services", "Northwind IT Services", "Contoso Operations",
        "Globex Support", "Initech Consulting", "Umbrella Systems",
    ],
    OFFSHORE: [
        "Bangalore Dev Center", "Manila Support Hub", "Krakow Engineering",
        "Cebu Delivery Center",
    ],
}
ONE_VENDOR = "OneVendor Corp"

SYSTEM_AREAS = [
    "Order", "Customer", "HR", "Payroll", "Billing", "Inventory", "Logistics", "CRM",
    "Finance", "Procurement", "Claims", "Pricing", "Loyalty", "Identity", "Document",
    "Analytics", "Warehouse", "Quality", "Treasury", "Marketing",
]
SYSTEM_KINDS = [
    "platform", "portal", "service", "data mart", "API gateway", "batch",
    "mobile app", "reporting", "integration hub", "workflow",
]
COST_ITEMS = [
    ("APM tool licences", _M), ("Monitoring tool licences", _M),
    ("Ticketing seats", _IR), ("On-call paging", _IR),
    ("Backup storage", _RT), ("Job scheduler licence", _RT),
    ("Security scanner subscription", _SO), ("Penetration test", _SO),
    ("Static analysis licence", _CO), ("Database upgrade support", _PR),
    ("Regulatory change (agency)", _AD), ("Cloud migration (adaptive work)", _AD),
    ("UX improvements (agency)", _PF), ("Performance tuning (agency)", _PF),
]
FTE_STEPS = (0.25, 0.5, 0.5, 1, 1, 1, 1, 1.5, 2, 2, 3, 4)


def _systems(n: int) -> list[str]:
    names = [f"{area} {kind}" for kind in SYSTEM_KINDS for area in SYSTEM_AREAS]
    if n <= len(names):
        return names[:n]
    return names + [f"{names[i % len(names)]} {i // len(names) + 1}"
                    for i in range(len(names), n)]


def _shares(rng: random.Random, level: str) -> dict[str, float]:
    shares: dict[str, float] = {}
    for activity in rng.choices(LEVEL_ACTIVITIES[level], k=8):
        shares[activity] = shares.get(activity, 0.0) + 0.125
    return shares


def _fte(rng: random.Random) -> list[Any]:
    base = rng.choice(FTE_STEPS)
    shape = rng.random()
    if shape < 0.01:
        return [0, 0, 0, 0]
    if shape < 0.70:
        return [base] * 4
    if shape < 0.85:
        return [base, base, base + 0.5, base + 0.5]
    if shape < 0.95:
        return [base + 0.5, base + 0.5, base, base]
    return [None, base, base, base]  # starts in Q2: a blank cell is 0


def make_plan(n_lines: int, n_scenarios: int, seed: int = 0,
              n_systems: int | None = None) -> dict[str, list[list[Any]]]:
    """A valid synthetic plan with ``n_lines`` Staffing rows and ``n_scenarios`` scenarios,
    over ``n_systems`` systems (default ``n_lines // 10``, 1 to 200; at most ``n_lines``)."""
    if n_lines < 1 or n_scenarios < 0 or (n_systems is not None and n_systems < 1):
        raise ValueError("need n_lines >= 1, n_scenarios >= 0 and n_systems >= 1")
    rng = random.Random(seed)
    level_of = {role: level for level, roles in ROLES.items() for role in roles}
    roles = list(level_of)

    rates: list[list[Any]] = [["Role", "Sourcing", "Monthly cost"]]
    for role in roles:
        level = level_of[role]
        base = rng.randrange(*LEVEL_COST[level], 50)
        rates.append([role, IN_HOUSE, base])
        rates.append([role, OUTSOURCE, round(base * 1.2)])
        if level != "PMO":
            rates.append([role, OFFSHORE, round(base * 0.5)])

    allocation: list[list[Any]] = [["Role", *ACTIVITIES]]
    for role in roles:
        shares = {} if role in PRO_RATA_ROLES else _shares(rng, level_of[role])
        allocation.append([role, *(shares.get(a) for a in ACTIVITIES)])

    # every system gets at least one line
    n_systems = (min(200, max(1, n_lines // 10)) if n_systems is None
                 else min(n_systems, n_lines))
    systems = _systems(n_systems)
    weights = [rng.lognormvariate(0, 0.8) for _ in systems]
    levels = list(LEVEL_WEIGHT)
    by_level = {level: [r for r in roles if level_of[r] == level] for level in levels}
    staffing: list[list[Any]] = [["System", "Role", "Sourcing", "Vendor", *QUARTERS]]
    for i in range(n_lines):
        # every system gets a line; the rest go to systems by a skewed weight
        system = systems[i] if i < n_systems else rng.choices(systems, weights)[0]
        level = rng.choices(levels, [LEVEL_WEIGHT[v] for v in levels])[0]
        role = rng.choice(by_level[level])
        if role in PRO_RATA_ROLES:
            sourcing = IN_HOUSE
        else:
            sourcing = rng.choices((IN_HOUSE, OUTSOURCE, OFFSHORE), SOURCING_WEIGHT[level])[0]
        vendor = None
        if sourcing != IN_HOUSE and rng.random() < 0.8:
            vendor = rng.choice(VENDORS[sourcing])  # else blank: "<Sourcing> vendor"
        fte = _fte(rng)
        if i == 0:  # a staffed line with shares in every quarter: pro-rata roles always split
            role, sourcing, vendor, fte = by_level["L1"][0], IN_HOUSE, None, [1] * 4
        staffing.append([system, role, sourcing, vendor, *fte])

    costs: list[list[Any]] = [["System", "Item", "Activity", *QUARTERS]]
    for system in systems:
        for item, activity in rng.sample(COST_ITEMS, rng.choice((0, 0, 1, 1, 2, 3))):
            amount = rng.randrange(1, 30) * 500
            if activity in (_AD, _PF) and rng.random() < 0.5:
                costs.append([system, item, activity, None, 0, amount * 2, amount])
            else:
                costs.append([system, item, activity, *([amount] * 4)])

    billing: list[list[Any]] = [["Activity", "Basis"], *([a, DEFAULT_BILLING[a]]
                                                         for a in ACTIVITIES)]
    billing[1 + ACTIVITIES.index(_PR)][1] = SEPARATE_ESTIMATE  # one deliberate change

    contracts: list[list[Any]] = [
        ["Vendor", "Emergency response SLA hours", "Permanent fix SLA days"]]
    for sourcing, vendors in VENDORS.items():
        for vendor in [*vendors, f"{sourcing} vendor"]:
            roll = rng.random()
            hours = None if roll < 0.15 else rng.choice((2, 4, 4, 8))
            days = None if 0.15 <= roll < 0.3 else rng.choice((5, 10, 15))
            contracts.append([vendor, hours, days])
    contracts.append([ONE_VENDOR, 2, None])

    profile: list[list[Any]] = [["Factor", "Applies"]]
    profile += [[f, rng.choice(("yes", "no"))] for f in (*OPERATION_FACTORS, *MAINTENANCE_FACTORS)]

    scenarios: list[list[Any]] = [["Scenario", "Role", "System", "Change", "Value"]]
    kinds = ("sourcing", "vendor", "fte_factor", "rate_factor")
    non_pmo = [r for r in roles if level_of[r] != "PMO"]
    for k in range(n_scenarios):
        name = f"Scenario {k + 1:02d}"
        n_rows = rng.randint(2, 5)
        for j in range(n_rows):
            change = kinds[(k + j) % 4]  # rotating start: every type occurs across scenarios
            system = "*" if rng.random() < 0.6 else rng.choice(systems)
            role = "*" if rng.random() < 0.3 else rng.choice(roles)
            value: Any
            if change == "sourcing":
                if role != "*" and role in non_pmo and rng.random() < 0.5:
                    value = OFFSHORE  # never on "*" or a PMO role: they have no Offshore rate
                else:
                    value = rng.choice((IN_HOUSE, OUTSOURCE))
            elif change == "vendor":
                value = rng.choice([*VENDORS[OUTSOURCE], *VENDORS[OFFSHORE], ONE_VENDOR])
            elif change == "fte_factor":
                value = rng.choice((0.5, 0.75, 0.8, 0.9, 1.1, 1.25))
            else:
                value = rng.choice((0.9, 0.95, 1.05, 1.1))
            scenarios.append([name, role, system, change, value])

    return {
        "Settings": [
            ["Setting", "Value"],
            ["plan_name", f"Synthetic plan {n_lines} lines x {n_scenarios} scenarios"],
            ["currency", "USD"],
            ["fiscal_year", 2027],
            ["fy_start_month", 4],
            ["band_low", 0.40],
            ["band_high", 0.60],
            ["vendor_overhead", 0.10],
            ["coordination_overhead", 0.05],
            ["transition_months", 2],
        ],
        "Roles": [["Role", "Level"], *([r, level_of[r]] for r in roles)],
        "Rates": rates,
        "Allocation": allocation,
        "Staffing": staffing,
        "Costs": costs,
        "Billing": billing,
        "Contracts": contracts,
        "Profile": profile,
        "Scenarios": scenarios,
    }


def write_plan(path: str | Path, n_lines: int, n_scenarios: int, seed: int = 0,
               n_systems: int | None = None) -> Path:
    """Generate a plan and write it with omplan's own workbook writer."""
    from omplan.files.sample import write_plan_workbook

    target = Path(path)
    write_plan_workbook(make_plan(n_lines, n_scenarios, seed, n_systems), target)
    return target
