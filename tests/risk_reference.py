"""The reference the risk engine is tested against: the plan edited so that the driver values
hold, run through the ordinary engine and figures (one whole evaluation per point).

Every driver but ``Rate`` of a vendor is a plain edit of the plan (``dataclasses.replace``):
Rates rows, Staffing FTE, FX rows, Costs amounts, ``transition_months``, Escalation rows,
``vendor_overhead``. A vendor's rate depends on the vendor a line resolves to in each scenario
and quarter, which no input cell holds; for it, :func:`vendor_rate_hook` wraps the engine's
``apply_scenarios`` (test-only) and multiplies the rate factor of the matching line-quarters,
which the engine applies right after the Rates row, as the spec applies the driver.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from omplan.core import engine
from omplan.core.model import (
    ALL_TARGETS,
    SOURCINGS,
    Escalation,
    Plan,
    RiskDriver,
)
from omplan.core.summary import plan_figures


@dataclass(frozen=True)
class Point:
    """The figures of one evaluation, per scenario in plan order."""

    npv_cost: list[float]
    total: list[float]
    npv_savings: list[float]  # Baseline: 0
    payback_months: list[float]  # inf = never; Baseline 0
    within_band: list[bool]
    recommended: int  # -1 none


def edited_plan(plan: Plan, drivers: Sequence[RiskDriver], values: Sequence[float]
                ) -> tuple[Plan, list[tuple[str, float]]]:
    """The plan with each driver at its value (NaN: as entered), and the (vendor, factor)
    pairs left for :func:`vendor_rate_hook`."""
    p = dataclasses.replace(plan, risks=[])
    vendor_factors: list[tuple[str, float]] = []
    for d, x in zip(drivers, values, strict=True):
        if math.isnan(x):
            continue
        target = d.applies_to
        every = target == ALL_TARGETS
        if d.driver == "Rate":
            if every or target in SOURCINGS:
                p.rates = {k: dataclasses.replace(r, monthly_cost=r.monthly_cost * x)
                           if every or k[1] == target else r for k, r in p.rates.items()}
            else:
                vendor_factors.append((target, x))
        elif d.driver == "FTE":
            p.staffing = [dataclasses.replace(s, fte=tuple(v * x for v in s.fte))
                          if every or s.system.casefold() == target.casefold() else s
                          for s in p.staffing]
        elif d.driver == "FX":
            p.fx = [dataclasses.replace(r, rate=r.rate * x) if r.currency == target else r
                    for r in p.fx]
        elif d.driver == "Other costs":
            p.costs = [dataclasses.replace(c, amounts=tuple(v * x for v in c.amounts))
                       if every or c.system.casefold() == target.casefold() else c
                       for c in p.costs]
        elif d.driver == "Transition":
            p.settings = dataclasses.replace(
                p.settings, transition_months=p.settings.transition_months * x)
        elif d.driver == "Escalation":
            # e = x for every line of that sourcing (every vendor), resp. every Costs row
            p.escalation = [e for e in p.escalation if e.applies_to != target]
            p.escalation.append(Escalation(target, "", x))
        elif d.driver == "Vendor overhead":
            p.settings = dataclasses.replace(p.settings, vendor_overhead=x)
        else:
            raise ValueError(d.driver)
    return p, vendor_factors


@contextlib.contextmanager
def vendor_rate_hook(factors: list[tuple[str, float]]) -> Iterator[None]:
    """While active, the engine multiplies the rate of every line-quarter whose resolved
    vendor is one of ``factors`` (ignoring case) by its factor (test-only wrapper)."""
    if not factors:
        yield
        return
    original = engine.apply_scenarios

    def wrapped(plan, systems, roles):  # type: ignore[no-untyped-def]
        sl = original(plan, systems, roles)
        names = np.array([n.casefold() for n in sl.vendor_names], dtype=object)
        for vendor, x in factors:
            codes = np.flatnonzero(names == vendor.casefold())
            sl.rate_factor = np.where(np.isin(sl.vendor, codes), sl.rate_factor * x,
                                      sl.rate_factor)
        return sl

    engine.apply_scenarios = wrapped
    try:
        yield
    finally:
        engine.apply_scenarios = original


def reference_point(plan: Plan, drivers: Sequence[RiskDriver], values: Sequence[float]
                    ) -> Point:
    """One whole evaluation of the plan with the drivers at ``values``."""
    edited, vendor_factors = edited_plan(plan, drivers, values)
    with vendor_rate_hook(vendor_factors):
        evaluation = engine.evaluate(edited)
    assert evaluation.ok, evaluation.errors
    figures = plan_figures(edited, [], evaluation)
    names = [s.name for s in figures.scenarios]
    savings, payback = [], []
    for s in figures.scenarios:
        case = s.business_case
        savings.append(0.0 if case is None else case.npv_savings)
        months = 0 if case is None else case.payback_months
        payback.append(math.inf if months is None else float(months))
    return Point(
        [s.npv_cost for s in figures.scenarios], [s.total for s in figures.scenarios], savings,
        payback, [all(y.band_status == "within" for y in s.years) for s in figures.scenarios],
        -1 if figures.recommended is None else names.index(figures.recommended))


# --------------------------------------------------------------------------- a plan to vary

ACTS = ["Monitoring", "Incident response", "Routine tasks", "Security operations",
        "Corrective", "Preventive", "Adaptive", "Perfective"]
RISKS_HEAD = ["Driver", "Applies to", "Low", "Likely", "High", "Distribution"]


def risk_sheets() -> dict[str, list[list[object]]]:
    """Three fiscal years (FY2027-FY2029, from April) with everything a draw must get right:
    a pro-rata role beside roles with shares (ERP) and alone (Hub: the plan-wide mix), a
    split contract (ERP: Acme operates, in-house staff maintain), escalation by sourcing and
    for one vendor, rates in INR and a cost in EUR, scenarios timed with ``From``, and a
    scenario equal to Baseline ("Same")."""
    staff = ["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"]
    return {
        "Settings": [["Setting", "Value"], ["plan_name", "Risky"], ["fiscal_year", 2027],
                     ["fy_start_month", 4], ["horizon_years", 3], ["currency", "USD"]],
        "Roles": [["Role", "Level"], ["Ops", "L2"], ["Dev", "L3"], ["Desk", "L1"],
                  ["Lead", "PMO"]],
        "Rates": [["Role", "Sourcing", "Monthly cost", "Currency"],
                  ["Ops", "In-house", 10000, None], ["Ops", "Outsource", 12000, None],
                  ["Dev", "In-house", 12000, None], ["Dev", "Outsource", 14000, None],
                  ["Dev", "Offshore", 500000, "INR"], ["Desk", "In-house", 6000, None],
                  ["Desk", "Outsource", 7000, None], ["Lead", "In-house", 15000, None]],
        "Allocation": [["Role", *ACTS],
                       ["Ops", 0.6, 0.4, None, None, None, None, None, None],
                       ["Dev", None, 0.2, None, None, 0.5, None, 0.3, None],
                       ["Desk", 0.5, None, 0.5, None, None, None, None, None],
                       ["Lead"]],
        "Staffing": [staff,
                     ["ERP", "Ops", "Outsource", "Acme", 2, 2, 2.5, 2.5],
                     ["ERP", "Dev", "In-house", None, 1, 1, 1.5, 1],
                     ["ERP", "Lead", "In-house", None, 0.5, 0.5, 0.5, 0.5],
                     ["Portal", "Dev", "Offshore", None, 1.5, 1.5, 1.5, 1.5],
                     ["Portal", "Desk", "In-house", None, 2, 2, 2, 3],
                     ["Hub", "Lead", "In-house", None, 0.25, 0.25, 0.25, 0.25]],
        "Costs": [["System", "Item", "Activity", "Currency", "Q1", "Q2", "Q3", "Q4"],
                  ["ERP", "Licence", "Monitoring", None, 5000, 5000, 5000, 5000],
                  ["Portal", "Cloud", "Adaptive", "EUR", 3000, 3000, 4000, 4000]],
        "Contracts": [["Vendor", "Emergency response SLA hours", "Permanent fix SLA days"],
                      ["Acme", 4, 10]],
        "Scenarios": [["Scenario", "Role", "System", "Change", "Value", "From"],
                      ["Offshore dev", "Dev", "*", "sourcing", "Offshore", "FY2028 Q1"],
                      ["Offshore dev", "Dev", "*", "vendor", "Bangalore", "FY2028 Q1"],
                      ["Insource ops", "Ops", "ERP", "sourcing", "In-house", None],
                      ["Same", "Ops", "*", "fte_factor", 1, None],
                      ["Outsource desk", "Desk", "*", "sourcing", "Outsource", "Q3"],
                      ["Outsource desk", "Desk", "*", "rate_factor", 0.95, "Q3"]],
        "Escalation": [["Applies to", "Vendor", "Annual rate"], ["In-house", None, 0.03],
                       ["Outsource", None, 0.04], ["Offshore", None, 0.07],
                       ["Offshore", "Offshore vendor", 0.08], ["Other costs", None, 0.02]],
        "FX": [["Currency", "Fiscal year", "Rate"], ["INR", None, 0.012],
               ["EUR", 2027, 1.1], ["EUR", None, 1.08]],
    }


#: One row of every driver kind and target kind (a vendor of Staffing, one that only a
#: scenario names, a system with and without costs, two currencies).
ALL_DRIVERS = [
    ["Rate", "*", 0.95, 1.0, 1.1, "Uniform"],
    ["Rate", "Offshore", 0.9, 1.0, 1.3, "PERT"],
    ["Rate", "acme", 0.9, 1.0, 1.2, "Triangular"],
    ["Rate", "Bangalore", 0.9, 1.0, 1.1, None],
    ["FTE", "ERP", 0.9, 1.0, 1.2, "PERT"],
    ["FTE", "*", 0.95, 1.0, 1.05, "Uniform"],
    ["FX", "INR", 0.85, 1.0, 1.05, "Triangular"],
    ["FX", "EUR", 0.9, 1.0, 1.1, "PERT"],
    ["Other costs", "*", 0.8, 1.0, 1.5, "PERT"],
    ["Other costs", "ERP", 0.5, 1.0, 2.0, "Uniform"],
    ["Transition", "*", 0.5, 1.0, 3.0, "PERT"],
    ["Escalation", "Offshore", 0.05, 0.07, 0.12, "PERT"],
    ["Escalation", "In-house", 0.02, 0.03, 0.05, "Triangular"],
    ["Escalation", "Other costs", 0.0, 0.02, 0.04, "PERT"],
    ["Vendor overhead", "*", 0.05, 0.1, 0.2, "PERT"],
]


def plan_with_risks(sheets: dict[str, list[list[object]]], risk_rows: list[list[object]],
                    **settings: object) -> Plan:
    """The plan of ``sheets`` with the Risks rows read by the Risks reader (no errors)."""
    from factories import parse

    from omplan.input.risks import RiskTargets, read_risks
    from omplan.input.tables import SheetGrid

    plan, findings = parse(sheets)
    assert plan is not None, findings
    drivers, found = read_risks(SheetGrid("Risks", [RISKS_HEAD, *risk_rows]),
                                RiskTargets.of_plan(plan))
    assert not [f for f in found if f.severity == "error"], found
    plan.risks = drivers
    if settings:
        plan.settings = dataclasses.replace(plan.settings, **settings)
    return plan


def sample_with_risks(**settings: object) -> Plan:
    """The shipped sample plan with the sample's Risks rows (files/sample_risks.py)."""
    from pathlib import Path

    from omplan.files.sample_risks import SAMPLE_RISKS
    from omplan.input.reader import load_plan
    from omplan.input.risks import RiskTargets, read_risks
    from omplan.input.tables import SheetGrid

    path = Path(__file__).resolve().parents[1] / "src" / "omplan" / "data" / "sample_plan.xlsx"
    plan, findings = load_plan(path)
    assert plan is not None, findings
    drivers, found = read_risks(SheetGrid("Risks", SAMPLE_RISKS), RiskTargets.of_plan(plan))
    assert not found, found
    plan.risks = drivers
    if settings:
        plan.settings = dataclasses.replace(plan.settings, **settings)
    return plan
