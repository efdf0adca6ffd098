"""Grids -> a typed :class:`Plan` plus located findings: the plan reader, driven by the input
schema (spec §2).

The parsing works on plain grids of cell values so that every source (a file read with
python-calamine, a live xlwings book) gets the same checks and the same ``Sheet!A1`` messages.
Findings are collected, never raised: one pass reports every problem.

For each sheet of the schema, in its order, the reader finds the grid (names matched ignoring
case and spaces), its header row and required columns, and hands the table to the sheet's
function in ``READERS``; what that returns fills the Plan field the schema names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from omplan.core.findings import Finding, has_errors
from omplan.core.model import Plan
from omplan.input.actuals import read_actuals_table
from omplan.input.lines import read_costs, read_staffing
from omplan.input.multiyear import read_escalation, read_fx
from omplan.input.reading import Reading
from omplan.input.scenarios import check_budget_scenario, read_scenarios
from omplan.input.schema import SHEETS, find_sheet_table
from omplan.input.settings_sheet import read_settings
from omplan.input.sheets import (
    read_allocation,
    read_billing,
    read_contracts,
    read_profile_table,
    read_rates,
    read_roles,
    read_systems,
)
from omplan.input.tables import Collector, SheetGrid, Table, norm_header

__all__ = ["PLAN_CHECKS", "READERS", "SheetReader", "parse_plan", "read_sheets"]

#: A sheet's function: its table and the reading so far -> the sheet's value.
SheetReader = Callable[[Table, Reading], Any]

#: Sheet name -> the function that turns its rows into model objects.
READERS: dict[str, SheetReader] = {
    "Settings": read_settings,
    "Roles": read_roles,
    "Systems": read_systems,
    "Rates": read_rates,
    "Allocation": read_allocation,
    "Staffing": read_staffing,
    "Costs": read_costs,
    "Billing": read_billing,
    "Contracts": read_contracts,
    "Profile": read_profile_table,
    "Scenarios": read_scenarios,
    "Escalation": read_escalation,
    "FX": read_fx,
    "Actuals": read_actuals_table,
}


def _check_budget_scenario(reading: Reading) -> None:
    """budget_scenario must name a scenario; the settings take the plan's spelling of it."""
    read = reading.settings
    budget = check_budget_scenario(read.budget_scenario, read.refs.get("budget_scenario", ""),
                                   reading.scenario_names, reading.out)
    if read.settings is not None and budget is not None:
        read.settings = replace(read.settings, budget_scenario=budget)


def _warn_similar_names(reading: Reading) -> None:
    reading.names.warn_near_duplicates(reading.out)


#: Checks across the plan's sheets, run once they are all read (before the sheets that are
#: checked against the plan, such as Actuals).
PLAN_CHECKS: tuple[Callable[[Reading], None], ...] = (_check_budget_scenario,
                                                      _warn_similar_names)


def read_sheets(grids: Mapping[str, SheetGrid], source_name: str = "plan") -> Reading:
    """Every sheet of ``grids`` (sheet name -> grid) read by the schema: the value of each
    (``reading.values``; None for a sheet missing or unreadable) and all findings."""
    reading = Reading(Collector(), Path(source_name).stem or "plan")
    by_name = {norm_header(name): grid for name, grid in grids.items()}
    found: dict[str, SheetGrid] = {}
    for spec in SHEETS:
        grid = by_name.get(norm_header(spec.name))
        if grid is not None:
            found[spec.name] = grid
        elif spec.required:
            reading.out.error("missing-sheet", f"required sheet '{spec.name}' is missing",
                              spec.name)
    for against_plan in (False, True):
        if against_plan:
            for check in PLAN_CHECKS:
                check(reading)
            if reading.settings.settings is None:
                break  # nothing to check those sheets against
        for spec in SHEETS:
            if spec.against_plan != against_plan:
                continue
            value = None
            grid = found.get(spec.name)
            table = None if grid is None else find_sheet_table(grid, spec, reading.out)
            if table is not None:
                value = READERS[spec.name](table, reading)
            reading.values[spec.name] = value
    return reading


def parse_plan(
    grids: Mapping[str, SheetGrid], source_name: str = "plan"
) -> tuple[Plan | None, list[Finding]]:
    """Check and type the plan found in ``grids`` (sheet name -> grid). Plan is None on errors."""
    reading = read_sheets(grids, source_name)
    findings = reading.out.findings
    settings = reading.settings.settings
    if has_errors(findings) or settings is None or any(
            reading.values.get(spec.name) is None for spec in SHEETS
            if spec.required and spec.plan_field):
        return None, findings
    fields = {spec.plan_field: reading.values[spec.name] for spec in SHEETS
              if spec.plan_field and reading.values.get(spec.name) is not None}
    plan = Plan(settings=settings, **fields, source_name=source_name,
                setting_cells=dict(reading.settings.refs),
                systems=list(reading.values.get("Systems") or ()))
    return plan, findings
