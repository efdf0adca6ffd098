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

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from omplan.core.findings import Finding, has_errors, quote_sheet
from omplan.core.model import Plan, Settings
from omplan.input.actuals import read_actuals_table
from omplan.input.lines import read_costs, read_staffing
from omplan.input.multiyear import read_escalation, read_fx
from omplan.input.plausibility import warn_rate_outliers
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
from omplan.input.tables import (
    Collector,
    SheetGrid,
    Table,
    damerau_levenshtein,
    norm_enum,
    norm_header,
)

__all__ = ["PLAN_CHECKS", "READERS", "SheetReader", "check_sheet_names", "parse_plan",
           "read_sheets"]

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


def _one_spelling_per_vendor(reading: Reading) -> None:
    """Vendor names in other capitals are one vendor: the Staffing lines and scenario rows
    take the one spelling kept (the engine would merge them too; the report shows one)."""
    renamed = reading.names.one_spelling_per_vendor(reading.out)
    if not renamed:
        return
    staffing = reading.staffing
    if staffing is not None:
        reading.values["Staffing"] = [
            replace(line, vendor=renamed[line.vendor]) if line.vendor in renamed else line
            for line in staffing]
    changes = reading.values.get("Scenarios")
    if changes:
        reading.values["Scenarios"] = [
            replace(c, value=renamed[c.value]) if c.change == "vendor" and c.value in renamed
            else c for c in changes]


def _warn_similar_names(reading: Reading) -> None:
    reading.names.warn_near_duplicates(reading.out)


def _warn_rate_outliers(reading: Reading) -> None:
    horizon = reading.horizon
    warn_rate_outliers(reading.rates, reading.get("FX", []),
                       None if horizon is None else horizon.first_fiscal_year,
                       reading.currency or "", reading.fx_warned, reading.out)


#: Checks across the plan's sheets, run once they are all read (before the sheets that are
#: checked against the plan, such as Actuals).
PLAN_CHECKS: tuple[Callable[[Reading], None], ...] = (
    _check_budget_scenario, _one_spelling_per_vendor, _warn_similar_names, _warn_rate_outliers)


#: Words that may follow a sheet's name in a renamed copy ('Staffing 2027', 'FX rates',
#: 'Costs (old)'): such a sheet is taken for the one it names.
_SHEET_NAME_EXTRAS = frozenset({"rates", "sheet", "table", "data", "plan", "old", "new",
                                "copy", "draft", "final", "v"})


def _sheet_like(name: str, others: Collection[str]) -> str | None:
    """The first of ``others`` that looks like sheet ``name`` renamed or misspelt: the same
    words with a year, a number or a word such as 'old' or 'rates' added, or one edit away."""
    target = norm_enum(name)
    for other in others:
        words = re.findall(r"[^\W\d_]+", other.casefold())
        if not words:
            continue
        letters = "".join(words)
        if letters == target or (len(target) >= 5 and len(letters) >= 5
                                 and damerau_levenshtein(letters, target, 1) <= 1):
            return other
        if words[0] == target and set(words[1:]) <= _SHEET_NAME_EXTRAS:
            return other
    return None


def check_sheet_names(names: Collection[str], out: Collector) -> None:
    """A required sheet that is missing is an error, naming the sheet that looks like it
    ('Staffing 2027'); a sheet that looks like a missing optional one is a warning, since
    omplan reads sheets by their names only."""
    present = {norm_header(n) for n in names}
    known = {norm_header(spec.name) for spec in SHEETS}
    others = [n for n in names if norm_header(n) not in known]
    for spec in SHEETS:
        if norm_header(spec.name) in present:
            continue
        like = _sheet_like(spec.name, others)
        if like is not None:
            others.remove(like)
        if spec.required:
            hint = f": sheet '{like}' looks like it; rename it to '{spec.name}'" if like else ""
            out.error("missing-sheet", f"required sheet '{spec.name}' is missing{hint}",
                      spec.name)
        elif like is not None:
            out.warning("sheet-name", f"sheet '{like}' is not read: omplan reads the optional "
                        f"sheet '{spec.name}' by that name only; rename it to '{spec.name}' if "
                        "it holds that table", quote_sheet(like))


def read_sheets(grids: Mapping[str, SheetGrid], source_name: str = "plan",
                sheet_names: Collection[str] | None = None) -> Reading:
    """Every sheet of ``grids`` (sheet name -> grid) read by the schema: the value of each
    (``reading.values``; None for a sheet missing or unreadable) and all findings.
    ``sheet_names``: every sheet of the workbook (default: those of ``grids``)."""
    reading = Reading(Collector(), Path(source_name).stem or "plan")
    by_name = {norm_header(name): grid for name, grid in grids.items()}
    found: dict[str, SheetGrid] = {}
    for spec in SHEETS:
        grid = by_name.get(norm_header(spec.name))
        if grid is not None:
            found[spec.name] = grid
    check_sheet_names(list(sheet_names if sheet_names is not None else grids), reading.out)
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
    grids: Mapping[str, SheetGrid], source_name: str = "plan",
    sheet_names: Collection[str] | None = None, *, partial: bool = False,
) -> tuple[Plan | None, list[Finding]]:
    """Check and type the plan found in ``grids`` (sheet name -> grid). Plan is None on errors.

    ``sheet_names`` are all the sheets of the workbook, those not read included: a required
    sheet that is missing is looked for among them ("did you mean"). ``partial``: on errors,
    the plan as far as it reads (rows with errors left out) instead of None, when there is
    one, for the checks of what comes with it (an actuals file); never to be evaluated."""
    reading = read_sheets(grids, source_name, sheet_names)
    findings = reading.out.findings
    settings = reading.settings.settings
    if settings is None and has_errors(findings):
        settings = _provisional_settings(reading)
    if settings is None or any(reading.values.get(spec.name) is None for spec in SHEETS
                               if spec.required and spec.plan_field):
        return None, findings
    fields = {spec.plan_field: reading.values[spec.name] for spec in SHEETS
              if spec.plan_field and reading.values.get(spec.name) is not None}
    plan = Plan(settings=settings, **fields, source_name=source_name,
                setting_cells=dict(reading.settings.refs),
                systems=list(reading.values.get("Systems") or ()))
    if has_errors(findings):
        findings.extend(_engine_errors(plan, reading))
        return (plan if partial else None), findings
    return plan, findings


def _provisional_settings(reading: Reading) -> Settings | None:
    """Settings with errors still give the horizon and currency when those are right: enough
    for the engine's own input checks (the other values take their defaults)."""
    horizon, currency = reading.settings.horizon, reading.settings.currency
    if horizon is None or currency is None:
        return None
    return Settings(plan_name=reading.stem, fiscal_year=horizon.first_fiscal_year,
                    currency=currency, fy_start_month=horizon.fy_start_month,
                    horizon_years=horizon.years)


#: The engine's errors that do not depend on the rest of the plan being right: a missing FX
#: rate, and a missing rate that a scenario needs.
_EARLY_ENGINE_CODES = frozenset({"missing-fx-rate", "missing-rate"})


def _engine_errors(plan: Plan, reading: Reading) -> list[Finding]:
    """The engine's own input errors on the plan as far as it reads (the rows with errors
    left out), so that a run with reader errors reports these too instead of after the
    others are fixed. Errors a reader error explains (a rate or FX row reported wrong) are
    left out, and so is anything the engine finds only in figures (pro rata, zero total)."""
    from omplan.core.engine import compute_arrays

    try:
        errors = compute_arrays(plan).errors
    except Exception:  # noqa: BLE001 - a best effort on a partial plan: the reader's
        return []  # errors, already collected, are what the user must see first
    kept = []
    for finding in errors:
        if finding.code not in _EARLY_ENGINE_CODES:
            continue
        if finding.code == "missing-rate" and any(
                f"rate for '{role}'" in finding.message for role in reading.bad_rate_roles):
            continue
        if finding.code == "missing-fx-rate" and any(
                f"has no {code} rate" in finding.message for code in reading.bad_fx):
            continue
        kept.append(finding)
    return kept
